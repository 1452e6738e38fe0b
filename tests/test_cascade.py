"""A deleted contact takes its notes and history with it, through the table's stream."""

from __future__ import annotations

import json

import pytest

from crm import cascade
from crm.storage.db import batch_write
from crm.storage.items import Item, account_pk, contact_sk, dependants_prefix, note_sk
from local_api.streams import matches
from tests.conftest import GATEWAY, Client


def _left(contact_id: int) -> int:
    client = Item._get_connection().connection.client
    query = {
        "TableName": Item.Meta.table_name,
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
        "ExpressionAttributeValues": {
            ":pk": {"S": account_pk("acme")},
            ":prefix": {"S": dependants_prefix(contact_id)},
        },
        "Select": "COUNT",
        "ConsistentRead": True,
    }
    total = 0
    while True:
        page = client.query(**query)
        total += page["Count"]
        if "LastEvaluatedKey" not in page:
            return total
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _seed_notes(contact_id: int, count: int) -> None:
    """Notes written straight into the table (the API would take minutes for 10,000)."""
    requests = [
        {
            "PutRequest": {
                "Item": {"pk": {"S": account_pk("acme")}, "sk": {"S": note_sk(contact_id, n)}, "body": {"S": "x"}}
            }
        }
        for n in range(1, count + 1)
    ]
    batch_write(requests)


def test_the_stream_filter_passes_only_removed_contacts() -> None:
    (subscription,) = [s for s in GATEWAY.template.streams if s.function == "CleanupFunction"]
    (pattern,) = subscription.filters

    def record(event: str, sk: str) -> dict:
        return {"eventName": event, "dynamodb": {"Keys": {"pk": {"S": "A#acme"}, "sk": {"S": sk}}}}

    assert matches(pattern, record("REMOVE", "C#0000000001"))
    assert not matches(pattern, record("MODIFY", "C#0000000001"))
    assert not matches(pattern, record("INSERT", "C#0000000001"))
    assert not matches(pattern, record("REMOVE", "D#0000000001#N#0000000002"))
    assert cascade.removed_contact({"pk": {"S": "A#acme"}, "sk": {"S": "C#0000000042"}}) == ("acme", 42)
    assert cascade.removed_contact({"pk": {"S": "A#acme"}, "sk": {"S": "C#²"}}) is None


@pytest.mark.parametrize("store", ["dynamodb_local"], indirect=True)
def test_deleting_a_contact_removes_ten_thousand_notes(api: Client) -> None:
    contact = api.create(last_name="Prolific")
    _seed_notes(contact["id"], 10_000)
    assert _left(contact["id"]) == 10_001  # the notes and the "created" history entry

    assert api.delete(f"/contacts/{contact['id']}").status == 204
    assert _left(contact["id"]) == 0
    assert api.get(f"/contacts/{contact['id']}/history").status == 404


def test_a_failure_midway_hides_everything_and_is_retried(api: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    contact = api.create(last_name="Interrupted")
    _seed_notes(contact["id"], 120)
    real, calls = cascade.batch_write, []

    def flaky(*args: object) -> None:
        calls.append(1)
        if len(calls) == 3:  # the third batch of the first attempt fails
            raise RuntimeError("storage fault")
        real(*args)

    monkeypatch.setattr(cascade, "batch_write", flaky)
    assert api.delete(f"/contacts/{contact['id']}").status == 204
    # The contact went first, so nothing of it can be seen; the retry finished the cleanup.
    assert api.get(f"/contacts/{contact['id']}").status == 404
    assert _left(contact["id"]) == 0
    assert len(calls) > 5  # the failed attempt, then the retry
    assert all(not delivery.failed for delivery in GATEWAY.streams)


def test_a_removal_that_keeps_failing_goes_to_the_failure_queue(api: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    contact = api.create(last_name="Stuck")

    def broken(*_args: object) -> None:
        raise RuntimeError("storage fault")

    monkeypatch.setattr(cascade, "batch_write", broken)
    assert api.delete(f"/contacts/{contact['id']}").status == 204
    assert api.get(f"/contacts/{contact['id']}").status == 404
    failed = [record for delivery in GATEWAY.streams for record in delivery.failed]
    assert [json.dumps(r["dynamodb"]["Keys"]["sk"]) for r in failed] == [json.dumps({"S": contact_sk(contact["id"])})]
    for delivery in GATEWAY.streams:
        delivery.failed.clear()
