"""The change feed's writer: each new history entry the table's stream brings becomes the
account's feed entry (crm.changes), written one at a time in the stream's order, so that a reader
never sees a change before an earlier one; and each entry is queued to the webhooks that want it
(crm.webhooks.deliveries), in the same order, as the feed shows it.

At the first record that fails, it and every record after it are reported back (partial batch
response): the stream delivers them again, in order, and an entry written twice is the same item
(its deliveries too). After the retries they land in the on-failure queue.
"""

from __future__ import annotations

from typing import Any

from crm import changes
from crm.http import render, views
from crm.observability import logger, observed
from crm.webhooks.deliveries import Dispatcher


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = event.get("Records") or []
    dispatcher = Dispatcher(lambda entry: render.to_json(views.change(entry)))
    for number, record in enumerate(records):
        try:
            entry = changes.entry_of(record)
            if entry is not None:  # the stream filter lets only history entries through
                entry.save()
                dispatcher.dispatch(entry)
        except Exception:
            logger.exception("feed entry not written")
            left = records[number:]
            return {"batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in left]}
    return {"batchItemFailures": []}


lambda_handler = observed(handle)
