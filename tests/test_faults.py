"""Storage faults and bugs: the client gets a clear answer in its format, and nothing partial is stored."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from pynamodb.exceptions import GetError

from crm.storage import db
from crm.storage.items import ContactItem, Item
from tests.conftest import Client


def _throttled(*_args: object, **_kwargs: object) -> None:
    error = ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "GetItem"
    )
    raise GetError("Failed to get item", error)


def test_throttled_storage_is_503_with_retry_after_in_the_request_format(
    api: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    contact = api.create(last_name="Busy")
    monkeypatch.setattr(ContactItem, "get", classmethod(_throttled))

    reply = api.get(f"/contacts/{contact['id']}.xml")
    assert reply.status == 503
    assert reply.headers["retry-after"] == "1"
    assert reply.xml().findtext("error") == "Storage is busy; retry shortly"

    reply = api.patch(f"/contacts/{contact['id']}", {"last_name": "Changed"})
    assert reply.status == 503
    assert reply.json() == {"errors": ["Storage is busy; retry shortly"]}

    monkeypatch.undo()
    stored = api.get(f"/contacts/{contact['id']}").json()["contact"]
    assert (stored["last_name"], stored["version"]) == ("Busy", 1)


def test_a_bug_is_a_500_with_the_request_id_and_no_traceback(api: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise KeyError("secret internals")

    monkeypatch.setattr(ContactItem, "get", classmethod(broken))
    reply = api.get("/contacts/1")
    assert reply.status == 500
    (message,) = reply.json()["errors"]
    assert message.startswith("Internal server error (request id ")
    assert "secret internals" not in reply.text
    assert "Traceback" not in reply.text


@contextmanager
def throttled_transactions(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every TransactWriteItems answers ThrottlingException, as DynamoDB does under load."""
    refused: list[str] = []

    def throttled(model: object, **_: object) -> tuple:
        refused.append(model.name)
        error = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}, "ResponseMetadata": {}}
        return AWSResponse("https://dynamodb", 400, {}, None), error

    events = Item._get_connection().connection.client.meta.events
    events.register("before-call.dynamodb.TransactWriteItems", throttled, unique_id="throttle")
    monkeypatch.setattr(db, "backoff", lambda attempt: None)  # retried at once, so the test is quick
    try:
        yield refused
    finally:
        events.unregister("before-call.dynamodb.TransactWriteItems", unique_id="throttle")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/contacts.xml", {"first_name": "Throttled"}),
        ("PATCH", "/contacts/1", {"last_name": "Throttled"}),
        ("DELETE", "/contacts/1", None),
        ("POST", "/contacts/1/notes", {"body": "Throttled"}),
    ],
)
def test_throttled_writes_are_503_and_store_nothing(
    api: Client, monkeypatch: pytest.MonkeyPatch, method: str, path: str, body: dict | None
) -> None:
    api.create(last_name="Steady")
    before = api.get("/contacts/1").json()["contact"]
    with throttled_transactions(monkeypatch) as refused:
        reply = api.request(method, path, json_body=body)
    assert refused  # the write reached DynamoDB and was throttled, every time it was retried
    assert reply.status == 503
    assert reply.headers["retry-after"] == "1"
    if path.endswith(".xml"):
        assert reply.xml().findtext("error") == "Too many concurrent changes; retry shortly"
    else:
        assert reply.json() == {"errors": ["Too many concurrent changes; retry shortly"]}
    after = api.get("/contacts/1")
    assert after.json()["contact"] == before  # same version, fields, notes
    assert api.get("/contacts").json()["total_count"] == 1
    assert api.get("/contacts/1/history").json()["total_count"] == 1


def test_an_id_counter_held_by_other_transactions_is_503_not_500(api: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB refuses a plain write to an item a transaction holds (TransactionConflictException):
    the id allocation retries it, and past its budget the client is told to retry, not shown a bug."""
    conflicts: list[str] = []

    def held(model: object, **_: object) -> tuple:
        conflicts.append(model.name)
        error = {"Error": {"Code": "TransactionConflictException", "Message": "in a transaction"}}
        return AWSResponse("https://dynamodb", 400, {}, None), {**error, "ResponseMetadata": {}}

    events = Item._get_connection().connection.client.meta.events
    events.register("before-call.dynamodb.UpdateItem", held, unique_id="held")
    monkeypatch.setattr(db, "backoff", lambda attempt: None)
    try:
        reply = api.post("/contacts", {"first_name": "Waiting"})
    finally:
        events.unregister("before-call.dynamodb.UpdateItem", unique_id="held")
    assert len(conflicts) == db.TRANSACTION_ATTEMPTS
    assert (reply.status, reply.headers["retry-after"]) == (503, "1")
    assert reply.json() == {"errors": ["Too many concurrent changes; retry shortly"]}
    assert api.get("/contacts").json()["total_count"] == 0
