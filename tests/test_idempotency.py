"""Idempotency-Key on POST: a retry gets the first answer and creates nothing."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from crm import contact_reads, contacts, idempotency
from crm.auth import Principal, granted_scopes
from crm.errors import Conflict
from crm.paging import PageRequest
from crm.storage.items import Item, account_pk
from tests.conftest import Client, Keys


def _total(api: Client) -> int:
    return api.get("/contacts").json()["total_count"]


def test_a_retry_returns_the_first_answer_and_creates_nothing(api: Client) -> None:
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = api.post("/contacts", {"first_name": "Once"}, headers=key)
    again = api.post("/contacts", {"first_name": "Once"}, headers=key)
    assert first.status == again.status == 201
    assert again.text == first.text
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert _total(api) == 1


def test_the_same_key_with_another_body_is_422_and_changes_nothing(api: Client) -> None:
    key = {"Idempotency-Key": "order-42"}
    assert api.post("/contacts", {"first_name": "First"}, headers=key).status == 201
    other = api.post("/contacts", {"first_name": "Second"}, headers=key)
    assert other.status == 422
    assert other.json() == {"errors": ["This Idempotency-Key was used with another request body"]}
    assert _total(api) == 1


def test_keys_are_per_account_and_per_api_key(api: Client, keys: Keys) -> None:
    key = {"Idempotency-Key": "shared-key"}
    mine = api.post("/contacts", {"first_name": "Mine"}, headers=key)
    theirs = Client(keys.stranger).post("/contacts", {"first_name": "Mine"}, headers=key)
    colleague = Client(keys.colleague).post("/contacts", {"first_name": "Mine"}, headers=key)
    assert mine.status == theirs.status == colleague.status == 201
    assert "idempotent-replayed" not in theirs.headers
    assert "idempotent-replayed" not in colleague.headers
    assert _total(api) == 2  # mine and the colleague's, in account acme


def test_a_refused_request_is_not_remembered(api: Client) -> None:
    key = {"Idempotency-Key": "fix-and-retry"}
    refused = api.post("/contacts", {"last_name": "No first name"}, headers=key)
    assert refused.status == 422
    assert api.post("/contacts", {"last_name": "No first name"}, headers=key).status == 422
    assert _total(api) == 0


def test_a_malformed_key_is_400(api: Client) -> None:
    reply = api.post("/contacts", {"first_name": "A"}, headers={"Idempotency-Key": "x" * 256})
    assert reply.status == 400
    assert _total(api) == 0


def test_records_live_in_the_account_partition_and_expire(api: Client, store: str) -> None:
    before = int(time.time())
    api.post("/contacts", {"first_name": "Kept"}, headers={"Idempotency-Key": "ttl-check"})
    client = Item._get_connection().connection.client
    items = client.query(
        TableName=Item.Meta.table_name,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :idem)",
        ExpressionAttributeValues={":pk": {"S": account_pk("acme")}, ":idem": {"S": "IDEM#"}},
    )["Items"]
    assert len(items) == 1
    expires = int(items[0]["expires_at"]["N"])
    assert before + idempotency.LIFETIME_SECONDS <= expires <= int(time.time()) + idempotency.LIFETIME_SECONDS


# --- retries racing the first request, on DynamoDB Local -----------------------------------

RACER = Principal("idem", 1, frozenset(granted_scopes("write")), "idem.test")


def test_retries_racing_the_first_request_create_one_contact(race_table: None) -> None:
    racers = 10
    start = threading.Barrier(racers)
    request = {"method": "POST", "path": "/contacts", "payload": ["application/json", '{"first_name": "Race"}']}

    def create() -> dict:
        time.sleep(0.3)  # the first request is still running when the retries arrive
        contact = contacts.create(RACER, {"first_name": "Race"})
        return {"status": 201, "id": int(contact.item.id)}

    def attempt(_: int) -> object:
        start.wait()
        try:
            return idempotency.once(RACER, "raced-key", request, create)
        except Conflict as exc:
            return exc

    with ThreadPoolExecutor(max_workers=racers) as pool:
        results = list(pool.map(attempt, range(racers)))
    ran = [r for r in results if isinstance(r, tuple) and not r[1]]
    in_progress = [r for r in results if isinstance(r, Conflict)]
    assert len(ran) == 1
    assert len(in_progress) == racers - 1  # each told to retry, with Retry-After
    assert all(exc.headers == {"Retry-After": "1"} for exc in in_progress)
    assert contact_reads.list_contacts(RACER, PageRequest()).total_count == 1
    # Once the first has finished, a retry gets its answer.
    answer, replayed = idempotency.once(RACER, "raced-key", request, create)
    assert (answer, replayed) == (ran[0][0], True)
