"""Exports as a client sees them: ask for one, follow it to its file, download it with the URL.

The export's record reaches the export worker through the table's stream, as on AWS (the gateway
emulation delivers it after the request); the file is read back from moto's S3 on loopback with
the signed URL the API answers with.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

import pytest
import vobject
from defusedxml.ElementTree import fromstring

from crm.exports import jobs, selection, worker
from crm.storage import files
from tests.conftest import IMPORTS_BUCKET, S3_ENDPOINT, Client, Keys, s3_client
from tests.helpers import XML_TYPE, download, errors, run_import, send

EXPORT_KEYS = [
    "columns",
    "created_at",
    "download_url",
    "error",
    "expires_at",
    "filters",
    "finished_at",
    "format",
    "id",
    "rows_exported",
    "size",
    "started_at",
    "status",
    "updated_at",
    "user_id",
]


def export(client: Client, **asked: object) -> dict:
    reply = client.post("/exports", {"export": asked})
    assert reply.status == 201, reply.text
    assert reply.headers["location"] == f"/exports/{reply.json()['export']['id']}"
    shown = client.get(f"/exports/{reply.json()['export']['id']}")
    assert shown.status == 200, shown.text
    return shown.json()["export"]


def fetched(job: dict) -> bytes:
    assert job["status"] == "completed", job
    data = download(job["download_url"])
    assert len(data) == job["size"]
    return data


def test_an_export_runs_to_a_file_of_the_contacts(api: Client) -> None:
    ada = api.create(last_name="Lovelace", email_address="ada@example.com")
    api.create(first_name="Charles", last_name="Babbage")
    reply = api.post("/exports", {"export": {"format": "json"}})
    assert reply.status == 201
    asked = reply.json()["export"]
    assert sorted(asked) == EXPORT_KEYS
    assert (asked["status"], asked["download_url"]) == ("running", None)
    job = export(api, format="json")
    assert (job["rows_exported"], job["error"]) == (2, None)
    assert "response-content-disposition=attachment%3B%20filename%3D%22contacts-" in job["download_url"]
    document = json.loads(fetched(job))
    assert document["total_count"] == 2
    assert [c["id"] for c in document["contacts"]] == [ada["id"], ada["id"] + 1]
    assert document["contacts"][0]["email_address"] == "ada@example.com"


@pytest.mark.parametrize("fmt", ["csv", "xml", "vcard"])
def test_each_format_holds_every_contact(api: Client, fmt: str) -> None:
    for n in range(3):
        api.create(first_name=f"Ada{n}", company="Analytical, Engines; Ltd")
    data = fetched(export(api, format=fmt))
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
        assert [r["first_name"] for r in rows] == ["Ada0", "Ada1", "Ada2"]
        assert rows[0]["company"] == "Analytical, Engines; Ltd"
    elif fmt == "xml":
        root = fromstring(data, forbid_dtd=True)
        assert (root.tag, root.get("type")) == ("contacts", "array")
        assert [c.findtext("first-name") for c in root] == ["Ada0", "Ada1", "Ada2"]
    else:
        assert data.decode().count("BEGIN:VCARD") == 3
        assert "ORG:Analytical\\, Engines\\; Ltd" in data.decode()


TAKEN = ["format", "columns", "search", "searchby", "tags", "project_id", "assigned_to_id", "is_company"]
TAKEN.append("updated_since")
ISO = "an ISO 8601 datetime, such as 2026-01-31T09:00:00Z"


def test_bad_asks_are_422_and_make_nothing(api: Client) -> None:
    for asked, message in [
        ({}, "Format must be one of csv, json, xml, vcard"),
        ({"format": "pdf"}, "Format must be one of csv, json, xml, vcard"),
        ({"format": {}}, "Format must be one of csv, json, xml, vcard"),  # was a 500
        ({"format": ["csv"]}, "Format must be one of csv, json, xml, vcard"),
        ({"format": "csv", "search": "a\u0007"}, "search must not hold control characters"),
        ({"format": "json", "columns": "outlook"}, "Columns is a CSV export's layout: one of ours, outlook, google"),
        (
            {"format": "csv", "colour": "red"},
            "Unknown fields: colour; an export takes format, columns, search, searchby, tags, project_id, "
            "assigned_to_id, is_company, updated_since",
        ),
        (
            {"format": "csv", "updated_since": "yesterday"},
            "updated_since must be an ISO 8601 datetime, such as 2026-01-31T09:00:00Z",
        ),
    ]:
        reply = api.post("/exports", {"export": asked})
        assert reply.status == 422, reply.text
        assert errors(reply) == [message]
    assert api.get("/exports").json()["total_count"] == 0


def test_filters_and_privacy_are_the_lists(api: Client, keys: Keys) -> None:
    api.create(first_name="Ada", tags=["vip"])
    api.create(first_name="Grace", tags=["vip"], is_private=True)
    api.create(first_name="Linus")
    colleague = Client(keys.colleague)
    mine = export(api, format="json", tags="vip")
    assert [c["first_name"] for c in json.loads(fetched(mine))["contacts"]] == ["Ada", "Grace"]
    theirs = export(colleague, format="json", tags=["vip"])
    assert [c["first_name"] for c in json.loads(fetched(theirs))["contacts"]] == ["Ada"]
    everyone = export(colleague, format="json")
    assert [c["first_name"] for c in json.loads(fetched(everyone))["contacts"]] == ["Ada", "Linus"]
    # Each sees its own exports; another account none of them.
    assert colleague.get(f"/exports/{mine['id']}").status == 404
    assert Client(keys.stranger).get(f"/exports/{mine['id']}").status == 404
    assert api.get("/exports").json()["total_count"] == 1
    assert Client(keys.admin).get("/exports").json()["total_count"] == 3


# --- round trips: an export imported into an empty account gives back the same contacts --------

# Accents, commas, quotes, semicolons, new lines, emoji, and a cell a spreadsheet would run.
ADA = {
    "title": "Dr.",
    "first_name": "Zoë",
    "middle_name": "Augusta",
    "last_name": 'O\'Brien, "King"; 😀',
    "suffix": "PhD",
    "company": 'Engines, "Ltd"; A',
    "job_title": "Countess, Analyst",
    "department": "R&D; Maths",
    "gender": "female",
    "spouse": "William King",
    "children": "Byron; Anne",
    "assistant": "Mary Somerville",
    "assistants_phone": "+44 20 7946 0001",
    "birthday": "1815-12-10",
    "anniversary": "1835-07-08",
    "background": 'First line, with a comma; a semicolon\nSecond "quoted" line é 😀\\ backslash',
    "email_address": "zoe@example.com",
    "business_phone": "+1 (202) 456-1414",
    "home_phone": "020 7946 0000",
    "home_fax": "+44 20 7946 0002",
    "mobile_phone": "06 12 34 56 78",
    "other_fax": "555-0101",
    "skype_name": "zoe.obrien",
    "business_street": "Rue de l'Église, Bât",
    "business_street_2": 'Étage; "A"',
    "business_city": "Zürich",
    "business_state": "ZH",
    "business_postal_code": "8001",
    "business_country": "Switzerland",
    "home_street": "St James's",
    "home_city": "London",
    "home_country": "UK",
    "other_city": "Paris",
    "url": "https://example.com/a,b?c=d;e",
    "url_2": "https://example.org/",
    "user_1": '=HYPERLINK("https://evil.example","click")',
    "user_2": "-1 + 2",
    "tags": ["vip", "café 😀"],
    "project_ids": ["p1", "p2"],
    "assigned_to_id": 3,
    "external_id": "crm-42",
    "preferred_email_index": 1,
}
# What each format carries of a contact.
EVERY = sorted({"is_company", *ADA})
VCARD = sorted(
    {"is_company"}
    | set(ADA) - {"user_1", "user_2", "project_ids", "assigned_to_id", "external_id", "preferred_email_index"}
)
OUTLOOK = sorted(set(VCARD) - {"skype_name", "url_2", "is_company"} | {"user_1", "user_2"})
PHONES = {name for name in ADA if name.endswith(("_phone", "_fax"))}
GOOGLE = sorted(
    {"first_name", "middle_name", "last_name", "title", "suffix", "birthday", "gender", "background", "tags"}
    | {"email_address", "company", "job_title", "department", "url", "url_2"}
    | PHONES
    | {
        name
        for name in ADA
        if name.startswith(("business_", "home_", "other_")) and not name.endswith(("phone", "fax"))
    }
)
CASES = [
    ("json", None, "json", EVERY),
    ("xml", None, "xml", EVERY),
    ("csv", "ours", "csv", EVERY),
    ("csv", "outlook", "csv", OUTLOOK),
    ("csv", "google", "csv", GOOGLE),
    ("vcard", None, "vcf", VCARD),
]


@pytest.mark.parametrize(("fmt", "columns", "extension", "carried"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_an_export_imports_into_an_empty_account_as_the_same_contacts(
    api: Client, keys: Keys, fmt: str, columns: str | None, extension: str, carried: list[str]
) -> None:
    sent = [api.create(**ADA), api.create(first_name="Grace", last_name="Hopper", is_company=True)]
    asked = {"format": fmt, **({"columns": columns} if columns else {})}
    data = fetched(export(api, **asked))
    other = Client(keys.stranger)
    job = run_import(other, data, filename=f"contacts.{extension}")
    assert (job["status"], job["rows_imported"], job["rows_failed"], job["warnings"]) == ("completed", 2, 0, []), job
    back = other.get("/contacts").json()["contacts"]
    for before, after in zip(sent, back, strict=True):
        expected = {name: before[name] for name in carried if name in before}
        assert {name: after[name] for name in expected} == expected
    if columns == "google":  # Grace has no phone and no address: no type without its value
        grace = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))[1]
        assert {name: value for name, value in grace.items() if value} == {
            "Given Name": "Grace",
            "Family Name": "Hopper",
        }
    if fmt == "csv" and columns != "google":
        raw = data.decode("utf-8-sig")
        assert "'=HYPERLINK(" in raw  # a spreadsheet shows the cell, runs nothing
        assert "'-1 + 2" in raw


# --- the file: its cards, its writing, its retries ----------------------------------------------


def test_the_vcards_of_an_export_are_read_by_another_parser(api: Client) -> None:
    people = [api.create(first_name=name, last_name="Smith", tags=["a, b"]) for name in ("Ann", "Bob", "Cy")]
    data = fetched(export(api, format="vcard")).decode()
    cards = list(vobject.readComponents(data))
    assert [card.fn.value for card in cards] == ["Ann Smith", "Bob Smith", "Cy Smith"]
    assert [card.n.value.given for card in cards] == ["Ann", "Bob", "Cy"]
    assert cards[0].categories.value == ["a, b"]  # the comma escaped, and read back whole
    uids = {card.uid.value for card in cards}
    assert len(uids) == 3
    assert uids == {vobject.readOne(api.get(f"/contacts/{p['id']}.vcf").text).uid.value for p in people}


def test_the_download_url_lasts_15_minutes_and_the_export_7_days(api: Client) -> None:
    api.create()
    job = export(api, format="csv")
    assert "X-Amz-Expires=900" in job["download_url"]
    created, expires = (datetime.fromisoformat(job[name]) for name in ("created_at", "expires_at"))
    assert timedelta(days=7) - timedelta(seconds=2) <= expires - created <= timedelta(days=7) + timedelta(seconds=2)


def test_an_upload_is_sent_in_parts_and_visible_only_when_whole(store: str) -> None:
    key = "exports/acme/9999999999.csv"
    upload = files.Upload(key, "text/csv", IMPORTS_BUCKET)
    pieces = [bytes([65 + n]) * (3 * 1024 * 1024) for n in range(4)]  # 12 MB: a part, then the rest
    for piece in pieces:
        upload.write(piece)
    assert len(upload.parts) == 1  # 8 MB sent already; the rest waits for the end
    assert files.stream(key, IMPORTS_BUCKET) is None  # nothing under the key yet
    upload.finish()
    found = files.stream(key, IMPORTS_BUCKET)
    assert found is not None
    assert found[0].read() == b"".join(pieces)
    aborted = files.Upload("exports/acme/9999999998.csv", "text/csv", IMPORTS_BUCKET)
    aborted.write(b"x" * files.PART_BYTES)
    aborted.abort()
    listed = s3_client(S3_ENDPOINT).list_multipart_uploads(Bucket=IMPORTS_BUCKET)
    assert listed.get("Uploads", []) == []
    assert files.stream("exports/acme/9999999998.csv", IMPORTS_BUCKET) is None


def test_a_fault_midway_leaves_no_file_and_the_retry_writes_it_once(
    api: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(3):
        api.create(first_name=f"P{n}")
    real, calls = selection.chunks, []

    def failing_once(principal: object, filters: object) -> object:
        calls.append(1)
        chunks = real(principal, filters)  # type: ignore[arg-type]
        yield next(chunks)
        if len(calls) == 1:
            raise RuntimeError("storage went away")
        yield from chunks

    monkeypatch.setattr(selection, "chunks", failing_once)
    monkeypatch.setattr(selection, "CHUNK", 1)
    job = export(api, format="json")  # the stream's first delivery failed midway, its retry did not
    assert (len(calls), job["status"], job["rows_exported"]) == (2, "completed", 3)
    assert [c["first_name"] for c in json.loads(fetched(job))["contacts"]] == ["P0", "P1", "P2"]
    assert worker.run("acme", job["id"]) == "done already"  # a repeated delivery changes nothing
    assert len(calls) == 2
    assert api.get(f"/exports/{job['id']}").json()["export"]["finished_at"] == job["finished_at"]


def test_an_export_that_keeps_failing_is_failed_with_its_reason(api: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    api.create()
    calls = []

    def broken(principal: object, filters: object) -> object:
        calls.append(1)
        raise RuntimeError("storage went away")

    monkeypatch.setattr(selection, "chunks", broken)
    job = export(api, format="xml")  # the stream's delivery and its retries, as the template has them
    assert len(calls) == worker.ATTEMPTS
    assert (job["status"], job["error"], job["download_url"]) == (
        "failed",
        "The export could not be written; ask for it again",
        None,
    )
    item = jobs.load("acme", job["id"])
    assert item is not None
    assert files.stream(item.object_key, IMPORTS_BUCKET) is None
    assert worker.run("acme", job["id"]) == "done already"


def test_an_idempotency_key_asks_once_and_xml_shows_exports(api: Client) -> None:
    first = api.post("/exports", {"export": {"format": "csv"}}, headers={"Idempotency-Key": "e-1"})
    again = api.post("/exports", {"export": {"format": "csv"}}, headers={"Idempotency-Key": "e-1"})
    assert (first.status, again.status) == (201, 201)
    assert first.json()["export"]["id"] == again.json()["export"]["id"]
    root = api.get("/exports.xml").xml()
    assert (root.tag, root.get("type"), root.get("total_count")) == ("exports", "array", "1")
    assert root.find("export/format").text == "csv"
    asked = send(api, "POST", "/exports.xml", "<export><format>vcard</format><tags>vip</tags></export>", XML_TYPE)
    assert asked.status == 201, asked.text
    assert asked.xml().find("filters/tags").text == "vip"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_custom_field_values_come_back_where_the_account_defines_the_fields(
    admin: Client, keys: Keys, fmt: str
) -> None:
    other = Client(keys.stranger)
    for client in (admin, other):  # the same definitions, so the same ids, in both accounts
        field = {"name": "License", "field_format": "list", "possible_values": ["Standard", "Pro"]}
        assert client.post("/custom_fields", {"custom_field": field}).status == 201
    sent = admin.create(first_name="Ada", custom_fields=[{"id": 1, "value": "Pro"}])
    data = fetched(export(admin, format=fmt))
    job = run_import(other, data, format=fmt)
    assert (job["rows_imported"], job["rows_failed"]) == (1, 0), job
    (back,) = other.get("/contacts").json()["contacts"]
    assert back["custom_fields"] == sent["custom_fields"] == [{"id": 1, "name": "License", "value": "Pro"}]
