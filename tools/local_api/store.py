"""The local API's storage: AWS's DynamoDB Local (in memory, or on disk for `make run`), moto's S3
served on loopback, and the tables of template.yaml."""

from __future__ import annotations

import contextlib
import ctypes
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from local_api import runtimes
from local_api.template import ROOT, Template

DYNAMODB_LOCAL = ROOT / ".venv" / "dynamodb-local"  # where `make run` and `make test` unpack it
# Java 25 warns at every start that sqlite4java loads a native library; the serial collector keeps
# the JVM's own footprint small (one engine thread does the work anyway).
SHARED_DB = "shared-local-instance.db"  # DynamoDB Local's file with -sharedDb
JVM_OPTIONS = ("-XX:+UseSerialGC", "-Xmx1g", "--enable-native-access=ALL-UNNAMED")


class _QuietHandler(MotoRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # one line per DynamoDB call drowns the API's own log


def serve_moto(port: int, wrap: Callable[[Any], Any] | None = None) -> BaseWSGIServer:
    """moto's server on 127.0.0.1:``port``, for S3 (and Lambda's Invoke and SQS, which ``wrap``
    answers); ``wrap`` is a WSGI middleware to put in front of it (local_api.buckets'
    notifications, local_api.sqs).

    DynamoDB is never served from here: moto copies a whole table on every transaction item.
    """
    app = DomainDispatcherApplication(create_backend_app)
    if wrap is not None:
        app = wrap(app)
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="s3", daemon=True).start()
    return server


def table_spec(properties: dict[str, Any], name: str) -> dict[str, Any]:
    """CreateTable arguments for a table of the template, under ``name``."""
    spec: dict[str, Any] = {
        "TableName": name,
        "KeySchema": properties["KeySchema"],
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "BillingMode": properties.get("BillingMode", "PAY_PER_REQUEST"),
    }
    for index in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if properties.get(index):
            spec[index] = properties[index]
    if properties.get("StreamSpecification"):
        spec["StreamSpecification"] = {"StreamEnabled": True, **properties["StreamSpecification"]}
    return spec


def create_tables(template: Template, names: dict[str, str], endpoint: str, region: str) -> None:
    """Create each table of the template under its local name, unless it exists already."""
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name=region)
    existing = set(client.list_tables()["TableNames"])
    for logical_id, properties in template.tables.items():
        if names[logical_id] not in existing:
            client.create_table(**table_spec(properties, names[logical_id]))
            client.get_waiter("table_exists").wait(TableName=names[logical_id])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """In the child, before exec: Linux sends it SIGTERM when the thread that started it ends (call
    it from the main thread), so a killed `make run` leaves no DynamoDB Local holding its port."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _prepare(data: Path) -> None:
    """Make DynamoDB Local's database file, the first time, in SQLite's write-ahead-log mode (a
    file keeps its mode): a write then syncs once to disk instead of three times, which makes the
    imports a fifth faster, and reads no longer wait for writes."""
    data.mkdir(parents=True, exist_ok=True)
    database = data / SHARED_DB
    if not database.exists():
        with contextlib.closing(sqlite3.connect(database)) as connection:
            connection.execute("PRAGMA journal_mode=WAL")


def start_dynamodb_local(
    directory: Path = DYNAMODB_LOCAL, data: Path | None = None, port: int | None = None
) -> tuple[subprocess.Popen, str]:
    """AWS's DynamoDB Local on loopback: (process, endpoint URL). In memory, or with its tables in
    the folder ``data`` (one database whatever the credentials and region, so contacts-admin with
    any profile sees the API's table); on ``port``, or a free one."""
    jar, java = directory / "DynamoDBLocal.jar", runtimes.java()
    if not jar.exists():
        raise RuntimeError(f"DynamoDB Local is missing ({jar}); `make run` and `make test` install it")
    if java is None:
        raise RuntimeError("Java 17 or newer is needed for DynamoDB Local; `make run` and `make test` install one")
    port = port or free_port()
    storage = ["-inMemory"]
    if data is not None:
        _prepare(data)
        storage = ["-dbPath", str(data), "-sharedDb"]
    command = [
        java,
        *JVM_OPTIONS,
        f"-Djava.library.path={directory / 'DynamoDBLocal_lib'}",
        "-jar",
        str(jar),
        *storage,
        "-port",
        str(port),
    ]
    process = subprocess.Popen(  # noqa: S603 (fixed arguments)
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent,
        start_new_session=True,  # Ctrl-C is `make run`'s to handle: it stops the store last
    )
    endpoint = f"http://127.0.0.1:{port}"
    # DynamoDB Local checks no signature; botocore still wants credentials to sign with.
    local = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1", **local)
    deadline = time.monotonic() + 60
    while True:
        try:
            client.list_tables()
            return process, endpoint
        except Exception:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"DynamoDB Local did not start on port {port}") from None
            time.sleep(0.2)


@contextmanager
def running_dynamodb_local(directory: Path = DYNAMODB_LOCAL) -> Iterator[str]:
    """DynamoDB Local for the ``with`` block: its endpoint URL; stopped on the way out."""
    process, endpoint = start_dynamodb_local(directory)
    try:
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)
