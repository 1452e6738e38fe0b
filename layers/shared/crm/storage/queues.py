"""The deliveries' FIFO queue (crm.webhooks): messages sent in order per group, and a failed one's
wait before it is received again."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from crm import config

SEND_BATCH = 10  # SendMessageBatch's limit


@cache
def _client(endpoint: str | None, region: str) -> Any:
    import boto3  # here: only the writers of deliveries load it

    return boto3.client("sqs", endpoint_url=endpoint, region_name=region)


def client() -> Any:
    return _client(config.settings.sqs_endpoint, config.settings.region)


def send(messages: list[tuple[str, str, dict[str, Any]]]) -> None:
    """Send (group, deduplication id, body) in order; a message the queue refuses raises, so that
    its sender is retried (a message sent again within five minutes is dropped by its id)."""
    queue = config.settings.webhook_queue_url
    for start in range(0, len(messages), SEND_BATCH):
        chunk = messages[start : start + SEND_BATCH]
        entries = [
            {"Id": str(n), "MessageBody": json.dumps(body), "MessageGroupId": group, "MessageDeduplicationId": dedup}
            for n, (group, dedup, body) in enumerate(chunk)
        ]
        answer = client().send_message_batch(QueueUrl=queue, Entries=entries)
        if answer.get("Failed"):
            raise RuntimeError(f"the queue refused {len(answer['Failed'])} deliveries: {answer['Failed'][0]}")


def wait(receipt: str, seconds: int) -> None:
    """Let a received message be received again in ``seconds`` (at most 12 hours)."""
    client().change_message_visibility(
        QueueUrl=config.settings.webhook_queue_url, ReceiptHandle=receipt, VisibilityTimeout=min(seconds, 43200)
    )
