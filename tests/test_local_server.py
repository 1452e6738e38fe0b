"""`make run`'s server, started as a user would and driven over real HTTP on loopback."""

from __future__ import annotations

import json
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from tests.local_server import BIN, Server, request
from tests.receiver import Receiver, verified


def test_create_show_xml_list_delete(server: Server) -> None:
    body = json.dumps({"contact": {"first_name": "Grace", "last_name": "Hopper"}}).encode()
    status, headers, data = request(
        "POST", f"{server.base}/contacts", server.key, body, {"Content-Type": "application/json"}
    )
    assert status == 201
    contact = json.loads(data)["contact"]
    assert headers["location"] == f"/contacts/{contact['id']}"

    status, headers, data = request("GET", f"{server.base}/contacts/{contact['id']}.xml", server.key)
    assert status == 200
    assert headers["content-type"] == "application/xml; charset=utf-8"
    assert b"<first-name>Grace</first-name>" in data
    assert b'<id type="integer">' + str(contact["id"]).encode() + b"</id>" in data

    status, _, data = request("GET", f"{server.base}/contacts", server.key)
    listing = json.loads(data)
    assert status == 200
    assert contact["id"] in [c["id"] for c in listing["contacts"]]

    status, _, data = request("DELETE", f"{server.base}/contacts/{contact['id']}", server.key)
    assert (status, data) == (204, b"")
    assert request("GET", f"{server.base}/contacts/{contact['id']}", server.key)[0] == 404


def test_head_is_the_gets_status_and_headers_without_a_body(server: Server) -> None:
    """As Rails answers it: ActiveResource's ``exists()`` sends ``HEAD /contacts/{id}.xml``."""
    body = json.dumps({"contact": {"first_name": "Headed"}}).encode()
    status, _, data = request("POST", f"{server.base}/contacts", server.key, body, {"Content-Type": "application/json"})
    contact_id = json.loads(data)["contact"]["id"]
    for path in (f"/contacts/{contact_id}.xml", f"/contacts/{contact_id}", "/contacts.json", "/openapi.json"):
        got = request("GET", f"{server.base}{path}", server.key)
        head = request("HEAD", f"{server.base}{path}", server.key)
        assert (head[0], head[2]) == (200, b""), path
        for name in ("content-type", "etag", "cache-control"):
            assert head[1].get(name) == got[1].get(name), (path, name)
    assert request("HEAD", f"{server.base}/contacts/{contact_id + 1000}.xml", server.key)[:3:2] == (404, b"")
    assert request("HEAD", f"{server.base}/contacts/{contact_id}.xml")[0] == 401
    status, _, data = request("GET", f"{server.base}/contacts/{contact_id}", server.key)
    assert status == 200  # a HEAD changes nothing


def test_without_a_key_is_401(server: Server) -> None:
    status, headers, data = request("GET", f"{server.base}/contacts")
    assert status == 401
    assert json.loads(data) == {"errors": ["Invalid or missing API key"]}
    assert headers["www-authenticate"].startswith("Basic")


def test_docs_need_no_key(server: Server) -> None:
    status, _, data = request("GET", f"{server.base}/openapi.json")
    assert status == 200
    assert "/contacts/{contact_id}" in json.loads(data)["paths"]
    status, headers, _ = request("GET", f"{server.base}/docs")
    assert (status, headers["content-type"]) == (200, "text/html; charset=utf-8")


def test_concurrent_creates_lose_and_duplicate_nothing(server: Server) -> None:
    before = json.loads(request("GET", f"{server.base}/contacts", server.key)[2])["total_count"]

    def create(n: int) -> int:
        body = json.dumps({"first_name": f"Parallel {n}"}).encode()
        status, _, data = request(
            "POST", f"{server.base}/contacts", server.key, body, {"Content-Type": "application/json"}
        )
        assert status == 201
        return json.loads(data)["contact"]["id"]

    with ThreadPoolExecutor(max_workers=10) as pool:
        ids = list(pool.map(create, range(20)))
    assert len(set(ids)) == 20
    after = json.loads(request("GET", f"{server.base}/contacts?limit=100", server.key)[2])
    assert after["total_count"] == before + 20
    assert set(ids) <= {c["id"] for c in after["contacts"]}


