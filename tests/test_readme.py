"""The README's examples for the three documents' clients and the web form, run as written.

Each ``curl`` line of the section "Clients of the three documents" is run with the real curl, in
order, against a fresh `make run` server, and must get the status its trailing comment names;
the section's ``contacts-admin`` lines make the form key and the account's form settings.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

from tests.local_server import BIN, Server

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = "## Clients of the three documents"
EXPECTED = re.compile(r"\s+#\s*(\d{3})\s*$")
# What the section's commands assume: make run's DynamoDB, contacts-admin in .venv.
ADMIN, LOCAL_DYNAMODB = ".venv/bin/contacts-admin", "http://127.0.0.1:8000"


def section_commands() -> list[str]:
    """The section's shell commands, continuation lines joined, in order."""
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION)
    section = text[start : text.index("\n## ", start + len(SECTION))]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        for command in re.sub(r"\\\n\s*", "", block).splitlines():
            if command.strip():
                commands.append(command.strip())
    return commands


def run_curl(command: str, env: dict[str, str]) -> int:
    """The HTTP status the command gets; curl runs as written, its output set aside."""
    wrapped = "curl() { command curl -sS -o /dev/null -w '%{http_code}' \"$@\"; }\n" + command
    bash = shutil.which("bash")
    assert bash, "bash runs the README's commands"
    done = subprocess.run([bash, "-c", wrapped], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"{command}\n{done.stderr[-2000:]}"
    return int(done.stdout)


def test_every_example_gets_its_status(server: Server) -> None:
    commands = section_commands()
    assert sum(c.startswith("curl ") for c in commands) >= 20, "the section lost its examples"
    env = {**os.environ, "API": server.base, "API_KEY": server.key}
    ran = []
    for command in commands:
        if command.startswith(ADMIN):
            args = shlex.split(command.replace(LOCAL_DYNAMODB, server.dynamodb))
            made = subprocess.run([str(BIN / "contacts-admin"), *args[1:]], capture_output=True, text=True, check=True)
            if "keys create" in command:
                env["FORM_KEY"] = made.stdout.strip().splitlines()[-1]
            continue
        if command.startswith("export "):
            continue  # the reader's own key; the test sets it from contacts-admin's answer
        expected = EXPECTED.search(command)
        assert command.startswith("curl "), f"an unexpected command: {command}"
        assert expected, f"a command with no expected status: {command}"
        ran.append((command, run_curl(command, env), int(expected[1])))
    assert [(command, got) for command, got, wanted in ran if got != wanted] == []
    assert "FORM_KEY" in env
