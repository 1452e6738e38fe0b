"""The SQS `make run` and the tests use (local_api.sqs), held to what the deliverer counts on:
FIFO order per group, a group held while one of its messages is in flight, deduplication,
visibility, and the redrive to the dead-letter queue."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import boto3

from local_api.sqs import Sqs
from tests.conftest import REGION, S3_ENDPOINT


def _queues() -> tuple[Any, str, str]:
    client = boto3.client("sqs", endpoint_url=S3_ENDPOINT, region_name=REGION)
    name = uuid.uuid4().hex[:12]
    dead = client.create_queue(QueueName=f"{name}-dead.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    redrive = json.dumps(
        {"deadLetterTargetArn": f"arn:aws:sqs:{REGION}:123456789012:{name}-dead.fifo", "maxReceiveCount": "2"}
    )
    attributes = {"FifoQueue": "true", "VisibilityTimeout": "60", "RedrivePolicy": redrive}
    return client, client.create_queue(QueueName=f"{name}.fifo", Attributes=attributes)["QueueUrl"], dead


def _send(client: Any, url: str, *messages: tuple[str, str]) -> None:
    entries = [
        {"Id": str(n), "MessageBody": body, "MessageGroupId": group, "MessageDeduplicationId": f"{group}/{body}"}
        for n, (group, body) in enumerate(messages)
    ]
    assert not client.send_message_batch(QueueUrl=url, Entries=entries).get("Failed")


def _receive(client: Any, url: str, count: int = 10) -> list[dict[str, Any]]:
    return client.receive_message(QueueUrl=url, MaxNumberOfMessages=count, AttributeNames=["All"]).get("Messages", [])


def test_a_group_is_given_out_in_order_and_held_while_one_of_it_is_in_flight() -> None:
    client, url, _ = _queues()
    _send(client, url, ("a", "a1"), ("b", "b1"), ("a", "a2"))
    first = _receive(client, url, 1)
    assert [m["Body"] for m in first] == ["a1"]
    assert [m["Body"] for m in _receive(client, url)] == ["b1"]  # a2 waits behind a1
    client.change_message_visibility(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"], VisibilityTimeout=0)
    again = _receive(client, url)
    assert [m["Body"] for m in again] == ["a1", "a2"]
    assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"
    client.delete_message_batch(QueueUrl=url, Entries=[{"Id": "0", "ReceiptHandle": again[0]["ReceiptHandle"]}])
    assert _receive(client, url) == []  # a2 is in flight still


def test_a_message_sent_again_within_five_minutes_is_dropped() -> None:
    client, url, _ = _queues()
    _send(client, url, ("a", "same"))
    _send(client, url, ("a", "same"))
    assert [m["Body"] for m in _receive(client, url)] == ["same"]


def test_a_message_received_too_often_moves_to_the_dead_letter_queue() -> None:
    client, url, dead = _queues()
    _send(client, url, ("a", "poison"))
    for _ in range(2):  # maxReceiveCount: 2
        (message,) = _receive(client, url)
        client.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    assert _receive(client, url) == []
    assert [m["Body"] for m in _receive(client, dead)] == ["poison"]


def test_what_it_holds_outlives_a_restart_with_a_state_file(tmp_path: Path) -> None:
    state = tmp_path / "sqs.json"
    before = Sqs(state)
    base = "http://127.0.0.1:1"
    url = before.call("CreateQueue", {"QueueName": "q.fifo", "Attributes": {"FifoQueue": "true"}}, base)["QueueUrl"]
    entries = [
        {"Id": str(n), "MessageBody": f"m{n}", "MessageGroupId": "g", "MessageDeduplicationId": str(n)}
        for n in range(2)
    ]
    before.call("SendMessageBatch", {"QueueUrl": url, "Entries": entries}, base)
    in_flight = before.call("ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 1}, base)["Messages"]
    assert [m["Body"] for m in in_flight] == ["m0"]
    before.save()
    after = Sqs(state)
    again = after.call("ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 10, "AttributeNames": ["All"]}, base)
    assert [m["Body"] for m in again["Messages"]] == ["m0", "m1"]  # in order; the one in flight visible again
    assert again["Messages"][0]["Attributes"]["ApproximateReceiveCount"] == "2"
