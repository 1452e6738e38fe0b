"""The import worker's promises: each row once whatever S3 and Lambda do (an event delivered twice,
a run killed halfway, two runs at once), a long import handed over to a new invocation, limits,
and files that crash it never looping. Every test runs on moto and on DynamoDB Local (runs at
once: DynamoDB Local only, as moto does not serialise conditional writes across threads)."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections import Counter
from typing import Any

import pytest
from botocore.stub import Stubber

from crm import config, contacts, index
from crm.auth import Principal, granted_scopes
from crm.errors import ServiceUnavailable
from crm.imports import worker
from crm.storage import db
from crm.storage.items import ID_WIDTH, Item, LookupItem, account_pk, dependants_prefix, lookup_sk
from tests.conftest import BUCKET_EVENTS, GATEWAY, IMPORTS_BUCKET, Client, s3_client
from tests.helpers import ask, contacts_of, counts, csv_file, run_import, shown, upload

ROWS = 35


def people(count: int = ROWS, bad: tuple[int, ...] = ()) -> bytes:
    """A CSV file of ``count`` people; the rows numbered in ``bad`` have an invalid email address."""
    rows = [["first_name", "last_name", "email"]]
    rows += [[f"P{n}", f"Person {n}", "bad" if n in bad else f"p{n}@example.com"] for n in range(1, count + 1)]
    return csv_file(*rows)


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker, "CHUNK", 10)


def redeliver(job: dict[str, Any]) -> Any:
    """S3's event for the import's file, delivered again (as S3 may)."""
    event = BUCKET_EVENTS.event(IMPORTS_BUCKET, f"imports/acme/{job['id']:010d}")
    return GATEWAY.invoke("ImportWorkerFunction", event)


def assert_each_row_once(api: Client, count: int = ROWS) -> None:
    listed = [c["last_name"] for c in contacts_of(api)]
    assert Counter(listed) == Counter(f"Person {n}" for n in range(1, count + 1))
    assert api.get("/contacts").json()["total_count"] == count


def test_an_event_delivered_twice_imports_each_row_once(api: Client, small_chunks: None) -> None:
    job = ask(api, format="csv")
    upload(job, people())
    assert redeliver(job) == {"outcomes": ["done"]}
    done = shown(api, job["id"])
    assert (done["status"], counts(done)) == ("completed", (ROWS, ROWS, 0, 0, 0))
    assert_each_row_once(api)


@pytest.mark.parametrize("killed_in", ["_put_all", "_checkpoint"])
def test_a_run_killed_halfway_is_retried_and_imports_each_row_once(
    api: Client, small_chunks: None, monkeypatch: pytest.MonkeyPatch, killed_in: str
) -> None:
    """Killed in the third chunk: between its writes (after what hangs off its contacts, before the
    contacts), or after them all but before its checkpoint. Lambda's retry replays its plan."""
    real, calls = getattr(worker, killed_in), []

    def killed(*args: Any, **kwargs: Any) -> Any:
        calls.append(killed_in)
        if len(calls) == (5 if killed_in == "_put_all" else 3):
            raise RuntimeError("the run dies here")
        return real(*args, **kwargs)

    monkeypatch.setattr(worker, killed_in, killed)
    job = ask(api, format="csv")
    upload(job, people(bad=(4, 23)))  # the retry comes from the local runner, as Lambda's would
    assert len(calls) > (5 if killed_in == "_put_all" else 3)  # it was killed, and went on
    done = shown(api, job["id"])
    assert (done["status"], counts(done)) == ("completed", (ROWS, ROWS - 2, 0, 0, 2))
    assert [e["line"] for e in done["errors"]] == [5, 24]
    names = [c["last_name"] for c in contacts_of(api)]
    assert sorted(names) == sorted(f"Person {n}" for n in range(1, ROWS + 1) if n not in (4, 23))
    assert api.get("/contacts").json()["total_count"] == ROWS - 2
    # The retried chunk reused its ids: they run on without a gap.
    assert sorted(c["id"] for c in contacts_of(api)) == list(range(1, ROWS - 1))


