"""Webhooks that fail do not slow the writes they report: `make run`'s own server, over HTTP.

A create's p50 with ten subscriptions whose receivers never answer (sockets on loopback that take
the connection and say nothing, so that each delivery waits out its 5 s) over the same creates
with none, in the same server. The feed writer queues ten deliveries a change and the deliverer
works through them meanwhile, as on AWS; the create itself never waits for either.

Run alone: ``python bench/webhooks.py`` (``make bench`` runs it last).
"""

from __future__ import annotations

import json
import socket
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]

from bench.report import row  # noqa: E402
from tests.local_server import Server, request, running  # noqa: E402

CREATES, WARM_UP, RECEIVERS = 300, 100, 10
GOAL = 1.1
JSON = {"Content-Type": "application/json"}


def _create(server: Server, n: int) -> float:
    body = json.dumps({"contact": {"first_name": f"Bench{n}", "email_address": f"bench{n}@example.com"}}).encode()
    start = time.perf_counter()
    status, _, answer = request("POST", f"{server.base}/contacts", server.key, body, JSON)
    elapsed = time.perf_counter() - start
    assert status == 201, answer
    return elapsed


def _dead_receivers(count: int) -> list[socket.socket]:
    """Listening sockets that never accept: a connection is made, and no answer ever comes."""
    sockets = []
    for _ in range(count):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1024)
        sockets.append(listener)
    return sockets


def _attempts(server: Server, webhook_id: int) -> int:
    status, _, answer = request("GET", f"{server.base}/webhooks/{webhook_id}/deliveries?limit=100", server.key)
    assert status == 200, answer
    return sum(int(d["attempts"]) for d in json.loads(answer)["deliveries"])


def measure() -> bool:
    print(f"\nWebhooks: a create's p50 with {RECEIVERS} dead receivers over none ({CREATES} creates each)")
    with running() as server:
        for n in range(WARM_UP):
            _create(server, n)
        without = statistics.median(_create(server, WARM_UP + n) for n in range(CREATES))
        receivers = _dead_receivers(RECEIVERS)
        hooks = []
        for listener in receivers:
            url = f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
            body = json.dumps({"webhook": {"url": url}}).encode()
            status, _, answer = request("POST", f"{server.base}/webhooks", server.key, body, JSON)
            assert status == 201, answer
            hooks.append(json.loads(answer)["webhook"]["id"])
        with_dead = statistics.median(_create(server, WARM_UP + CREATES + n) for n in range(CREATES))
        attempted = sum(_attempts(server, webhook_id) for webhook_id in hooks)
        for listener in receivers:
            listener.close()
    met = row(
        "create p50, 10 dead receivers",
        f"{with_dead * 1000:.2f} ms over {without * 1000:.2f} ms",
        with_dead / without,
        GOAL,
    )
    print(f"  (delivery attempts made meanwhile, each waiting out its 5 s: {attempted})")
    return met


if __name__ == "__main__":
    measure()
