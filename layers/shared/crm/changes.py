"""The change feed: every change of an account's contacts, notes, calls, messages and photos, in
commit order, once each, kept ``feed_retention_days``.

It is written from the table's stream (functions/feed_writer), not by the handlers: every change
writes its contact's history entry in its own transaction (crm.history), and the stream's record
of that entry becomes the feed's entry, so no write can forget it. Its place is the stream
record's time and sequence number (crm.storage.items.feed_sk), so a record delivered again writes
the same item. A reader follows a cursor sealed to its account (crm.paging); one that points
before what the feed still keeps is refused with 410, never answered with a gap.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crm import config, times
from crm.auth import Principal
from crm.errors import BadRequest, Gone
from crm.numbers import whole
from crm.paging import fingerprint, seal, unseal
from crm.storage.items import FEED_MARK, PREFIX_END, FeedItem, account_pk, feed_sk, table_client

ROUTE = "/changes"
PAGE_MAX = 100
RESTART = "start again from the contacts themselves: GET /contacts?updated_since=<when you last synced>"
RESOURCES = ("contact", "note", "call", "message", "photo")  # a history entry's subjects
# How far the feed may lag its commits (the stream's delivery): a read is taken to have seen every
# change committed this long before it, and no later one.
LAG_SECONDS = 60
WITH_CHANGES = ("updated", "merged")
TYPES = [f"{resource}.{action}" for resource in RESOURCES for action in ("created", "updated", "deleted")]
TYPES.append("contact.merged")


def _retention() -> int:
    return config.settings.feed_retention_days * 86400


def _number(image: dict[str, Any], name: str) -> int | None:
    value = image.get(name, {}).get("N")
    return int(value) if value is not None else None


def _text(image: dict[str, Any], name: str) -> str | None:
    return image.get(name, {}).get("S")


def entry_of(record: dict[str, Any]) -> FeedItem | None:
    """The feed's entry for a stream record of a new history entry (its new image); None for any
    other record."""
    data = record.get("dynamodb") or {}
    image = data.get("NewImage") or {}
    subject, action = _text(image, "subject") or "contact", _text(image, "action")
    if record.get("eventName") != "INSERT" or action is None or subject not in RESOURCES:
        return None
    contact_id, number = _number(image, "contact_id"), _number(image, "number")
    if contact_id is None or number is None:
        return None
    own_id = {"contact": contact_id, "note": _number(image, "note_id")}.get(subject, _number(image, "record_id"))
    at = _text(image, "created_at") or times.now()
    stamp = int(data.get("ApproximateCreationDateTime") or datetime.fromisoformat(at).timestamp())
    recorded = json.loads(_text(image, "changes") or "[]")
    changes = [{"field": c["field"], "old": c.get("old_value"), "new": c.get("new_value")} for c in recorded]
    return FeedItem(
        data["Keys"]["pk"]["S"],
        feed_sk(stamp, data["SequenceNumber"]),
        entry_id=f"{contact_id}.{number}",  # the history entry's place: the same on every delivery
        type=f"{subject}.{action}",
        resource=subject,
        resource_id=own_id if own_id is not None else contact_id,
        contact_id=contact_id,
        user_id=_number(image, "user_id") or 0,
        key_id=_text(image, "key_id"),
        at=at,
        changes=changes if action in WITH_CHANGES else None,
        o=_number(image, "owner"),
        expires_at=stamp + _retention(),
    )


# --- reading -------------------------------------------------------------------------------------


@dataclass
class Feed:
    entries: list[Any]  # FeedItem, oldest first
    next_cursor: str


def _start(principal: Principal, query: Mapping[str, str]) -> str:
    """The sort key after which this read starts: the cursor's, or just before ``since``. A
    cursor holds the time up to which its reader has seen every change: if the feed no longer
    keeps changes from then, some may be gone unseen (410)."""
    oldest = times.epoch() - _retention()
    cursor, since = query.get("cursor") or "", query.get("since") or ""
    if cursor and since:
        raise BadRequest("Give cursor or since, not both")
    if cursor:
        stamp, after = unseal(cursor, fingerprint(principal.account_id, ROUTE, {}))
    elif since:
        try:
            stamp = int(datetime.fromisoformat(times.parse_datetime(since)).timestamp())
        except ValueError:
            raise BadRequest("since must be an ISO 8601 datetime, such as 2026-01-31T09:00:00Z") from None
        after = f"{FEED_MARK}{stamp:010d}#"  # before every entry of that second
    else:
        raise BadRequest("Give since (an ISO 8601 datetime) for the first call, then each answer's next_cursor")
    if stamp < oldest:
        days = config.settings.feed_retention_days
        raise Gone(f"The feed keeps {days} days of changes and this point is older; {RESTART}")
    return after


def read(principal: Principal, query: Mapping[str, str]) -> Feed:
    """The entries after the cursor (or from ``since``) that this key may see, oldest first, at
    most ``limit`` (PAGE_MAX); and the cursor to read on from: the last entry's, or the same place
    when nothing came yet."""
    after = _start(principal, query)
    limit = whole(query.get("limit") or str(PAGE_MAX))
    if limit is None or limit < 1:
        raise BadRequest("limit must be a whole number of at least 1")
    limit = min(limit, PAGE_MAX)
    client, table = table_client()
    values = {
        ":pk": {"S": account_pk(principal.account_id)},
        ":after": {"S": after},
        ":end": {"S": FEED_MARK + PREFIX_END},
    }
    seen: dict[str, Any] = {}
    if not principal.is_admin:  # another user's private contact's changes are not this key's
        seen = {"FilterExpression": "attribute_not_exists(o) OR o = :me"}
        values[":me"] = {"N": str(principal.user_id)}
    entries: list[Any] = []
    start: dict[str, Any] | None = None
    last, now = after, times.epoch()
    while len(entries) < limit:
        page = client.query(
            TableName=table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :after AND :end",
            ExpressionAttributeValues=values,
            ConsistentRead=True,
            Limit=limit - len(entries),
            **seen,
            **({"ExclusiveStartKey": start} if start else {}),
        )
        for raw in page["Items"]:
            if raw["sk"]["S"] == after:
                continue  # BETWEEN takes its low end: the cursor's own entry was read already
            entries.append(FeedItem.from_raw_data(raw))
        start = page.get("LastEvaluatedKey")
        if start is not None:
            last = max(last, start["sk"]["S"])  # entries filtered out are passed, not read again
        else:
            break
    if entries:
        last = max(last, entries[-1].sk)
    # Seen until: the last entry's time if more may follow at once, else this read's (less the lag).
    seen_until = _stamp(last) if start is not None else max(_stamp(last), now - LAG_SECONDS)
    return Feed(entries, seal(fingerprint(principal.account_id, ROUTE, {}), seen_until, last))


def _stamp(sk: str) -> int:
    return int(sk[len(FEED_MARK) :].split("#", 1)[0])
