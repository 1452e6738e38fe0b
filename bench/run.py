"""`make bench`: the API's speed and cost, each figure a ratio over a baseline measured in the same
run, printed with its goal and ``met`` or ``missed``. It measures; it asserts nothing and exits 0.

1. Cold start, from ``sam build``'s output (``make build``) as Lambda loads it: a fresh interpreter
   that sees only the function's code and the layer (``-I -S``) and writes no bytecode (``-B``:
   ``/var/task`` and ``/opt`` are read-only). Each handler's import, and its Init (the import and
   the first request, one of the function's events from ``events/``, on DynamoDB Local), over the
   floor: ``import boto3; boto3.client("dynamodb")`` from the same layer (and one ``GetItem``, for
   the Init). Then the contacts handler's import with the layer's bytecode over without it.
2. Warm ``GET /contacts/{id}`` through the contacts handler (with the authorizer's context, as API
   Gateway passes it) over a raw ``GetItem`` of the same item: p50 and p99 of 1,000 calls each.
3. Cost of each API operation: the units DynamoDB Local reports, and what DynamoDB would bill
   (bench/billing.py), over the minimum the data needs (one read or write of the contact alone).
4. ``POST /contacts/batch`` (bench/batches.py): each operation's time and units over its single call.
5. Imports (bench/imports.py): rows and items a second against raw ``BatchWriteItem`` of the same
   items, ``skip`` and ``update`` against ``create``, and the worker's peak memory.
6. Exports (bench/exports.py): each format's rows a second against a raw Query of the same
   contacts, and the worker's peak memory.
7. Webhooks (bench/webhooks.py): a create's p50 through `make run` with ten subscriptions whose
   receivers never answer, over the same with none.

Run it on a quiet machine; compare ratios, not times (docs/performance.md).
"""

from __future__ import annotations

import copy
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "bench")]

from billing import Meter  # noqa: E402
from report import row  # noqa: E402

from local_api.environment import REGION, function_environment, local_names  # noqa: E402
from local_api.gateway import Gateway, LambdaContext  # noqa: E402
from local_api.store import create_tables, running_dynamodb_local  # noqa: E402
from local_api.template import Template, load  # noqa: E402

COLD_RUNS, WARM_CALLS = 10, 1_000
BUILD = ROOT / ".aws-sam" / "build"
EVENTS = ROOT / "events"
TABLE = "contacts-bench"
ACCOUNT = "demo"  # the account events/ name
COLD_GOAL, SHOW_P50_GOAL, SHOW_P99_GOAL = 1.3, 1.5, 2.0
# The first request of each API function's Init: one of its own events (contacts: the show).
FIRST_EVENT = {"contacts": "show", "authorizer": "api-key", "forms": "submit", "docs": "openapi"}
# A fresh interpreter's run: code before the clock, then the timed part; it prints the seconds.
FRESH = """
import json, sys, time
class Context:
    function_name, memory_limit_in_mb, aws_request_id = "bench", 512, "bench"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    def get_remaining_time_in_millis(self):
        return 30000
{before}
start = time.perf_counter()
sys.path[:0] = {paths!r}
{timed}
print(time.perf_counter() - start)
"""


def _fresh(paths: list[str], timed: str, env: dict[str, str], before: str = "") -> float:
    """Median seconds of ``timed`` in a fresh interpreter that sees only ``paths``."""
    code = FRESH.format(before=before, paths=paths, timed=timed)
    times = []
    for _ in range(COLD_RUNS):
        args = [sys.executable, "-I", "-S", "-B", "-c", code]
        out = subprocess.run(args, capture_output=True, text=True, env=env, check=False)  # noqa: S603
        if out.returncode:
            raise RuntimeError(out.stderr[-2000:])
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def _first_request(function: Any, contact_id: int) -> tuple[str, str] | None:
    """(code before the clock, the timed call) of the function's first request, or None."""
    folder = function.code_dir.name
    path = EVENTS / folder / f"{FIRST_EVENT.get(folder, 'list')}.json"
    if not path.exists():
        return None
    event = json.loads(path.read_text())
    if folder == "contacts":
        event["path"], event["pathParameters"] = f"/contacts/{contact_id}", {"contact_id": str(contact_id)}
    module, _, attribute = function.handler.rpartition(".")
    before = f"event = json.loads({json.dumps(event)!r})"
    # The authorizer refuses the event's key (it is not in this table): a 401 is a whole request too.
    timed = f"import {module}\ntry:\n    {module}.{attribute}(event, Context())\nexcept Exception:\n    pass"
    return before, timed


