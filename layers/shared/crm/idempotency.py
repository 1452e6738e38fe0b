"""``Idempotency-Key`` on a POST: a retry gets the first answer and changes nothing.

Powertools' idempotency utility keeps the records, in this table and in the account's own
partition (``A#<account>``, ``IDEM#<hash>``), for 24 hours (the table's TTL removes them). A
record is keyed by the account, the API key, the method, the path and the client's key; the
request body is hashed beside it, so the same key with another body is refused (422).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig
from aws_lambda_powertools.utilities.idempotency.base import IdempotencyHandler
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)

from crm.auth import Principal
from crm.errors import BadRequest, Conflict, ServiceUnavailable, Unprocessable
from crm.storage.items import Item, account_pk, idempotency_sk, table_client

KEY_FORMAT = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, as Stripe-style clients send
LIFETIME_SECONDS = 24 * 3600

CONFIG = IdempotencyConfig(
    event_key_jmespath="[account, key_id, method, path, key]",
    payload_validation_jmespath="payload",
    raise_on_no_idempotency_key=True,
    expires_after_seconds=LIFETIME_SECONDS,
)


class _AccountStore(DynamoDBPersistenceLayer):
    """Powertools' DynamoDB store with each record under its account's partition key."""

    def __init__(self, table_name: str, client: Any) -> None:
        super().__init__(
            table_name=table_name,
            key_attr="pk",
            sort_key_attr="sk",
            expiry_attr="expires_at",
            in_progress_expiry_attr="in_progress_expires_at",
            boto3_client=client,
        )
        # Set per request: a container serves one request at a time.
        self.account_id = ""

    def _get_key(self, idempotency_key: str) -> dict:
        return {"pk": {"S": account_pk(self.account_id)}, "sk": {"S": idempotency_sk(idempotency_key)}}


_stores: dict[tuple[str, str | None], _AccountStore] = {}


def _store(account_id: str) -> _AccountStore:
    """One store per table binding, sharing PynamoDB's client (no second client at cold start)."""
    binding = (Item.Meta.table_name, Item.Meta.host)
    if binding not in _stores:
        _stores[binding] = _AccountStore(Item.Meta.table_name, table_client()[0])
    store = _stores[binding]
    store.account_id = account_id
    return store


def once(
    principal: Principal,
    key: str,
    request: dict[str, Any],
    run: Callable[[], dict[str, Any]],
    lambda_context: Any = None,
) -> tuple[dict[str, Any], bool]:
    """``run()`` unless a request with this key already ran; returns (its answer, whether replayed).

    ``request`` holds ``method``, ``path`` and ``payload`` (what must match on a retry).
    """
    if not KEY_FORMAT.match(key):
        raise BadRequest("Idempotency-Key must be 1 to 255 visible ASCII characters")
    ran: list[bool] = []

    def first_time() -> dict[str, Any]:
        ran.append(True)
        return run()

    if lambda_context is not None:
        CONFIG.register_lambda_context(lambda_context)  # in-progress records expire with the invocation
    payload = {"account": principal.account_id, "key_id": principal.key_id, "key": key, **request}
    handler = IdempotencyHandler(
        function=first_time,
        function_payload=payload,
        config=CONFIG,
        persistence_store=_store(principal.account_id),
        function_args=(),
        function_kwargs={},
    )
    try:
        answer = handler.handle()
    except IdempotencyValidationError:
        raise Unprocessable("This Idempotency-Key was used with another request body") from None
    except IdempotencyAlreadyInProgressError:
        raise Conflict(
            "A request with this Idempotency-Key is still in progress; retry shortly", headers={"Retry-After": "1"}
        ) from None
    except IdempotencyPersistenceLayerError:
        raise ServiceUnavailable() from None
    return answer, not ran
