"""Webhooks: the change feed's entries posted to the URLs admin keys subscribe, signed as Standard
Webhooks says (``signing``), from a public address only (``outbound``).

The feed writer, as it writes each entry, queues a delivery of it to every subscription that wants
it (``deliveries.dispatch``): an item that records its attempts, and a message on a FIFO queue
grouped by webhook and contact, so that one contact's changes reach a receiver in order. The
deliverer posts it; a failure waits on the queue itself (its visibility, doubled each time) until
the next attempt, never in a running Lambda, for RETRY_HOURS; a subscription that has failed that
long is disabled, with the reason.
"""

from __future__ import annotations

MAX_WEBHOOKS = 25  # an account's subscriptions: each costs a queue message per matching change
MAX_URL = 2048
MAX_FIELDS = 50
RETRY_HOURS = 24
SECRET_OVERLAP_HOURS = 24  # a rotated secret still signs this long, beside the new one
TIMEOUT_SECONDS = 5
MAX_ANSWER_BYTES = 64 * 1024
DELIVERIES_KEPT_DAYS = 30
PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"
