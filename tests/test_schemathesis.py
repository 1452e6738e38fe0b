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
EXAMPLES = os.environ.get("FUZZ_EXAMPLES", "15")
SEED = os.environ.get("FUZZ_SEED", "1202")
# The coverage phase (every boundary of every field, each alone) takes longer than the whole
# suite: `make fuzz` runs it.
PHASES = os.environ.get("FUZZ_PHASES", "examples,fuzzing,stateful")


def test_schemathesis_finds_no_failure_in_any_check(server: Server, tmp_path: Path) -> None:
    command = [
        str(BIN / "st"),
        "--config-file",
        str(CONFIG),
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
    run = subprocess.run(command, capture_output=True, text=True, timeout=1200, cwd=tmp_path)
    found = run.stdout.find("FAILURES")  # each failure, with the curl line that replays it
    assert run.returncode == 0, run.stdout[found if found >= 0 else -5000 :][:60000] + run.stderr[-3000:]
    assert "Fuzzing" in run.stdout, run.stdout[-3000:]  # it ran, over the document
