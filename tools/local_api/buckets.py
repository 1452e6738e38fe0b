"""S3 on this machine: the template's buckets in the embedded moto server, and their notifications.

``BucketEvents.wrap`` sits in front of moto's server: when an object is created there (a PUT,
a copy, a completed multipart upload, as a presigned URL makes them), the functions the template
subscribes to that bucket get S3's event, on a thread of their own, after the upload has been
answered, as S3 invokes them asynchronously, with Lambda's retries for a failed invocation.

The same server answers Lambda's ``Invoke`` with ``InvocationType=Event`` (a function that goes
on in another invocation, as the import worker does): the payload is delivered the same way.

For `make run`, both outlive a restart as they outlive a failure on AWS: with a ``state`` folder,
each event waiting for delivery is a file there until it has been delivered (or given up), and
those left by a stopped server are delivered when the next one starts (``resume``); with a
``mirror``, every object a request creates or deletes is kept on disk (local_api.mirror).
"""

from __future__ import annotations

import datetime
import io
import json
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote_plus, unquote

import boto3
from botocore.config import Config
from defusedxml.ElementTree import fromstring

from local_api.containers import Stopping
from local_api.environment import ACCOUNT, REGION, function_names
from local_api.files import write_atomically
from local_api.mirror import BucketMirror
from local_api.template import BucketSubscription, Template

Invoke = Callable[[str, dict[str, Any]], Any]
INVOCATIONS = re.compile(r"^/2015-03-31/functions/(?P<function>[^/]+)/invocations$")
ASYNC_RETRIES = 2  # Lambda's default for an asynchronous invocation


@cache
def s3_client(endpoint: str) -> Any:
    config = Config(signature_version="s3v4", s3={"addressing_style": "path"})
    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION, config=config)


def create_buckets(template: Template, names: dict[str, str], endpoint: str) -> None:
    """Create each bucket of the template under its local name, unless it exists already."""
    client = s3_client(endpoint)
    existing = {bucket["Name"] for bucket in client.list_buckets().get("Buckets", [])}
    for logical_id, properties in template.buckets.items():
        if names[logical_id] not in existing:
            client.create_bucket(Bucket=names[logical_id])
        if (properties.get("VersioningConfiguration") or {}).get("Status") == "Enabled":
            client.put_bucket_versioning(Bucket=names[logical_id], VersioningConfiguration={"Status": "Enabled"})


def _created(method: str, query: list[tuple[str, str]], headers: dict[str, str]) -> str | None:
    """S3's name for the object creation a request is, or None if it creates no object."""
    params = {name for name, _ in query if not name.lower().startswith("x-amz-")}  # presigning's own
    if method == "PUT" and not params:
        return "ObjectCreated:Copy" if "x-amz-copy-source" in headers else "ObjectCreated:Put"
    if method == "POST" and params == {"uploadId"}:
        return "ObjectCreated:CompleteMultipartUpload"
    return None


def _matches(subscription: BucketSubscription, event_name: str, key: str) -> bool:
    wanted = any(pattern in (f"s3:{event_name}", "s3:ObjectCreated:*") for pattern in subscription.events)
    return wanted and key.startswith(subscription.prefix) and key.endswith(subscription.suffix)


def _deleted_keys(environ: dict[str, Any]) -> list[str]:
    """The keys a DeleteObjects request names (its body is read, and put back for moto)."""
    if "delete" not in dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)):
        return []
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    environ["wsgi.input"] = io.BytesIO(body)
    try:
        document = fromstring(body, forbid_dtd=True)
    except Exception:  # moto answers a malformed request itself; nothing is deleted
        return []
    return [element.text or "" for element in document.iter() if element.tag.rsplit("}", 1)[-1] == "Key"]


