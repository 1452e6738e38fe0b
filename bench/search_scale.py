"""`make bench-search`: a search reads the same capacity in an account of 2,000 and of 20,000 contacts.

On DynamoDB Local, it loads 2,000 contacts into account ``acme`` and 500 into ``globex``
(bench/loader.py: the items the API writes, put with BatchWriteItem), asks each query of
``loader.QUERIES`` through the gateway emulation (the key authorizer, then the contacts handler),
then loads 18,000 more contacts into ``acme`` and asks again. Exactly 10 contacts answer each of
those queries at both sizes; the read capacity DynamoDB reports (``ReturnConsumedCapacity``) for
the whole request must stay within 10%, or this exits with 1. The queries of ``loader.CONTRAST``
are printed beside them: their cost follows how many contacts their terms match.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import boto3
from billing import Meter  # bench/billing.py
from botocore.config import Config

from local_api.environment import REGION, function_environment, local_names
from local_api.gateway import Gateway
from local_api.store import running_dynamodb_local
from local_api.template import load

TABLE = "contacts-search-scale"
SMALL, LARGE, OTHER_ACCOUNT = 2_000, 20_000, 500
TOLERANCE = 0.10
THREADS = 8


def _measure(loader: Any, gateway: Gateway, capacity: Meter, key: str) -> dict[str, Any]:
    answers = {}
    for label, (params, _) in loader.QUERIES.items():
        answers[label] = loader.search(gateway, capacity, key, params)
    for label, params in loader.CONTRAST.items():
        answers[label] = loader.search(gateway, capacity, key, params)
    return answers


def _timed_load(loader: Any, client: Any, account: str, contacts: list[Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    loaded = loader.load(client, TABLE, account, contacts, threads=THREADS)
    return loaded, time.perf_counter() - start


def main() -> int:
    template = load()
    with running_dynamodb_local() as endpoint:
        env = function_environment(template, local_names(template, TABLE), endpoint)
        gateway = Gateway(template, {**env, "POWERTOOLS_LOG_LEVEL": "WARNING"})
        import loader  # bench/loader.py; imports crm, which reads the environment the gateway set

        from crm import keys

        client = boto3.client(
            "dynamodb", endpoint_url=endpoint, region_name=REGION, config=Config(max_pool_connections=2 * THREADS)
        )
        loader.create_table(client, template.tables["ContactsTable"], TABLE)
        key = keys.create_key("acme", 1, "write", "bench")[1]
        first = loader.people(SMALL, seed=1)
        extra = loader.people(LARGE - SMALL, seed=2, groups=())
        print(f"Loading {SMALL:,} contacts into acme and {OTHER_ACCOUNT:,} into globex ...", flush=True)
        acme, acme_seconds = _timed_load(loader, client, "acme", first)
        globex, globex_seconds = _timed_load(loader, client, "globex", loader.people(OTHER_ACCOUNT, seed=3))
        wanted = loader.expected(acme.ids, first)

        capacity = Meter(loader.shared_client())
        loader.search(gateway, capacity, key, {})  # warm the handlers
        small = _measure(loader, gateway, capacity, key)
        print(f"Loading {LARGE - SMALL:,} more contacts into acme ...", flush=True)
        more, more_seconds = _timed_load(loader, client, "acme", extra)
        large = _measure(loader, gateway, capacity, key)

        contacts, items = SMALL + OTHER_ACCOUNT + LARGE - SMALL, acme.items + globex.items + more.items
        seconds = acme_seconds + globex_seconds + more_seconds
        print(
            f"\nLoad: {contacts:,} contacts ({items:,} items) in {seconds:.0f} s, {contacts / seconds:,.0f} "
            f"contacts/s with {THREADS} threads of BatchWriteItem ({SMALL:,} + {OTHER_ACCOUNT:,} in "
            f"{acme_seconds + globex_seconds:.0f} s, {LARGE - SMALL:,} more in {more_seconds:.0f} s)"
        )
        failures = 0
        print(f"\nRead capacity of GET /contacts?<query>&limit=25 (whole request), acme at {SMALL:,} and {LARGE:,}")
        header = f"  {'query':38} {'found':>11} {'RCU 2k':>7} {'RCU 20k':>8} {'ratio':>6}  within 10%"
        print(header)
        for label, (_, group) in loader.QUERIES.items():
            before, after = small[label], large[label]
            right = all(a.status == 200 and a.ids == wanted[group] and a.total_count == 10 for a in (before, after))
            ratio = after.rcu / before.rcu if before.rcu else float("inf")
            within = abs(ratio - 1) <= TOLERANCE
            failures += not (right and within)
            found = f"{after.total_count}" + ("" if right else " WRONG")
            print(
                f"  {label:38} {found:>11} {before.rcu:7.1f} {after.rcu:8.1f} {ratio:6.2f}  {'yes' if within else 'NO'}"
            )
        print("\nContrast (not checked): the plain list reads one page; a broad term, all its postings")
        print(f"  {'query':38} {'total 2k':>8} {'total 20k':>9} {'RCU 2k':>7} {'RCU 20k':>8} {'ratio':>6}")
        for label in loader.CONTRAST:
            before, after = small[label], large[label]
            ratio = after.rcu / before.rcu if before.rcu else float("inf")
            print(
                f"  {label:38} {before.total_count!s:>8} {after.total_count!s:>9} "
                f"{before.rcu:7.1f} {after.rcu:8.1f} {ratio:6.2f}"
            )
        if failures:
            print(f"\n{failures} queries answered wrongly, or read more than 10% more or less, at {LARGE:,} contacts")
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
