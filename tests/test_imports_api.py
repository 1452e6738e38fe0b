"""Imports as a client sees them: ask for one, PUT the file to S3, follow it to its outcome.

The file goes over HTTP to moto's S3 server on loopback with the presigned URL the API hands out;
S3's event reaches the import worker as in `make run` (local_api.buckets). Every test runs on moto
and on DynamoDB Local.
"""

from __future__ import annotations

import csv
import io

import pytest

from tests.conftest import BUCKET_EVENTS, IMPORTS_BUCKET, S3_ENDPOINT, Client, Keys, s3_client
from tests.helpers import (
    XML_TYPE,
    ask,
    contacts_of,
    counts,
    csv_file,
    download,
    errors,
    run_import,
    send,
    shown,
)

IMPORT_KEYS = [
    "created_at",
    "error",
    "errors",
    "filename",
    "finished_at",
    "format",
    "id",
    "on_duplicate",
    "report_url",
    "rows_failed",
    "rows_imported",
    "rows_skipped",
    "rows_total",
    "rows_updated",
    "size",
    "started_at",
    "status",
    "updated_at",
    "upload_headers",
    "upload_method",
    "upload_url",
    "user_id",
    "warnings",
]


# --- asking ------------------------------------------------------------------------------------


def test_an_import_waits_for_its_file_with_an_upload_url(api: Client) -> None:
    reply = api.post("/imports", {"import": {"filename": "People.CSV"}})
    assert reply.status == 201
    job = reply.json()["import"]
    assert sorted(job) == IMPORT_KEYS
    assert reply.headers["location"] == f"/imports/{job['id']}"
    assert job["status"] == "waiting_for_upload"
    assert (job["format"], job["filename"], job["on_duplicate"]) == ("csv", "People.CSV", "skip")
    assert job["upload_method"] == "PUT"
    assert job["upload_headers"] == {"Content-Type": "text/csv"}
    assert f"/{IMPORTS_BUCKET}/imports/acme/{job['id']:010d}?" in job["upload_url"]
    assert counts(job) == (0, 0, 0, 0, 0)
    assert shown(api, job["id"])["status"] == "waiting_for_upload"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"filename": "a.numbers"},
            "Format cannot be blank unless the filename tells it: one of csv, json, xml, vcard",
        ),
        ({"format": "xlsx"}, "Format must be one of csv, json, xml, vcard"),
        ({"format": "csv", "on_duplicate": "merge"}, "On duplicate must be one of skip, update, create"),
        ({"format": "csv", "bucket": "x"}, "Unknown fields: bucket; an import takes format, filename, on_duplicate"),
        ({"format": 3}, "Format must be text"),
        # Taken as the document spells them: no other case, no padding (the OpenAPI enums).
        ({"format": "CSV"}, "Format must be one of csv, json, xml, vcard"),
        ({"format": "csv", "on_duplicate": " update"}, "On duplicate must be one of skip, update, create"),
        (
            {"filename": "leads.csv "},
            "Format cannot be blank unless the filename tells it: one of csv, json, xml, vcard",
        ),
        ({"format": "csv", "filename": "\tleads.csv"}, "Filename must be at most 255 printable characters"),
    ],
)
def test_a_bad_import_is_a_422_that_says_why_and_makes_nothing(api: Client, fields: dict, message: str) -> None:
    reply = api.post("/imports", {"import": fields})
    assert reply.status == 422
    assert message in errors(reply)
    assert api.get("/imports").json()["total_count"] == 0


def test_blank_choices_are_as_if_not_sent(api: Client) -> None:
    reply = api.post("/imports", {"import": {"format": "", "filename": "Leads.CSV", "on_duplicate": ""}})
    assert reply.status == 201, reply.body
    job = reply.json()["import"]
    assert (job["format"], job["filename"], job["on_duplicate"]) == ("csv", "Leads.CSV", "skip")


def test_a_bad_import_in_xml_is_answered_in_xml(api: Client) -> None:
    reply = send(api, "POST", "/imports.xml", "<import><format>pdf</format></import>", XML_TYPE)
    assert reply.status == 422
    assert [e.text for e in reply.xml().iter("error")] == ["Format must be one of csv, json, xml, vcard"]


def test_a_reader_cannot_import_and_keys_see_their_own_imports(keys: Keys) -> None:
    assert Client(keys.reader).post("/imports", {"import": {"format": "csv"}}).status == 403
    mine = ask(Client(keys.writer), format="csv")
    theirs = ask(Client(keys.colleague), format="json")
    assert Client(keys.colleague).get(f"/imports/{mine['id']}").status == 404
    assert Client(keys.stranger).get(f"/imports/{mine['id']}").status == 404
    assert [j["id"] for j in Client(keys.writer).get("/imports").json()["imports"]] == [mine["id"]]
    listed = Client(keys.admin).get("/imports").json()
    assert ([j["id"] for j in listed["imports"]], listed["total_count"]) == ([theirs["id"], mine["id"]], 2)
    # Only the asker gets the upload URL.
    assert Client(keys.admin).get(f"/imports/{mine['id']}").json()["import"]["upload_url"] is None


