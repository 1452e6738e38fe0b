"""`make run`: the API on http://127.0.0.1:3000 over an embedded DynamoDB and S3, with no Docker and no AWS.

Environment:
    PORT               the API's port (3000)
    DYNAMODB_PORT      the embedded store's port (8000): DynamoDB, for contacts-admin
                       --endpoint-url, and S3, where presigned upload and download URLs point
    DYNAMODB_ENDPOINT  use this DynamoDB (e.g. DynamoDB Local) instead of the embedded one
    TABLE_NAME         the table to use or create (contacts-api)
    API_KEY            the development key to register (ck.dev.<id>.<secret>); printed if made up
"""

from __future__ import annotations

import contextlib
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from local_api.buckets import BucketEvents, create_buckets
from local_api.environment import REGION, function_environment, local_names
from local_api.gateway import Gateway
from local_api.permissions import Permissions
from local_api.store import create_tables, serve_moto
from local_api.template import load

DEV_ACCOUNT = "dev"
MAX_BODY = 10 * 1024 * 1024  # API Gateway's own payload limit


def make_handler(gateway: Gateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                response = gateway.gateway_response("REQUEST_TOO_LARGE")
                self.close_connection = True
            else:
                body = self.rfile.read(length) if length else b""
                url = urlsplit(self.path)
                response = gateway.handle(self.command, url.path, list(self.headers.items()), url.query, body)
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

        def log_message(self, format: str, *args: object) -> None:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    return Handler


def main() -> None:
    port = int(os.environ.get("PORT", "3000"))
    table = os.environ.get("TABLE_NAME", "contacts-api")
    embedded_store = f"http://127.0.0.1:{int(os.environ.get('DYNAMODB_PORT', '8000'))}"
    endpoint = os.environ.get("DYNAMODB_ENDPOINT") or embedded_store
    template = load()
    names = local_names(template, table)
    permissions = Permissions(template, names)
    permissions.install()
    environment = function_environment(template, names, endpoint, embedded_store)
    gateway = Gateway(template, environment, permissions=permissions)
    bucket_events = BucketEvents(template, names, embedded_store, gateway.invoke)
    try:
        serve_moto(urlsplit(embedded_store).port or 8000, bucket_events.wrap)
    except OSError as exc:
        sys.exit(f"Cannot serve the embedded store on {embedded_store} ({exc.strerror}); choose DYNAMODB_PORT=")
    create_tables(template, names, endpoint, REGION)
    create_buckets(template, names, embedded_store)
    gateway.bind_table("ContactsTable", table, endpoint, embedded_moto=endpoint == embedded_store)

    from crm import keys  # after Gateway set the environment the functions read

    try:
        _, key = keys.create_key(DEV_ACCOUNT, 1, "admin", "development", os.environ.get("API_KEY") or None)
    except ValueError as exc:
        sys.exit(f"API_KEY: {exc}")

    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(gateway))
    except OSError as exc:
        sys.exit(f"Cannot listen on 127.0.0.1:{port} ({exc.strerror}); choose another with PORT=")
    print(f"contacts-api on http://127.0.0.1:{port} (docs: http://127.0.0.1:{port}/docs)")
    print(f"DynamoDB at {endpoint}, table {table}; S3 at {embedded_store}")
    print(f"Development key (account {DEV_ACCOUNT}, user 1, scope admin):")
    print(key, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
