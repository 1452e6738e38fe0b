"""Deletes a removed contact's notes and history, fed by the table's stream (REMOVE of C# items);
for a contact a merge removed, finishes the merge instead (crm.merges), if the request did not.

Each record is processed on its own; a failed one is reported back (partial batch response), so
Lambda retries it, and after the retries it lands in the on-failure queue.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from crm import cascade, merges
from crm.observability import count, logger, observed

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def _clean(record: DynamoDBRecord, lambda_context: Any = None) -> None:
    keys = record.raw_event.get("dynamodb", {}).get("Keys", {})
    contact = cascade.removed_contact(keys)
    if contact is None:
        return  # the stream filter lets only contacts through; anything else needs nothing
    account_id, contact_id = contact
    if merges.removed_by_merge(account_id, contact_id):
        return  # its notes and records are the survivor's now
    deleted = cascade.delete_dependants(account_id, contact_id, cascade.seconds_left(lambda_context))
    count("DependantsDeleted")
    logger.info("contact cleaned up", extra={"contact_id": contact_id, "deleted": deleted})


def clean(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=_clean, processor=processor, context=context)


lambda_handler = observed(clean)