# --- importing ---------------------------------------------------------------------------------


def test_a_csv_file_becomes_contacts_and_its_bad_rows_are_reported(api: Client) -> None:
    data = csv_file(
        ["First Name", "Last Name", "E-mail Address", "Business Phone", "Favourite Colour", "Categories"],
        ["Ada", "Lovelace", "ada@example.com", "+44 20 1234", "green", "Math;VIP"],
        ["", "", "not-an-email", "", "", ""],
        ["Grace", "Hopper", "grace@example.com", "", "blue", ""],
    )
    job = run_import(api, data, filename="outlook.csv")
    assert job["status"] == "completed"
    assert counts(job) == (3, 2, 0, 0, 1)
    # The messages are those POST /contacts gives for the same row.
    refused = api.post("/contacts", {"contact": {"email_address": "not-an-email"}})
    assert job["errors"] == [{"line": 3, "messages": errors(refused)}]
    assert job["warnings"] == ["Columns not imported (no field has their name): Favourite Colour"]
    assert job["size"] == len(data)
    assert job["finished_at"] is not None
    report = list(csv.reader(io.StringIO(download(job["report_url"]).decode())))
    assert report == [["line", "errors"], ["3", "; ".join(errors(refused))]]
    people = {c["last_name"]: c for c in contacts_of(api)}
    assert sorted(people) == ["Hopper", "Lovelace"]
    assert people["Lovelace"]["email_address"] == "ada@example.com"
    assert people["Lovelace"]["business_phone"] == "+44 20 1234"
    assert people["Lovelace"]["tags"] == ["Math", "VIP"]
    assert api.get("/contacts").json()["total_count"] == 2
    assert api.get("/contacts/search", query={"search": "lovelace"}).json()["contacts"][0]["first_name"] == "Ada"
    history = api.get(f"/contacts/{people['Hopper']['id']}/history").json()["history"]
    assert [entry["action"] for entry in history] == ["created"]


def test_json_xml_and_vcard_files_import_alike(api: Client) -> None:
    json_job = run_import(api, b'{"contacts": [{"first_name": "Jay", "last_name": "Son"}]}', format="json")
    xml = b'<contacts type="array"><contact><first-name>Ex</first-name><last-name>Emel</last-name></contact></contacts>'
    xml_job = run_import(api, xml, filename="list.xml")
    card = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Vee Card\r\nN:Card;Vee;;;\r\nNOTE:Met at the fair\r\nEND:VCARD\r\n"
    vcard_job = run_import(api, card, filename="card.vcf")
    assert [j["status"] for j in (json_job, xml_job, vcard_job)] == ["completed"] * 3
    people = {c["last_name"]: c for c in contacts_of(api)}
    assert sorted(people) == ["Card", "Emel", "Son"]
    shown_card = api.get(f"/contacts/{people['Card']['id']}").json()["contact"]
    assert (shown_card["background"], shown_card["notes"]) == ("Met at the fair", [])  # a card's NOTE


def test_a_file_that_is_not_its_format_fails_with_a_message(api: Client) -> None:
    job = run_import(api, b"first_name,last_name\nAda,Lovelace\n", format="json")
    assert job["status"] == "failed"
    assert job["error"] == 'Not a JSON array of contacts, nor an object with one under "contacts"'
    assert contacts_of(api) == []
    job = run_import(api, b"first_name\n\xff\xfe\n", format="csv")
    assert job["status"] == "failed"
    assert job["error"].startswith("The file is not UTF-8 text")


# --- duplicates --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("on_duplicate", "expected"),
    [("skip", (2, 1, 0, 1, 0)), ("update", (2, 1, 1, 0, 0)), ("create", (2, 2, 0, 0, 0))],
)
def test_a_duplicate_email_is_skipped_updated_or_created(
    api: Client, on_duplicate: str, expected: tuple[int, ...]
) -> None:
    existing = api.create(first_name="Ada", last_name="Old", email_address="Ada@Example.com", job_title="Countess")
    data = csv_file(
        ["first_name", "last_name", "email", "company"],
        ["Ada", "New", "ada@EXAMPLE.com", "Analytical Engines"],
        ["Charles", "Babbage", "charles@example.com", ""],
    )
    job = run_import(api, data, format="csv", on_duplicate=on_duplicate)
    assert counts(job) == expected
    ada = api.get(f"/contacts/{existing['id']}").json()["contact"]
    if on_duplicate == "update":  # the row's fields, and only those, change
        assert (ada["last_name"], ada["company"], ada["job_title"]) == ("New", "Analytical Engines", "Countess")
    else:
        assert (ada["last_name"], ada["company"]) == ("Old", None)
    total = 3 if on_duplicate == "create" else 2
    assert api.get("/contacts").json()["total_count"] == total == len(contacts_of(api))


