"""The local API's storage: moto's in-memory DynamoDB served on loopback, and the tables of template.yaml."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from local_api.template import ROOT, Template

DYNAMODB_LOCAL = ROOT / ".venv" / "dynamodb-local"  # where `make test` unpacks it


class _QuietHandler(MotoRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # one line per DynamoDB call drowns the API's own log


def serve_moto(port: int, wrap: Callable[[Any], Any] | None = None) -> BaseWSGIServer:
    """moto's server (DynamoDB and S3) on 127.0.0.1:``port``, one request at a time; ``wrap`` is a
    WSGI middleware to put in front of it (local_api.buckets' notifications).

    moto's store does not serialise conditional writes made on several threads at once; serving
    requests one after the other makes each write atomic, as DynamoDB's are.
    """
    app = DomainDispatcherApplication(create_backend_app)
    if wrap is not None:
        app = wrap(app)
    server = make_server("127.0.0.1", port, app, threaded=False, request_handler=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="dynamodb", daemon=True).start()
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


def start_dynamodb_local(directory: Path = DYNAMODB_LOCAL) -> tuple[subprocess.Popen, str]:
    """AWS's DynamoDB Local, in memory, on a free loopback port: (process, endpoint URL)."""
    jar, java = directory / "DynamoDBLocal.jar", shutil.which("java")
    if not jar.exists():
        raise RuntimeError(f"DynamoDB Local is missing ({jar}); `make test` installs it")
    if java is None:
        raise RuntimeError("Java 17 is needed for DynamoDB Local")
    port = free_port()
    command = [java, f"-Djava.library.path={directory / 'DynamoDBLocal_lib'}", "-jar", str(jar)]
    process = subprocess.Popen(  # noqa: S603 (fixed arguments)
        [*command, "-inMemory", "-port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
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
                raise RuntimeError("DynamoDB Local did not start") from None
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