def cold_start(template: Template, env: dict[str, str], endpoint: str, contact_id: int) -> None:
    layer = str(next(BUILD.glob("SharedLayer*/python")))
    client = f"import boto3\nclient = boto3.client('dynamodb', region_name={REGION!r}, endpoint_url={endpoint!r})"
    key = {"pk": {"S": f"A#{ACCOUNT}"}, "sk": {"S": f"C#{contact_id:010d}"}}
    floor = _fresh([layer], client, env)
    floor_init = _fresh([layer], f"{client}\nclient.get_item(TableName={TABLE!r}, Key={key!r})", env)
    api = {route.function for route in template.routes} | {template.authorizer}
    api.discard("DocsFunction")  # off the hot path: it builds the OpenAPI document
    print(f"\nCold start from the sam build output (median of {COLD_RUNS} fresh interpreters)")
    row("floor: boto3 + client", f"{floor * 1000:.0f} ms")
    row("floor Init: boto3 + client + GetItem", f"{floor_init * 1000:.0f} ms")
    for logical_id, function in template.functions.items():
        code, goal = str(BUILD / logical_id), COLD_GOAL if logical_id in api else None
        module = function.handler.rpartition(".")[0]
        seconds = _fresh([code, layer], f"import {module}", env)
        row(f"{logical_id} import", f"{seconds * 1000:.0f} ms", seconds / floor, goal)
        first = _first_request(function, contact_id)
        if first is not None:
            init = _fresh([code, layer], first[1], env, first[0])
            row(f"{logical_id} Init", f"{init * 1000:.0f} ms", init / floor_init, goal)
    with tempfile.TemporaryDirectory() as bare:
        shutil.copytree(BUILD, bare, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
        bare_layer = str(next(Path(bare).glob("SharedLayer*/python")))
        uncompiled = _fresh([str(Path(bare) / "ContactsFunction"), bare_layer], "import app", env)
    compiled = _fresh([str(BUILD / "ContactsFunction"), layer], "import app", env)
    print("\nThe layer's bytecode, compiled at build time (layers/shared/Makefile)")
    row("ContactsFunction import without it", f"{uncompiled * 1000:.0f} ms")
    row("ContactsFunction import with it", f"{compiled * 1000:.0f} ms", compiled / uncompiled, 1.0)


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


def main() -> int:
    template = load()
    if not any(BUILD.glob("SharedLayer*/python")):
        sys.exit("no sam build output: run `make bench` (it builds first) or `make build`")
    with running_dynamodb_local() as endpoint:
        env = function_environment(template, local_names(template, TABLE), endpoint)
        # The handlers' INFO lines would bury the figures.
        gateway = Gateway(template, {**env, "POWERTOOLS_LOG_LEVEL": "WARNING"})
        create_tables(template, {"ContactsTable": TABLE}, endpoint, REGION)
        from crm import contacts, keys  # after the gateway set the environment
        from crm.auth import Principal, granted_scopes
        from crm.storage.items import Item, account_pk, contact_sk

        event = json.loads((EVENTS / "contacts" / "show.json").read_text())
        context = event["requestContext"]["authorizer"]
        principal = Principal(context["account_id"], int(context["user_id"]), frozenset(granted_scopes("admin")), "x")
        keys.create_key(principal.account_id, principal.user_id, "admin", "bench")
        fields = {"first_name": "Ada", "last_name": "Lovelace", "company": "Engines"}
        fields["email_address"] = "ada@example.com"
        contact_id = int(contacts.create(principal, fields).item.id)
        cold_start(template, {**os.environ, **env, "POWERTOOLS_LOG_LEVEL": "WARNING"}, endpoint, contact_id)

        event["path"] = f"/contacts/{contact_id}"
        event["pathParameters"] = {"contact_id": str(contact_id)}
        event["queryStringParameters"] = event["multiValueQueryStringParameters"] = None
        handler = gateway.handler("ContactsFunction")
        client = Item._get_connection().connection.client
        key = {"pk": {"S": account_pk(principal.account_id)}, "sk": {"S": contact_sk(contact_id)}}

        # The handler may change its event: each call gets a copy, made before the clock starts.
        events = iter([copy.deepcopy(event) for _ in range(WARM_CALLS + 100)])

        def show() -> None:
            assert handler(next(events), LambdaContext("ContactsFunction"))["statusCode"] == 200

        def raw() -> None:
            client.get_item(TableName=TABLE, Key=key, ConsistentRead=True)

        from concurrent.futures import ThreadPoolExecutor

        beside = ThreadPoolExecutor(1)

        def two_raw() -> None:  # what reading two items side by side costs on this machine
            other = beside.submit(raw)
            raw()
            other.result()

        for _ in range(50):  # warm every path
            show(), raw(), two_raw()
        handler_p50, handler_p99 = _percentiles(_timed(show, WARM_CALLS))
        raw_p50, raw_p99 = _percentiles(_timed(raw, WARM_CALLS))
        pair_p50, _ = _percentiles(_timed(two_raw, WARM_CALLS))
        print(f"\nWarm GET /contacts/{{id}} through the handler over a raw GetItem ({WARM_CALLS} calls each)")
        for label, ours, base, goal in (
            ("p50", handler_p50, raw_p50, SHOW_P50_GOAL),
            ("p99", handler_p99, raw_p99, SHOW_P99_GOAL),
        ):
            row(f"show {label}", f"{ours * 1000:.2f} ms over {base * 1000:.2f} ms", ours / base, goal)
        # The show reads the contact and its notes side by side; where two reads cannot overlap
        # (DynamoDB Local sharing this machine's cores), this is the least that costs.
        row(
            "two raw GetItems side by side, p50",
            f"{pair_p50 * 1000:.2f} ms over {raw_p50 * 1000:.2f} ms",
            pair_p50 / raw_p50,
        )

        import batches  # bench/batches.py
        import boto3

        batches.timed(handler)
        sizes = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION)
        meter = Meter(client, sizes)
        costs(gateway, principal, fields, meter, sizes)
        batches.units(handler, meter)

        import imports  # bench/imports.py

        imports.measure(endpoint)

        import exports  # bench/exports.py

        exports.measure(endpoint)

    import webhooks  # bench/webhooks.py

    webhooks.measure()
    return 0


