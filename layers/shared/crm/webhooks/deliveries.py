"""Deliveries: each feed entry a subscription wants, queued by the feed writer (``dispatch``),
posted by the deliverer (``attempt``), retried with a doubling wait until RETRY_HOURS have passed.

A delivery's id is its feed entry's place, so the feed writer's retries make the same item and the
same message (the queue drops a message sent again within five minutes by its deduplication id,
and a message for a delivery already made is passed over). Messages are grouped per webhook and
contact: the queue hands out a group's next message only once the one before is done, so a
receiver gets one contact's changes in the order they were made.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crm import config, times
from crm.auth import Principal
from crm.errors import BadRequest, Conflict, NotFound
from crm.numbers import whole
from crm.paging import fingerprint, seal, unseal
from crm.storage import queues
from crm.storage.db import update_if
from crm.storage.items import (
    FEED_MARK,
    DeliveryItem,
    WebhookItem,
    account_of,
    account_pk,
    deliveries_of,
    delivery_sk,
    table_client,
)
from crm.webhooks import DELIVERIES_KEPT_DAYS, FAILED, PENDING, RETRY_HOURS, SUCCEEDED, outbound, signing, subscriptions

PAGE_MAX = 100
LONGEST_WAIT = 6 * 3600  # between two attempts, however many failed before


def delivery_id(feed_sk: str) -> str:
    """``<epoch>-<sequence>`` of the feed entry's place."""
    stamp, sequence = feed_sk[len(FEED_MARK) :].split("#", 1)
    return f"{int(stamp)}-{int(sequence)}"


def _place(delivery: str) -> str:
    stamp, _, sequence = delivery.partition("-")
    digits = all(part.isascii() and part.isdigit() for part in (stamp, sequence))
    if not digits or len(stamp) > 10 or len(sequence) > 40:
        raise NotFound("Delivery not found")
    return f"{int(stamp):010d}#{int(sequence):040d}"


def message_id(webhook_id: int, delivery: str) -> str:
    """The ``webhook-id`` every attempt of the delivery carries."""
    return f"msg_{webhook_id}_{delivery}"


def _group(account_id: str, webhook_id: int, contact_id: int) -> str:
    return hashlib.sha256(f"{account_id}/{webhook_id}/{contact_id}".encode()).hexdigest()


# A message carries its body unless it would pass SQS's 256 KB: then the body waits in the
# delivery's item, written when it is queued.
MESSAGE_BODY_MAX = 200_000


def _message(account_id: str, webhook_id: int, entry: dict[str, Any], body: str, queued_at: int) -> dict[str, Any]:
    message = {"account": account_id, "webhook_id": webhook_id, **entry, "queued_at": queued_at}
    return {**message, "body": body} if len(body.encode()) <= MESSAGE_BODY_MAX else message


# --- queued by the feed writer -------------------------------------------------------------------


class Dispatcher:
    """Queues the deliveries of feed entries, in the order given; the account's subscriptions are
    read once per account for all the entries it is given. A delivery's item is written by its
    first attempt (one write a delivery, not two), but for a body too large for its message.

    ``render`` spells an entry as its body (the feed's view: the HTTP layer's, which the caller
    has); it is called only for an entry some subscription wants."""

    def __init__(self, render: Callable[[Any], str]) -> None:
        self.render = render
        self.subscribed: dict[str, list[Any]] = {}

    def dispatch(self, entry: Any) -> int:
        """Queue ``entry`` (a FeedItem, written) to every subscription that wants it; how many.
        Raises if any could not be queued (the feed writer then tries it again)."""
        account_id = account_of(entry.pk)
        if account_id not in self.subscribed:
            self.subscribed[account_id] = subscriptions.of_account(account_id)
        wanting = [w for w in self.subscribed[account_id] if subscriptions.wants(w, entry)]
        if not wanting:
            return 0
        described = {
            "delivery_id": delivery_id(entry.sk),
            "event": entry.type,
            "entry_id": entry.entry_id,
            "contact_id": int(entry.contact_id),
        }
        text, now, messages = self.render(entry), times.epoch(), []
        for webhook in wanting:
            message = _message(account_id, int(webhook.id), described, text, now)
            if "body" not in message:
                _record(_item(message), message, PENDING, None, None, None, attempted=False, body=text)
            dedup = hashlib.sha256(f"{entry.pk}/{int(webhook.id)}/{entry.sk}".encode()).hexdigest()
            messages.append((_group(account_id, int(webhook.id), int(entry.contact_id)), dedup, message))
        queues.send(messages)
        return len(messages)


