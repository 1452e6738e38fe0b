"""DynamoDB streams on this machine: new records go to their function, as Lambda's poller sends them.

After each request (or, for `make run`, a few times a second) the gateway drains the table's
stream, keeps the records a subscription's filter lets through, and invokes its function with
them; records reported as failed (partial batch response) are retried, then kept in ``failed``
as the on-failure queue would keep them.
"""

from __future__ import annotations

import copy
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3

from local_api.containers import Stopping
from local_api.files import write_atomically
from local_api.template import StreamSubscription


def matches(pattern: Any, value: Any) -> bool:
    """The subset of Lambda's event filtering the template uses: value lists and ``prefix``."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(matches(p, value.get(k)) for k, p in pattern.items())
    if isinstance(pattern, list):
        return any(
            (
                isinstance(option, dict)
                and "prefix" in option
                and isinstance(value, str)
                and value.startswith(option["prefix"])
            )
            or option == value
            for option in pattern
        )
    return pattern == value


def _as_event(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    record = {**record, "eventSourceARN": stream_arn, "dynamodb": dict(record["dynamodb"])}
    created = record["dynamodb"].get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        record["dynamodb"]["ApproximateCreationDateTime"] = int(created.timestamp())
    return record


class StreamReader:
    """Reads a table's stream a page at a time, from where it last stopped.

    With ``state`` (a file), the position reached is kept there, so that a restarted reader goes
    on after the last record it returned, as an event source mapping does; without one, or the
    first time, it starts from the records written after it was made.
    """

    PAGE = 1000  # GetRecords' own limit

    def __init__(self, table: str, endpoint: str | None, region: str, state: Path | None = None) -> None:
        self.tables = boto3.client("dynamodb", endpoint_url=endpoint or None, region_name=region)
        self.streams = boto3.client("dynamodbstreams", endpoint_url=endpoint or None, region_name=region)
        self.arn = self.tables.describe_table(TableName=table)["Table"]["LatestStreamArn"]
        self.state = state
        saved = json.loads(state.read_text()) if state and state.exists() else {}
        resuming = saved.get("arn") == self.arn
        self.positions: dict[str, str] = saved.get("positions", {}) if resuming else {}
        self.finished: set[str] = set(saved.get("finished", [])) if resuming else set()
        self.iterators: dict[str, str] = {}
        for shard in self._shards():
            if shard not in self.finished:
                self.iterators[shard] = self._iterator(shard, "TRIM_HORIZON" if resuming else "LATEST")

    def _shards(self) -> list[str]:
        return [s["ShardId"] for s in self.streams.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]]

    def _iterator(self, shard: str, kind: str) -> str:
        """An iterator of ``kind``, or after the last record returned of a shard already read."""
        where: dict[str, str] = {"ShardIteratorType": kind}
        if shard in self.positions:
            where = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": self.positions[shard]}
        return self.streams.get_shard_iterator(StreamArn=self.arn, ShardId=shard, **where)["ShardIterator"]

    def read(self) -> list[dict[str, Any]]:
        """The next records: at most a page of each shard; [] once every shard is read out for now."""
        records, ended = [], False
        for shard, iterator in list(self.iterators.items()):
            try:
                page = self.streams.get_records(ShardIterator=iterator, Limit=self.PAGE)
            except self.streams.exceptions.ExpiredIteratorException:
                self.iterators[shard] = self._iterator(shard, "TRIM_HORIZON")
                continue
            records += [_as_event(r, self.arn) for r in page["Records"]]
            if page["Records"]:
                self.positions[shard] = page["Records"][-1]["dynamodb"]["SequenceNumber"]
            following = page.get("NextShardIterator")  # None once a closed shard is read out
            if following is None:
                del self.iterators[shard]
                self.finished.add(shard)
                self.positions.pop(shard, None)
                ended = True
            else:
                self.iterators[shard] = following
        if ended:  # a shard ended: its successors hold what comes next, from their start
            for shard in self._shards():
                if shard not in self.iterators and shard not in self.finished:
                    self.iterators[shard] = self._iterator(shard, "TRIM_HORIZON")
        return records

    def save(self) -> None:
        """Keep the position reached (after what was read has been delivered)."""
        if self.state is not None:
            state = {"arn": self.arn, "positions": self.positions, "finished": sorted(self.finished)}
            write_atomically(self.state, json.dumps(state))


class MotoStreamReader:
    """moto's stream, read in this process (tests, and `make run`'s embedded store).

    moto's DescribeStream answers 404 "Not yet implemented" with this botocore, so its shard is
    read directly; the records are the ones moto would serve through GetRecords.
    """

    def __init__(self, table: str, region: str) -> None:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        self.table = dynamodb_backends[DEFAULT_ACCOUNT_ID][region].get_table(table)
        self.arn = f"{self.table.table_arn}/stream/{self.table.latest_stream_label}"
        self.position = len(self.table.stream_shard.items)

    def read(self) -> list[dict[str, Any]]:
        items = self.table.stream_shard.items[self.position :]
        self.position += len(items)
        return [_as_event(copy.deepcopy(item.record), self.arn) for item in items]

    def save(self) -> None:
        pass  # moto's store lives as long as this process


class StreamDelivery:
    """Feeds one subscription from one reader, with the retries Lambda would make."""

    def __init__(self, subscription: StreamSubscription, reader: StreamReader | MotoStreamReader) -> None:
        self.subscription, self.reader = subscription, reader
        self.failed: list[dict[str, Any]] = []

    def deliver(self, invoke: Any) -> None:
        """Every record written since, a page at a time."""
        while records := self.reader.read():
            self._deliver(records, invoke)
            self.reader.save()

    def _deliver(self, records: list[dict[str, Any]], invoke: Any) -> None:
        filters = self.subscription.filters
        wanted = [r for r in records if not filters or any(matches(p, r) for p in filters)]
        for start in range(0, len(wanted), self.subscription.batch_size):
            batch = wanted[start : start + self.subscription.batch_size]
            for attempt in range(self.subscription.retries + 1):
                try:
                    answer = invoke(self.subscription.function, {"Records": batch}) or {}
                    failed_ids = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
                except Stopping:
                    raise  # not a failure: the position is not kept, so the next start delivers them
                except Exception:
                    failed_ids = {r["dynamodb"]["SequenceNumber"] for r in batch}
                batch = [r for r in batch if r["dynamodb"]["SequenceNumber"] in failed_ids]
                if not batch:
                    break
                time.sleep(min(0.01 * 2**attempt, 0.1))  # Lambda backs off longer; locally, keep it short
            self.failed += batch
