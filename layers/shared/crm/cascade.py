"""What goes when a contact goes: everything under ``D#<contact>#`` (its notes, history, and its copies
of its calls, messages and photos), the other copies those name in ``refs`` (crm.activities), and
its photos' images (crm.storage.files).

The contact itself is deleted first, in its own transaction, so nothing half-deleted is ever
visible; its removal reaches the cleanup function through the table's stream, which deletes
the rest in batches. DynamoDB retries the stream batch until this succeeds, and deleting what is
already gone is harmless, so a failure midway only delays the cleanup.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crm.storage import files
from crm.storage.db import BATCH, batch_write
from crm.storage.items import (
    ACCOUNT_MARK,
    PHOTO_LETTER,
    PREFIXED,
    account_of,
    account_pk,
    contact_of,
    dependants_prefix,
    prefix_values,
    table_client,
)

PAGE = 500


def removed_contact(keys: dict[str, Any]) -> tuple[str, int] | None:
    """(account id, contact id) if a stream record's keys are a contact's; None otherwise."""
    pk, sk = keys.get("pk", {}).get("S", ""), keys.get("sk", {}).get("S", "")
    contact_id = contact_of(sk)
    if not pk.startswith(ACCOUNT_MARK) or contact_id is None:
        return None
    return account_of(pk), contact_id


def _images(account_id: str, contact_id: int, items: list[dict[str, Any]]) -> list[str]:
    """The object keys of the photos among a contact's dependants (``D#<contact>#P#...#<id>``)."""
    prefix = f"{dependants_prefix(contact_id)}{PHOTO_LETTER}#"
    ids = [int(item["sk"]["S"].rsplit("#", 1)[1]) for item in items if item["sk"]["S"].startswith(prefix)]
    return [key for i in ids for key in (files.upload_key(account_id, i), files.photo_key(account_id, i))]


def _keys(item: dict[str, Any]) -> list[dict[str, Any]]:
    """The item's key, after the keys of the copies it names (so none is left if this one goes)."""
    others = [{"pk": item["pk"], "sk": {"S": ref["S"]}} for ref in item.get("refs", {}).get("L", [])]
    return [*others, {"pk": item["pk"], "sk": item["sk"]}]


def delete_dependants(account_id: str, contact_id: int, time_left: Callable[[], float] = lambda: 900.0) -> int:
    """Delete the contact's dependants; returns how many. Stops (raising) when time runs short."""
    client, table = table_client()
    query = {
        "TableName": table,
        "KeyConditionExpression": f"pk = :pk AND {PREFIXED}",
        "ExpressionAttributeValues": {
            ":pk": {"S": account_pk(account_id)},
            **prefix_values(dependants_prefix(contact_id)),
        },
        "ProjectionExpression": "pk, sk, #refs",
        "ExpressionAttributeNames": {"#refs": "refs"},
        "ConsistentRead": True,
        "Limit": PAGE,
    }
    deleted = 0
    while True:
        page = client.query(**query)
        images = _images(account_id, contact_id, page["Items"])
        if images:  # before their records: a retry finds the records, so the images too
            files.delete(*images)
        keys = [{"DeleteRequest": {"Key": key}} for item in page["Items"] for key in _keys(item)]
        for start in range(0, len(keys), BATCH):
            if time_left() < 5:
                raise TimeoutError(f"cleanup of contact {contact_id} paused after {deleted} items; it will be retried")
            batch_write(keys[start : start + BATCH])
            deleted += len(keys[start : start + BATCH])
        if "LastEvaluatedKey" not in page:
            return deleted
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def seconds_left(context: Any) -> Callable[[], float]:
    """Seconds the Lambda invocation has left (or plenty, outside Lambda)."""
    if context is None or not hasattr(context, "get_remaining_time_in_millis"):
        return lambda: 900.0
    return lambda: context.get_remaining_time_in_millis() / 1000