def _item(message: dict[str, Any]) -> Any:
    """The delivery's item, by the key its message names."""
    place = _place(str(message["delivery_id"]))
    return DeliveryItem(account_pk(str(message["account"])), delivery_sk(int(message["webhook_id"]), place))


# --- made by the deliverer -------------------------------------------------------------------------


@dataclass
class Outcome:
    done: bool  # False: try again after ``wait`` seconds
    wait: int = 0


def retry_wait(attempts: int) -> int:
    return int(min(LONGEST_WAIT, config.settings.webhook_retry_base * 2 ** max(0, attempts - 1)))


def attempt(message: dict[str, Any]) -> Outcome:
    """Post the delivery the message names, once; whether it is done, or when to try again."""
    account_id, webhook_id = str(message["account"]), int(message["webhook_id"])
    try:
        item = _item(message)
    except NotFound:
        return Outcome(True)  # no delivery's message: nothing to send
    try:
        item.refresh(consistent_read=True)
        known = True
    except DeliveryItem.DoesNotExist:
        known = False  # its first attempt
    if known and item.status != PENDING:
        return Outcome(True)  # made already (a message sent twice), or given up
    body = message.get("body") or (item.body if known else None)
    webhook = subscriptions.load(account_id, webhook_id)
    if webhook is None or body is None:
        return Outcome(True)  # the webhook was deleted: nothing more goes to it
    if not webhook.enabled:
        _record(
            item, message, FAILED, None, f"the webhook is disabled: {webhook.disabled_reason}", None, attempted=False
        )
        return Outcome(True)
    data = body.encode()
    headers = signing.headers(
        subscriptions.signing_secrets(webhook), message_id(webhook_id, str(message["delivery_id"])), times.epoch(), data
    )
    answer = outbound.post(webhook.url, data, headers)
    now = times.epoch()
    if answer.error is None:
        _record(item, message, SUCCEEDED, answer.status, None, None, body=body)
        if webhook.failing_since is not None:
            update_if(webhook, [WebhookItem.failing_since.remove()], WebhookItem.sk.exists())
        return Outcome(True)
    _failing(webhook, answer.error, now)
    first = int(item.first_at) if known and item.first_at is not None else int(message.get("queued_at") or now)
    if now - first >= RETRY_HOURS * 3600:
        gave_up = f"{answer.error}; given up after {RETRY_HOURS} hours"
        _record(item, message, FAILED, answer.status, gave_up, None, body=body)
        return Outcome(True)
    wait = retry_wait((int(item.attempts) if known else 0) + 1)
    _record(item, message, PENDING, answer.status, answer.error, times.iso(now + wait), body=body)
    return Outcome(False, wait)


def _record(
    item: Any,
    described: dict[str, Any],
    status: str,
    code: int | None,
    error: str | None,
    next_at: str | None,
    attempted: bool = True,
    body: str | None = None,
) -> None:
    """Write how the delivery stands; the first write makes its item, from its message (``described``)."""
    queued_at = int(described.get("queued_at") or times.epoch())
    actions = [
        DeliveryItem.status.set(status),
        DeliveryItem.attempts.set((DeliveryItem.attempts | 0) + (1 if attempted else 0)),
        DeliveryItem.last_attempt_at.set(times.now()) if attempted else None,
        DeliveryItem.last_status_code.set(code) if code is not None else DeliveryItem.last_status_code.remove(),
        DeliveryItem.last_error.set(error) if error else DeliveryItem.last_error.remove(),
        DeliveryItem.next_attempt_at.set(next_at) if next_at else DeliveryItem.next_attempt_at.remove(),
        DeliveryItem.first_at.set(DeliveryItem.first_at | queued_at),
        DeliveryItem.created_at.set(DeliveryItem.created_at | times.iso(queued_at)),
        DeliveryItem.expires_at.set(DeliveryItem.expires_at | queued_at + DELIVERIES_KEPT_DAYS * 86400),
        DeliveryItem.body.set(body) if body is not None else None,
    ]
    for name in ("webhook_id", "delivery_id", "event", "entry_id", "contact_id"):
        if name in described:
            attribute = getattr(DeliveryItem, name)
            actions.append(attribute.set(attribute | described[name]))
    item.update(actions=[action for action in actions if action is not None])


