"""`make bench`: speed and cost of the API, each as a ratio over a baseline measured in the same run.

1. Cold start: importing each function's handler in a fresh interpreter, over the floor of
   ``import boto3; boto3.client("dynamodb")`` (median of 10 each).
2. Warm latency: ``GET /contacts/{id}`` through the contacts handler (with the authorizer's
   context, as API Gateway passes it) over a raw boto3 ``GetItem`` of the same item; p50 and
   p99 over 1,000 calls each, on DynamoDB Local.
3. Cost: read and write capacity units DynamoDB reports (``ReturnConsumedCapacity``) for each
   API operation, beside the minimum the data needs (one read or write of the contact itself).
4. Imports (bench/imports.py): rows per second of a 100,000-row CSV imported by the worker, over
   a raw BatchWriteItem of the same contacts, and the worker's peak memory (``BENCH_IMPORT_ROWS``
   makes the file smaller: the full size takes about 20 minutes on DynamoDB Local).

Nothing here asserts: it prints figures. Run it on a quiet machine; compare ratios, not times.
"""

from __future__ import annotations

import copy
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from local_api.environment import REGION, function_environment, local_names  # noqa: E402
from local_api.gateway import Gateway, LambdaContext  # noqa: E402
from local_api.store import create_tables, running_dynamodb_local  # noqa: E402
from local_api.template import load  # noqa: E402

COLD_RUNS, WARM_CALLS = 10, 1_000
READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}
SHOW_EVENT = ROOT / "events" / "contacts" / "show.json"
FORM_EVENT = ROOT / "events" / "forms" / "submit.json"


def _cold(code: str, env: dict[str, str]) -> float:
    """Median seconds for ``code`` in a fresh interpreter (imports are what it measures)."""
    timed = f"import time\nstart = time.perf_counter()\n{code}\nprint(time.perf_counter() - start)"
    times = []
    for _ in range(COLD_RUNS):
        out = subprocess.run([sys.executable, "-c", timed], capture_output=True, text=True, env=env, check=True)  # noqa: S603
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def cold_start(template: Any, env: dict[str, str]) -> list[tuple[str, float, float]]:
    env = {**os.environ, **env, "PYTHONPATH": str(ROOT / "layers" / "shared")}
    floor = _cold("import boto3\nboto3.client('dynamodb', region_name='us-east-1')", env)
    rows = [("floor: boto3 + client", floor, 1.0)]
    for function in template.functions.values():
        module = function.handler.rpartition(".")[0]
        code = f"import sys\nsys.path.insert(0, {str(function.code_dir)!r})\nimport {module}"
        seconds = _cold(code, env)
        rows.append((f"{function.logical_id} import", seconds, seconds / floor))
    return rows


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, math.ceil(len(ordered) * 0.99) - 1)]


