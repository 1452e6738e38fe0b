"""`make bench-scale`: how far one account goes before DynamoDB's limits, on paper and simulated,
from the units each operation is measured to bill (bench/billing.py) on DynamoDB Local.

Every item of an account shares its partition key, so DynamoDB starts it on one partition: about
1,000 write and 3,000 read units a second. An item collection without local indexes (this table
has none) is split by sort key as it grows or runs hot, but no split goes below one item, and one
item takes at most 1,000 write units a second. So two figures bound an account's creates: the
whole create over one partition (before any split), and the busiest item a create writes that
every create writes (the id sequence, the contact count, a common tag's count) once the hot
items stand alone. The simulation runs N writers, each creating contacts back to back, against
token buckets of those limits, and retries what is throttled with jittered exponential backoff,
as botocore does; it compares today's layout with sharded counts and blocks of ids (modelled,
not built: docs/scale.md). Prices are DynamoDB's on-demand list prices in us-east-1.
"""

from __future__ import annotations

import json
import math
import random
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "bench"), str(ROOT / "layers" / "shared")]

from billing import Meter  # noqa: E402
from report import row  # noqa: E402

from local_api.environment import REGION, function_environment, local_names  # noqa: E402
from local_api.gateway import Gateway  # noqa: E402
from local_api.store import create_tables, running_dynamodb_local  # noqa: E402
from local_api.template import load  # noqa: E402

TABLE = "contacts-scale"
PARTITION_WCU, PARTITION_RCU, ITEM_WCU = 1_000, 3_000, 1_000
CREATES_MEASURED = 60
# List prices, us-east-1: DynamoDB on demand per million request units and per GB-month (since
# November 2024); API Gateway REST per million requests; Lambda on arm64 per million requests and
# per GB-second.
PRICE_WRITE, PRICE_READ, PRICE_GB, PRICE_PITR_GB = 0.625, 0.125, 0.25, 0.20
PRICE_API, PRICE_INVOKE, PRICE_GB_SECOND = 3.50, 0.20, 0.0000133334
# Each request runs the authorizer (its answers are not cached: a revoked key stops at once) and a
# handler, both with 512 MB; billed milliseconds of each, as an assumption.
LAMBDA_GB, AUTHORIZER_MS, HANDLER_MS = 0.5, 10, 25
ITEM_OVERHEAD = 100  # bytes DynamoDB adds to each item's size for storage
TENANT = 10_000_000
# A month of a 10-million-contact tenant (an assumption, stated in docs/scale.md): each contact
# shown twice and updated once in 10; 1 million searches; 500,000 creates through the API.
MONTH = {"show": 2 * TENANT, "update": TENANT // 10, "search": 1_000_000, "create": 500_000}


@dataclass
class Footprint:
    write: float  # billed write units of one create
    read: float
    shared: dict[str, float]  # units on each item that every create writes (sort key: units)


def _kind(sk: str) -> str:
    return sk if sk.startswith(("SEQ#", "COUNT#", "TAG")) else sk.split("#", 1)[0] + "#..."


def import_row_units() -> float:
    """Write units of an imported row: each item it writes (bench.loader's, as the worker writes
    them) with BatchWriteItem, one unit per KB; a chunk's own writes are over 250 rows."""
    from billing import item_size
    from loader import contact_items, people

    from crm import index

    total, rows = 0, 250
    for n, person in enumerate(people(rows, seed=11, groups=())):
        made = contact_items("scale", n + 1, person, "scale.key")
        total += sum(math.ceil(item_size(item.serialize()) / 1024) for item in made)
        total += sum(1 for term in made[0].search_terms if index.is_lookup(term))
    return total / rows + 8 / rows  # ids, the plan, and the checkpoint's transaction (3 items)


def measure(endpoint: str) -> tuple[Footprint, dict[str, tuple[float, float]], float]:
    """A create's footprint; (read, write) units of a show, an update and a search; stored bytes
    a contact takes (its items and DynamoDB's overhead)."""
    import boto3

    template = load()
    env = function_environment(template, local_names(template, TABLE), endpoint)
    gateway = Gateway(template, {**env, "POWERTOOLS_LOG_LEVEL": "WARNING"})
    create_tables(template, {"ContactsTable": TABLE}, endpoint, REGION)
    from billing import item_size  # the crm package, after the gateway set the environment
    from loader import people

    from crm import contact_reads, contacts, keys
    from crm.auth import Principal, granted_scopes
    from crm.storage.items import Item

    principal = Principal("scale", 1, frozenset(granted_scopes("write")), "scale.key")
    key = keys.create_key("scale", 1, "write", "scale")[1]
    sizes = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION)
    meter = Meter(Item._get_connection().connection.client, sizes)
    writes, reads, keys_written = [], [], []
    for person in people(CREATES_MEASURED, seed=11, groups=()):
        meter.reset()
        contact_id = int(contacts.create(principal, person.body).item.id)
        writes.append(meter.write)
        reads.append(meter.read)
        keys_written.append(dict(meter.written))
    every = set.intersection(*(set(written) for written in keys_written))
    shared = {sk: max(written[sk] for written in keys_written) for sk in every}
    footprint = Footprint(sum(writes) / len(writes), sum(reads) / len(reads), shared)
    operations = {}
    for name, call in {
        "show": lambda: contact_reads.get(principal, contact_id),
        "update": lambda: contacts.update(principal, contact_id, {"job_title": "Analyst"}),
        "search": lambda: gateway.handle("GET", "/contacts", {"x-api-key": key}, "search=zephyr&limit=25"),
    }.items():
        meter.reset()
        call()
        operations[name] = (meter.read, meter.write)
    items = sizes.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "A#scale"}},
    )["Items"]
    stored = sum(item_size(item) + ITEM_OVERHEAD for item in items) / CREATES_MEASURED
    return footprint, operations, stored


