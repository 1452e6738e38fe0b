"""Imports: a CSV file of contacts imported by the import worker from S3 into DynamoDB Local, against
a raw BatchWriteItem of the same items in the same run.

- The file (``BENCH_IMPORT_ROWS`` rows, 100,000 by default) is made of bench.loader's contacts
  and put in an S3 bucket of moto's server on loopback, as an upload would. It is imported with
  ``on_duplicate=create`` into an empty account, then again with ``skip`` (every row a duplicate,
  found through the lookup items by exact keys), and its first ``BENCH_UPDATE_ROWS`` rows (5,000)
  with ``update`` (each an update of its contact, as ``PATCH`` makes it).
- The worker runs in a fresh interpreter, as one Lambda invocation with all the time it wants (on
  AWS it hands over every ~14 minutes); its peak resident memory is that process's own (``VmHWM``).
- The baseline writes the items a create writes for each row (the contact, its history entry, its
  postings and lookups: bench.loader's, as ``tests/test_search_scale.py`` checks them), built before
  the clock starts, with BatchWriteItem on as many threads as the worker uses, for
  ``BENCH_BASELINE_ROWS`` rows (10,000) into an account of its own: a rate, at any size.

It is the last part of ``make bench``; ``python bench/imports.py`` runs it alone.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "layers" / "shared"), str(ROOT / "bench")]

from local_api.environment import REGION  # noqa: E402
from local_api.store import free_port, running_dynamodb_local, serve_moto  # noqa: E402

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))
UPDATE_ROWS = min(ROWS, int(os.environ.get("BENCH_UPDATE_ROWS", "5000")))
BASELINE_ROWS = min(ROWS, int(os.environ.get("BENCH_BASELINE_ROWS", "10000")))
RAW_GOAL, DUPLICATES_GOAL, MEMORY_GOAL_MB = 0.5, 0.5, 256
ACCOUNT, BUCKET = "bench", "contacts-imports-bench"
COLUMNS = ("first_name", "last_name", "email", "business_phone", "mobile_phone", "company", "job_title", "tags")
# The worker's run, in a fresh interpreter: its outcome, its time, its peak memory.
WORKER = """
import json, resource, sys, time
from crm.storage.db import bind
from crm.imports import worker
bind(sys.argv[1], sys.argv[2])
start = time.perf_counter()
outcome = worker.run(sys.argv[3], int(sys.argv[4]), lambda: 900.0, lambda *_: None)
seconds = time.perf_counter() - start
# This process's own peak: VmHWM starts again at exec, where ru_maxrss keeps the parent's (Linux).
status = open("/proc/self/status").read() if sys.platform == "linux" else ""
found = [line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")]
peak_kb = int(found[0]) if found else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"outcome": outcome, "seconds": seconds, "peak_kb": peak_kb}))
"""


def _file(rows: int, path: Path) -> None:
    from loader import people

    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for person in people(rows, seed=7, groups=()):
            body = {**person.body, "email": person.body.get("email_address"), "tags": ";".join(person.body["tags"])}
            writer.writerow([body.get(column) or "" for column in COLUMNS])


def _env(endpoint: str, s3: str, table: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT / "layers" / "shared"),
        "TABLE_NAME": table,
        "DYNAMODB_ENDPOINT": endpoint,
        "S3_ENDPOINT": s3,
        "IMPORTS_BUCKET": BUCKET,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_METRICS_NAMESPACE": "ContactsApi",  # as the template sets it: metrics flush every 100
    }


def _baseline(client: Any, table: str, rows: int, threads: int) -> tuple[float, int]:
    """Seconds to BatchWriteItem every item a create writes for ``rows`` rows (built before the
    clock starts), and how many items that is."""
    from loader import contact_items, people

    from crm import index
    from crm.storage.items import lookup_sk

    items = []
    for n, person in enumerate(people(rows, seed=7, groups=())):
        made = contact_items(f"{ACCOUNT}-raw", 10_000_000 + n, person, "bench.raw")
        contact = made[0]
        lookups = [
            {"pk": {"S": contact.pk}, "sk": {"S": lookup_sk(term)}, "p": {"NS": [str(int(contact.id))]}}
            for term in contact.search_terms
            if index.is_lookup(term)
        ]
        items += [{"PutRequest": {"Item": item.serialize()}} for item in made]
        items += [{"PutRequest": {"Item": item}} for item in lookups]
    batches = [items[start : start + 25] for start in range(0, len(items), 25)]

    def write(batch: list[dict[str, Any]]) -> None:
        while batch:
            batch = client.batch_write_item(RequestItems={table: batch}).get("UnprocessedItems", {}).get(table, [])

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(write, batches))
    return time.perf_counter() - start, len(items)


def measure(endpoint: str, rows: int = ROWS) -> None:
    import boto3
    from botocore.config import Config

    s3 = f"http://127.0.0.1:{free_port()}"
    serve_moto(int(s3.rsplit(":", 1)[1]))
    table = f"contacts-import-bench-{int(time.time())}"
    env = _env(endpoint, s3, table)
    os.environ.update({k: v for k, v in env.items() if k != "PYTHONPATH"})
    from loader import create_table
    from report import row

    from crm import config

    config.reload()
    from crm.auth import Principal, granted_scopes
    from crm.imports import jobs, worker
    from crm.storage.db import bind
    from local_api.template import load

    client = boto3.client(
        "dynamodb", endpoint_url=endpoint, region_name=REGION, config=Config(max_pool_connections=worker.THREADS)
    )
    create_table(client, load().tables["ContactsTable"], table)
    bind(table, endpoint)
    s3_client = boto3.client("s3", endpoint_url=s3, region_name=REGION)
    s3_client.create_bucket(Bucket=BUCKET)

    def run(count: int, on_duplicate: str) -> tuple[float, dict[str, Any], Any]:
        """Import the first ``count`` rows; (rows a second, the worker's run, the import)."""
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "contacts.csv"
            _file(count, path)
            principal = Principal(ACCOUNT, 1, frozenset(granted_scopes("admin")), f"{ACCOUNT}.key")
            asked = {"format": "csv", "filename": "contacts.csv", "on_duplicate": on_duplicate}
            job = jobs.create(principal, asked)
            s3_client.upload_file(str(path), BUCKET, job.object_key)
        args = [sys.executable, "-c", WORKER, table, endpoint, ACCOUNT, str(int(job.id))]
        answer = subprocess.run(args, capture_output=True, text=True, env=env, check=False)  # noqa: S603
        if answer.returncode != 0:
            raise RuntimeError(answer.stderr[-2000:])
        ran = json.loads(answer.stdout.strip().splitlines()[-1])
        done = jobs.load(ACCOUNT, int(job.id))
        outcome = (
            f"{ran['outcome']}: {int(done.rows_imported):,} imported, {int(done.rows_updated):,} updated, "
            f"{int(done.rows_skipped):,} skipped, {int(done.rows_failed):,} failed"
        )
        print(f"  {on_duplicate} of {count:,} rows: {outcome}")
        return count / ran["seconds"], ran, done

    print(f"\nImports from S3 into DynamoDB Local ({rows:,} rows; {worker.THREADS} threads)")
    created, ran, _ = run(rows, "create")
    skipped, _, _ = run(rows, "skip")
    updated, _, _ = run(UPDATE_ROWS, "update")
    seconds, items = _baseline(client, table, BASELINE_ROWS, worker.THREADS)
    raw_rows, per_row = BASELINE_ROWS / seconds, items / BASELINE_ROWS
    row("create", f"{created:,.0f} rows/s")
    row(
        "create over raw BatchWriteItem, per row",
        f"{created:,.0f} / {raw_rows:,.0f} rows/s",
        created / raw_rows,
        RAW_GOAL,
        below=False,
    )
    row(
        "create over raw BatchWriteItem, per item",
        f"{created * per_row:,.0f} / {raw_rows * per_row:,.0f} items/s",
        created / raw_rows,
        RAW_GOAL,
        below=False,
    )
    print(f"    ({per_row:.1f} items a row: the contact, its history entry, postings and lookups)")
    row("skip over create", f"{skipped:,.0f} / {created:,.0f} rows/s", skipped / created, DUPLICATES_GOAL, below=False)
    row(
        f"update ({UPDATE_ROWS:,} rows) over create",
        f"{updated:,.0f} / {created:,.0f} rows/s",
        updated / created,
        DUPLICATES_GOAL,
        below=False,
    )
    peak = ran["peak_kb"] / 1024
    row(f"create's worker memory over {MEMORY_GOAL_MB} MB", f"{peak:,.0f} MB", peak / MEMORY_GOAL_MB, 1.0)
    print("    (resident: the whole interpreter, as Lambda counts it)")


def main() -> int:
    with running_dynamodb_local() as endpoint:
        measure(endpoint)
    return 0


if __name__ == "__main__":
    sys.exit(main())