@pytest.mark.parametrize("store", ["dynamodb_local"], indirect=True)
def test_two_runs_at_once_import_each_row_once(api: Client, small_chunks: None) -> None:
    job = ask(api, format="csv")
    with BUCKET_EVENTS.silenced():
        upload(job, people())
    key, start = f"imports/acme/{job['id']:010d}", threading.Barrier(2)
    version = s3_client(BUCKET_EVENTS.endpoint).head_object(Bucket=IMPORTS_BUCKET, Key=key)["VersionId"]

    def run(_: int) -> str:
        start.wait()
        return worker.received(key, 0, version, lambda: 900.0, lambda *_: None)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done = shown(api, job["id"])
    assert (done["status"], counts(done)) == ("completed", (ROWS, ROWS, 0, 0, 0))
    assert_each_row_once(api)


def test_a_row_whose_external_id_is_given_meanwhile_fails_and_leaves_nothing_behind(
    api: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An API write gives a row's external_id away after the import planned the row, before its
    contact was written: the row fails, and what its contact's writes began is taken back."""
    real, quick = worker._put_all, []

    def raced(items: list[Any]) -> None:
        if not quick:
            writer = Principal("acme", 1, frozenset(granted_scopes("write")), "acme.quick")
            quick.append(contacts.create(writer, {"first_name": "Quick", "external_id": "x-1"}))
        real(items)

    monkeypatch.setattr(worker, "_put_all", raced)
    rows = [
        {
            "first_name": "Slow",
            "last_name": "Lost",
            "email": "lost@example.com",
            "external_id": "x-1",
            "notes": "A note",
        },
        {"first_name": "Fine", "last_name": "Kept", "email": "kept@example.com", "external_id": "x-2"},
    ]
    done = run_import(api, json.dumps(rows).encode(), format="json")  # the minimal API's notes: a first note
    assert (done["status"], counts(done)) == ("completed", (2, 1, 0, 0, 1))
    assert done["errors"] == [{"line": 1, "messages": [worker.TAKEN_MEANWHILE]}]  # its place in the file
    assert [c["last_name"] for c in contacts_of(api)] == ["Kept", None]  # (Quick has none)
    assert api.get("/contacts", query={"search": "lost"}).json()["contacts"] == []
    winner, kept = int(quick[0].item.id), next(c["id"] for c in contacts_of(api) if c["last_name"] == "Kept")
    lost = ({1, 2, 3} - {winner, kept}).pop()  # ids were taken for both rows, then by Quick's create
    # Nothing in the table still names the lost contact: no posting, entry, note or lookup.
    client, table = Item._get_connection().connection.client, Item.Meta.table_name
    pages = client.get_paginator("query").paginate(
        TableName=table, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": account_pk("acme")}}
    )
    keys = [item["sk"]["S"] for page in pages for item in page["Items"]]
    others = (dependants_prefix(winner), dependants_prefix(kept))  # and the import itself: I#, IE#
    named = [sk for sk in keys if sk.endswith(f"{lost:0{ID_WIDTH}d}") and not sk.startswith((*others, "I#", "IE#"))]
    assert named == [], named
    key = (account_pk("acme"), lookup_sk(index.email_key("lost@example.com")))
    assert [(left.p, left.q) for left in LookupItem.batch_get([key]) if left.p or left.q] == []


def test_a_long_import_hands_over_to_a_new_invocation(
    api: Client, small_chunks: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[int] = []
    real = worker.run

    def counted(*args: Any, **kwargs: Any) -> str:
        runs.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(worker, "RESERVE_SECONDS", 10_000.0)  # time is always short: one chunk a run
    monkeypatch.setattr(worker, "run", counted)
    job = ask(api, format="csv")
    upload(job, people())
    BUCKET_EVENTS.settle()
    done = shown(api, job["id"])
    assert (done["status"], counts(done)) == ("completed", (ROWS, ROWS, 0, 0, 0))
    assert len(runs) == 5  # 4 chunks, each handing over through Lambda's Invoke; the 5th finds the end
    assert_each_row_once(api)


def test_each_run_reads_the_version_the_import_started_on(
    api: Client, small_chunks: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bucket is versioned: a file put again under the same key while an import runs (the
    upload URL is valid 15 minutes) does not change what the import's later runs read."""
    handed: list[tuple[str, int]] = []
    monkeypatch.setattr(worker, "RESERVE_SECONDS", 10_000.0)  # one chunk a run
    job = ask(api, format="csv")
    key = f"imports/acme/{job['id']:010d}"
    with BUCKET_EVENTS.silenced():
        upload(job, people(20))
    version = s3_client(BUCKET_EVENTS.endpoint).head_object(Bucket=IMPORTS_BUCKET, Key=key)["VersionId"]
    outcome = worker.received(key, 0, version, lambda: 900.0, lambda *args: handed.append(args))
    assert (outcome, handed) == ("continued", [("acme", job["id"])])
    with BUCKET_EVENTS.silenced():
        s3_client(BUCKET_EVENTS.endpoint).put_object(Bucket=IMPORTS_BUCKET, Key=key, Body=b"first_name\nMallory\n")
    while worker.run("acme", job["id"], lambda: 900.0, lambda *args: handed.append(args)) == "continued":
        pass
    done = shown(api, job["id"])
    assert (done["status"], counts(done)) == ("completed", (20, 20, 0, 0, 0))
    assert_each_row_once(api, 20)


@pytest.fixture
def limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "settings", dataclasses.replace(config.settings, import_max_bytes=1000))


def test_a_file_over_the_limit_fails_with_a_clear_error(api: Client, limit: None) -> None:
    job = ask(api, format="csv")
    upload(job, people(60))
    done = shown(api, job["id"])
    assert (done["status"], done["error"]) == ("failed", "The file is over 1000 bytes")
    assert contacts_of(api) == []


def test_a_file_that_crashes_the_worker_does_not_loop(api: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(*_: Any) -> None:
        raise RuntimeError("a bug this file finds")

    monkeypatch.setattr(worker, "_chunk", crash)
    job = ask(api, format="csv")
    upload(job, people(3))  # a run, then Lambda's 2 retries: each fails, then the event is queued
    assert len(BUCKET_EVENTS.failed) == 1
    BUCKET_EVENTS.failed.clear()
    assert shown(api, job["id"])["status"] == "running"
    assert redeliver(job) == {"outcomes": ["failed"]}  # sent back from the queue: given up, with a reason
    done = shown(api, job["id"])
    assert (done["status"], done["error"]) == ("failed", "The import stopped after row 0 3 times and was given up")
    assert redeliver(job) == {"outcomes": ["done"]}


def test_reports_are_written_where_they_trigger_nothing(api: Client) -> None:
    job = ask(api, format="csv")
    upload(job, people(3, bad=(2,)))
    keys = sorted(
        o["Key"] for o in s3_client(BUCKET_EVENTS.endpoint).list_objects_v2(Bucket=IMPORTS_BUCKET)["Contents"]
    )
    assert keys == [f"imports/acme/{job['id']:010d}", f"reports/acme/{job['id']:010d}.csv"]
    assert shown(api, job["id"])["status"] == "completed"


# --- batch writes --------------------------------------------------------------------------------


def _put(n: int) -> dict[str, Any]:
    return {"PutRequest": {"Item": {"pk": {"S": "A#acme"}, "sk": {"S": f"T#{n}"}}}}


def test_unprocessed_items_are_retried_then_refused(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB leaves items unprocessed when throttled (neither moto nor DynamoDB Local does it):
    they are sent again, and if they stay so the write fails as busy (Lambda retries the run)."""
    monkeypatch.setattr(db, "backoff", lambda _attempt: None)
    client, table = Item._get_connection().connection.client, Item.Meta.table_name
    with Stubber(client) as stub:
        stub.add_response(
            "batch_write_item",
            {"UnprocessedItems": {table: [_put(2)]}},
            {"RequestItems": {table: [_put(1), _put(2)]}},
        )
        stub.add_response("batch_write_item", {"UnprocessedItems": {}}, {"RequestItems": {table: [_put(2)]}})
        db.batch_write([_put(1), _put(2)])
        stub.assert_no_pending_responses()
        for _ in range(3):
            stub.add_response("batch_write_item", {"UnprocessedItems": {table: [_put(3)]}})
        with pytest.raises(ServiceUnavailable, match="1 writes still unprocessed after 3 attempts"):
            db.batch_write([_put(3)], attempts=3)
