"""Fixtures: the API as API Gateway would run it (from template.yaml), over moto or DynamoDB Local.

Every test that takes ``api`` runs twice: on moto, and on AWS's DynamoDB Local (a real
DynamoDB engine, which serialises conditional writes as the service does).
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from defusedxml.ElementTree import fromstring
from moto import mock_aws

from local_api.environment import REGION, function_environment
from local_api.gateway import Gateway, HttpResponse
from local_api.store import DYNAMODB_LOCAL, start_dynamodb_local, table_spec
from local_api.template import load

TEMPLATE = load()
TABLE_ID = "ContactsTable"
DDB_LOCAL_DIR = Path(os.environ.get("DYNAMODB_LOCAL_DIR") or DYNAMODB_LOCAL)

# Handlers read their settings at import: the environment is set before any of them loads.
GATEWAY = Gateway(TEMPLATE, function_environment(TEMPLATE, {TABLE_ID: "contacts-test"}, ""))

from crm import keys as crm_keys  # noqa: E402
from crm.errors import ApiError  # noqa: E402
from crm.storage.db import bind  # noqa: E402
from crm.storage.items import Item  # noqa: E402


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[str]:
    """AWS's DynamoDB Local on a free loopback port for the session; its endpoint URL."""
    try:
        process, endpoint = start_dynamodb_local(DDB_LOCAL_DIR)
    except RuntimeError as exc:
        pytest.fail(str(exc))  # never a skip: CI must have it
    yield endpoint
    process.terminate()
    process.wait(timeout=10)


def _create_table(endpoint: str | None, name: str) -> None:
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION)
    client.create_table(**table_spec(TEMPLATE.tables[TABLE_ID], name))


@pytest.fixture(params=["moto", "dynamodb_local"])
def store(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty table on the backend the test is parametrised with; yields the backend name."""
    if request.param == "moto":
        with mock_aws():
            _create_table(None, "contacts-test")
            bind("contacts-test", "")
            GATEWAY.bind_table(TABLE_ID, "contacts-test", None, embedded_moto=True)
            yield "moto"
    else:
        endpoint = request.getfixturevalue("dynamodb_local")
        name = f"contacts-{uuid.uuid4().hex[:12]}"
        _create_table(endpoint, name)
        bind(name, endpoint)
        GATEWAY.bind_table(TABLE_ID, name, endpoint)
        yield "dynamodb_local"
        boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION).delete_table(TableName=name)


@pytest.fixture
def race_table(dynamodb_local: str) -> Iterator[None]:
    """A fresh table on DynamoDB Local, for threads calling the domain code directly (no gateway)."""
    name = f"race-{uuid.uuid4().hex[:12]}"
    _create_table(dynamodb_local, name)
    bind(name, dynamodb_local)
    # A container serves one request at a time and keeps its client; here the threads share one,
    # so it is made before they start (50 threads racing to build it would measure botocore).
    Item._get_connection().connection.client  # noqa: B018
    yield
    boto3.client("dynamodb", endpoint_url=dynamodb_local, region_name=REGION).delete_table(TableName=name)


@dataclass
class Reply:
    """An HTTP response as a client sees it."""

    raw: HttpResponse

    @property
    def status(self) -> int:
        return self.raw.status

    @property
    def headers(self) -> dict[str, str]:
        return {k.lower(): v for k, v in self.raw.headers.items()}

    @property
    def text(self) -> str:
        return self.raw.text

    def json(self) -> Any:
        assert self.headers["content-type"].startswith("application/json"), self.headers
        return json.loads(self.raw.body)

    def xml(self) -> Any:
        assert self.headers["content-type"].startswith("application/xml"), self.headers
        return fromstring(self.raw.body, forbid_dtd=True)


class Client:
    """Speaks to the API through the gateway emulation, with a key."""

    def __init__(self, key: str | None = None) -> None:
        self.key = key

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        body: str | bytes | None = None,
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
        query: dict[str, Any] | None = None,
        key: str | None = None,
    ) -> Reply:
        sent = dict(headers or {})
        if (key or self.key) and "Authorization" not in sent:
            sent.setdefault("x-api-key", key or self.key)
        data = b""
        if json_body is not None:
            data = json.dumps(json_body).encode()
            sent.setdefault("Content-Type", "application/json")
        elif body is not None:
            data = body.encode() if isinstance(body, str) else body
        if content_type:
            sent["Content-Type"] = content_type
        return Reply(GATEWAY.handle(method, path, sent, urlencode(query or {}), data))

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, payload: Any = None, **kwargs: Any) -> Reply:
        return self.request("POST", path, json_body=payload, **kwargs)

    def put(self, path: str, payload: Any = None, **kwargs: Any) -> Reply:
        return self.request("PUT", path, json_body=payload, **kwargs)

    def patch(self, path: str, payload: Any = None, **kwargs: Any) -> Reply:
        return self.request("PATCH", path, json_body=payload, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Reply:
        return self.request("DELETE", path, **kwargs)

    def create(self, **fields: Any) -> dict[str, Any]:
        reply = self.post("/contacts", {"contact": {"first_name": "Ada", **fields}})
        assert reply.status == 201, reply.text
        return reply.json()["contact"]


@dataclass
class Keys:
    admin: str
    writer: str  # user 1
    reader: str  # user 1, read only
    colleague: str  # user 2 of the same account
    stranger: str  # another account


@pytest.fixture
def keys(store: str) -> Keys:
    def make(account: str, user: int, scope: str) -> str:
        return crm_keys.create_key(account, user, scope)[1]

    return Keys(
        admin=make("acme", 9, "admin"),
        writer=make("acme", 1, "write"),
        reader=make("acme", 1, "read"),
        colleague=make("acme", 2, "write"),
        stranger=make("globex", 1, "admin"),
    )


@pytest.fixture
def api(keys: Keys) -> Client:
    """A client holding the writer's key (user 1 of account acme)."""
    return Client(keys.writer)


def all_at_once(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(n)`` for n in range(count) on as many threads, released together; an API error
    (a 409, a 422) is returned in place of the result."""
    start = threading.Barrier(count)

    def run(n: int) -> Any:
        start.wait()
        try:
            return work(n)
        except ApiError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))
