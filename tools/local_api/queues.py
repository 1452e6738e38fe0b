"""SQS on this machine: the template's queues in the embedded SQS (local_api.sqs), and Lambda's poller.

``QueueDelivery.deliver`` receives what is visible, a batch at a time, invokes the subscribed
function with SQS's event, and deletes what the function did not hand back (partial batch
response); what it hands back stays in flight until its visibility ends (the function may have set
it), and a message received more often than the queue's redrive policy allows moves to its
dead-letter queue, as SQS does.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import boto3

from local_api.containers import Stopping
from local_api.environment import REGION, resolve
from local_api.template import QueueSubscription, Template


@cache
def sqs_client(endpoint: str) -> Any:
    return boto3.client("sqs", endpoint_url=endpoint, region_name=REGION)


def create_queues(template: Template, names: dict[str, str], endpoint: str) -> dict[str, str]:
    """Create each queue of the template under its local name (dead-letter queues first); their URLs."""
    client, urls = sqs_client(endpoint), {}
    ordered = sorted(template.queues.items(), key=lambda item: "RedrivePolicy" in item[1])
    for logical_id, properties in ordered:
        attributes = {"VisibilityTimeout": str(properties.get("VisibilityTimeout", 30))}
        if properties.get("FifoQueue"):
            attributes["FifoQueue"] = "true"
        redrive = properties.get("RedrivePolicy")
        if redrive:
            target = resolve(redrive["deadLetterTargetArn"], names)
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": target, "maxReceiveCount": str(redrive["maxReceiveCount"])}
            )
        name = names[f"{logical_id}.QueueName"]
        urls[logical_id] = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return urls


def _record(message: dict[str, Any], arn: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": {},
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": REGION,
    }


class QueueDelivery:
    """Feeds one function from one queue, as Lambda's poller does."""

    def __init__(self, subscription: QueueSubscription, endpoint: str, url: str, arn: str) -> None:
        self.subscription, self.url, self.arn = subscription, url, arn
        self.client = sqs_client(endpoint)

    def drop_visible(self) -> None:
        """Delete every message visible now, delivering none (between tests)."""
        while messages := self.client.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages"):
            self._delete(messages)

    def _delete(self, messages: list[dict[str, Any]]) -> None:
        entries = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)]
        self.client.delete_message_batch(QueueUrl=self.url, Entries=entries)

    def deliver(self, invoke: Any) -> None:
        """Every message visible now, a batch at a time."""
        while True:
            answer = self.client.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=min(self.subscription.batch_size, 10),
                AttributeNames=["All"],
                WaitTimeSeconds=0,
            )
            messages = answer.get("Messages") or []
            if not messages:
                return
            records = [_record(message, self.arn) for message in messages]
            try:
                result = invoke(self.subscription.function, {"Records": records}) or {}
                kept = {failure["itemIdentifier"] for failure in result.get("batchItemFailures", [])}
            except Stopping:
                raise
            except Exception:
                return  # all of them stay in flight until their visibility ends, as on AWS
            done = [m for m in messages if m["MessageId"] not in kept]
            if done:
                self._delete(done)
            if kept:
                return  # what failed waits; the rest of the queue, the next time round