def costs(gateway: Gateway, principal: Any, fields: dict[str, Any], meter: Meter, sizes: Any) -> None:
    """Each operation's units, as DynamoDB Local reports them and as DynamoDB bills them."""
    from urllib.parse import urlencode

    from billing import item_size

    from crm import contact_reads, contacts, forms, keys
    from crm.paging import PageRequest
    from crm.storage.items import account_pk, contact_sk

    for n in range(25):
        contacts.create(principal, {**fields, "first_name": f"Filler {n}"})
    made: dict[str, int] = {}
    form_key = keys.create_key(principal.account_id, principal.user_id, form_project="support")[1]
    forms.allow(principal.account_id, ["https://www.example.com"], [])
    form_event = json.loads((EVENTS / "forms" / "submit.json").read_text())
    form_event["body"] = urlencode({"key": form_key, "contact[first_name]": "Ada", "contact[company]": "Engines"})
    form_handler = gateway.handler("FormsFunction")

    def post_form() -> None:
        answer = form_handler(copy.deepcopy(form_event), LambdaContext("FormsFunction"))
        assert answer["statusCode"] == 201, answer

    def stored_size() -> int:
        key = {"pk": {"S": account_pk(principal.account_id)}, "sk": {"S": contact_sk(made["id"])}}
        return item_size(sizes.get_item(TableName=TABLE, Key=key)["Item"])

    operations: dict[str, tuple[Callable[[], Any], str]] = {
        "create": (lambda: made.update(id=int(contacts.create(principal, fields).item.id)), "write"),
        "show": (lambda: contact_reads.get(principal, made["id"]), "read"),
        "update": (lambda: contacts.update(principal, made["id"], {"job_title": "Analyst"}), "write"),
        "list of 20": (lambda: contact_reads.list_contacts(principal, PageRequest(limit=20)), "list"),
        "delete": (lambda: contacts.delete(principal, made["id"]), "write"),
        "form post": (post_form, "write"),
    }
    print("\nUnits per operation: DynamoDB Local's, and DynamoDB's bill (bench/billing.py)")
    print("  over the bill of the contact alone: one write, one strongly consistent read, a page of 20")
    size = 0
    for name, (call, kind) in operations.items():
        meter.reset()
        call()
        size = stored_size() if name == "create" else size
        minimum = {
            "write": math.ceil(size / 1024),
            "read": math.ceil(size / 4096),
            "list": math.ceil(20 * size / 4096) / 2,  # eventually consistent: half a unit per 4 KB
        }[kind]
        billed = meter.read + meter.write
        figure = (
            f"Local {meter.local_read:4.1f}r {meter.local_write:4.1f}w  "
            f"bill {meter.read:4.1f}r {meter.write:4.1f}w  {meter.items_written:2d} items"
        )
        row(name, figure, billed / minimum, None)
    print(f"  (a contact of {size} bytes as stored)")


if __name__ == "__main__":
    sys.exit(main())
