"""``POST /contacts/batch`` over the single calls it stands for, through the contacts handler with
the authorizer's context: each operation's time (100 creates, then 100 updates, one request
against a hundred) and its units (DynamoDB's bill, bench/billing.py). Goal: at most x1.5 of the
single call, per operation."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from report import row

from local_api.gateway import LambdaContext

EVENTS = Path(__file__).resolve().parents[1] / "events"
OPERATIONS = 100
GOAL = 1.5


def _event(method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    event = json.loads((EVENTS / "contacts" / "create.json").read_text())
    event.update(httpMethod=method, path=path, resource=path, body=json.dumps(body))
    return event


def _creates(tag: str) -> list[dict[str, Any]]:
    return [
        {"first_name": f"Batch {n}", "last_name": tag, "email_address": f"{tag}.{n}@example.com", "company": "Engines"}
        for n in range(OPERATIONS)
    ]


class Calls:
    """The single calls and the batches of one run: each call's event copied before the clock."""

    def __init__(self, handler: Callable[[dict[str, Any], Any], dict[str, Any]]) -> None:
        self.handler = handler

    def send(self, events: list[dict[str, Any]]) -> tuple[float, list[dict[str, Any]]]:
        """Seconds for the events, one after another, and their answers' bodies."""
        ready, answers = [copy.deepcopy(event) for event in events], []
        # Each answer's metrics are printed (EMF), as on Lambda; here they are kept off the report.
        with contextlib.redirect_stdout(io.StringIO()):
            start = time.perf_counter()
            for event in ready:
                answers.append(self.handler(event, LambdaContext("ContactsFunction")))
            seconds = time.perf_counter() - start
        assert all(a["statusCode"] in (200, 201) for a in answers), answers[:1]
        return seconds, [json.loads(a["body"]) for a in answers]

    def singles(self, tag: str) -> tuple[float, list[int]]:
        seconds, bodies = self.send([_event("POST", "/contacts", {"contact": c}) for c in _creates(tag)])
        return seconds, [body["contact"]["id"] for body in bodies]

    def batch(self, tag: str) -> tuple[float, list[int]]:
        operations = [{"op": "create", "contact": c} for c in _creates(tag)]
        seconds, (body,) = self.send([_event("POST", "/contacts/batch", {"operations": operations})])
        assert {r["status"] for r in body["results"]} == {201}, body["results"][:1]
        return seconds, [r["contact"]["id"] for r in body["results"]]

    def single_updates(self, ids: list[int]) -> float:
        events = [_event("PATCH", f"/contacts/{i}", {"contact": {"job_title": "Analyst"}}) for i in ids]
        for event, contact_id in zip(events, ids, strict=True):
            event["resource"], event["pathParameters"] = "/contacts/{contact_id}", {"contact_id": str(contact_id)}
        return self.send(events)[0]

    def batch_updates(self, ids: list[int]) -> float:
        operations = [{"op": "update", "id": i, "contact": {"job_title": "Analyst"}} for i in ids]
        return self.send([_event("POST", "/contacts/batch", {"operations": operations})])[0]


def timed(handler: Callable[[dict[str, Any], Any], dict[str, Any]]) -> None:
    calls = Calls(handler)
    calls.singles("warm"), calls.batch("warmbatch")  # every path once
    single, single_ids = calls.singles("single")
    batched, batch_ids = calls.batch("batched")
    single_updates, batched_updates = calls.single_updates(single_ids), calls.batch_updates(batch_ids)
    print(f"\nPOST /contacts/batch of {OPERATIONS} operations over as many single calls, per operation")
    for name, ours, base in (("create", batched, single), ("update", batched_updates, single_updates)):
        per, alone = ours / OPERATIONS * 1000, base / OPERATIONS * 1000
        row(f"{name} in a batch, time", f"{per:.2f} ms over {alone:.2f} ms", per / alone, GOAL)


def units(handler: Callable[[dict[str, Any], Any], dict[str, Any]], meter: Any) -> None:
    calls = Calls(handler)
    meter.reset()
    calls.singles("units")
    single = meter.read + meter.write
    meter.reset()
    calls.batch("unitsbatch")
    batched = meter.read + meter.write
    row(
        "create in a batch, units billed",
        f"{batched / OPERATIONS:.1f} over {single / OPERATIONS:.1f}",
        batched / single,
        GOAL,
    )