def test_contacts_admin_manages_the_running_api_keys(server: Server) -> None:
    admin = [str(BIN / "contacts-admin"), "--endpoint-url", server.dynamodb]
    created = subprocess.run(
        [*admin, "keys", "create", "--account", "dev", "--user", "3", "--scope", "read"],
        capture_output=True,
        text=True,
        check=True,
    )
    key = created.stdout.strip().splitlines()[-1]
    assert request("GET", f"{server.base}/contacts", key)[0] == 200
    assert request("POST", f"{server.base}/contacts", key, b"{}", {"Content-Type": "application/json"})[0] == 403

    listed = subprocess.run([*admin, "keys", "list", "--account", "dev"], capture_output=True, text=True, check=True)
    key_id = ".".join(key.split(".")[1:3])
    assert key_id in listed.stdout
    assert key.split(".")[3] not in listed.stdout  # the secret is never shown again

    subprocess.run([*admin, "keys", "revoke", key_id], capture_output=True, text=True, check=True)
    assert request("GET", f"{server.base}/contacts", key)[0] == 401


def test_contacts_admin_upgrades_an_account_of_the_running_store(server: Server) -> None:
    body = json.dumps({"contact": {"first_name": "Upgraded", "tags": ["admin tag"]}}).encode()
    assert request("POST", f"{server.base}/contacts", server.key, body, {"Content-Type": "application/json"})[0] == 201
    account = server.key.split(".")[1]
    command = [str(BIN / "contacts-admin"), "--endpoint-url", server.dynamodb, "upgrade", "--account", account]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    assert done.stdout.startswith(f"Account {account}: "), done.stdout
    assert "notes given their own id" in done.stdout
    status, _, data = request("GET", f"{server.base}/contacts_tags.json", server.key)
    assert status == 200
    assert {"name": "admin tag", "count": 1} in json.loads(data)["tags"]


def test_a_photo_is_uploaded_checked_and_downloaded_end_to_end(server: Server) -> None:
    """The flow a client follows against `make run`: record, PUT to S3, S3's event, GET the image."""
    json_type = {"Content-Type": "application/json"}
    body = json.dumps({"contact": {"first_name": "Mary", "last_name": "Somerville"}}).encode()
    status, _, data = request("POST", f"{server.base}/contacts", server.key, body, json_type)
    assert status == 201, data
    contact_id = json.loads(data)["contact"]["id"]
    body = json.dumps({"photo": {"contact_id": contact_id, "content_type": "image/png"}}).encode()
    status, _, data = request("POST", f"{server.base}/photos", server.key, body, json_type)
    assert status == 201, data
    photo = json.loads(data)["photo"]
    assert photo["upload_url"].startswith(f"{server.s3}/")  # the embedded S3
    image = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    status, _, _ = request("PUT", photo["upload_url"], None, image, photo["upload_headers"])
    assert status == 200
    deadline = time.monotonic() + 30  # S3's event is delivered after the upload is answered
    while True:
        status, _, data = request("GET", f"{server.base}/photos/{photo['id']}", server.key)
        shown = json.loads(data)["photo"]
        if shown["status"] != "waiting_for_upload" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert (shown["status"], shown["size"]) == ("ready", len(image))
    assert request("GET", shown["url"])[2] == image
    status, _, data = request("GET", f"{server.base}/contacts/{contact_id}", server.key)
    assert request("GET", json.loads(data)["contact"]["photo_url"])[2] == image