def simulate(writers: int, per_create: dict[str, float], whole: float, split: bool, seconds: float = 10.0) -> float:
    """Creates a second that ``writers`` achieve, each creating back to back (10 ms a create when
    not throttled), against the per-item limit on each shared item and, before a split, the
    partition's on the whole create. A throttled create waits a jittered backoff and retries."""
    rng = random.Random(writers)
    tick = 0.001
    buckets = dict.fromkeys(per_create, 0.0)  # empty: the sustained rate, not a burst's
    partition = 0.0
    ready = [rng.uniform(0, 0.01) for _ in range(writers)]
    attempts = [0] * writers
    done, now = 0, 0.0
    while now < seconds:
        for sk in buckets:
            buckets[sk] = min(ITEM_WCU, buckets[sk] + ITEM_WCU * tick)
        partition = min(PARTITION_WCU, partition + PARTITION_WCU * tick)
        for w in rng.sample(range(writers), writers):
            if ready[w] > now:
                continue
            fits = all(buckets[sk] >= units for sk, units in per_create.items()) and (split or partition >= whole)
            if fits:
                for sk, units in per_create.items():
                    buckets[sk] -= units
                if not split:
                    partition -= whole
                done, attempts[w], ready[w] = done + 1, 0, now + 0.010
            else:
                attempts[w] += 1
                ready[w] = now + rng.uniform(0, min(1.0, 0.025 * 2 ** attempts[w]))
        now += tick
    return done / seconds


def main() -> int:
    with running_dynamodb_local() as endpoint:
        footprint, operations, stored = measure(endpoint)
    hottest = max(footprint.shared.values())
    print(f"\nA create, measured over {CREATES_MEASURED} (billed units, bench/billing.py)")
    row("write units", f"{footprint.write:.1f} WCU")
    row("read units", f"{footprint.read:.1f} RCU")
    for sk, units in sorted(footprint.shared.items()):
        row(f"  on {_kind(sk)}, written by every create", f"{units:.0f} WCU")
    for name, (read, write) in operations.items():
        row(name, f"{read:.1f} RCU {write:.1f} WCU")
    print("\nAn account's ceilings on paper")
    row("creates/s on one partition", f"{PARTITION_WCU / footprint.write:,.0f}")
    row("creates/s once hot items stand alone", f"{ITEM_WCU / hottest:,.0f}")
    row("import rows/s on one partition", f"{PARTITION_WCU / import_row_units():,.0f}")
    row("searches/s on one partition", f"{PARTITION_RCU / operations['search'][0]:,.0f}")
    row("shows/s on one partition", f"{PARTITION_RCU / operations['show'][0]:,.0f}")

    # Sharded counts (10 shards) and ids taken 100 at a time per container: modelled.
    sharded = {sk: units / (100 if sk.startswith("SEQ#") else 10) for sk, units in footprint.shared.items()}
    print("\nSimulated: creates/s that N writers achieve (10 s, 10 ms a create unthrottled)")
    print(f"  {'writers':>8} {'one partition':>14} {'split, today':>13} {'split, sharded':>15}")
    for writers in (1, 10, 50, 100, 500, 1000):
        before = simulate(writers, footprint.shared, footprint.write, split=False)
        today = simulate(writers, footprint.shared, footprint.write, split=True)
        after = simulate(writers, sharded, footprint.write, split=True)
        print(f"  {writers:>8} {before:>14,.0f} {today:>13,.0f} {after:>15,.0f}")

    gb = TENANT * stored / 1e9
    writes = MONTH["create"] * footprint.write + sum(MONTH[n] * operations[n][1] for n in ("update",))
    reads = sum(MONTH[n] * operations[n][0] for n in ("show", "update", "search")) + MONTH["create"] * footprint.read
    requests = sum(MONTH.values())
    cost = {
        "DynamoDB storage": gb * PRICE_GB,
        "DynamoDB point-in-time recovery": gb * PRICE_PITR_GB,
        "DynamoDB writes": writes / 1e6 * PRICE_WRITE,
        "DynamoDB reads": reads / 1e6 * PRICE_READ,
        "API Gateway": requests / 1e6 * PRICE_API,
        "Lambda": requests
        * (2 * PRICE_INVOKE / 1e6 + LAMBDA_GB * (AUTHORIZER_MS + HANDLER_MS) / 1000 * PRICE_GB_SECOND),
    }
    print(f"\nA tenant of {TENANT:,} contacts, a month at list prices ({json.dumps(MONTH)})")
    row("stored", f"{stored:,.0f} bytes a contact, {gb:,.1f} GB")
    for name, dollars in cost.items():
        row(name, f"${dollars:,.2f}")
    row("in all", f"${sum(cost.values()):,.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
