"""`make run`'s server, started as a user starts it, and a plain HTTP client for it.

The suites that speak a documented client's dialect (``test_dialect_*``) and the end-to-end
tests share it: each module gets a fresh server and store.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
    key: str
    process: subprocess.Popen


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
def running() -> Iterator[Server]:
    """A fresh `make run` server (its own store); stopped on exit."""
    port, db_port = free_port(), free_port()
    env = {**os.environ, "PORT": str(port), "DYNAMODB_PORT": str(db_port), "PYTHONUNBUFFERED": "1"}
    env.pop("API_KEY", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "local_api"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines = []
    deadline = time.monotonic() + 60
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
    # The server logs a line per request: unread, its pipe would fill and the server block.
    threading.Thread(target=_drain, args=(process.stdout,), daemon=True).start()
    try:
        yield Server(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{db_port}", lines[-1], process)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _drain(stream: IO[str]) -> None:
    for _ in stream:
        pass
