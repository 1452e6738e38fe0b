"""`make bench-local`: `make run`'s own server, over HTTP, as an address book grows to 100,000.

1. A fresh server (its data in a temporary folder) is warmed up in an account of its own (the
   JVM's compiler and every container, so that the baselines are not its cold starts). Then
   account ``dev`` gets 100 contacts by ``POST /contacts``; ten of them work at one company,
   which a search then finds. Creates, shows and that search are timed there: the baselines.
2. 100,000 contacts arrive through the API's own import path: a CSV file, ``POST /imports``, a
   PUT to its upload URL, S3's event, the import worker (``on_duplicate=create``).
3. 900 more by ``POST /contacts``, and the same shows and search, timed again: each p50 over its
   baseline's (goal at most x1.3). The resident memory of every process the server started
   (itself, DynamoDB Local, the functions' containers), against 1.5 GB.
4. The server is stopped and started on the same data: all 101,000 contacts are there, and
   ``total_count`` says so.

``BENCH_LOCAL_ROWS`` sets the import's size (100000). Nothing asserts but the restart: it prints
figures. Run it on a quiet machine (it takes about 15 minutes here).
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]

from bench.report import row  # noqa: E402
from tests.local_server import BIN, Server, request, start  # noqa: E402

ROWS = int(os.environ.get("BENCH_LOCAL_ROWS", "100000"))
FIRST, BEFORE, AFTER = 100, 100, 900  # created by POST before the import, of them timed; after
SAMPLES = 400  # shows and searches timed at each size
WARM_UP = 300  # creates, shows and searches in another account before anything is timed
FOUND = 10  # contacts the search finds, at both sizes
LATENCY_GOAL, MEMORY_GOAL_MB = 1.3, 1536
JSON = {"Content-Type": "application/json"}
FIRST_NAMES = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim", "Margaret"]
LAST_NAMES = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman", "Lee"]
COMPANIES = [
    f"{word} {kind}"
    for word in ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark")
    for kind in ("Corp", "Labs", "Group", "Partners", "Systems")
]


def _call(server: Server, method: str, path: str, body: Any = None, key: str | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    status, _, answer = request(method, f"{server.base}{path}", key or server.key, data, JSON if data else None)
    return status, json.loads(answer) if answer else None


def _warm_up(server: Server) -> None:
    """The operations timed later, in an account of their own, untimed."""
    made = subprocess.run(  # noqa: S603 (the project's own CLI)
        [str(BIN / "contacts-admin"), "--endpoint-url", server.dynamodb, "keys", "create", "--account", "warmup"],
        capture_output=True,
        text=True,
        check=True,
    )
    key = made.stdout.strip().splitlines()[-1]
    for n in range(WARM_UP):
        assert _call(server, "POST", "/contacts", {"contact": _contact(n)}, key)[0] == 201
        assert _call(server, "GET", f"/contacts/{n // 2 + 1}", key=key)[0] == 200
        assert _call(server, "GET", "/contacts?search=ada", key=key)[0] == 200


def _timed(count: int, call: Callable[[int], None]) -> list[float]:
    samples = []
    for n in range(count):
        start = time.perf_counter()
        call(n)
        samples.append(time.perf_counter() - start)
    return samples


def _contact(n: int) -> dict[str, Any]:
    first, last = random.choice(FIRST_NAMES), random.choice(LAST_NAMES)
    return {
        "first_name": first,
        "last_name": last,
        "email_address": f"{first}.{last}.{n}@example.com".lower(),
        "company": random.choice(COMPANIES),
        "job_title": random.choice(["Engineer", "Analyst", "Director", "Buyer"]),
        "business_phone": f"+1 555 {n // 10000 % 1000:03d} {n % 10000:04d}",
    }


def _create(server: Server, n: int, company: str | None = None) -> None:
    contact = _contact(n) | ({"company": company} if company else {})
    status, answer = _call(server, "POST", "/contacts", {"contact": contact})
    assert status == 201, answer


def _measure(server: Server, creates: range, ids: int) -> dict[str, list[float]]:
    """Creates numbered ``creates``, then shows of ids up to ``ids`` and the search, timed."""
    results = {"create": _timed(len(creates), lambda n: _create(server, creates[n], _company(creates[n])))}

    def show(_: int) -> None:
        status, answer = _call(server, "GET", f"/contacts/{random.randint(1, ids)}")
        assert status == 200, answer

    def search(_: int) -> None:
        status, answer = _call(server, "GET", "/contacts?search=zephyr")
        assert status == 200, answer
        assert answer["total_count"] == FOUND, answer

    results["show"] = _timed(SAMPLES, show)
    results["search (finds 10)"] = _timed(SAMPLES, search)
    return results


def _company(n: int) -> str | None:
    """The company the search finds: ten of the first contacts'."""
    return "Zephyr Works" if n < FOUND else None


