"""What DynamoDB would bill for the calls a botocore client makes, beside what DynamoDB Local reports.

DynamoDB Local's ``ConsumedCapacity`` is right for plain reads and writes, but not for
transactions: it reports 4 units for a transaction of one small item and still 4 for ten
(measured on 2.9.30), where DynamoDB bills 2 write units per KB of each item written in a
transaction and 2 read units per 4 KB of each item a transaction reads or checks. So the bill is
worked out here from each request and the sizes of the items it touches, as DynamoDB's documentation
counts them (on-demand, standard table class):

- a read: 1 unit per 4 KB of the item (strongly consistent), 0.5 eventually consistent, 2 in a
  transaction; a Query or Scan per 4 KB of everything it read; a missing item costs the minimum;
- a write: 1 unit per KB of the larger of the item before and after it, 2 in a transaction; a
  ``ConditionCheck`` is a transactional read.

The sizes before a write are read through a client of their own, so the metering reads are not counted.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}


def item_size(item: dict[str, Any] | None) -> int:
    """Bytes of an item in DynamoDB's wire form, as DynamoDB sizes it: names plus values."""
    return sum(len(name.encode()) + _value_size(value) for name, value in (item or {}).items())


def _value_size(value: dict[str, Any]) -> int:
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "B":
        return len(inner)
    if kind == "N":
        return _number_size(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(text.encode()) for text in inner)
    if kind == "NS":
        return sum(_number_size(number) for number in inner)
    if kind == "BS":
        return sum(len(blob) for blob in inner)
    if kind == "L":
        return 3 + sum(1 + _value_size(element) for element in inner)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + _value_size(element) for name, element in inner.items())
    raise ValueError(f"unknown attribute type {kind}")


def _number_size(text: str) -> int:
    digits = Decimal(text).normalize().as_tuple().digits
    return min(21, math.ceil(len(digits) / 2) + 1)


def _key(item: dict[str, Any]) -> dict[str, Any]:
    return {name: item[name] for name in ("pk", "sk")}


def _read_units(size: int, consistent: bool, transactional: bool = False) -> float:
    units = max(1, math.ceil(size / 4096))
    return units * 2 if transactional else units if consistent else units / 2


def _write_units(before: int, after: int, transactional: bool) -> float:
    units = max(1, math.ceil(max(before, after) / 1024))
    return units * 2 if transactional else units


class Meter:
    """Hooks a botocore DynamoDB client: every call asks for ``ConsumedCapacity``; Local's figure and
    the bill worked out here are summed until ``reset``. ``sizes`` is a second client on the same
    endpoint, for the items' sizes before and after each write (without it, writes are not billed)."""

    def __init__(self, client: Any, sizes: Any = None) -> None:
        self.sizes = sizes
        self._lock = threading.Lock()  # a show reads its notes on a thread of its own
        self.reset()
        events = client.meta.events
        events.register("provide-client-params.dynamodb.*", self._ask)
        events.register("before-parameter-build.dynamodb.*", self._note_before)
        events.register("after-call.dynamodb.*", self._add)

    def reset(self) -> None:
        self.local_read = self.local_write = self.read = self.write = 0.0
        self.calls = self.items_written = 0
        self.written: dict[str, float] = {}  # sort key: the write units billed on that item

    def _ask(self, params: dict[str, Any], **_: Any) -> None:
        params.setdefault("ReturnConsumedCapacity", "TOTAL")

    def _size(self, table: str, key: dict[str, Any]) -> int:
        found = self.sizes.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        return item_size(found)

    @staticmethod
    def _writes(operation: str, params: dict[str, Any]) -> list[tuple[str, dict[str, Any], str, bool]]:
        """(table, key, action, transactional) of each item the call writes or checks."""
        if operation == "PutItem":
            return [(params["TableName"], _key(params["Item"]), "Put", False)]
        if operation in ("UpdateItem", "DeleteItem"):
            return [(params["TableName"], params["Key"], operation.removesuffix("Item"), False)]
        found = []
        if operation == "BatchWriteItem":
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    if "PutRequest" in request:
                        found.append((table, _key(request["PutRequest"]["Item"]), "Put", False))
                    else:
                        found.append((table, request["DeleteRequest"]["Key"], "Delete", False))
        if operation == "TransactWriteItems":
            for action in params["TransactItems"]:
                ((kind, body),) = action.items()
                found.append((body["TableName"], body.get("Key") or _key(body["Item"]), kind, True))
        return found

    def measure(self, call: Callable[[], Any]) -> tuple[float, float]:
        """The read and write units DynamoDB Local reported for what ``call`` did."""
        self.reset()
        call()
        return self.local_read, self.local_write

    def _note_before(self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        writes = self._writes(model.name, params) if self.sizes is not None else []
        context["metered"] = (params, [(*write, self._size(write[0], write[1])) for write in writes])

    def _add(self, model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        params, writes = context.get("metered", ({}, []))
        consumed = parsed.get("ConsumedCapacity") or []
        entries = consumed if isinstance(consumed, list) else [consumed]
        local = sum(entry.get("CapacityUnits", 0.0) for entry in entries)
        read = write = 0.0
        written = 0
        if model.name in READS:
            read = self._billed_read(model.name, params, parsed)
        for table, key, action, transactional, before in writes:
            if action == "ConditionCheck":
                read += _read_units(before, True, transactional=True)
                continue
            after = 0 if action == "Delete" else self._size(table, key)
            units = _write_units(before, after, transactional)
            write += units
            written += 1
            with self._lock:
                self.written[key["sk"]["S"]] = self.written.get(key["sk"]["S"], 0.0) + units
        with self._lock:
            self.calls += 1
            self.read, self.write, self.items_written = (
                self.read + read,
                self.write + write,
                self.items_written + written,
            )
            if model.name in READS:
                self.local_read += local
            else:
                self.local_write += local

    def _billed_read(self, operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> float:
        if operation == "GetItem":
            return _read_units(item_size(parsed.get("Item")), bool(params.get("ConsistentRead")))
        if operation in ("Query", "Scan"):
            size = sum(item_size(item) for item in parsed.get("Items", []))
            return _read_units(size, bool(params.get("ConsistentRead")))
        if operation == "TransactGetItems":
            return sum(_read_units(item_size(r.get("Item")), True, True) for r in parsed.get("Responses", []))
        units = 0.0  # BatchGetItem: each key on its own, a missing one at the minimum
        for table, asked in params.get("RequestItems", {}).items():
            found = parsed.get("Responses", {}).get(table, [])
            left = len(parsed.get("UnprocessedKeys", {}).get(table, {}).get("Keys", []))
            consistent = bool(asked.get("ConsistentRead"))
            units += sum(_read_units(item_size(item), consistent) for item in found)
            units += (len(asked["Keys"]) - len(found) - left) * _read_units(0, consistent)
        return units