def test_duplicates_within_one_file_and_private_contacts_of_others(keys: Keys) -> None:
    writer, colleague = Client(keys.writer), Client(keys.colleague)
    colleague.create(last_name="Hidden", email_address="secret@example.com", is_private=True)
    data = csv_file(
        ["first_name", "last_name", "email"],
        ["Tess", "Twice", "twice@example.com"],
        ["Tess", "Again", "TWICE@example.com"],
        ["Sam", "Mine", "secret@example.com"],  # the colleague's private contact is not the writer's to see
    )
    job = run_import(writer, data, format="csv")
    assert counts(job) == (3, 2, 0, 1, 0)
    assert sorted(c["last_name"] for c in contacts_of(writer)) == ["Mine", "Twice"]


def test_a_vcard_uid_matches_on_reimport(api: Client) -> None:
    card = (
        "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1\r\n"
        "FN:Vee Card\r\nN:Card;Vee;;;\r\nEMAIL:{email}\r\nNOTE:Met at the fair\r\nEND:VCARD\r\n"
    )
    first = run_import(api, card.format(email="vee@example.com").encode(), format="vcard")
    assert counts(first) == (1, 1, 0, 0, 0)
    # The same card with a new address: its UID still finds the contact.
    again = run_import(api, card.format(email="vee@new.example").encode(), format="vcard", on_duplicate="update")
    assert counts(again) == (1, 0, 1, 0, 0)
    (contact,) = contacts_of(api)
    shown_card = api.get(f"/contacts/{contact['id']}").json()["contact"]
    assert shown_card["email_address"] == "vee@new.example"
    assert (shown_card["background"], shown_card["notes"]) == ("Met at the fair", [])
    assert "source_uid" not in shown_card


# --- files dropped in the bucket ---------------------------------------------------------------


def drop(key: str, data: bytes) -> None:
    s3_client(S3_ENDPOINT).put_object(Bucket=IMPORTS_BUCKET, Key=key, Body=data)
    BUCKET_EVENTS.settle()


def test_a_file_an_admin_drops_is_imported_with_a_record_of_its_own(keys: Keys) -> None:
    admin, writer = Client(keys.admin), Client(keys.writer)
    admin.create(last_name="Known", email_address="known@example.com", first_name="Kay")
    rows = [
        ["first_name", "last_name", "email"],
        ["Kay", "Known", "KNOWN@example.com"],
        ["Ned", "New", "n@example.com"],
    ]
    drop("imports/acme/bulk load 2026.csv", csv_file(*rows))
    (job,) = admin.get("/imports").json()["imports"]
    asked = (job["filename"], job["format"], job["on_duplicate"], job["user_id"])
    assert asked == ("bulk load 2026.csv", "csv", "skip", 0)
    assert counts(job) == (2, 1, 0, 1, 0)
    assert job["upload_url"] is None
    assert writer.get("/imports").json()["imports"] == []  # nobody's key asked for it
    assert sorted(c["last_name"] for c in contacts_of(admin)) == ["Known", "New"]


def test_a_file_for_no_account_or_of_no_known_kind(keys: Keys) -> None:
    admin = Client(keys.admin)
    drop("imports/nobody/people.csv", csv_file(["first_name"], ["Ghost"]))
    drop("imports/acme/people.pdf", b"%PDF-1.4")
    (job,) = admin.get("/imports").json()["imports"]
    assert job["status"] == "failed"
    assert job["error"] == "The file's name does not tell its format: end it with .csv, .txt, .json, .xml, .vcf, .vcard"
    assert contacts_of(admin) == []


def test_private_rows_are_the_importers_and_counted_for_them_alone(keys: Keys) -> None:
    writer, colleague, admin = Client(keys.writer), Client(keys.colleague), Client(keys.admin)
    data = csv_file(["first_name", "is_private"], ["Open", "false"], ["Secret", "true"])
    assert counts(run_import(writer, data, format="csv")) == (2, 2, 0, 0, 0)
    assert [c["first_name"] for c in contacts_of(colleague)] == ["Open"]
    assert [client.get("/contacts").json()["total_count"] for client in (writer, colleague, admin)] == [2, 1, 2]
    assert colleague.get("/contacts/search", query={"search": "secret"}).json()["contacts"] == []
