"""Exports: the export worker writing an account's contacts from DynamoDB Local to S3, against a
raw Query of the same contacts in the same run.

- ``BENCH_EXPORT_ROWS`` contacts (100,000 by default) of bench.loader are loaded into an account
  (the items the API writes, put with BatchWriteItem). Each format is exported once (CSV in our
  layout, JSON, XML, vCard) by the worker in a fresh interpreter, as one Lambda invocation; its
  peak resident memory is that process's own (``VmHWM``), and the file goes to moto's S3 server on
  loopback in parts, as it would to S3.
- The baseline reads the same contacts with a raw paginated Query of the contacts' key range and
  the attributes a file shows (the least a worker can read to write them all), in this process,
  before and after the exports: the faster of the two.

It is part of ``make bench``; ``python bench/exports.py`` runs it alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "layers" / "shared"), str(ROOT / "bench")]

from imports import BUCKET, _env  # noqa: E402

from local_api.environment import REGION  # noqa: E402
from local_api.store import free_port, running_dynamodb_local, serve_moto  # noqa: E402

ROWS = int(os.environ.get("BENCH_EXPORT_ROWS", "100000"))
MEMORY_GOAL_MB, RAW_GOAL = 256, 0.5
ACCOUNT = "bench"
FORMATS = ("csv", "json", "xml", "vcard")
# The worker's run, in a fresh interpreter: its outcome, its time, its peak memory.
WORKER = """
import json, resource, sys, time
from crm.storage.db import bind
from crm.exports import worker
bind(sys.argv[1], sys.argv[2])
start = time.perf_counter()
outcome = worker.run(sys.argv[3], int(sys.argv[4]))
seconds = time.perf_counter() - start
# This process's own peak: VmHWM starts again at exec, where ru_maxrss keeps the parent's (Linux).
status = open("/proc/self/status").read() if sys.platform == "linux" else ""
found = [line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")]
peak_kb = int(found[0]) if found else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"outcome": outcome, "seconds": seconds, "peak_kb": peak_kb}))
"""


def _raw_read(client: Any, table: str) -> tuple[float, int]:
    """Seconds to read every contact of the account with a paginated Query of their key range,
    for the attributes the worker reads (crm.exports.selection.SHOWN), in pages of its size."""
    from crm.exports.selection import QUERY_PAGE, SHOWN
    from crm.storage.items import CONTACT_MARK, PREFIXED, account_pk, prefix_values

    names = {f"#a{n}": name for n, name in enumerate(["pk", "sk", *SHOWN])}
    start, count, last = time.perf_counter(), 0, None
    while True:
        page = client.query(
            TableName=table,
            KeyConditionExpression=f"pk = :pk AND {PREFIXED}",
            ExpressionAttributeValues={":pk": {"S": account_pk(ACCOUNT)}, **prefix_values(CONTACT_MARK)},
            ConsistentRead=True,
            ProjectionExpression=", ".join(names),
            Limit=QUERY_PAGE,
            ExpressionAttributeNames=names,
            **({"ExclusiveStartKey": last} if last else {}),
        )
        count += len(page["Items"])
        last = page.get("LastEvaluatedKey")
        if last is None:
            return time.perf_counter() - start, count


def measure(endpoint: str, rows: int = ROWS) -> None:
    import boto3
    from botocore.config import Config

    s3 = f"http://127.0.0.1:{free_port()}"
    serve_moto(int(s3.rsplit(":", 1)[1]))
    table = f"contacts-export-bench-{int(time.time())}"
    env = _env(endpoint, s3, table)
    os.environ.update({k: v for k, v in env.items() if k != "PYTHONPATH"})
    from loader import create_table, load, people
    from report import row

    from crm import config

    config.reload()
    from crm.auth import Principal, granted_scopes
    from crm.exports import jobs
    from crm.storage.db import bind
    from local_api.template import load as load_template

    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION, config=Config(max_pool_connections=8))
    create_table(client, load_template().tables["ContactsTable"], table)
    bind(table, endpoint)
    s3_client = boto3.client("s3", endpoint_url=s3, region_name=REGION)
    s3_client.create_bucket(Bucket=BUCKET)
    print(f"\nExports from DynamoDB Local to S3 ({rows:,} contacts)")
    started = time.perf_counter()
    load(client, table, ACCOUNT, people(rows, seed=11, groups=()))
    print(f"  (loaded in {time.perf_counter() - started:,.0f} s)")
    seconds, read = _raw_read(client, table)
    principal = Principal(ACCOUNT, 1, frozenset(granted_scopes("admin")), f"{ACCOUNT}.key")
    peaks, rates = [], {}
    for fmt in FORMATS:
        job = jobs.create(principal, {"format": fmt})
        args = [sys.executable, "-c", WORKER, table, endpoint, ACCOUNT, str(int(job.id))]
        answer = subprocess.run(args, capture_output=True, text=True, env=env, check=False)  # noqa: S603
        if answer.returncode != 0:
            raise RuntimeError(answer.stderr[-2000:])
        ran = json.loads(answer.stdout.strip().splitlines()[-1])
        done = jobs.load(ACCOUNT, int(job.id))
        exported, size = int(done.rows_exported), int(done.size or 0)
        peak = ran["peak_kb"] / 1024
        print(f"  {fmt}: {ran['outcome']}, {exported:,} rows, {size / 1e6:,.1f} MB, {peak:,.0f} MB resident")
        rates[fmt] = exported / ran["seconds"]
        peaks.append((peak, fmt))
    again, _ = _raw_read(client, table)
    raw = read / min(seconds, again)
    row("raw Query of the contacts", f"{raw:,.0f} rows/s")
    for fmt, rate in rates.items():
        row(f"{fmt} over raw Query", f"{rate:,.0f} / {raw:,.0f} rows/s", rate / raw, RAW_GOAL, below=False)
    peak, fmt = max(peaks)
    row(f"worker memory over {MEMORY_GOAL_MB} MB ({fmt})", f"{peak:,.0f} MB", peak / MEMORY_GOAL_MB, 1.0)
    print("    (resident: the whole interpreter, as Lambda counts it)")


def main() -> int:
    with running_dynamodb_local() as endpoint:
        measure(endpoint)
    return 0


if __name__ == "__main__":
    sys.exit(main())