def _timed(call: Callable[[], Any], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


class Capacity:
    """Adds ReturnConsumedCapacity to every DynamoDB call of a botocore client and sums what it reports."""

    def __init__(self, client: Any) -> None:
        self.read = self.write = 0.0
        events = client.meta.events
        events.register("provide-client-params.dynamodb.*", self._ask)
        events.register("after-call.dynamodb.*", self._add)

    def _ask(self, params: dict[str, Any], **_: Any) -> None:
        params.setdefault("ReturnConsumedCapacity", "TOTAL")

    def _add(self, parsed: dict[str, Any], event_name: str, **_: Any) -> None:
        # DynamoDB Local reports only CapacityUnits; the operation says whether it read or wrote.
        reads = event_name.rsplit(".", 1)[-1] in READS
        consumed = parsed.get("ConsumedCapacity") or []
        for entry in consumed if isinstance(consumed, list) else [consumed]:
            units = entry.get("CapacityUnits", 0.0)
            if reads:
                self.read += units
            else:
                self.write += units

    def measure(self, call: Callable[[], Any]) -> tuple[float, float]:
        self.read = self.write = 0.0
        call()
        return self.read, self.write


def main() -> int:
    template = load()
    with running_dynamodb_local() as endpoint:
        env = function_environment(template, local_names(template, "contacts-bench"), endpoint)
        print("Cold start (median of 10 fresh interpreters)")
        for name, seconds, ratio in cold_start(template, env):
            print(f"  {name:34} {seconds * 1000:8.0f} ms   x{ratio:5.2f}")

        # The handlers' INFO lines would bury the figures.
        gateway = Gateway(template, {**env, "POWERTOOLS_LOG_LEVEL": "WARNING"})
        create_tables(template, {"ContactsTable": "contacts-bench"}, endpoint, REGION)
        from crm import contact_reads, contacts, keys  # after the gateway set the environment
        from crm.auth import Principal, granted_scopes
        from crm.storage.items import Item, account_pk, contact_sk

        event = json.loads(SHOW_EVENT.read_text())
        context = event["requestContext"]["authorizer"]
        principal = Principal(context["account_id"], int(context["user_id"]), frozenset(granted_scopes("admin")), "x")
        keys.create_key(principal.account_id, principal.user_id, "admin", "bench")
        fields = {"first_name": "Ada", "last_name": "Lovelace", "company": "Engines"}
        fields["email_address"] = "ada@example.com"
        contact_id = int(contacts.create(principal, fields).item.id)
        event["path"] = f"/contacts/{contact_id}"
        event["pathParameters"] = {"contact_id": str(contact_id)}
        event["queryStringParameters"] = event["multiValueQueryStringParameters"] = None
        handler = gateway.handler("ContactsFunction")
        client = Item._get_connection().connection.client
        key = {"pk": {"S": account_pk(principal.account_id)}, "sk": {"S": contact_sk(contact_id)}}

        def show() -> None:
            assert handler(copy.deepcopy(event), LambdaContext("ContactsFunction"))["statusCode"] == 200

        def raw() -> None:
            client.get_item(TableName="contacts-bench", Key=key, ConsistentRead=True)

        show(), raw()  # warm both paths
        handler_p50, handler_p99 = _percentiles(_timed(show, WARM_CALLS))
        raw_p50, raw_p99 = _percentiles(_timed(raw, WARM_CALLS))
        print(f"\nWarm GET /contacts/{{id}} through the handler vs raw GetItem ({WARM_CALLS} calls each)")
        for label, ours, base in (("p50", handler_p50, raw_p50), ("p99", handler_p99, raw_p99)):
            print(f"  {label}  handler {ours * 1000:6.2f} ms   GetItem {base * 1000:6.2f} ms   x{ours / base:5.2f}")

        capacity = Capacity(client)
        for n in range(25):
            contacts.create(principal, {**fields, "first_name": f"Filler {n}"})
        from crm.paging import PageRequest

        # The stored item's size, roughly as DynamoDB counts it: attribute names plus values.
        stored = contact_reads.get(principal, contact_id).item.serialize()
        size = sum(len(name) + len(json.dumps(value)) for name, value in stored.items())
        one_read, one_write = math.ceil(size / 4096), math.ceil(size / 1024)
        made: dict[str, int] = {}
        # The web form's post: its form key, the account's form settings, the key's rate, then the
        # same create (what the form sends is the key's, from an origin the account lists).
        from urllib.parse import urlencode

        from crm import forms

        form_key = keys.create_key(principal.account_id, principal.user_id, form_project="support")[1]
        forms.allow(principal.account_id, ["https://www.example.com"], [])
        form_event = json.loads(FORM_EVENT.read_text())
        form_event["body"] = urlencode({"key": form_key, "contact[first_name]": "Ada", "contact[company]": "Engines"})
        form_handler = gateway.handler("FormsFunction")

        def post_form() -> None:
            answer = form_handler(copy.deepcopy(form_event), LambdaContext("FormsFunction"))
            assert answer["statusCode"] == 201, answer

        operations = {
            "create": (lambda: made.update(id=int(contacts.create(principal, fields).item.id)), (0, one_write)),
            "show": (lambda: contact_reads.get(principal, made["id"]), (one_read, 0)),
            "update": (lambda: contacts.update(principal, made["id"], {"job_title": "Analyst"}), (0, one_write)),
            # Lists read eventually consistent pages: half a unit per 4 KB of the page.
            "list of 20": (
                lambda: contact_reads.list_contacts(principal, PageRequest(limit=20)),
                (math.ceil(20 * size / 4096) / 2, 0),
            ),
            "delete": (lambda: contacts.delete(principal, made["id"]), (0, one_write)),
            "form post": (post_form, (0, one_write)),
        }
        print(f"\nCapacity units per operation (a contact of ~{size} bytes; minimum = the contact alone)")
        print(f"  {'operation':12} {'RCU':>6} {'WCU':>6}   {'min RCU':>7} {'min WCU':>7}   ratio")
        for name, (call, (min_read, min_write)) in operations.items():
            read, write = capacity.measure(call)
            ratio = (read + write) / max(min_read + min_write, 1e-9)
            print(f"  {name:12} {read:6.1f} {write:6.1f}   {min_read:7.1f} {min_write:7.1f}   x{ratio:5.2f}")

        import imports  # bench/imports.py

        imports.measure(endpoint)
    return 0


if __name__ == "__main__":
    sys.exit(main())
