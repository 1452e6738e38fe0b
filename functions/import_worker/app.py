"""The import worker: S3's word that a file arrived in the imports bucket, or its own word to go
on with a long import (crm.imports.worker does the work)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any
from urllib.parse import unquote_plus

import boto3
from aws_lambda_powertools.utilities.data_classes import S3Event

from crm import config
from crm.cascade import seconds_left
from crm.imports import jobs, worker
from crm.observability import logger, observed


@cache
def _lambda(endpoint: str | None, region: str) -> Any:
    return boto3.client("lambda", endpoint_url=endpoint, region_name=region)


def _hand_over(function_name: str) -> worker.HandOver:
    """Invoke this function again, asynchronously, to go on with an import (by its name: the role
    may invoke the function itself, not a version or alias of it)."""

    def hand_over(account_id: str, import_id: int) -> None:
        payload = json.dumps({"import": {"account_id": account_id, "id": import_id}})
        client = _lambda(config.settings.lambda_endpoint, config.settings.region)
        client.invoke(FunctionName=function_name, InvocationType="Event", Payload=payload.encode())

    return hand_over


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Import each file an S3 event names; a failure is raised after the others are done, so that
    Lambda retries the event (each import goes on from its checkpoint), then sends it to the queue."""
    time_left, hand_over = seconds_left(context), _hand_over(context.function_name)
    if "import" in event:  # a handed-over import
        job = event["import"]
        return {"outcomes": [worker.run(str(job["account_id"]), int(job["id"]), time_left, hand_over)]}
    outcomes, failed = [], 0
    for record in S3Event(event).records:
        found = record.s3.get_object
        if record.s3.bucket.name != jobs.bucket():
            outcomes.append("ignored")
            continue
        try:
            key = unquote_plus(found.key)  # S3 sends "a b.csv" as "a+b.csv"; Powertools leaves it so
            size, version = int(found.size or 0), found.version_id
            outcomes.append(worker.received(key, size, version, time_left, hand_over, found.etag or ""))
        except Exception:
            logger.exception("import failed to run")
            failed += 1
    if failed:
        raise RuntimeError(f"{failed} of {len(outcomes) + failed} files could not be imported now")
    return {"outcomes": outcomes}


lambda_handler = observed(handle)
