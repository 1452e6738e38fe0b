"""What reaches the logs and metrics: ids and outcomes, never a key or a contact's fields."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from crm.observability import logger
from tests.conftest import Client, Keys


def _records(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_logs_carry_ids_but_no_key_and_no_contact_fields(
    api: Client, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    # Every logger at the functions' level (POWERTOOLS_LOG_LEVEL=INFO); PynamoDB's DEBUG lines
    # carry whole items, so DEBUG must never be switched on for it in production.
    caplog.set_level(logging.INFO)
    created = api.create(first_name="Zebedee", email_address="zebedee@example.com")
    api.patch(f"/contacts/{created['id']}", {"background": "Confidential notes about Zebedee"})
    api.get("/contacts", key="ck.acme.ffffffffffff.not-a-real-secret-at-all")
    # Each record as the function writes it to CloudWatch: through Powertools' JSON formatter.
    output = "\n".join(logger.registered_formatter.format(record) for record in caplog.records)
    records = _records(output)
    assert any(r.get("message") == "contact created" and r.get("contact_id") == created["id"] for r in records)
    assert all(r.get("correlation_id") for r in records if r.get("function_name") == "ContactsFunction")
    secret = keys.writer.rsplit(".", 1)[1]
    for forbidden in (secret, "not-a-real-secret-at-all", "Zebedee", "zebedee@example.com", "Confidential"):
        assert forbidden not in output


def test_each_write_emits_its_metric(api: Client, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    created = api.create()
    api.patch(f"/contacts/{created['id']}", {"last_name": "Metric"})
    api.delete(f"/contacts/{created['id']}")
    emitted = [
        metric["Name"]
        for record in _records(capsys.readouterr().out)
        for directive in record.get("_aws", {}).get("CloudWatchMetrics", [])
        for metric in directive["Metrics"]
    ]
    # The delete reaches the cleanup function through the stream, which counts what it removed.
    assert emitted == ["ContactCreated", "ContactUpdated", "ContactDeleted", "DependantsDeleted"]


@pytest.mark.parametrize("disabled", ["true", "false"])
def test_the_x_ray_sdk_is_loaded_only_when_tracing_is_on(disabled: str) -> None:
    """With tracing off (the template's PassThrough, and every local run), a handler loads no X-Ray
    SDK, which costs a cold start about 140 ms; with it on, the tracer patches botocore."""
    root = Path(__file__).resolve().parents[1]
    code = (
        "import sys; sys.path.insert(0, 'functions/contacts'); import app; from crm import observability; "
        "print('aws_xray_sdk.core' in sys.modules, observability.tracer is not None)"
    )
    env = {"AWS_REGION": "us-east-1", "TABLE_NAME": "t", "POWERTOOLS_TRACE_DISABLED": disabled, "PATH": "/usr/bin"}
    env["PYTHONPATH"] = str(root / "layers" / "shared")
    answer = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=root)
    assert answer.returncode == 0, answer.stderr
    on = disabled == "false"
    assert answer.stdout.split() == [str(on), str(on)]
