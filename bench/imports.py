"""Import throughput and memory: a CSV file of contacts imported by the import worker from S3 into
DynamoDB Local, against a raw BatchWriteItem of the same contacts' items in the same run.

- The file (``BENCH_IMPORT_ROWS`` rows, 100,000 by default) is made of bench.loader's contacts
  and put in an S3 bucket of moto's server on loopback, as an upload would. It is imported with
  ``on_duplicate=create``: the write path at full size. A file of 5,000 rows is imported with
  ``skip`` into an account of its own, which adds a duplicate lookup (a consistent ``Query``) per
  row: DynamoDB Local answers those more slowly the larger the account's partition grows (DynamoDB
  does not), so at 100,000 rows it would measure DynamoDB Local more than the worker.
- The worker runs in a fresh interpreter, as one Lambda invocation with all the time it wants (on
  AWS it hands over every ~14 minutes); its peak resident memory is that process's ``ru_maxrss``.
- The baseline writes each contact's stored item alone (no postings, history, counters, checks
  or duplicate lookups), built before the clock starts, on as many threads as the worker uses.

It is the last part of ``make bench``; ``python bench/imports.py`` runs it alone. It prints figures.
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
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "layers" / "shared"))

from local_api.environment import REGION  # noqa: E402
from local_api.store import free_port, running_dynamodb_local, serve_moto  # noqa: E402

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))
LOOKUP_ROWS = min(ROWS, 5_000)
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
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
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


def _baseline(client: Any, table: str, rows: int, threads: int) -> float:
    """Seconds to BatchWriteItem the contacts' stored items alone (built before the clock starts)."""
    from loader import contact_items, people

    items = [
        {"PutRequest": {"Item": contact_items(ACCOUNT, 10_000_000 + n, person, "bench.raw")[0].serialize()}}
        for n, person in enumerate(people(rows, seed=7, groups=()))
    ]
    batches = [items[start : start + 25] for start in range(0, len(items), 25)]

    def write(batch: list[dict[str, Any]]) -> None:
        while batch:
            batch = client.batch_write_item(RequestItems={table: batch}).get("UnprocessedItems", {}).get(table, [])

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(write, batches))
    return time.perf_counter() - start


def measure(endpoint: str, rows: int = ROWS) -> None:
    import boto3
    from botocore.config import Config

    s3 = f"http://127.0.0.1:{free_port()}"
    serve_moto(int(s3.rsplit(":", 1)[1]))
    table = f"contacts-import-bench-{int(time.time())}"
    env = _env(endpoint, s3, table)
    os.environ.update({k: v for k, v in env.items() if k != "PYTHONPATH"})
    from loader import create_table

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

    def run(account: str, count: int, on_duplicate: str) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "contacts.csv"
            _file(count, path)
            size = path.stat().st_size
            principal = Principal(account, 1, frozenset(granted_scopes("admin")), f"{account}.key")
            asked = {"format": "csv", "filename": "contacts.csv", "on_duplicate": on_duplicate}
            job = jobs.create(principal, asked)
            s3_client.upload_file(str(path), BUCKET, job.object_key)
        args = [sys.executable, "-c", WORKER, table, endpoint, account, str(int(job.id))]
        answer = subprocess.run(args, capture_output=True, text=True, env=env, check=False)  # noqa: S603
        if answer.returncode != 0:
            raise RuntimeError(answer.stderr[-2000:])
        ran = json.loads(answer.stdout.strip().splitlines()[-1])
        done = jobs.load(account, int(job.id))
        baseline = _baseline(client, table, count, worker.THREADS)
        rate, raw_rate = count / ran["seconds"], count / baseline
        print(f"\nImport of a {count:,}-row CSV ({size / 1e6:.1f} MB), on_duplicate={on_duplicate}")
        print(f"  outcome {ran['outcome']}: {int(done.rows_imported):,} imported, {int(done.rows_skipped):,} skipped")
        print(f"  worker      {ran['seconds']:8.1f} s   {rate:8.0f} rows/s")
        print(f"  raw writes  {baseline:8.1f} s   {raw_rate:8.0f} rows/s   (the contact items alone, BatchWriteItem)")
        print(f"  throughput  x{rate / raw_rate:5.3f} of the raw writes")
        print(f"  worker peak memory {ran['peak_kb'] / 1024:6.0f} MB (resident, the whole interpreter)")

    print("\nImports from S3 into DynamoDB Local")
    # Duplicates looked up (a consistent Query per row with an email): DynamoDB Local's queries slow
    # down as the account's partition grows, so this part is measured on a file of its own size.
    run(f"{ACCOUNT}-lookups", LOOKUP_ROWS, "skip")
    # The write path at full size: every row created, no lookup.
    run(ACCOUNT, rows, "create")


def main() -> int:
    with running_dynamodb_local() as endpoint:
        measure(endpoint)
    return 0


if __name__ == "__main__":
    sys.exit(main())