def test_a_file_is_uploaded_and_imported_end_to_end(server: Server) -> None:
    """`make run`: ask for an import, PUT the file to S3, S3's event runs the worker, GET the outcome
    and the error report."""
    json_type = {"Content-Type": "application/json"}
    body = json.dumps({"import": {"filename": "team.csv"}}).encode()
    status, _, data = request("POST", f"{server.base}/imports", server.key, body, json_type)
    assert status == 201, data
    job = json.loads(data)["import"]
    assert job["upload_url"].startswith(f"{server.s3}/")  # the embedded S3
    rows = "first_name,last_name,email\nEmmy,Noether,emmy@example.com\nNo,Email,not-an-email\n"
    status, _, _ = request("PUT", job["upload_url"], None, rows.encode(), job["upload_headers"])
    assert status == 200
    deadline = time.monotonic() + 30  # S3's event is delivered after the upload is answered
    while True:
        status, _, data = request("GET", f"{server.base}/imports/{job['id']}", server.key)
        shown = json.loads(data)["import"]
        if shown["status"] in ("completed", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert (shown["status"], shown["rows_imported"], shown["rows_failed"]) == ("completed", 1, 1)
    assert shown["errors"][0]["line"] == 3
    report = request("GET", shown["report_url"])[2].decode()
    assert report.splitlines()[0] == "line,errors"
    assert report.splitlines()[1].startswith("3,")
    status, _, data = request("GET", f"{server.base}/contacts/search?search=noether", server.key)
    assert [c["email_address"] for c in json.loads(data)["contacts"]] == ["emmy@example.com"]


def test_an_export_runs_to_a_file_as_on_aws(server: Server) -> None:
    """The export's record reaches the worker through the stream the server polls; the file comes
    from the embedded S3 with the signed URL."""
    json_type = {"Content-Type": "application/json"}
    body = json.dumps({"contact": {"first_name": "Exported", "last_name": "Once", "tags": ["export-e2e"]}})
    assert request("POST", f"{server.base}/contacts", server.key, body.encode(), json_type)[0] == 201
    asked = json.dumps({"export": {"format": "vcard", "tags": "export-e2e"}}).encode()
    status, headers, data = request("POST", f"{server.base}/exports", server.key, asked, json_type)
    assert status == 201, data
    path = headers["location"]
    deadline = time.monotonic() + 30
    while (job := json.loads(request("GET", f"{server.base}{path}", server.key)[2])["export"])["status"] == "running":
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    assert (job["status"], job["rows_exported"]) == ("completed", 1), job
    status, headers, card = request("GET", job["download_url"])
    assert (status, headers["content-type"]) == (200, "text/vcard; charset=utf-8")
    assert card.startswith(b"BEGIN:VCARD\r\nVERSION:4.0\r\n")
    assert b"N:Once;Exported;;;\r\n" in card


def test_the_change_feed_fills_from_the_stream_as_on_aws(server: Server) -> None:
    json_type = {"Content-Type": "application/json"}
    body = json.dumps({"contact": {"first_name": "Fed", "last_name": "Through"}}).encode()
    status, _, data = request("POST", f"{server.base}/contacts", server.key, body, json_type)
    assert status == 201, data
    contact_id = json.loads(data)["contact"]["id"]
    query = "since=" + time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime())  # today, well within what it keeps
    deadline, found = time.monotonic() + 30, []
    while not found:  # every page from today on, then the cursor of the last, until the create is there
        assert time.monotonic() < deadline, "the feed writer never wrote the create"
        status, _, data = request("GET", f"{server.base}/changes?{query}", server.key)
        assert status == 200, data
        page = json.loads(data)
        found = [e for e in page["changes"] if e["contact_id"] == contact_id]
        query = "cursor=" + page["next_cursor"]
        if not page["changes"]:
            time.sleep(0.2)
    assert [e["type"] for e in found] == ["contact.created"]


def test_webhooks_are_delivered_signed_as_on_aws(server: Server) -> None:
    receiver = Receiver()
    try:
        json_type = {"Content-Type": "application/json"}
        hook = json.dumps({"webhook": {"url": receiver.url, "events": ["contact.created"]}}).encode()
        status, _, data = request("POST", f"{server.base}/webhooks", server.key, hook, json_type)
        assert status == 201, data
        secret = json.loads(data)["webhook"]["secret"]
        body = json.dumps({"contact": {"first_name": "Hooked"}}).encode()
        status, _, data = request("POST", f"{server.base}/contacts", server.key, body, json_type)
        assert status == 201, data
        contact_id = json.loads(data)["contact"]["id"]
        deadline = time.monotonic() + 30
        while not receiver.posts():  # the stream, the feed writer, the queue, the deliverer
            assert time.monotonic() < deadline, "the webhook was never posted"
            time.sleep(0.2)
        (post,) = receiver.posts()
        assert json.loads(post["body"])["contact_id"] == contact_id
        assert verified(secret, post["headers"], post["body"])
    finally:
        receiver.server.shutdown()
