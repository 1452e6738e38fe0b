"""`make run`: the API on http://127.0.0.1:3000 over an embedded DynamoDB, with no Docker and no AWS.

Environment:
    PORT               the API's port (3000)
    DYNAMODB_PORT      the embedded DynamoDB's port (8000), for contacts-admin --endpoint-url
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

from local_api.environment import REGION, function_environment
from local_api.gateway import Gateway
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
    endpoint = os.environ.get("DYNAMODB_ENDPOINT")
    embedded = not endpoint
    if embedded:
        db_port = int(os.environ.get("DYNAMODB_PORT", "8000"))
        serve_moto(db_port)
        endpoint = f"http://127.0.0.1:{db_port}"
    template = load()
    gateway = Gateway(template, function_environment(template, {"ContactsTable": table}, endpoint))
    create_tables(template, {"ContactsTable": table}, endpoint, REGION)
    gateway.bind_table("ContactsTable", table, endpoint, embedded_moto=embedded)

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
    print(f"DynamoDB at {endpoint}, table {table}")
    print(f"Development key (account {DEV_ACCOUNT}, user 1, scope admin):")
    print(key, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
