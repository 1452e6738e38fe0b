"""Fixtures: the API as API Gateway would run it (from template.yaml), over moto or DynamoDB Local.

Every test that takes ``api`` runs on AWS's DynamoDB Local, a real DynamoDB engine, which
serialises conditional writes as the service does; here it also answers a test's requests faster
than moto's in-process mock (0.29 s against 0.74 s a test, measured over tests/test_contacts_api).
The sample events' replay runs on both (tests/test_events.py), so that what the handlers do holds
on moto too, which fast unit tests of storage use. S3 is moto's server
on loopback, as `make run` has it: presigned URLs are real URLs, and its uploads reach the
functions as S3 events (local_api.buckets).
"""

from __future__ import annotations

import functools
import json
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from defusedxml.ElementTree import fromstring
from moto import mock_aws

from local_api.buckets import BucketEvents, create_buckets, s3_client
from local_api.environment import REGION, function_environment, local_names
from local_api.gateway import Gateway, HttpResponse
from local_api.permissions import Permissions
from local_api.sqs import Sqs
from local_api.store import DYNAMODB_LOCAL, free_port, serve_moto, start_dynamodb_local, table_spec
from local_api.template import load

TEMPLATE = load()
TABLE_ID = "ContactsTable"
DDB_LOCAL_DIR = Path(os.environ.get("DYNAMODB_LOCAL_DIR") or DYNAMODB_LOCAL)
NAMES = local_names(TEMPLATE, "contacts-test")
PHOTOS_BUCKET = NAMES["PhotosBucket"]
IMPORTS_BUCKET = NAMES["ImportsBucket"]
S3_ENDPOINT = f"http://127.0.0.1:{free_port()}"

# Handlers read their settings at import: the environment is set before any of them loads.
PERMISSIONS = Permissions(TEMPLATE, NAMES)
PERMISSIONS.install()
GATEWAY = Gateway(TEMPLATE, function_environment(TEMPLATE, NAMES, "", S3_ENDPOINT), permissions=PERMISSIONS)
BUCKET_EVENTS = BucketEvents(TEMPLATE, NAMES, S3_ENDPOINT, GATEWAY.invoke)
serve_moto(int(S3_ENDPOINT.rsplit(":", 1)[1]), lambda app: Sqs().wrap(BUCKET_EVENTS.wrap(app)))
GATEWAY.bind_queues(NAMES, S3_ENDPOINT)  # the webhooks' deliveries: SQS on the same port

from crm import accounts, forms  # noqa: E402
from crm import keys as crm_keys  # noqa: E402
from crm.errors import ApiError  # noqa: E402
from crm.storage.db import bind  # noqa: E402
from crm.storage.items import Item  # noqa: E402
from tests.local_server import Server, running  # noqa: E402


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


@functools.cache
def _dynamodb_local_client(endpoint: str) -> Any:
    return boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION)


def _create_table(endpoint: str | None, name: str) -> None:
    # moto's mock answers only clients made while it is on: its client is made anew each time.
    client = _dynamodb_local_client(endpoint) if endpoint else boto3.client("dynamodb", region_name=REGION)
    client.create_table(**table_spec(TEMPLATE.tables[TABLE_ID], name))


def _empty_buckets() -> None:
    """The template's buckets, empty (moto's server outlives a test's table)."""
    create_buckets(TEMPLATE, NAMES, S3_ENDPOINT)
    client = s3_client(S3_ENDPOINT)
    for logical_id in TEMPLATE.buckets:
        found = client.list_objects_v2(Bucket=NAMES[logical_id]).get("Contents", [])
        if found:
            objects = [{"Key": item["Key"]} for item in found]
            client.delete_objects(Bucket=NAMES[logical_id], Delete={"Objects": objects})


def _after_test() -> None:
    """S3's events all delivered (none may reach the next test's table), and no call a function's
    role would not allow (some are retried or caught, so a test could pass without seeing it)."""
    BUCKET_EVENTS.settle()
    for queue in GATEWAY.queues:  # what a test left queued goes no further (SQS purges once a minute)
        queue.drop_visible()
    accounts.forget()
    denied, PERMISSIONS.denied[:] = list(PERMISSIONS.denied), []
    assert denied == [], "calls template.yaml does not allow"


BACKENDS = ["moto", "dynamodb_local"]


@contextmanager
def backend(kind: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty table on ``kind`` (moto or dynamodb_local), and empty buckets; yields ``kind``."""
    if kind == "moto":
        with mock_aws():
            _create_table(None, "contacts-test")
            bind("contacts-test", "")
            GATEWAY.bind_table(TABLE_ID, "contacts-test", None, embedded_moto=True)
            _empty_buckets()
            yield kind
            _after_test()
    else:
        endpoint = request.getfixturevalue("dynamodb_local")
        name = f"contacts-{uuid.uuid4().hex[:12]}"
        _create_table(endpoint, name)
        bind(name, endpoint)
        GATEWAY.bind_table(TABLE_ID, name, endpoint)
        _empty_buckets()
        yield kind
        _after_test()
        _dynamodb_local_client(endpoint).delete_table(TableName=name)


@pytest.fixture(params=["dynamodb_local"])
def store(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty table on DynamoDB Local (or the backend a test is parametrised with), and
    empty buckets; yields the backend name."""
    with backend(request.param, request) as kind:
        yield kind


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
    _dynamodb_local_client(dynamodb_local).delete_table(TableName=name)


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


class Keys:
    """The keys a test may use, each made the first time the test asks for it (most use one)."""

    @staticmethod
    def _make(account: str, user: int, scope: str) -> str:
        return crm_keys.create_key(account, user, scope)[1]

    @functools.cached_property
    def admin(self) -> str:
        return self._make("acme", 9, "admin")

    @functools.cached_property
    def writer(self) -> str:  # user 1
        return self._make("acme", 1, "write")

    @functools.cached_property
    def reader(self) -> str:  # user 1, read only
        return self._make("acme", 1, "read")

    @functools.cached_property
    def colleague(self) -> str:  # user 2 of the same account
        return self._make("acme", 2, "write")

    @functools.cached_property
    def stranger(self) -> str:  # another account
        return self._make("globex", 1, "admin")


@pytest.fixture
def keys(store: str) -> Keys:
    return Keys()


@pytest.fixture
def api(keys: Keys) -> Client:
    """A client holding the writer's key (user 1 of account acme)."""
    return Client(keys.writer)


# The web form's page and where it sends a visitor: what the ``admin`` fixture lists for acme.
ORIGIN, THANKS = "https://www.example.com", "https://www.example.com/thanks"


@pytest.fixture
def admin(keys: Keys) -> Client:
    forms.allow("acme", [ORIGIN], [THANKS])
    return Client(keys.admin)


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


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """`make run`'s server over real HTTP, one per test module."""
    with running() as started:
        yield started
