"""`make run`: the API on http://127.0.0.1:3000 over AWS's DynamoDB Local and an embedded S3, with
no Docker and no AWS. What it stores is kept in ``.data/`` and is there again after a restart;
`make reset` empties it.

Environment:
    PORT               the API's port (3000)
    DYNAMODB_PORT      DynamoDB Local's port (8000), for contacts-admin --endpoint-url
    S3_PORT            the embedded S3's port (8001), where presigned upload and download URLs point
    DYNAMODB_ENDPOINT  use this DynamoDB instead of starting DynamoDB Local
    LOCAL_DATA         where the data is kept (.data)
    LOCAL_CONCURRENCY  how many containers each function may run at once (4)
    TABLE_NAME         the table to use or create (contacts-api)
    API_KEY            the development key to register (ck.dev.<id>.<secret>); else the one made
                       the first time, kept in the data folder
"""

from __future__ import annotations

import os
import signal
import sys
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from local_api.buckets import BucketEvents, create_buckets
from local_api.containers import Containers
from local_api.environment import REGION, function_environment, local_names
from local_api.files import write_atomically
from local_api.gateway import Gateway
from local_api.http import make_server
from local_api.mirror import BucketMirror
from local_api.sqs import Sqs
from local_api.store import create_tables, serve_moto, start_dynamodb_local
from local_api.template import ROOT, load

DEV_ACCOUNT = "dev"


def _port(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name) or default)
    except ValueError:
        sys.exit(f"{name} must be a port number")


def _kept(path: Path, value: str) -> str:
    """The value kept at ``path``, or ``value``, kept there from now on (readable by its owner only)."""
    if path.exists():
        return path.read_text().strip()
    write_atomically(path, value + "\n", mode=0o600)
    return value


def _dev_key(data: Path) -> str:
    """The development key: API_KEY, or the one kept from an earlier start, or a new one (kept)."""
    from crm import keys  # after Gateway set the environment the functions read

    kept = data / "dev-key"
    wanted = os.environ.get("API_KEY") or (kept.read_text().strip() if kept.exists() else None)
    try:
        _, key = keys.create_key(DEV_ACCOUNT, 1, "admin", "development", wanted)
    except ValueError as exc:
        if os.environ.get("API_KEY"):
            sys.exit(f"API_KEY: {exc}")
        _, key = keys.create_key(DEV_ACCOUNT, 1, "admin", "development")  # the kept one was revoked
    if not os.environ.get("API_KEY") and key != wanted:
        kept.unlink(missing_ok=True)
        _kept(kept, key)
    return key


def main() -> None:
    port = _port("PORT", 3000)
    table = os.environ.get("TABLE_NAME", "contacts-api")
    data = Path(os.environ.get("LOCAL_DATA") or ROOT / ".data").resolve()
    s3 = f"http://127.0.0.1:{_port('S3_PORT', 8001)}"
    concurrency = _port("LOCAL_CONCURRENCY", 4)
    template = load()
    names = local_names(template, table)

    with ExitStack() as stopping:
        # SIGTERM (a test, a process manager) stops the server as Ctrl-C does, store last.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        endpoint = os.environ.get("DYNAMODB_ENDPOINT")
        if not endpoint:
            dynamodb_port = _port("DYNAMODB_PORT", 8000)
            try:
                store, endpoint = start_dynamodb_local(data=data / "dynamodb", port=dynamodb_port)
            except RuntimeError as exc:
                sys.exit(f"{exc} (is another `make run` using port {dynamodb_port}? choose DYNAMODB_PORT=)")
            stopping.callback(_stop, store)

        os.environ.update(function_environment(template, names, endpoint, s3))
        os.environ["CURSOR_SECRET"] = _kept(
            data / "cursor-secret", os.environ["CURSOR_SECRET"]
        )  # cursors outlive a restart
        containers = Containers(template, names, limit=concurrency)
        stopping.callback(containers.stop)
        gateway = Gateway(template, {}, containers=containers)
        mirror = BucketMirror(data / "s3", {names[logical_id] for logical_id in template.buckets})
        bucket_events = BucketEvents(
            template, names, s3, gateway.invoke, workers=concurrency, state=data / "lambda-events", mirror=mirror
        )
        sqs = Sqs(state=data / "sqs.json")  # the webhooks' deliveries outlive a restart
        stopping.callback(sqs.save)
        try:
            serve_moto(urlsplit(s3).port or 8001, lambda app: sqs.wrap(bucket_events.wrap(app)))
        except OSError as exc:
            sys.exit(f"Cannot serve the embedded S3 on {s3} ({exc.strerror}); choose S3_PORT=")
        create_tables(template, names, endpoint, REGION)
        create_buckets(template, names, s3)
        gateway.bind_queues(names, s3)
        restored = mirror.restore()
        gateway.bind_table("ContactsTable", table, endpoint, state=data / "streams")
        gateway.poll_streams_forever()
        resumed = bucket_events.resume()
        key = _dev_key(data)

        try:
            server = make_server(port, gateway)
        except OSError as exc:
            sys.exit(f"Cannot listen on 127.0.0.1:{port} ({exc.strerror}); choose another with PORT=")
        stopping.callback(server.server_close)
        print(f"contacts-api on http://127.0.0.1:{port} (docs: http://127.0.0.1:{port}/docs)")
        print(f"DynamoDB at {endpoint}, table {table}; S3 at {s3}; data in {data}", end="")
        print(f" ({restored} files restored, {resumed} events resumed)" if restored or resumed else "")
        print(f"Development key (account {DEV_ACCOUNT}, user 1, scope admin):")
        print(key, flush=True)
        with suppress(KeyboardInterrupt):
            server.serve_forever()


def _stop(process: Any) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except Exception:
        process.kill()


if __name__ == "__main__":
    main()
