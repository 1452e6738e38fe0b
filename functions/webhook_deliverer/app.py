"""Posts queued webhook deliveries (crm.webhooks.deliveries), from their FIFO queue.

A batch holds messages of several groups (a webhook and a contact each), each group's in order:
the groups are posted side by side, each in its own order, so that a slow receiver holds up only
its own. A failed delivery is handed back (partial batch response) after its wait is set on the
message itself (its visibility), so the next attempt comes from the queue, never from a sleeping
Lambda; its group's later messages in the batch are handed back untried and visible at once, so
that the queue gives them out again only after it, in order.
"""

from __future__ import annotations

import contextvars
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from crm.observability import logger, observed
from crm.storage import queues
from crm.webhooks import deliveries

GROUPS_AT_ONCE = 10  # a batch's most (BatchSize): each waits at most 5 s on its receiver


def _group(records: list[dict[str, Any]]) -> list[str]:
    """Post one group's messages in order; the ids of those handed back."""
    for number, record in enumerate(records):
        try:
            outcome = deliveries.attempt(json.loads(record["body"]))
        except Exception:
            logger.exception("delivery not attempted")
            received = int((record.get("attributes") or {}).get("ApproximateReceiveCount") or 1)
            outcome = deliveries.Outcome(False, deliveries.retry_wait(received))
        if not outcome.done:
            queues.wait(record["receiptHandle"], outcome.wait)
            for later in records[number + 1 :]:
                queues.wait(later["receiptHandle"], 0)
            return [r["messageId"] for r in records[number:]]
    return []


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for record in event.get("Records") or []:
        groups.setdefault((record.get("attributes") or {}).get("MessageGroupId", ""), []).append(record)
    with ThreadPoolExecutor(min(GROUPS_AT_ONCE, len(groups) or 1)) as pool:
        # Each in the invocation's context: its log keys (the request's ids) go with it.
        running = [pool.submit(contextvars.copy_context().run, _group, records) for records in groups.values()]
        handed_back = [message for task in running for message in task.result()]
    return {"batchItemFailures": [{"itemIdentifier": message} for message in handed_back]}


lambda_handler = observed(handle)
