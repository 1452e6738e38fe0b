"""`make run`'s server, started as a user starts it, and a plain HTTP client for it.

The suites that speak a documented client's dialect (``test_dialect_*``) and the end-to-end
tests share it: each module gets a fresh server and store.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from xml.etree.ElementTree import Element

import pytest
from defusedxml.ElementTree import fromstring

from local_api.store import free_port

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


XML_TYPE = "application/xml; charset=utf-8"
JSON_TYPE = "application/json; charset=utf-8"
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>'


@dataclass
class Reply:
    """An answer as a client reads it; ``xml()`` and ``json()`` check its Content-Type first."""

    status: int
    headers: dict[str, str]
    body: bytes

    def xml(self) -> Element:
        assert self.headers.get("content-type") == XML_TYPE, (self.status, self.headers, self.body[:300])
        assert self.body.startswith(XML_DECLARATION), self.body[:100]
        return fromstring(self.body, forbid_dtd=True)

    def json(self) -> Any:
        assert self.headers.get("content-type") == JSON_TYPE, (self.status, self.headers, self.body[:300])
        return json.loads(self.body)


def child(element: Element, name: str) -> Element:
    found = element.find(name)
    assert found is not None, f"<{element.tag}> has no <{name}>"
    return found


def text(element: Element, name: str) -> str:
    return child(element, name).text or ""


@dataclass
class Server:
    base: str
    dynamodb: str
    s3: str
    key: str
    process: subprocess.Popen
    data: Path  # its LOCAL_DATA
    output: deque[str] = field(default_factory=lambda: deque(maxlen=200))  # its latest log lines

    def log(self) -> str:
        """What the server printed last (its request lines, the functions' logs, its errors)."""
        return "\n".join(self.output)

    def processes(self) -> list[int]:
        """Every process this server started and still runs (itself, DynamoDB Local, containers)."""
        parents: dict[int, int] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                parents[int(stat.parent.name)] = int(stat.read_text().rpartition(")")[2].split()[1])
        found, wanted = [], [self.process.pid]
        while wanted:
            found += wanted
            wanted = [pid for pid, parent in parents.items() if parent in wanted]
        return found

    def resident_mb(self) -> float:
        """The resident memory of all of its processes, in MB."""
        total = 0
        for pid in self.processes():
            status = Path(f"/proc/{pid}/status")
            with contextlib.suppress(OSError):
                lines = status.read_text().splitlines()
                total += next((int(line.split()[1]) for line in lines if line.startswith("VmRSS:")), 0)
        return total / 1024


def request(
    method: str, url: str, key: str | None = None, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})  # noqa: S310 (loopback)
    if key:
        request.add_header("x-api-key", key)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


@contextmanager
def running(data: Path | None = None) -> Iterator[Server]:
    """A `make run` server with its store in ``data`` (a fresh folder if None); stopped on exit."""
    with contextlib.ExitStack() as cleanup:
        if data is None:
            data = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="contacts-api-")))
        with start(data) as server:
            yield server


@contextmanager
def start(data: Path) -> Iterator[Server]:
    """A `make run` server over the store in ``data`` (made if missing); stopped on exit."""
    port, db_port, s3_port = free_port(), free_port(), free_port()
    settings = {"PORT": str(port), "DYNAMODB_PORT": str(db_port), "S3_PORT": str(s3_port), "LOCAL_DATA": str(data)}
    environment = {**os.environ, **settings, "PYTHONUNBUFFERED": "1"}
    environment.pop("API_KEY", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "local_api"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    deadline = time.monotonic() + 90
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.strip())
        if line.startswith("ck."):
            break
    if not lines or not lines[-1].startswith("ck."):
        process.kill()
        pytest.fail(f"the local API did not start: {lines}")
    base, dynamodb, s3 = (f"http://127.0.0.1:{p}" for p in (port, db_port, s3_port))
    server = Server(base, dynamodb, s3, lines[-1], process, data)
    # The server logs a line per request: unread, its pipe would fill and the server block.
    threading.Thread(target=_drain, args=(process.stdout, server.output), daemon=True).start()
    try:
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)


def _drain(stream: IO[str], kept: deque[str]) -> None:
    for line in stream:
        kept.append(line.rstrip())