def _import(server: Server, rows: int) -> float:
    """Import ``rows`` contacts from a CSV file; the rows per second, from upload to completion."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(_contact(0)))
    writer.writeheader()
    for n in range(rows):
        writer.writerow(_contact(FIRST + n))
    status, answer = _call(server, "POST", "/imports", {"import": {"filename": "book.csv", "on_duplicate": "create"}})
    assert status == 201, answer
    job = answer["import"]
    started = time.perf_counter()
    status, _, _ = request("PUT", job["upload_url"], None, text.getvalue().encode(), job["upload_headers"])
    assert status == 200
    while True:
        time.sleep(2)
        _, answer = _call(server, "GET", f"/imports/{job['id']}")
        shown = answer["import"]
        if shown["status"] in ("completed", "failed"):
            break
    seconds = time.perf_counter() - started
    assert (shown["status"], shown["rows_imported"]) == ("completed", rows), shown
    return rows / seconds


def _total(server: Server) -> int:
    status, answer = _call(server, "GET", "/contacts?limit=1")
    assert status == 200, answer
    return answer["total_count"]


def main() -> None:
    random.seed(7)
    expected = FIRST + ROWS + AFTER
    with tempfile.TemporaryDirectory(prefix="contacts-bench-") as folder:
        data = Path(folder)
        print(f"make run's server over HTTP, {ROWS:,} contacts imported (data in a temporary folder)", flush=True)
        with start(data) as server:
            _warm_up(server)
            before = _measure(server, range(FIRST), FIRST)
            rate = _import(server, ROWS)
            after = _measure(server, range(FIRST + ROWS, FIRST + ROWS + AFTER), FIRST + ROWS)
            memory = server.resident_mb()
            processes = len(server.processes())
            total = _total(server)
        print(f"\nLatency through HTTP, p50 at {FIRST + ROWS + AFTER:,} contacts over p50 at {FIRST}")
        for name, samples in before.items():
            base, now = statistics.median(samples), statistics.median(after[name])
            row(name, f"{base * 1000:.1f} ms -> {now * 1000:.1f} ms", now / base, LATENCY_GOAL)
        print("\nMemory")
        row(f"resident, {processes} processes", f"{memory:,.0f} MB", memory / MEMORY_GOAL_MB, 1.0)
        print(f"    (goal: at most {MEMORY_GOAL_MB:,} MB in all, as a ratio to it)")
        print("\nImport")
        row(f"{ROWS:,} rows, upload to completed", f"{rate:,.0f} rows/s")
        with start(data) as server:
            restarted = _total(server)
            status, _ = _call(server, "GET", f"/contacts/{FIRST + ROWS // 2}")
        print("\nRestart")
        row("total_count before, after", f"{total:,}, {restarted:,}")
        if not (total == restarted == expected and status == 200):
            sys.exit(f"after the restart: total_count {restarted}, expected {expected} (show: {status})")


if __name__ == "__main__":
    main()
