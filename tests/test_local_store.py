"""`make run` as a user runs it: its store on disk, its gateway under load, its answers to bad HTTP.

Every test here speaks real HTTP to `make run`'s own server (DynamoDB Local, the functions in
their containers), started as ``python -m local_api`` is.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from local_api.template import load
from tests.local_server import ROOT, Server, request, running

JSON = {"Content-Type": "application/json"}


def call(server: Server, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    """(status, headers, JSON body or None)."""
    data = json.dumps(body).encode() if body is not None else None
    status, answer_headers, answer = request(
        method, f"{server.base}{path}", server.key, data, {**JSON, **(headers or {})}
    )
    return status, answer_headers, json.loads(answer) if answer else None


def total(server: Server) -> int:
    status, _, answer = call(server, "GET", "/contacts?limit=1")
    assert status == 200, answer
    return answer["total_count"]


def create(server: Server, **fields: Any) -> dict[str, Any]:
    status, _, answer = call(server, "POST", "/contacts", {"contact": {"first_name": "Ada", **fields}})
    assert status == 201, answer
    return answer["contact"]


def together(count: int, work: Any) -> list[Any]:
    """``work(n)`` on ``count`` threads released at once; their results in order."""
    start = threading.Barrier(count)

    def run(n: int) -> Any:
        start.wait()
        return work(n)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def raw(server: Server, data: bytes, shut: bool = False) -> bytes:
    """Send these bytes as they are on a new connection; everything the server answers, until it closes."""
    port = int(server.base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        if shut:
            sock.shutdown(socket.SHUT_WR)  # the client sends no more: the body will never be complete
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


# --- the gateway under load ----------------------------------------------------------------------


def test_a_burst_of_100_connections_gets_100_answers(server: Server) -> None:
    before = total(server)
    answers = together(100, lambda n: call(server, "POST", "/contacts", {"first_name": f"Burst {n}"}))
    failed = [(status, body) for status, _, body in answers if status != 201]
    assert not failed, f"{failed}\n{server.log()}"
    assert total(server) == before + 100


def test_50_parallel_creates_get_50_distinct_ids(server: Server) -> None:
    before = total(server)
    answers = together(50, lambda n: call(server, "POST", "/contacts", {"contact": {"first_name": f"Parallel {n}"}}))
    failed = [(status, body) for status, _, body in answers if status != 201]
    assert not failed, f"{failed}\n{server.log()}"
    ids = {answer["contact"]["id"] for _, _, answer in answers}
    assert len(ids) == 50
    assert total(server) == before + 50


def test_50_parallel_patches_with_one_if_match_make_one_change(server: Server) -> None:
    contact = create(server, last_name="Lovelace")
    path = f"/contacts/{contact['id']}"
    version = f'"{contact["version"]}"'

    def patch(n: int) -> int:
        return call(server, "PATCH", path, {"job_title": f"Title {n}"}, {"If-Match": version})[0]

    statuses = together(50, patch)
    assert sorted(statuses) == [200] + [409] * 49
    winner = statuses.index(200)
    status, headers, shown = call(server, "GET", path)
    assert (shown["contact"]["job_title"], headers["etag"]) == (f"Title {winner}", f'"{contact["version"] + 1}"')
    status, _, history = call(server, "GET", f"{path}/history")
    assert status == 200
    updates = [entry for entry in history["history"] if entry["action"] == "updated"]
    assert len(updates) == 1
    assert [(c["field"], c["new_value"]) for c in updates[0]["changes"]] == [("job_title", f"Title {winner}")]


# --- bad HTTP gets API Gateway's answers ---------------------------------------------------------


@pytest.mark.parametrize("length", ["-1", "abc", "12, 13", "0x10", ""])
def test_a_malformed_or_negative_content_length_is_400_and_stores_nothing(server: Server, length: str) -> None:
    before = total(server)
    body = b'{"first_name": "Nobody"}'
    head = f"POST /contacts HTTP/1.1\r\nHost: x\r\nx-api-key: {server.key}\r\nContent-Type: application/json\r\n"
    answer = raw(server, f"{head}Content-Length: {length}\r\n\r\n".encode() + body)
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 400 Bad Request", answer
    headers, _, payload = rest.partition(b"\r\n\r\n")
    assert b"Content-Type: application/json" in headers
    assert json.loads(payload)["message"].startswith("Bad Request")
    assert total(server) == before


def test_a_body_shorter_than_its_content_length_is_400_not_a_hung_thread(server: Server) -> None:
    before = total(server)
    head = f"POST /contacts HTTP/1.1\r\nHost: x\r\nx-api-key: {server.key}\r\nContent-Type: application/json\r\n"
    started = time.monotonic()
    answer = raw(server, f"{head}Content-Length: 1000\r\n\r\n".encode() + b'{"first_name": "Half', shut=True)
    assert answer.startswith(b"HTTP/1.1 400 Bad Request"), answer
    assert time.monotonic() - started < 5
    assert total(server) == before


def test_a_chunked_body_is_read_whole(server: Server) -> None:
    body = b'{"contact": {"first_name": "Chunked", "last_name": "Body"}}'
    head = f"POST /contacts HTTP/1.1\r\nHost: x\r\nx-api-key: {server.key}\r\nContent-Type: application/json\r\n"
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:10], body[10:]))
    answer = raw(
        server, f"{head}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode() + chunks + b"0\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 201 Created"), answer
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["contact"]["last_name"] == "Body"


@pytest.mark.parametrize("method", ["GET", "TRACE", "CONNECT", "PROPFIND"])
def test_a_path_no_route_has_gets_the_gateway_answer(server: Server, method: str) -> None:
    expected = load().gateway_responses["MISSING_AUTHENTICATION_TOKEN"]
    status, headers, body = request(method, f"{server.base}/contact_list", server.key)
    assert status == expected.status
    assert headers["content-type"] == expected.headers["Content-Type"]
    assert json.loads(body) == json.loads(expected.templates["application/json"])


def test_a_request_line_that_does_not_parse_gets_json(server: Server) -> None:
    answer = raw(server, b"GET /contacts HTTP/9.9\r\n\r\n")
    assert answer.split(b"\r\n")[0].split(b" ")[1] in (b"400", b"505"), answer
    assert b"Content-Type: application/json" in answer
    assert b"<html" not in answer.lower()


# --- growth --------------------------------------------------------------------------------------


def test_2000_writes_grow_neither_memory_nor_latency(server: Server) -> None:
    """Loose bounds that catch a cost per stored contact (the old embedded store copied the whole
    table on every write), not noise."""
    for n in range(50):  # cold starts, first allocations
        create(server, last_name=f"Warm {n}")
    memory = server.resident_mb()
    seconds = []
    for n in range(2000):
        started = time.perf_counter()
        create(server, last_name=f"Writer {n}", company=f"Company {n % 97}", email_address=f"w{n}@example.com")
        seconds.append(time.perf_counter() - started)
    grown = server.resident_mb() - memory
    first, last = sum(seconds[:100]), sum(seconds[-100:])
    assert grown <= 150, f"the server's processes grew by {grown:.0f} MB over 2,000 writes"
    assert last <= 1.5 * first, f"the last 100 writes took {last:.2f} s, the first 100 {first:.2f} s"


# --- the store outlives the server ---------------------------------------------------------------


def _wait_for(server: Server, path: str, done: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        _, _, answer = call(server, "GET", path)
        if done(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(0.1)


def test_what_was_stored_is_there_after_a_restart(tmp_path: Path) -> None:
    image = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    with running(tmp_path) as first:
        key = first.key
        contact = create(first, last_name="Lovelace", company="Analytical Engines")
        path = f"/contacts/{contact['id']}"
        assert call(first, "POST", f"{path}/notes", {"note": {"body": "Wrote the first program"}})[0] == 201
        status, _, answer = call(
            first, "POST", "/photos", {"photo": {"contact_id": contact["id"], "content_type": "image/png"}}
        )
        assert status == 201, answer
        photo = answer["photo"]
        assert request("PUT", photo["upload_url"], None, image, photo["upload_headers"])[0] == 200
        shown = _wait_for(first, f"/photos/{photo['id']}", lambda a: a["photo"]["status"] != "waiting_for_upload")
        assert shown["photo"]["status"] == "ready"
        status, _, answer = call(first, "POST", "/imports", {"import": {"filename": "team.csv"}})
        job = answer["import"]
        rows = b"first_name,last_name,email\nEmmy,Noether,emmy@example.com\nNo,Email,not-an-email\n"
        assert request("PUT", job["upload_url"], None, rows, job["upload_headers"])[0] == 200
        imported = _wait_for(first, f"/imports/{job['id']}", lambda a: a["import"]["status"] in ("completed", "failed"))
        assert (imported["import"]["status"], imported["import"]["rows_imported"]) == ("completed", 1)
        for n in range(3):
            create(first, last_name=f"Page {n}")
        _, _, page = call(first, "GET", "/contacts?limit=2")
        before = total(first)
        # A contact deleted with its photo: the cleanup's DeleteObjects takes the image off the disk too.
        gone = create(first, last_name="Gone")
        photo_body = {"photo": {"contact_id": gone["id"], "content_type": "image/png"}}
        gone_photo = call(first, "POST", "/photos", photo_body)[2]["photo"]
        assert request("PUT", gone_photo["upload_url"], None, image, gone_photo["upload_headers"])[0] == 200
        _wait_for(first, f"/photos/{gone_photo['id']}", lambda a: a["photo"]["status"] == "ready")

        def images_of_gone() -> list[Path]:
            return [path for path in (tmp_path / "s3").rglob(f"*{gone_photo['id']:010d}*") if path.is_file()]

        assert images_of_gone(), "the photo's image is kept on disk while it exists"
        assert call(first, "DELETE", f"/contacts/{gone['id']}")[0] == 204
        deadline = time.monotonic() + 30
        while images_of_gone() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert images_of_gone() == [], "the deleted photo's image is still kept on disk"

    with running(tmp_path) as second:
        assert second.key == key  # the same development key, not one more each start
        assert total(second) == before == 5
        status, _, answer = call(second, "GET", f"{path}?include=notes")
        assert status == 200
        assert answer["contact"]["company"] == "Analytical Engines"
        assert [note["body"] for note in answer["contact"]["notes"]] == ["Wrote the first program"]
        assert request("GET", answer["contact"]["photo_url"])[2] == image  # the image, from the embedded S3
        status, _, answer = call(second, "GET", f"/imports/{job['id']}")
        assert answer["import"]["rows_failed"] == 1
        assert request("GET", answer["import"]["report_url"])[2].decode().splitlines()[1].startswith("3,")
        status, _, next_page = call(second, "GET", f"/contacts?limit=2&cursor={page['next_cursor']}")
        assert status == 200, next_page  # a cursor from before the restart still seeks
        assert [c["id"] for c in next_page["contacts"]] == [3, 4]
        status, _, found = call(second, "GET", "/contacts?search=noether")
        assert [c["email_address"] for c in found["contacts"]] == ["emmy@example.com"]


def test_a_killed_server_leaves_no_process_behind(tmp_path: Path) -> None:
    with running(tmp_path) as server:
        create(server)
        children = [pid for pid in server.processes() if pid != server.process.pid]
        assert len(children) >= 3  # DynamoDB Local, the authorizer's and the contacts function's containers
        server.process.send_signal(signal.SIGKILL)
        server.process.wait()
        deadline = time.monotonic() + 20
        while (alive := [pid for pid in children if _running(pid)]) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert alive == []
    with running(tmp_path) as again:  # its port and its files are free, and nothing was lost
        assert total(again) == 1


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_make_reset_forgets_the_store(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "dynamodb").mkdir(parents=True)
    (data / "dynamodb" / "shared-local-instance.db").write_bytes(b"")
    env = {**os.environ, "LOCAL_DATA": str(data)}
    subprocess.run(
        ["/usr/bin/env", "make", "--no-print-directory", "reset"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    assert not data.exists()