class BucketEvents:
    def __init__(
        self,
        template: Template,
        names: dict[str, str],
        endpoint: str,
        invoke: Invoke,
        *,
        workers: int = 1,
        state: Path | None = None,
        mirror: BucketMirror | None = None,
    ) -> None:
        """``workers``: how many events are delivered at once (S3 and Lambda deliver many)."""
        self.subscriptions = template.bucket_events
        self.logical_ids = {names[logical_id]: logical_id for logical_id in template.buckets}
        self.functions = {name: logical_id for logical_id, name in function_names(template).items()}
        self.endpoint, self.invoke = endpoint, invoke
        self.state, self.mirror = state, mirror
        if state is not None:
            state.mkdir(parents=True, exist_ok=True)
        self.pending: queue.Queue[dict[str, Any]] = queue.Queue()
        self.failed: list[dict[str, Any]] = []  # what the on-failure destination would hold
        self.silent = False
        for n in range(workers):
            threading.Thread(target=self._deliver_forever, name=f"s3-events-{n}", daemon=True).start()

    # --- seeing uploads ------------------------------------------------------------------------

    def wrap(self, app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
        """A WSGI middleware for moto's server that notes every object it creates."""

        def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8")
            invocation = INVOCATIONS.match(path) if environ.get("REQUEST_METHOD") == "POST" else None
            if invocation:
                return self._invoked(unquote(invocation["function"]), environ, start_response)
            bucket, _, key = path.lstrip("/").partition("/")
            headers = {k[5:].lower().replace("_", "-"): v for k, v in environ.items() if k.startswith("HTTP_")}
            method, event_name = environ.get("REQUEST_METHOD", ""), None
            if bucket in self.logical_ids and key:
                query = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
                event_name = _created(method, query, headers)
            deleted = _deleted_keys(environ) if bucket in self.logical_ids and not key and method == "POST" else []
            status: list[str] = []

            def noting(code: str, response_headers: Any, *args: Any) -> Any:
                status.append(code)
                return start_response(code, response_headers, *args)

            body = app(environ, noting)
            done = bool(status) and status[0].startswith("2")
            if done and self.mirror is not None and bucket in self.logical_ids and method not in ("GET", "HEAD"):
                if key:  # kept on disk before the client hears it is done
                    self.mirror.sync(bucket, key)
                for gone in deleted:  # DeleteObjects
                    self.mirror.sync(bucket, gone)
            if event_name and done and not self.silent:
                self._enqueue({"bucket": bucket, "key": key, "event_name": event_name})
            return body

        return middleware

    @contextmanager
    def silenced(self) -> Iterator[None]:
        """Objects created meanwhile notify nothing (the object of an event that is replayed)."""
        self.silent = True
        try:
            yield
        finally:
            self.silent = False

    # --- delivering them -----------------------------------------------------------------------

    def settle(self, timeout: float = 30) -> None:
        """Wait until every event seen so far has been delivered (tests, before they look)."""
        deadline = time.monotonic() + timeout
        while self.pending.unfinished_tasks:
            if time.monotonic() > deadline:
                raise TimeoutError("S3 events still undelivered")
            time.sleep(0.01)

    def event(self, bucket: str, key: str, event_name: str = "ObjectCreated:Put") -> dict[str, Any]:
        try:
            head = s3_client(self.endpoint).head_object(Bucket=bucket, Key=key)
        except Exception:  # deleted since: S3 still tells of its creation
            head = {"ContentLength": 0, "ETag": ""}
        now = datetime.datetime.now(datetime.UTC)
        return {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": REGION,
                    "eventTime": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                    "eventName": event_name,
                    "userIdentity": {"principalId": ACCOUNT},
                    "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                    "responseElements": {"x-amz-request-id": uuid.uuid4().hex[:16].upper(), "x-amz-id-2": ""},
                    "s3": {
                        "s3SchemaVersion": "1.0",
                        "configurationId": "local",
                        "bucket": {
                            "name": bucket,
                            "ownerIdentity": {"principalId": ACCOUNT},
                            "arn": f"arn:aws:s3:::{bucket}",
                        },
                        "object": {
                            # S3 sends keys URL-encoded, a space as "+".
                            "key": quote_plus(key, safe="/"),
                            "size": int(head["ContentLength"]),
                            "eTag": head["ETag"].strip('"'),
                            **({"versionId": head["VersionId"]} if head.get("VersionId") else {}),
                            "sequencer": f"{time.time_ns():016X}",
                        },
                    },
                }
            ]
        }

    def _invoked(self, function: str, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        """Lambda's Invoke of one of the template's functions (by name or ARN), asynchronously."""
        logical_id = self.functions.get(function.rpartition(":function:")[2] or function)
        kind = environ.get("HTTP_X_AMZ_INVOCATION_TYPE", "RequestResponse")
        if logical_id is None or kind != "Event":
            start_response("400 Bad Request", [("Content-Type", "application/json")])
            return [json.dumps({"Message": f"only asynchronous invocations of {sorted(self.functions)}"}).encode()]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        payload = json.loads(environ["wsgi.input"].read(length) or b"{}")
        self._enqueue({"function": logical_id, "payload": payload})
        start_response("202 Accepted", [("Content-Type", "application/json"), ("Content-Length", "0")])
        return [b""]

    def _attempts(self, function: str, event: dict[str, Any], retries: int) -> None:
        for attempt in range(retries + 1):
            try:
                self.invoke(function, event)
                return
            except Stopping:
                raise  # not a failure: delivered when the server starts again
            except Exception:
                time.sleep(min(0.05 * 2**attempt, 0.5))  # Lambda waits minutes; locally, keep it short
        self.failed.append(event)

    def _enqueue(self, delivery: dict[str, Any]) -> None:
        """Queue an S3 event ({bucket, key, event_name}) or an invocation ({function, payload}),
        kept on disk until it is delivered when there is a ``state`` folder."""
        if self.state is not None:
            path = self.state / f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.json"
            write_atomically(path, json.dumps(delivery))
            delivery = {**delivery, "file": str(path)}
        self.pending.put(delivery)

    def resume(self) -> int:
        """Queue again what a stopped server left undelivered, oldest first; how many."""
        left = sorted(self.state.glob("*.json")) if self.state is not None else []
        for path in left:
            self.pending.put({**json.loads(path.read_text()), "file": str(path)})
        return len(left)

    def _deliver(self, delivery: dict[str, Any]) -> None:
        if "function" in delivery:
            self._attempts(delivery["function"], delivery["payload"], ASYNC_RETRIES)
            return
        bucket, key, event_name = delivery["bucket"], delivery["key"], delivery["event_name"]
        for subscription in self.subscriptions:
            if subscription.bucket != self.logical_ids[bucket] or not _matches(subscription, event_name, key):
                continue
            self._attempts(subscription.function, self.event(bucket, key, event_name), subscription.retries)

    def _deliver_forever(self) -> None:
        while True:
            delivery = self.pending.get()
            try:
                self._deliver(delivery)
                if "file" in delivery:
                    Path(delivery["file"]).unlink(missing_ok=True)
            except Exception as exc:  # the server is stopping: what is on disk is delivered next time
                print(f"S3 event delivery: {exc}", flush=True)
            finally:
                self.pending.task_done()
