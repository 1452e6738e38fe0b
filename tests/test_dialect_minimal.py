"""The minimal JSON contacts API (seeds/002), request by request, over HTTP against `make run`.

Its client sends flat JSON with ``x-api-key``, reads ``id`` from every write, searches with
``searchby``/``search`` in a GET's body, edits with ``contact_id``/``update_fields`` (or
``contactID``/``updateFields``) and deletes with ``contact_id`` in a DELETE's body.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.local_server import BIN, Server, request

JSON = {"Content-Type": "application/json"}
# The document's request examples, as printed.
CREATE = {
    "first_name": "John",
    "last_name": "Doe",
    "email": "johndoe@example.com",
    "phone": "+1234567890",
    "company": "Example Inc.",
    "job_title": "Sales Manager",
    "notes": "Interested in product demo",
}
READ = {"searchby": "company", "search": "Example Inc."}


def call(server: Server, method: str, path: str, body: Any = None, key: str | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    status, headers, raw = request(method, f"{server.base}{path}", key or server.key, data, JSON if data else {})
    if raw:
        assert headers["content-type"] == "application/json; charset=utf-8"
    return status, json.loads(raw) if raw else None


def create(server: Server, **fields: Any) -> str:
    status, body = call(server, "POST", "/contacts", {**CREATE, **fields})
    assert status == 201, body
    assert isinstance(body["id"], str)
    return body["id"]


def stored(server: Server, contact_id: str) -> dict[str, Any]:
    status, body = call(server, "GET", f"/contacts/{contact_id}")
    assert status == 200, body
    return body["contact"]


def test_create_with_the_documents_body_returns_an_id(server: Server) -> None:
    contact_id = create(server)
    contact = stored(server, contact_id)
    assert contact["id"] == int(contact_id)
    assert (contact["first_name"], contact["last_name"], contact["company"]) == ("John", "Doe", "Example Inc.")
    assert (contact["email_address"], contact["business_phone"], contact["job_title"]) == (
        "johndoe@example.com",
        "+1234567890",
        "Sales Manager",
    )
    assert [note["body"] for note in contact["notes"]] == ["Interested in product demo"]


def test_a_first_note_is_held_to_a_notes_rules(server: Server) -> None:
    before = call(server, "GET", "/contacts?limit=1")[1]["total_count"]
    status, body = call(server, "POST", "/contacts", {"name": "Jane Doe", "notes": "Met\u0001"})
    assert (status, body) == (422, {"errors": ["Notes contains control characters or non-characters (U+FFFE, U+FFFF)"]})
    assert call(server, "GET", "/contacts?limit=1")[1]["total_count"] == before


@pytest.mark.parametrize(
    ("extra", "then"),
    [({}, ["First name cannot be blank"]), ({"first_name": "Jane", "last_name": "Roe"}, [])],
)
def test_a_name_is_one_line_even_where_first_and_last_name_are_sent(server: Server, extra: dict, then: list) -> None:
    before = call(server, "GET", "/contacts?limit=1")[1]["total_count"]
    status, body = call(server, "POST", "/contacts", {"name": "Jane\nDoe", **extra})
    assert (status, body) == (422, {"errors": ["Name must be one line", *then]})  # a refused name names nobody
    assert call(server, "GET", "/contacts?limit=1")[1]["total_count"] == before


def test_a_phone_sent_as_a_number_is_kept_as_its_digits(server: Server) -> None:
    contact = stored(server, create(server, phone=1234567890))
    assert contact["business_phone"] == "1234567890"
    assert stored(server, create(server, phone=5550100.0))["business_phone"] == "5550100"  # JSON's 5.0 is 5


@pytest.mark.parametrize("phone", [10**15, -(10**15), 1.5, True])
def test_a_number_for_a_text_is_a_whole_one_of_at_most_15_digits(server: Server, phone: Any) -> None:
    status, body = call(server, "POST", "/contacts", {**CREATE, "phone": phone})
    expected = "Business phone must be text" + ("" if phone is True else ", or a whole number of at most 15 digits")
    assert (status, body) == (422, {"errors": [expected]})


def test_read_with_searchby_and_search_in_the_body_or_the_query(server: Server) -> None:
    wanted = create(server, company="Searchby Widgets", first_name="Sally")
    create(server, company="Other Widgets", first_name="Searchby")  # the word, in another field
    status, body = call(server, "GET", "/contacts", {"searchby": "company", "search": "Searchby Widgets"})
    assert status == 200, body
    assert [c["id"] for c in body["contacts"]] == [int(wanted)]
    assert body["total_count"] == 1
    status, query = call(server, "GET", "/contacts?searchby=company&search=Searchby%20Widgets")
    assert (status, [c["id"] for c in query["contacts"]]) == (200, [int(wanted)])
    status, body = call(server, "GET", "/contacts", READ)
    assert status == 200
    assert body["contacts"]
    assert {c["company"] for c in body["contacts"]} == {"Example Inc."}


def test_read_by_an_unknown_field_is_a_422(server: Server) -> None:
    status, body = call(server, "GET", "/contacts", {"searchby": "shoe_size", "search": "9"})
    assert status == 422
    assert body["errors"][0].startswith("searchby must be a searched contact field")


@pytest.mark.parametrize(
    ("method", "path", "id_name", "fields_name"),
    [
        ("POST", "/contacts", "contact_id", "update_fields"),
        ("POST", "/contacts", "contactID", "updateFields"),
        ("PATCH", "/contacts", "contact_id", "update_fields"),
        ("PATCH", "/contacts", "contactID", "updateFields"),
        ("POST", "/contacts/{id}", "contact_id", "update_fields"),
        ("POST", "/contacts/{id}", "contactID", "updateFields"),
    ],
)
def test_edit_with_the_documents_body(server: Server, method: str, path: str, id_name: str, fields_name: str) -> None:
    contact_id = create(server)
    edit = {id_name: contact_id, fields_name: {"name": "Jane Roe", "email": "example@example.com", "phone": 1234567890}}
    status, body = call(server, method, path.format(id=contact_id), edit)
    assert status == 200, body
    assert body["id"] == contact_id
    contact = stored(server, contact_id)
    assert (contact["first_name"], contact["last_name"]) == ("Jane", "Roe")
    assert (contact["email_address"], contact["business_phone"]) == ("example@example.com", "1234567890")
    assert (contact["company"], contact["version"]) == ("Example Inc.", 2)  # the rest is as it was


def test_edit_mistakes_are_422_or_404_and_change_nothing(server: Server) -> None:
    contact_id = create(server)
    other = create(server)
    cases = [
        ("PATCH", "/contacts", {"update_fields": {"name": "X"}}, 422),
        ("PATCH", "/contacts", {"contact_id": contact_id}, 422),
        ("PATCH", "/contacts", {"contact_id": contact_id, "update_fields": "name=X"}, 422),
        ("PATCH", "/contacts", {"contact_id": contact_id, "update_fields": {"shoe_size": 9}}, 422),
        ("POST", f"/contacts/{contact_id}", {"contact_id": other, "update_fields": {"name": "X"}}, 422),
        ("PATCH", "/contacts", {"contact_id": "99999", "update_fields": {"name": "X"}}, 404),
        ("PATCH", "/contacts", {"contact_id": {"id": 1}, "update_fields": {"name": "X"}}, 422),
        ("PATCH", "/contacts", {"contact_id": contact_id, "contactID": other, "update_fields": {"name": "X"}}, 422),
    ]
    for method, path, body, expected in cases:
        status, answer = call(server, method, path, body)
        assert status == expected, (method, path, body, answer)
        assert answer["errors"]
    assert stored(server, contact_id)["version"] == 1
    assert stored(server, other)["version"] == 1


def test_an_id_with_spaces_around_it_is_that_id(server: Server) -> None:
    contact_id = create(server)
    edit = {"contact_id": f" {contact_id} ", "update_fields": {"job_title": "Buyer"}}
    assert call(server, "POST", f"/contacts/{contact_id}", edit)[0] == 200
    assert stored(server, contact_id)["job_title"] == "Buyer"


def test_delete_with_contact_id_in_the_body(server: Server) -> None:
    contact_id = create(server)
    status, body = call(server, "DELETE", "/contacts", {"contact_id": contact_id})
    assert (status, body) == (204, None)
    assert call(server, "GET", f"/contacts/{contact_id}")[0] == 404
    assert call(server, "DELETE", "/contacts", {"contact_id": contact_id})[0] == 404
    status, body = call(server, "DELETE", "/contacts", {})
    assert (status, body) == (422, {"errors": ["contact_id is required"]})


def test_another_accounts_key_finds_nothing_to_edit_or_delete(server: Server) -> None:
    contact_id = create(server)
    made = subprocess.run(
        [str(BIN / "contacts-admin"), "--endpoint-url", server.dynamodb, "keys", "create", "--account", "other"],
        capture_output=True,
        text=True,
        check=True,
    )
    stranger = made.stdout.strip().splitlines()[-1]
    edit = {"contact_id": contact_id, "update_fields": {"name": "Mallory"}}
    assert call(server, "PATCH", "/contacts", edit, key=stranger)[0] == 404
    assert call(server, "DELETE", "/contacts", {"contact_id": contact_id}, key=stranger)[0] == 404
    assert stored(server, contact_id)["first_name"] == "John"
