"""Binding the items to a table, allocating ids, and running transactions that retry conflicts."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from crm.config import settings
from crm.errors import Conflict, ServiceUnavailable
from crm.paging import Page, PageRequest, seal
from crm.storage.items import Item, SequenceItem, account_pk, table_client

T = TypeVar("T")

# DynamoDB's answers that mean "not now": the client should retry after a pause.
BUSY_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
    }
)
TRANSACTION_ATTEMPTS = 8
# Rounds of read, build and conditional write before a 409: a burst of N writers on one contact
# needs N rounds, since each round lets one of them through.
RACE_ATTEMPTS = 25


class ConditionFailed(Exception):
    """A conditional write found the item not as expected; ``reasons`` has one code per write."""

    def __init__(self, reasons: list[str | None]) -> None:
        super().__init__(", ".join(str(r) for r in reasons))
        self.reasons = reasons


def bind(table_name: str, endpoint: str | None, region: str | None = None) -> None:
    """Point every item class at a table; an empty endpoint means AWS's own.

    PynamoDB reads ``Meta`` when a class is created, so the items start bound to the settings;
    this re-binds them (tests switching backends, contacts-admin's --table and --endpoint-url).
    """
    Item.Meta.table_name = table_name
    Item.Meta.host = endpoint or None
    Item.Meta.region = region or settings.region
    Item._connection = None  # every item class shares Item's connection


def connection() -> Connection:
    """A low-level connection to the bound table's endpoint (for table management and tests)."""
    return Connection(region=Item.Meta.region, host=Item.Meta.host)


def backoff(attempt: int) -> None:
    # Full jitter: spreads out writers that collided on the same item.
    time.sleep(random.uniform(0, min(1.0, 0.02 * 2**attempt)))  # noqa: S311 (jitter, not crypto)


def transact(build: Callable[[TransactWrite], T]) -> T:
    """Run ``build`` inside a write transaction, retrying when another transaction collided with it.

    ``build`` is called again on every attempt, so it must only stage writes. A write whose
    condition failed raises ``ConditionFailed``; the caller decides what that means.
    """
    for attempt in range(TRANSACTION_ATTEMPTS):
        try:
            with TransactWrite(connection=Item._get_connection().connection) as tx:
                result = build(tx)
            return result
        except TransactWriteError as exc:
            reasons = [r.code if r else None for r in exc.cancellation_reasons]
            if "ConditionalCheckFailed" in reasons:
                raise ConditionFailed(reasons) from exc
            retryable = any(code in ("TransactionConflict", *BUSY_CODES) for code in reasons)
            if not (retryable or exc.cause_response_code in BUSY_CODES | {"TransactionConflictException"}):
                raise
            if attempt == TRANSACTION_ATTEMPTS - 1:
                raise ServiceUnavailable("Too many concurrent changes; retry shortly") from exc
            backoff(attempt)
    raise AssertionError("unreachable")


def optimistic(attempt: Callable[[], T], what: str) -> T:
    """Run ``attempt`` (read, build the change, write it on the conditions of what it read) until
    no condition fails. A failed one is a lost race: after a jittered pause it reads again, so no
    write is lost; a 409 ("<what> is changing too often") once RACE_ATTEMPTS are spent. A version
    the client asked for is the attempt's to check: a stale one is its own 409, not retried."""
    for round_ in range(RACE_ATTEMPTS):
        try:
            return attempt()
        except ConditionFailed:
            backoff(round_)
    raise Conflict(f"{what} is changing too often; retry")


def update_if(item: Any, actions: list[Any], condition: Any) -> bool:
    """UpdateItem on a condition; False (nothing written) if the item was not as expected. The
    item is refreshed with what was written."""
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def query_page(model: Any, pk: str, range_condition: Any, page: PageRequest, total: int, **query: Any) -> Page:
    """One page of a Query: a cursor seeks to its key; offset and page read and skip."""
    last_key = {"pk": {"S": pk}, "sk": {"S": page.after}} if page.after is not None else None
    skip = 0 if page.after is not None else page.offset
    wanted = skip + page.limit
    results = model.query(pk, range_condition, last_evaluated_key=last_key, limit=wanted, page_size=wanted, **query)
    items = list(results)[skip:]
    next_cursor = None
    if len(items) == page.limit and page.offset + len(items) < total:
        next_cursor = seal(page.fingerprint, page.offset + len(items), items[-1].sk)
    return Page(items=items, offset=page.offset, limit=page.limit, total_count=total, next_cursor=next_cursor)


def next_id(account_id: str, kind: str) -> int:
    """Allocate the next integer id of ``kind`` in the account; ids are never reused."""
    return allocate(account_id, kind, 1)


def allocate(account_id: str, kind: str, count: int) -> int:
    """Allocate ``count`` consecutive ids of ``kind`` at once (an import's chunk); returns the first."""
    counter = SequenceItem(account_pk(account_id), f"SEQ#{kind}")
    for attempt in range(TRANSACTION_ATTEMPTS):
        try:
            # A transaction holding the sequence item makes plain writes fail with a conflict.
            counter.update(actions=[SequenceItem.value.add(count)])
            return int(counter.value) - count + 1
        except PynamoDBException as exc:
            if exc.cause_response_code != "TransactionConflictException":
                raise
            if attempt == TRANSACTION_ATTEMPTS - 1:
                raise ServiceUnavailable("Too many concurrent changes; retry shortly") from exc
            backoff(attempt)
    raise AssertionError("unreachable")


BATCH = 25  # BatchWriteItem's limit


def batch_write(requests: list[dict[str, Any]], attempts: int = TRANSACTION_ATTEMPTS) -> None:
    """BatchWriteItem (puts and deletes, as the low-level API spells them), 25 at a time, retrying
    what DynamoDB leaves unprocessed with jittered backoff; raises if some are still left."""
    client, table = table_client()
    for start in range(0, len(requests), BATCH):
        pending = requests[start : start + BATCH]
        for attempt in range(attempts):
            answer = client.batch_write_item(RequestItems={table: pending})
            pending = answer.get("UnprocessedItems", {}).get(table, [])
            if not pending:
                break
            backoff(attempt)
        else:
            raise ServiceUnavailable(f"{len(pending)} writes still unprocessed after {attempts} attempts")


def is_busy(exc: BaseException) -> bool:
    """True for a storage error that a retry may cure (throttling, a service fault, no connection)."""
    if isinstance(exc, ServiceUnavailable):
        return True
    if isinstance(exc, PynamoDBException):
        if exc.cause_response_code in BUSY_CODES:
            return True
        return exc.cause is not None and is_busy(exc.cause)
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code") in BUSY_CODES
    return isinstance(exc, BotoCoreError)  # timeouts and refused connections