def _failing(webhook: Any, error: str, now: int) -> None:
    """Note when its failures began; a webhook that has failed RETRY_HOURS since is disabled."""
    if webhook.failing_since is None:
        update_if(webhook, [WebhookItem.failing_since.set(now)], WebhookItem.failing_since.does_not_exist())
        return
    if now - int(webhook.failing_since) >= RETRY_HOURS * 3600 and webhook.enabled:
        reason = f"every delivery failed for {RETRY_HOURS} hours; the last: {error}"
        actions = [WebhookItem.enabled.set(False), WebhookItem.disabled_reason.set(reason)]
        update_if(webhook, [*actions, WebhookItem.updated_at.set(times.now())], WebhookItem.sk.exists())


# --- over HTTP --------------------------------------------------------------------------------------


def route(webhook_id: int) -> str:
    return f"/webhooks/{webhook_id}/deliveries"


@dataclass
class Deliveries:
    items: list[Any]  # newest first
    next_cursor: str | None


def listing(principal: Principal, webhook_id: int, query: dict[str, str]) -> Deliveries:
    """A webhook's deliveries, newest first, a page at a time (a cursor, never a count: they are many)."""
    subscriptions.get(principal, webhook_id)
    limit = whole(query.get("limit") or str(PAGE_MAX))
    if limit is None or limit < 1:
        raise BadRequest("limit must be a whole number of at least 1")
    limit, fp = min(limit, PAGE_MAX), fingerprint(principal.account_id, route(webhook_id), {})
    low = deliveries_of(webhook_id)
    high = low + "\U0010ffff"
    if query.get("cursor"):
        _, high = unseal(query["cursor"], fp)  # before the last one read
    client, table = table_client()
    page = client.query(
        TableName=table,
        KeyConditionExpression="pk = :pk AND sk BETWEEN :low AND :high",
        ExpressionAttributeValues={
            ":pk": {"S": account_pk(principal.account_id)},
            ":low": {"S": low},
            ":high": {"S": high},
        },
        ScanIndexForward=False,
        ConsistentRead=True,
        Limit=limit + 1,
    )
    raw = [r for r in page["Items"] if r["sk"]["S"] != high][:limit]
    items = [DeliveryItem.from_raw_data(r) for r in raw]
    more = len(raw) == limit and (len(page["Items"]) > len(raw) or "LastEvaluatedKey" in page)
    return Deliveries(items, seal(fp, 0, items[-1].sk) if more and items else None)


def retry(principal: Principal, webhook_id: int, delivery: str) -> Any:
    """Queue the delivery again, as new (another RETRY_HOURS), whatever became of it."""
    webhook = subscriptions.get(principal, webhook_id)
    if not webhook.enabled:
        raise Conflict(f"The webhook is disabled ({webhook.disabled_reason}); PATCH it with enabled: true first")
    key = (account_pk(principal.account_id), delivery_sk(webhook_id, _place(delivery)))
    try:
        item = DeliveryItem.get(*key, consistent_read=True)
    except DeliveryItem.DoesNotExist:
        raise NotFound("Delivery not found") from None
    if item.status == PENDING:
        raise Conflict(f"The delivery is queued already; its next attempt is at {item.next_attempt_at or 'its turn'}")
    now = times.epoch()
    actions = [DeliveryItem.status.set(PENDING), DeliveryItem.first_at.set(now), DeliveryItem.next_attempt_at.remove()]
    if not update_if(item, actions, DeliveryItem.status == item.status):
        raise Conflict("The delivery changed meanwhile; look at it again")
    described = {
        "delivery_id": item.delivery_id,
        "event": item.event,
        "entry_id": item.entry_id,
        "contact_id": int(item.contact_id),
    }
    message = _message(principal.account_id, webhook_id, described, item.body, now)
    queues.send([(_group(principal.account_id, webhook_id, int(item.contact_id)), uuid.uuid4().hex, message)])
    return item
