"""SQS on this machine: the queues `make run` and the tests use, behind the embedded S3's port.

moto's SQS reckons every queue attribute, counts included, over every message for each message
it takes, so a FIFO queue of a few thousand messages takes a second a send (measured: 0.55 s a
batch of 10 at 1,000 messages, 1.65 s at 2,000); a webhook whose receiver is down builds such a
backlog in a minute. This is the part of SQS the template uses, kept by group: CreateQueue,
GetQueueUrl, GetQueueAttributes, SendMessage(Batch), ReceiveMessage, DeleteMessage(Batch),
ChangeMessageVisibility and PurgeQueue, over the JSON protocol botocore speaks; FIFO order within a
group (a group gives out nothing while one of its messages is in flight), deduplication for five
minutes, visibility, receive counts and the redrive to a dead-letter queue. With a ``state`` file
(`make run`), what it holds is written there when the server stops and read back when it starts:
a message in flight comes back visible, as its visibility would have ended meanwhile.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from local_api.environment import ACCOUNT
from local_api.files import write_atomically

DEDUPLICATION_SECONDS = 300
PREFIX = "AmazonSQS."


@dataclass
class Message:
    id: str
    body: str
    group: str
    dedup: str
    sequence: int
    sent: int  # epoch milliseconds
    receipts: int = 0
    first_received: int | None = None
    visible_at: float = 0.0  # time.monotonic()
    receipt: str | None = None  # the latest receive's handle

    def in_flight(self, now: float) -> bool:
        return self.receipt is not None and self.visible_at > now


@dataclass
class Queue:
    name: str
    fifo: bool
    visibility: int
    dead_letter: str | None = None  # a queue's name
    max_receives: int = 0
    groups: OrderedDict[str, deque[Message]] = field(default_factory=OrderedDict)  # in order of their first message
    by_receipt: dict[str, Message] = field(default_factory=dict)
    seen: dict[str, tuple[float, str]] = field(default_factory=dict)  # deduplication id -> (until, message id)


class SqsError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.status = code, status


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


class Sqs:
    def __init__(self, state: Path | None = None) -> None:
        self.queues: dict[str, Queue] = {}
        self.lock = threading.Lock()
        self.sequence = itertools.count(10**19)
        self.state = state
        if state is not None and state.exists():
            self._restore(json.loads(state.read_text()))

    def save(self) -> None:
        """Write every queue and message to ``state`` (the server is stopping)."""
        if self.state is None:
            return
        with self.lock:
            queues = [
                {
                    "name": q.name,
                    "fifo": q.fifo,
                    "visibility": q.visibility,
                    "dead_letter": q.dead_letter,
                    "max_receives": q.max_receives,
                    "messages": [asdict(m) | {"receipt": None} for group in q.groups.values() for m in group],
                }
                for q in self.queues.values()
            ]
            write_atomically(self.state, json.dumps({"queues": queues}))

    def _restore(self, saved: dict[str, Any]) -> None:
        last = 10**19
        for spec in saved.get("queues", []):
            queue = Queue(spec["name"], spec["fifo"], spec["visibility"], spec["dead_letter"], spec["max_receives"])
            for fields in sorted(spec["messages"], key=lambda m: m["sequence"]):
                message = Message(**{**fields, "visible_at": 0.0})
                queue.groups.setdefault(message.group if queue.fifo else message.id, deque()).append(message)
                last = max(last, message.sequence + 1)
            self.queues[queue.name] = queue
        self.sequence = itertools.count(last)

    # --- the WSGI side -------------------------------------------------------------------------

    def wrap(self, app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
        """A WSGI middleware that answers SQS's requests and hands every other one to ``app``."""

        def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            target = environ.get("HTTP_X_AMZ_TARGET", "")
            if not target.startswith(PREFIX):
                return app(environ, start_response)
            length = int(environ.get("CONTENT_LENGTH") or 0)
            payload = json.loads(environ["wsgi.input"].read(length) or b"{}")
            host = environ.get("HTTP_HOST", "127.0.0.1")
            try:
                with self.lock:
                    answer, status = self.call(target[len(PREFIX) :], payload, f"http://{host}"), 200
            except SqsError as exc:
                answer, status = {"__type": f"com.amazonaws.sqs#{exc.code}", "message": str(exc)}, exc.status
            data = json.dumps(answer).encode()
            start_response(
                f"{status} {'OK' if status == 200 else 'Bad Request'}",
                [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(data)))],
            )
            return [data]

        return middleware

    def call(self, action: str, payload: dict[str, Any], base: str) -> dict[str, Any]:
        handler = getattr(self, f"_{action}", None)
        if handler is None:
            raise SqsError("UnsupportedOperation", f"{action} is not emulated here")
        return handler(payload, base)

    # --- queues --------------------------------------------------------------------------------

    def _queue(self, url: str) -> Queue:
        name = str(url).rstrip("/").rsplit("/", 1)[-1]
        if name not in self.queues:
            raise SqsError("QueueDoesNotExist", "The specified queue does not exist.")
        return self.queues[name]

    def _CreateQueue(self, payload: dict[str, Any], base: str) -> dict[str, Any]:
        name, attributes = payload["QueueName"], payload.get("Attributes") or {}
        if name not in self.queues:
            redrive = json.loads(attributes.get("RedrivePolicy") or "{}")
            self.queues[name] = Queue(
                name,
                attributes.get("FifoQueue") == "true",
                int(attributes.get("VisibilityTimeout", 30)),
                str(redrive["deadLetterTargetArn"]).rsplit(":", 1)[-1] if redrive else None,
                int(redrive.get("maxReceiveCount", 0)) if redrive else 0,
            )
        return {"QueueUrl": f"{base}/{ACCOUNT}/{name}"}

    def _GetQueueUrl(self, payload: dict[str, Any], base: str) -> dict[str, Any]:
        self._queue(payload["QueueName"])
        return {"QueueUrl": f"{base}/{ACCOUNT}/{payload['QueueName']}"}

    def _GetQueueAttributes(self, payload: dict[str, Any], base: str) -> dict[str, Any]:
        queue, now = self._queue(payload["QueueUrl"]), time.monotonic()
        messages = [m for group in queue.groups.values() for m in group]
        return {
            "Attributes": {
                "ApproximateNumberOfMessages": str(sum(not m.in_flight(now) for m in messages)),
                "ApproximateNumberOfMessagesNotVisible": str(sum(m.in_flight(now) for m in messages)),
                "VisibilityTimeout": str(queue.visibility),
                "FifoQueue": str(queue.fifo).lower(),
            }
        }

    def _PurgeQueue(self, payload: dict[str, Any], base: str) -> dict[str, Any]:
        queue = self._queue(payload["QueueUrl"])
        queue.groups.clear()
        queue.by_receipt.clear()
        return {}

    # --- messages ------------------------------------------------------------------------------

    def _send(self, queue: Queue, entry: dict[str, Any]) -> dict[str, Any]:
        body = entry["MessageBody"]
        group = entry.get("MessageGroupId") or ""
        if queue.fifo and not group:
            raise SqsError("MissingParameter", "The request must contain the parameter MessageGroupId.")
        dedup = entry.get("MessageDeduplicationId") or (uuid.uuid4().hex if not queue.fifo else "")
        if queue.fifo and not dedup:
            raise SqsError(
                "InvalidParameterValue",
                "The queue should either have ContentBasedDeduplication enabled "
                "or MessageDeduplicationId provided explicitly",
            )
        now = time.monotonic()
        kept = queue.seen.get(dedup)
        if queue.fifo and kept and kept[0] > now:  # sent again within five minutes: the same message
            return {"MessageId": kept[1], "MD5OfMessageBody": _md5(body)}
        message = Message(uuid.uuid4().hex, body, group, dedup, next(self.sequence), int(time.time() * 1000))
        queue.groups.setdefault(group if queue.fifo else message.id, deque()).append(message)
        if queue.fifo:
            queue.seen[dedup] = (now + DEDUPLICATION_SECONDS, message.id)
            if len(queue.seen) > 10_000:  # forget the expired ones
                queue.seen = {k: v for k, v in queue.seen.items() if v[0] > now}
        return {"MessageId": message.id, "MD5OfMessageBody": _md5(body), "SequenceNumber": str(message.sequence)}

    def _SendMessage(self, payload: dict[str, Any], base: str) -> dict[str, Any]:
        return self._send(self._queue(payload["QueueUrl"]), payload)

    def _SendMessageBatch(self, payload: dict[str, Any], base: str) -> dict[str, Any]:
        queue = self._queue(payload["QueueUrl"])
        return {"Successful": [{"Id": e["Id"], **self._send(queue, e)} for e in payload["Entries"]], "Failed": []}

    def _ReceiveMessage(self, payload: dict[str, Any], base: str) -> dict[str, Any]:
        queue, now = self._queue(payload["QueueUrl"]), time.monotonic()
        wanted = int(payload.get("MaxNumberOfMessages") or 1)
        visibility = int(payload.get("VisibilityTimeout", queue.visibility))
        taken: list[Message] = []
        for key, group in list(queue.groups.items()):
            if len(taken) >= wanted:
                break
            if any(m.in_flight(now) for m in group):
                continue  # a group waits for the message it gave out
            for message in list(group):
                if len(taken) >= wanted:
                    break
                if queue.dead_letter and message.receipts >= queue.max_receives:
                    group.remove(message)  # received too often: to the dead-letter queue
                    self.queues[queue.dead_letter].groups.setdefault(key, deque()).append(message)
                    continue
                if message.receipt:
                    queue.by_receipt.pop(message.receipt, None)
                message.receipts += 1
                message.first_received = message.first_received or int(time.time() * 1000)
                message.receipt, message.visible_at = uuid.uuid4().hex, now + visibility
                queue.by_receipt[message.receipt] = message
                taken.append(message)
                if not queue.fifo:
                    break
            if not group:
                del queue.groups[key]
        return {"Messages": [self._shown(queue, m) for m in taken]}

    def _shown(self, queue: Queue, message: Message) -> dict[str, Any]:
        attributes = {
            "ApproximateReceiveCount": str(message.receipts),
            "SentTimestamp": str(message.sent),
            "ApproximateFirstReceiveTimestamp": str(message.first_received),
            "SenderId": ACCOUNT,
        }
        if queue.fifo:
            attributes |= {
                "MessageGroupId": message.group,
                "MessageDeduplicationId": message.dedup,
                "SequenceNumber": str(message.sequence),
            }
        return {
            "MessageId": message.id,
            "ReceiptHandle": message.receipt,
            "MD5OfBody": _md5(message.body),
            "Body": message.body,
            "Attributes": attributes,
        }

    def _remove(self, queue: Queue, receipt: str) -> None:
        message = queue.by_receipt.pop(receipt, None)
        if message is None:
            return  # already deleted, or received again since: as SQS, no error
        key = message.group if queue.fifo else message.id
        group = queue.groups.get(key)
        if group is not None and message in group:
            group.remove(message)
            if not group:
                del queue.groups[key]

    def _DeleteMessage(self, payload: dict[str, Any], base: str) -> dict[str, Any]:
        self._remove(self._queue(payload["QueueUrl"]), payload["ReceiptHandle"])
        return {}

    def _DeleteMessageBatch(self, payload: dict[str, Any], base: str) -> dict[str, Any]:
        queue = self._queue(payload["QueueUrl"])
        for entry in payload["Entries"]:
            self._remove(queue, entry["ReceiptHandle"])
        return {"Successful": [{"Id": e["Id"]} for e in payload["Entries"]], "Failed": []}

    def _ChangeMessageVisibility(self, payload: dict[str, Any], base: str) -> dict[str, Any]:
        queue = self._queue(payload["QueueUrl"])
        message = queue.by_receipt.get(payload["ReceiptHandle"])
        if message is None or not message.in_flight(time.monotonic()):
            raise SqsError("MessageNotInflight", "The message referred to isn't in flight.")
        message.visible_at = time.monotonic() + int(payload["VisibilityTimeout"])
        return {}
