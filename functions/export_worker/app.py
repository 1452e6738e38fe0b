"""The export worker: writes the file of each export the table's stream brings (INSERT of an
EXPORT# item; crm.exports.worker does the work).

A record that fails is reported back (partial batch response), so the stream delivers it again;
the worker marks the export failed on its last attempt, so no export stays running for ever.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from crm.exports import worker
from crm.observability import logger, observed
from crm.storage.items import EXPORT_MARK, ID_WIDTH, account_of

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def _export(record: DynamoDBRecord, lambda_context: Any = None) -> None:
    keys = record.raw_event.get("dynamodb", {}).get("Keys", {})
    pk, sk = keys.get("pk", {}).get("S", ""), keys.get("sk", {}).get("S", "")
    number = sk.removeprefix(EXPORT_MARK)
    if not (sk.startswith(EXPORT_MARK) and len(number) == ID_WIDTH and number.isdigit()):
        return  # the stream filter lets only exports through
    outcome = worker.run(account_of(pk), int(number))
    logger.info("export written", extra={"export_id": int(number), "outcome": outcome})


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=_export, processor=processor, context=context)


lambda_handler = observed(handle)
