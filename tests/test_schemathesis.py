"""schemathesis against `make run`'s server, as an outside client would test the API from its
OpenAPI document alone: every check, in every phase, over every operation.

A run has a fixed number of examples per operation and a fixed seed, so that a failure is
repeatable (schemathesis prints how to replay it); `make fuzz` runs with more examples and a new
seed. ``tests/fuzz/schemathesis.toml`` lists the few answers a schema cannot predict (a 400 for a
page past the 10,000th item, a 422 naming a contact that does not exist) and why each is right.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.local_server import BIN, Server

CONFIG = Path(__file__).parent / "fuzz" / "schemathesis.toml"
HOOKS = Path(__file__).parent / "fuzz" / "hooks.py"  # XML bodies written as the check judges them
EXAMPLES = os.environ.get("FUZZ_EXAMPLES", "15")
SEED = os.environ.get("FUZZ_SEED", "1202")
# The coverage phase (every boundary of every field, each alone) takes longer than the whole
# suite: `make fuzz` runs it.
PHASES = os.environ.get("FUZZ_PHASES", "examples,fuzzing,stateful")
TIMEOUT = int(os.environ.get("FUZZ_TIMEOUT", "1200"))  # seconds; `make fuzz` allows hours


def with_form_key(server: Server, folder: Path) -> Path:
    """The run's configuration: CONFIG, and a form key of the server's account for the web form
    (whose key is a field of its body, so no header can carry it)."""
    account = server.key.split(".")[1]
    made = subprocess.run(
        [
            *(str(BIN / "contacts-admin"), "--endpoint-url", server.dynamodb, "keys", "create", "--account", account),
            *("--form", "--project", "support", "--per-minute", "10000"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    form_key = made.stdout.strip().splitlines()[-1]
    config = folder / "schemathesis.toml"
    config.write_text(
        CONFIG.read_text(encoding="utf-8")
        + "\n[[operations]]\n"
        + 'include-name-regex = "^POST /forms/contacts"\n'
        + f'parameters = {{ "body.key" = "{form_key}" }}\n'
        + 'checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", 401, 403, 404, 409, 422, 429, "5xx"]\n',
        encoding="utf-8",
    )
    return config


def test_schemathesis_finds_no_failure_in_any_check(server: Server, tmp_path: Path) -> None:
    command = [
        str(BIN / "st"),
        "--config-file",
        str(with_form_key(server, tmp_path)),
        "run",
        f"{server.base}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        EXAMPLES,
        "--phases",
        PHASES,
        "--workers",
        "2",
        "--header",
        f"x-api-key: {server.key}",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
        *(["--seed", SEED] if SEED else []),
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)}
    run = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, cwd=tmp_path, env=env)
    found = run.stdout.find("FAILURES")  # each failure, with the curl line that replays it
    # Each failure's curl line may hold a whole generated body: lines are cut so that all are read.
    failures = "\n".join(line[:3000] for line in run.stdout[found if found >= 0 else -5000 :].splitlines())
    assert run.returncode == 0, failures[:60000] + run.stderr[-3000:]
    assert "Fuzzing" in run.stdout, run.stdout[-3000:]  # it ran, over the document
    # Every operation got past its key (the web form's too): none answered only 401 or 403.
    assert "Authentication failed" not in run.stdout, run.stdout[run.stdout.find("Authentication failed") :][:3000]
