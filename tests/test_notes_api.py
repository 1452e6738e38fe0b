"""A contact's notes as a client sees them: status, headers, body, and what ends up stored.

Every request goes through the API Gateway emulation (authorizer, then the notes or contacts handler,
as template.yaml wires them), and every test runs on moto and on DynamoDB Local (``store``).

A note is ContactHero's: ``{body, contact_id, created_at, id, updated_at, user_id}``, its version only
in the ETag. A note's change moves its contact's ``last_action_at`` and adds an entry to the contact's
history, but leaves the contact's version alone.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crm import times
from crm.storage.items import Item, account_pk, dependants_prefix
from tests.conftest import Client, Keys, Reply
from tests.helpers import (
    FORM,
    JSON_TYPE,
    MAX_BODY,
    XML_TYPE,
    XXE,
    contact,
    errors,
    history,
    public_id,
    send,
    text_of,
    xml_errors,
)

NOTE_KEYS = ["body", "contact_id", "created_at", "id", "updated_at", "user_id"]
NOTE_ELEMENTS = ["body", "contact-id", "created-at", "id", "updated-at", "user-id"]
READ_ONLY_KEY = "This key lacks the 'write' scope"

# --- helpers -----------------------------------------------------------------------------


def notes_path(contact_id: int, note_id: int | None = None) -> str:
    return f"/contacts/{contact_id}/notes" + ("" if note_id is None else f"/{note_id}")


def add_note(client: Client, contact_id: int, body: str = "Called about the demo") -> dict[str, Any]:
    reply = client.post(notes_path(contact_id), {"note": {"body": body}})
    assert reply.status == 201, reply.text
    return reply.json()["note"]


def note(client: Client, contact_id: int, note_id: int) -> dict[str, Any]:
    reply = client.get(notes_path(contact_id, note_id))
    assert reply.status == 200, reply.text
    return reply.json()["note"]


def etag(client: Client, contact_id: int, note_id: int) -> str:
    return client.get(notes_path(contact_id, note_id)).headers["etag"]


def notes_of(client: Client, contact_id: int, **query: Any) -> dict[str, Any]:
    reply = client.get(notes_path(contact_id), query=query)
    assert reply.status == 200, reply.text
    return reply.json()


def ids(page: dict[str, Any]) -> list[int]:
    return [item["id"] for item in page["notes"]]


def notes_added(client: Client, contact_id: int, count: int) -> list[int]:
    """Ids of ``count`` new notes, oldest first."""
    return [add_note(client, contact_id, f"Note {n}")["id"] for n in range(count)]


def left_under(contact_id: int, account: str = "acme") -> list[str]:
    """Sort keys of everything stored under the contact (its notes and history)."""
    items = Item.query(account_pk(account), Item.sk.startswith(dependants_prefix(contact_id)), consistent_read=True)
    return [item.sk for item in items]


def state(client: Client, contact_id: int) -> tuple[Any, ...]:
    """What a client can see of a contact's notes side: the contact, its notes and its history."""
    return contact(client, contact_id), notes_of(client, contact_id, limit=100), history(client, contact_id, limit=100)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every reading of the clock is one second after the last, so "when" is always distinguishable."""
    start, ticks = datetime(2031, 5, 1, 9, 0, tzinfo=UTC), itertools.count()
    monkeypatch.setattr(times, "now", lambda: (start + timedelta(seconds=next(ticks))).isoformat())


# --- create, show, update, delete ------------------------------------------------------------


def test_create_answers_201_with_location_etag_and_the_wrapped_note(api: Client) -> None:
    made = api.create(last_name="Lovelace")
    reply = api.post(notes_path(made["id"]), {"note": {"body": "Met at the Analytical Society"}})
    assert reply.status == 201, reply.text
    assert reply.headers["content-type"] == JSON_TYPE
    assert reply.headers["cache-control"] == "no-store"
    assert reply.headers["etag"] == '"1"'
    body = reply.json()
    assert list(body) == ["note"]
    created = body["note"]
    assert list(created) == NOTE_KEYS  # ContactHero's fields, in its order; no version in the body
    assert reply.headers["location"] == f"/contacts/{made['id']}/notes/{created['id']}"
    assert created["id"] == 1
    assert (created["body"], created["contact_id"], created["user_id"]) == ("Met at the Analytical Society", 1, 1)
    assert created["created_at"] == created["updated_at"]
    assert datetime.fromisoformat(created["created_at"]).utcoffset() is not None
    shown = api.get(reply.headers["location"])
    assert shown.status == 200
    assert shown.headers["etag"] == '"1"'
    assert shown.json() == body


def test_create_accepts_a_flat_body_and_a_form(api: Client) -> None:
    made = api.create()
    flat = api.post(notes_path(made["id"]), {"body": "Flat"})
    assert flat.status == 201, flat.text
    assert flat.json()["note"]["body"] == "Flat"
    form = send(api, "POST", notes_path(made["id"]), "note[body]=From+a+form+%E2%9C%93", FORM)
    assert form.status == 201, form.text
    assert form.json()["note"]["body"] == "From a form ✓"
    assert [n["body"] for n in notes_of(api, made["id"])["notes"]] == ["From a form ✓", "Flat"]


def test_note_ids_are_the_accounts_and_shared_by_its_contacts(api: Client, keys: Keys) -> None:
    first, second = api.create(first_name="First"), api.create(first_name="Second")
    assert add_note(api, first["id"])["id"] == 1
    assert add_note(api, second["id"])["id"] == 2
    with_text = api.create(first_name="Third", notes="A first note")  # the minimal API's first note
    assert with_text["notes"][0]["id"] == 3
    assert add_note(api, first["id"])["id"] == 4
    assert ids(notes_of(api, first["id"])) == [4, 1]
    assert ids(notes_of(api, with_text["id"])) == [3]
    assert notes_of(api, with_text["id"])["total_count"] == 1
    # another account counts from 1
    stranger = Client(keys.stranger)
    theirs = stranger.create()
    assert add_note(stranger, theirs["id"])["id"] == 1


def test_create_and_show_in_rails_xml(api: Client) -> None:
    made = api.create()
    body = '<?xml version="1.0" encoding="UTF-8"?>\n<note>\n  <body>Wants a demo &amp; a quote</body>\n</note>'
    reply = send(api, "POST", f"{notes_path(made['id'])}.xml", body, "application/xml")
    assert reply.status == 201, reply.text
    assert reply.headers["content-type"] == XML_TYPE
    assert reply.headers["etag"] == '"1"'
    assert reply.text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = reply.xml()
    assert root.tag == "note"
    assert [child.tag for child in root] == NOTE_ELEMENTS
    assert reply.headers["location"] == f"/contacts/{made['id']}/notes/{text_of(root, 'id')}.xml"
    assert text_of(root, "body") == "Wants a demo & a quote"
    assert root.find("body").attrib == {}
    for name in ("id", "contact-id", "user-id"):
        assert root.find(name).attrib == {"type": "integer"}, name
    for name in ("created-at", "updated-at"):
        assert root.find(name).attrib == {"type": "datetime"}, name
    assert (text_of(root, "contact-id"), text_of(root, "user-id")) == (str(made["id"]), "1")
    assert root.find("version") is None

    shown = api.get(reply.headers["location"])
    assert shown.status == 200
    assert shown.headers["content-type"] == XML_TYPE
    assert shown.text == reply.text
    as_json = note(api, made["id"], int(text_of(root, "id")))
    assert text_of(root, "created-at") == as_json["created_at"]
    # the format follows the suffix, then ?format=, then Accept, as for contacts
    path = notes_path(made["id"], as_json["id"])
    assert api.get(path, headers={"Accept": "application/xml"}).xml().tag == "note"
    assert api.get(path, query={"format": "xml"}).xml().tag == "note"
    assert api.get(f"{path}.json", headers={"Accept": "application/xml"}).json() == {"note": as_json}


def test_xml_input_takes_dashed_or_underscored_names_and_a_lone_body(api: Client) -> None:
    made = api.create()
    lone = send(api, "POST", notes_path(made["id"]), "<body>Just the body</body>", "text/xml")
    assert lone.status == 201, lone.text
    assert lone.json()["note"]["body"] == "Just the body"
    echoed = lone.json()["note"]
    back = (
        f"<note><body>Edited</body><contact_id type='integer'>{made['id']}</contact_id>"
        f"<user-id type='integer'>1</user-id><created-at type='datetime'>{echoed['created_at']}</created-at></note>"
    )
    reply = send(api, "PUT", f"{notes_path(made['id'], echoed['id'])}.xml", back, "application/xml")
    assert reply.status == 200, reply.text
    assert text_of(reply.xml(), "body") == "Edited"
    assert reply.headers["etag"] == '"2"'


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_update_changes_the_body_and_bumps_the_etag(api: Client, method: str) -> None:
    made = api.create()
    created = add_note(api, made["id"], "Before")
    path = notes_path(made["id"], created["id"])
    reply = api.request(method, path, json_body={"note": {"body": "After"}})
    assert reply.status == 200, reply.text
    assert reply.headers["content-type"] == JSON_TYPE
    assert reply.headers["etag"] == '"2"'
    assert "location" not in reply.headers
    updated = reply.json()["note"]
    assert list(updated) == NOTE_KEYS
    assert updated["body"] == "After"
    assert {k: updated[k] for k in ("id", "contact_id", "user_id", "created_at")} == {
        k: created[k] for k in ("id", "contact_id", "user_id", "created_at")
    }
    assert updated["updated_at"] >= created["updated_at"]
    assert note(api, made["id"], created["id"]) == updated
    # a conditional update on the new ETag, with a flat body
    again = api.request(method, path, json_body={"body": "Again"}, headers={"If-Match": '"2"'})
    assert again.status == 200, again.text
    assert again.headers["etag"] == '"3"'
    assert note(api, made["id"], created["id"])["body"] == "Again"


def test_update_with_the_same_body_writes_nothing(api: Client) -> None:
    made = api.create()
    created = add_note(api, made["id"], "Same")
    before = state(api, made["id"])
    reply = api.put(notes_path(made["id"], created["id"]), {"note": {"body": "Same"}})
    assert reply.status == 200
    assert reply.headers["etag"] == '"1"'
    assert reply.json()["note"] == created
    assert state(api, made["id"]) == before


def test_sending_back_the_note_as_read_with_a_new_body_is_accepted(api: Client) -> None:
    made = api.create()
    created = add_note(api, made["id"], "As read")
    reply = api.put(notes_path(made["id"], created["id"]), {"note": {**created, "body": "Edited"}})
    assert reply.status == 200, reply.text
    assert reply.json()["note"]["body"] == "Edited"
    as_is = api.put(notes_path(made["id"], created["id"]), {"note": reply.json()["note"]})
    assert (as_is.status, as_is.headers["etag"]) == (200, '"2"')


def test_delete_answers_204_then_the_note_is_gone(api: Client) -> None:
    made = api.create()
    keep, doomed = add_note(api, made["id"], "Keep"), add_note(api, made["id"], "Doomed")
    path = notes_path(made["id"], doomed["id"])
    reply = api.delete(path)
    assert reply.status == 204
    assert reply.text == ""
    assert reply.headers["cache-control"] == "no-store"
    for gone in (api.get(path), api.get(f"{path}.xml"), api.delete(path), api.patch(path, {"body": "Back"})):
        assert gone.status == 404, gone.text
    assert errors(api.get(path)) == ["Note not found"]
    assert xml_errors(api.get(f"{path}.xml")) == ["Note not found"]
    page = notes_of(api, made["id"])
    assert (ids(page), page["total_count"]) == ([keep["id"]], 1)
    assert [n["id"] for n in contact(api, made["id"])["notes"]] == [keep["id"]]
    # note ids are never reused
    assert add_note(api, made["id"])["id"] == doomed["id"] + 1


@pytest.mark.parametrize(
    "path",
    ["/contacts/1/notes/abc", "/contacts/1/notes/0", "/contacts/1/notes/-1", "/contacts/1/notes/99999999999"],
)
def test_a_note_id_that_cannot_exist_is_404(api: Client, path: str) -> None:
    made = api.create()
    add_note(api, made["id"])
    for reply in (api.get(path), api.put(path, {"body": "X"}), api.delete(path)):
        assert reply.status == 404, reply.text
        assert errors(reply) == ["Note not found"]


def test_notes_of_a_missing_contact_are_404(api: Client) -> None:
    for reply in (
        api.get(notes_path(7)),
        api.post(notes_path(7), {"body": "Nobody"}),
        api.get(notes_path(7, 1)),
        api.get("/contacts/abc/notes"),
    ):
        assert reply.status == 404, reply.text
        assert errors(reply) == ["Contact not found"]


# --- lists and paging ------------------------------------------------------------------------


def test_list_is_newest_first_with_paging_fields(api: Client) -> None:
    made = api.create()
    empty = notes_of(api, made["id"])
    assert empty == {"notes": [], "offset": 0, "limit": 20, "total_count": 0, "next_cursor": None}
    added = notes_added(api, made["id"], 3)
    page = notes_of(api, made["id"])
    assert list(page) == ["notes", "offset", "limit", "total_count", "next_cursor"]
    assert ids(page) == added[::-1]
    assert (page["offset"], page["limit"], page["total_count"], page["next_cursor"]) == (0, 20, 3, None)
    assert [n["body"] for n in page["notes"]] == ["Note 2", "Note 1", "Note 0"]
    assert all(list(n) == NOTE_KEYS for n in page["notes"])
    assert page["notes"][0] == note(api, made["id"], added[-1])
    assert api.get(f"{notes_path(made['id'])}.json").json() == page


def test_list_in_xml(api: Client) -> None:
    made = api.create()
    added = notes_added(api, made["id"], 3)
    reply = api.get(f"{notes_path(made['id'])}.xml", query={"limit": 2})
    assert reply.status == 200
    assert reply.headers["content-type"] == XML_TYPE
    root = reply.xml()
    assert root.tag == "notes"
    assert (root.get("type"), root.get("offset"), root.get("limit"), root.get("total_count")) == (
        "array",
        "0",
        "2",
        "3",
    )
    assert root.get("next_cursor")
    items = root.findall("note")
    assert [text_of(n, "id") for n in items] == [str(i) for i in added[:0:-1]]
    assert [child.tag for child in items[0]] == NOTE_ELEMENTS
    rest = api.get(f"{notes_path(made['id'])}.xml", query={"limit": 2, "cursor": root.get("next_cursor")}).xml()
    assert [text_of(n, "id") for n in rest.findall("note")] == [str(added[0])]
    assert rest.get("next_cursor") is None


def test_limit_offset_and_page(api: Client) -> None:
    made = api.create()
    newest_first = notes_added(api, made["id"], 5)[::-1]
    default = notes_of(api, made["id"], limit=2)
    assert (ids(default), default["total_count"]) == (newest_first[:2], 5)
    assert default["next_cursor"]
    by_offset = notes_of(api, made["id"], offset=1, limit=2)
    assert (ids(by_offset), by_offset["offset"], by_offset["limit"], by_offset["total_count"]) == (
        newest_first[1:3],
        1,
        2,
        5,
    )
    by_page = notes_of(api, made["id"], page=2, limit=2)
    assert (ids(by_page), by_page["offset"]) == (newest_first[2:4], 2)
    last = notes_of(api, made["id"], page=3, limit=2)
    assert (ids(last), last["next_cursor"]) == (newest_first[4:], None)
    beyond = notes_of(api, made["id"], offset=10)
    assert (ids(beyond), beyond["total_count"], beyond["next_cursor"]) == ([], 5, None)
    assert ids(notes_of(api, made["id"], offset=1, page=3, limit=2)) == newest_first[1:3]  # offset wins
    for bad in ({"limit": "many"}, {"limit": 0}, {"page": 0}, {"offset": -1}, {"offset": 1, "page": "x"}):
        reply = api.get(notes_path(made["id"]), query=bad)
        assert reply.status == 400, bad
        assert errors(reply)


def test_cursor_walk_returns_every_note_once_newest_first(api: Client) -> None:
    made = api.create()
    added = notes_added(api, made["id"], 7)
    assert api.delete(notes_path(made["id"], added[3])).status == 204
    expected = [i for i in added[::-1] if i != added[3]]
    seen, cursor, pages = [], None, 0
    while True:
        page = notes_of(api, made["id"], limit=2, **({"cursor": cursor} if cursor else {}))
        assert page["total_count"] == 6
        assert page["offset"] == len(seen)
        seen += ids(page)
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    assert pages == 3
    # a cursor taken from an offset page carries on from there
    middle = notes_of(api, made["id"], offset=1, limit=2)
    assert ids(notes_of(api, made["id"], limit=2, cursor=middle["next_cursor"])) == expected[3:5]


def test_a_notes_cursor_is_for_that_contacts_notes_only(api: Client) -> None:
    first, second = api.create(), api.create()
    notes_added(api, first["id"], 3)
    notes_added(api, second["id"], 3)
    for n in range(2):
        api.patch(f"/contacts/{first['id']}", {"last_name": f"N{n}"})
    cursor = notes_of(api, first["id"], limit=1)["next_cursor"]
    history_cursor = history(api, first["id"], limit=1)["next_cursor"]
    assert cursor
    assert history_cursor
    for path, other in (
        (notes_path(second["id"]), cursor),  # another contact's notes
        (f"/contacts/{first['id']}/history", cursor),  # the notes cursor on the history
        ("/contacts", cursor),
        (notes_path(first["id"]), history_cursor),  # a history cursor on the notes
    ):
        reply = api.get(path, query={"limit": 1, "cursor": other})
        assert reply.status == 400, path
        assert "cursor" in errors(reply)[0]
    assert ids(notes_of(api, first["id"], limit=1, cursor=cursor)) == [2]


# --- refused requests: status, error body, nothing changed -----------------------------------------

# (name, body, content type, status, message fragment), each POSTed to the notes of a contact; an XML
# body goes to the .xml route and is answered in XML.
REFUSED_CREATES = [
    ("blank body", '{"note": {"body": ""}}', "application/json", 422, "Body cannot be blank"),
    ("spaces body", '{"body": "   "}', "application/json", 422, "Body cannot be blank"),
    ("null body", '{"body": null}', "application/json", 422, "Body cannot be blank"),
    ("no body field", '{"note": {}}', "application/json", 422, "Body cannot be blank"),
    ("empty request", "", "application/json", 422, "Body cannot be blank"),
    ("body not text", '{"body": ["a", "b"]}', "application/json", 422, "Body must be text"),
    ("control character", '{"body": "A\\u0007"}', "application/json", 422, "control characters"),
    ("too long", json.dumps({"body": "x" * 32_001}), "application/json", 422, "too long"),
    (
        "unknown fields",
        '{"body": "x", "subject": "y", "colour": 1}',
        "application/json",
        422,
        "Unknown fields: colour",
    ),
    ("read-only id", '{"body": "x", "id": 5}', "application/json", 422, "Id is read-only"),
    ("read-only contact id", '{"body": "x", "contact_id": 99}', "application/json", 422, "Contact id is read-only"),
    ("read-only user id", '{"body": "x", "user_id": 2}', "application/json", 422, "User id is read-only"),
    (
        "read-only created at",
        '{"body": "x", "created_at": "2001-01-01T00:00:00+00:00"}',
        "application/json",
        422,
        "Created at is read-only",
    ),
    ("version on create", '{"body": "x", "version": 3}', "application/json", 422, "Version is read-only"),
    ("blank in xml", "<note><body/></note>", "application/xml", 422, "Body cannot be blank"),
    ("unknown in xml", "<note><body>x</body><hat>y</hat></note>", "application/xml", 422, "Unknown fields: hat"),
    ("malformed json", '{"note": {"body": "x"', "application/json", 400, "Malformed JSON"),
    ("json array", '[{"body": "x"}]', "application/json", 400, "must be an object"),
    ("malformed xml", "<note><body>x</note>", "application/xml", 400, "Malformed XML"),
    ("xxe", XXE.replace("contact", "note").replace("first-name", "body"), "application/xml", 400, "DTD"),
    ("too large", json.dumps({"body": "x" * MAX_BODY}), "application/json", 413, "larger than"),
    ("text/plain", "body=x", "text/plain", 415, "Send application/json"),
]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "fragment"),
    [case[1:] for case in REFUSED_CREATES],
    ids=[case[0] for case in REFUSED_CREATES],
)
def test_refused_create_answers_in_the_request_format_and_stores_nothing(
    api: Client, body: str, content_type: str, status: int, fragment: str
) -> None:
    made = api.create()
    existing = add_note(api, made["id"], "Existing")
    before = state(api, made["id"])
    xml = content_type.endswith("xml")
    reply = send(api, "POST", notes_path(made["id"]) + (".xml" if xml else ""), body, content_type)
    assert reply.status == status, reply.text
    assert reply.headers["cache-control"] == "no-store"
    messages = xml_errors(reply) if xml else errors(reply)
    assert fragment in " ".join(messages)
    assert "root:" not in reply.text  # no file content leaks out
    assert state(api, made["id"]) == before
    # the id sequence moved on at most: the next note is still created normally
    assert add_note(api, made["id"])["id"] > existing["id"]


# (name, body, content type, status, message fragment), each sent as a PATCH of a note as created.
REFUSED_UPDATES = [
    ("blank body", {"body": ""}, None, 422, "Body cannot be blank"),
    ("spaces body", {"note": {"body": " \n "}}, None, 422, "Body cannot be blank"),
    ("null body", {"body": None}, None, 422, "Body cannot be blank"),
    ("unknown field", {"body": "X", "colour": "red"}, None, 422, "Unknown fields: colour"),
    ("read-only id", {"body": "X", "id": 99}, None, 422, "Id is read-only"),
    ("read-only contact id", {"body": "X", "contact_id": 99}, None, 422, "Contact id is read-only"),
    ("read-only user id", {"body": "X", "user_id": 2}, None, 422, "User id is read-only"),
    ("read-only created at", {"created_at": "2001-01-01T00:00:00+00:00"}, None, 422, "Created at is read-only"),
    ("read-only updated at", {"updated_at": "2001-01-01T00:00:00+00:00"}, None, 422, "Updated at is read-only"),
    ("version not a number", {"body": "X", "version": "one"}, None, 422, "Version must be a whole number"),
    ("malformed json", '{"body": ', "application/json", 400, "Malformed JSON"),
    ("malformed xml", "<note><body>X</note>", "application/xml", 400, "Malformed XML"),
    ("xxe", XXE.replace("contact", "note").replace("first-name", "body"), "application/xml", 400, "DTD"),
    ("wrong type", "body=X", "text/plain", 415, "Send application/json"),
]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "fragment"),
    [case[1:] for case in REFUSED_UPDATES],
    ids=[case[0] for case in REFUSED_UPDATES],
)
def test_refused_update_changes_nothing(
    api: Client, body: Any, content_type: str | None, status: int, fragment: str
) -> None:
    made = api.create()
    created = add_note(api, made["id"], "Original")
    path = notes_path(made["id"], created["id"])
    before = state(api, made["id"])
    reply = api.patch(path, body) if content_type is None else send(api, "PATCH", path, body, content_type)
    assert reply.status == status, reply.text
    assert fragment in " ".join(errors(reply))
    assert "root:" not in reply.text
    assert state(api, made["id"]) == before
    assert etag(api, made["id"], created["id"]) == '"1"'


# --- optimistic locking ----------------------------------------------------------------------------


def test_stale_if_match_is_409_and_changes_nothing(api: Client) -> None:
    made = api.create()
    created = add_note(api, made["id"], "First")
    path = notes_path(made["id"], created["id"])
    assert api.patch(path, {"body": "Second"}, headers={"If-Match": '"1"'}).headers["etag"] == '"2"'
    before = state(api, made["id"])
    for reply in (
        api.patch(path, {"body": "Lost"}, headers={"If-Match": '"1"'}),
        api.put(path, {"note": {"body": "Lost"}}, headers={"If-Match": 'W/"1"'}),
        api.put(path, {"body": "Second"}, headers={"If-Match": '"1"'}),  # stale even if nothing would change
        api.patch(path, {"body": "Lost"}, headers={"If-Match": '"3"'}),
        api.delete(path, headers={"If-Match": '"1"'}),
    ):
        assert reply.status == 409, reply.text
        assert "version" in errors(reply)[0]
    xml = send(
        api, "PUT", f"{path}.xml", "<note><body>Lost</body></note>", "application/xml", headers={"If-Match": '"1"'}
    )
    assert xml.status == 409
    assert "version" in xml_errors(xml)[0]
    assert state(api, made["id"]) == before
    assert etag(api, made["id"], created["id"]) == '"2"'
    # the current ETag, or any, passes
    assert api.put(path, {"body": "Third"}, headers={"If-Match": 'W/"2"'}).headers["etag"] == '"3"'
    assert api.patch(path, {"body": "Fourth"}, headers={"If-Match": "*"}).headers["etag"] == '"4"'
    assert api.delete(path, headers={"If-Match": '"4"'}).status == 204


def test_version_in_the_body_acts_like_if_match(api: Client) -> None:
    made = api.create()
    created = add_note(api, made["id"], "First")
    path = notes_path(made["id"], created["id"])
    ok = api.patch(path, {"note": {"body": "Second", "version": 1}})
    assert (ok.status, ok.headers["etag"]) == (200, '"2"')
    assert "version" not in ok.json()["note"]
    before = state(api, made["id"])
    for payload in ({"body": "Lost", "version": 1}, {"note": {"body": "Lost", "version": "1"}}):
        stale = api.put(path, payload)
        assert stale.status == 409, stale.text
        assert errors(stale) == ["Note is at version 2, not 1"]
    xml = send(api, "PATCH", path, '<note><body>Lost</body><version type="integer">1</version></note>', "text/xml")
    assert xml.status == 409
    assert state(api, made["id"]) == before
    assert api.put(path, {"body": "Third", "version": 2}).headers["etag"] == '"3"'


def test_if_match_must_be_an_etag(api: Client) -> None:
    made = api.create()
    created = add_note(api, made["id"])
    before = state(api, made["id"])
    path = notes_path(made["id"], created["id"])
    for reply in (
        api.patch(path, {"body": "X"}, headers={"If-Match": "yesterday"}),
        api.delete(path, headers={"If-Match": "yesterday"}),
    ):
        assert reply.status == 400
        assert "If-Match" in errors(reply)[0]
    assert state(api, made["id"]) == before


# --- what a note's change does to its contact -----------------------------------------------------


def test_note_changes_set_last_action_at_but_not_the_contacts_version(api: Client, clock: None) -> None:
    made = api.create(last_name="Lovelace")
    assert made["last_action_at"] is None

    def unchanged(latest: dict[str, Any]) -> None:
        """Everything of the contact but last_action_at and its notes is as created."""
        assert {k: v for k, v in latest.items() if k not in ("last_action_at", "notes")} == {
            k: v for k, v in made.items() if k not in ("last_action_at", "notes")
        }

    path = f"/contacts/{made['id']}"
    created = add_note(api, made["id"], "Added")
    after_create = contact(api, made["id"])
    assert after_create["last_action_at"] is not None
    assert after_create["last_action_at"] >= created["created_at"]
    unchanged(after_create)
    assert api.get(path).headers["etag"] == '"1"'

    updated = api.patch(notes_path(made["id"], created["id"]), {"body": "Changed"}).json()["note"]
    after_update = contact(api, made["id"])
    assert after_update["last_action_at"] > after_create["last_action_at"]
    assert after_update["last_action_at"] >= updated["updated_at"]
    unchanged(after_update)

    assert api.delete(notes_path(made["id"], created["id"])).status == 204
    after_delete = contact(api, made["id"])
    assert after_delete["last_action_at"] > after_update["last_action_at"]
    unchanged(after_delete)

    # a client that read the contact before any of that still holds its current ETag
    reply = api.patch(path, {"company": "Engines"}, headers={"If-Match": '"1"'})
    assert reply.status == 200, reply.text
    assert reply.headers["etag"] == '"2"'
    assert reply.json()["contact"]["company"] == "Engines"


def test_a_contact_update_on_its_etag_succeeds_after_a_note_was_added(api: Client) -> None:
    made = api.create()
    shown = api.get(f"/contacts/{made['id']}")
    add_note(api, made["id"], "Meanwhile")
    reply = api.patch(f"/contacts/{made['id']}", {"last_name": "Held"}, headers={"If-Match": shown.headers["etag"]})
    assert reply.status == 200, reply.text
    assert reply.headers["etag"] == '"2"'
    assert [n["body"] for n in reply.json()["contact"]["notes"]] == ["Meanwhile"]
    versioned = api.put(f"/contacts/{made['id']}", {"job_title": "Analyst", "version": 2})
    assert versioned.status == 200, versioned.text


def test_one_change_has_one_time(api: Client, clock: None) -> None:
    made = api.create()
    created = add_note(api, made["id"], "Added")
    entry = history(api, made["id"])["history"][0]
    assert contact(api, made["id"])["last_action_at"] == created["created_at"] == entry["created_at"]
    updated = api.patch(notes_path(made["id"], created["id"]), {"body": "Changed"}).json()["note"]
    entry = history(api, made["id"])["history"][0]
    assert contact(api, made["id"])["last_action_at"] == updated["updated_at"] == entry["created_at"]


def test_history_has_the_notes_changes_among_the_contacts(api: Client, keys: Keys) -> None:
    made = api.create(last_name="Byron")
    cid = made["id"]
    colleague = Client(keys.colleague)
    assert api.patch(f"/contacts/{cid}", {"last_name": "Lovelace"}).status == 200  # 2
    first = add_note(api, cid, "First")  # 3
    assert api.put(notes_path(cid, first["id"]), {"body": "First, edited"}).status == 200  # 4
    second = add_note(colleague, cid, "By a colleague")  # 5
    assert second["user_id"] == 2
    assert api.patch(f"/contacts/{cid}", {"company": "Engines"}).status == 200  # 6
    assert api.delete(notes_path(cid, first["id"])).status == 204  # 7

    page = history(api, cid)
    entries = page["history"]
    assert (page["total_count"], page["next_cursor"]) == (7, None)
    assert [e["id"] for e in entries] == [7, 6, 5, 4, 3, 2, 1]  # contiguous, newest first
    assert [(e["subject"], e["action"]) for e in entries] == [
        ("note", "deleted"),
        ("contact", "updated"),
        ("note", "created"),
        ("note", "updated"),
        ("note", "created"),
        ("contact", "updated"),
        ("contact", "created"),
    ]
    assert [e.get("note_id") for e in entries] == [
        first["id"],
        None,
        second["id"],
        first["id"],
        first["id"],
        None,
        None,
    ]
    assert all("note_id" not in e for e in entries if e["subject"] == "contact")
    assert [e["version"] for e in entries] == [2, 3, 1, 2, 1, 2, 1]  # the note's version, or the contact's
    assert {e["contact_id"] for e in entries} == {cid}
    assert [e["user_id"] for e in entries] == [1, 1, 2, 1, 1, 1, 1]
    assert entries[2]["key_id"] == public_id(keys.colleague)
    assert entries[0]["changes"] == [{"field": "body", "old_value": "First, edited", "new_value": None}]
    assert entries[2]["changes"] == [{"field": "body", "old_value": None, "new_value": "By a colleague"}]
    assert entries[3]["changes"] == [{"field": "body", "old_value": "First", "new_value": "First, edited"}]
    assert entries[4]["changes"] == [{"field": "body", "old_value": None, "new_value": "First"}]
    assert entries[1]["changes"] == [{"field": "company", "old_value": None, "new_value": "Engines"}]
    times_seen = [datetime.fromisoformat(e["created_at"]) for e in entries]
    assert times_seen == sorted(times_seen, reverse=True)
    # paged, every entry comes once
    seen, cursor = [], None
    while True:
        part = history(api, cid, limit=3, **({"cursor": cursor} if cursor else {}))
        seen += [e["id"] for e in part["history"]]
        cursor = part["next_cursor"]
        if cursor is None:
            break
    assert seen == [7, 6, 5, 4, 3, 2, 1]


def test_history_of_notes_in_xml(api: Client) -> None:
    made = api.create()
    created = add_note(api, made["id"], "In XML")
    root = api.get(f"/contacts/{made['id']}/history.xml").xml()
    assert root.get("total_count") == "2"
    newest = root.findall("entry")[0]
    assert (text_of(newest, "subject"), text_of(newest, "action")) == ("note", "created")
    assert text_of(newest, "note-id") == str(created["id"])
    assert newest.find("note-id").get("type") == "integer"
    (change,) = newest.find("changes").findall("change")
    assert text_of(change, "field") == "body"
    assert text_of(change, "new-value") == "In XML"


def test_the_contact_shows_its_newest_25_notes(api: Client) -> None:
    made = api.create()
    other = api.create(first_name="Other")
    add_note(api, other["id"], "Not theirs")
    added = notes_added(api, made["id"], 30)
    newest = added[::-1][:25]
    shown = contact(api, made["id"])
    assert [n["id"] for n in shown["notes"]] == newest
    assert all(list(n) == NOTE_KEYS for n in shown["notes"])
    assert shown["notes"][0] == note(api, made["id"], added[-1])
    root = api.get(f"/contacts/{made['id']}.xml").xml()
    xml_notes = root.find("notes")
    assert xml_notes.get("type") == "array"
    assert [text_of(n, "id") for n in xml_notes.findall("note")] == [str(i) for i in newest]
    # the notes route has them all
    page = notes_of(api, made["id"], limit=100)
    assert (ids(page), page["total_count"]) == (added[::-1], 30)
    rest = notes_of(api, made["id"], offset=25)
    assert ids(rest) == added[::-1][25:]
    assert [n["body"] for n in contact(api, other["id"])["notes"]] == ["Not theirs"]


def test_deleting_the_contact_deletes_its_notes(api: Client) -> None:
    keep, doomed = api.create(first_name="Keep"), api.create(first_name="Doomed")
    kept = add_note(api, keep["id"], "Stays")
    gone = notes_added(api, doomed["id"], 3)
    api.put(notes_path(doomed["id"], gone[0]), {"body": "Edited"})
    assert len(left_under(doomed["id"])) == 3 + 5  # the notes, and 5 history entries
    assert api.delete(f"/contacts/{doomed['id']}").status == 204
    for reply in (
        api.get(notes_path(doomed["id"])),
        api.get(f"{notes_path(doomed['id'])}.xml"),
        api.post(notes_path(doomed["id"]), {"body": "Too late"}),
        api.get(notes_path(doomed["id"], gone[1])),
        api.patch(notes_path(doomed["id"], gone[1]), {"body": "Too late"}),
        api.delete(notes_path(doomed["id"], gone[1])),
    ):
        assert reply.status == 404, reply.text
        assert "Contact not found" in reply.text
    assert left_under(doomed["id"]) == []
    assert notes_of(api, keep["id"])["notes"] == [kept]
    assert len(left_under(keep["id"])) == 1 + 2  # its note, and 2 history entries


def test_a_note_is_only_reached_through_its_own_contact(api: Client) -> None:
    first, second = api.create(first_name="First"), api.create(first_name="Second")
    theirs = add_note(api, first["id"], "First's")
    add_note(api, second["id"], "Second's")
    before = state(api, first["id"]), state(api, second["id"])
    wrong = notes_path(second["id"], theirs["id"])
    for reply in (
        api.get(wrong),
        api.get(f"{wrong}.xml", headers={"Accept": "application/xml"}),
        api.put(wrong, {"body": "Moved"}),
        api.patch(wrong, {"body": "Moved"}),
        api.delete(wrong),
    ):
        assert reply.status == 404, reply.text
        assert "Note not found" in reply.text
    assert (state(api, first["id"]), state(api, second["id"])) == before


# --- keys and tenancy -------------------------------------------------------------------------------


def test_another_accounts_contact_and_notes_are_404_everywhere(api: Client, keys: Keys) -> None:
    api.create(first_name="Padding")  # the stranger's account has a contact 1, but no contact 2
    mine = api.create(first_name="Mine")
    mine_note = add_note(api, mine["id"], "Private matters")
    stranger = Client(keys.stranger)
    stranger.create(first_name="Theirs")
    before = state(api, mine["id"])
    path = notes_path(mine["id"], mine_note["id"])
    for reply in (
        stranger.get(notes_path(mine["id"])),
        stranger.get(f"{notes_path(mine['id'])}.xml"),
        stranger.post(notes_path(mine["id"]), {"body": "Planted"}),
        stranger.get(path),
        stranger.get(f"{path}.xml"),
        stranger.put(path, {"body": "Taken"}),
        stranger.patch(path, {"body": "Taken"}),
        stranger.delete(path),
    ):
        assert reply.status == 404, reply.text
        assert "Contact not found" in reply.text
        assert "Private matters" not in reply.text
    assert state(api, mine["id"]) == before


def test_same_ids_in_two_accounts_each_see_their_own(api: Client, keys: Keys) -> None:
    stranger = Client(keys.stranger)
    ours, theirs = api.create(first_name="Ours"), stranger.create(first_name="Theirs")
    assert ours["id"] == theirs["id"] == 1
    our_note, their_note = add_note(api, 1, "Ours"), add_note(stranger, 1, "Theirs")
    assert our_note["id"] == their_note["id"] == 1
    assert note(api, 1, 1)["body"] == "Ours"
    assert note(stranger, 1, 1)["body"] == "Theirs"
    assert stranger.patch(notes_path(1, 1), {"body": "Theirs, edited"}).status == 200
    assert stranger.delete(notes_path(1, 1)).status == 204
    assert note(api, 1, 1) == our_note
    assert etag(api, 1, 1) == '"1"'
    assert history(api, 1)["total_count"] == 2


def test_read_only_key_reads_notes_but_cannot_write(api: Client, keys: Keys) -> None:
    made = api.create()
    created = add_note(api, made["id"], "Read me")
    reader = Client(keys.reader)
    path = notes_path(made["id"], created["id"])
    assert reader.get(path).json()["note"] == created
    assert ids(notes_of(reader, made["id"])) == [created["id"]]
    before = state(api, made["id"])
    for reply in (
        reader.post(notes_path(made["id"]), {"body": "No"}),
        reader.put(path, {"body": "No"}),
        reader.patch(path, {"body": "No"}),
        reader.delete(path),
        reader.post(notes_path(made["id"]), {"body": "No"}, headers={"If-Match": '"1"'}),
    ):
        assert reply.status == 403, reply.text
        assert errors(reply) == [READ_ONLY_KEY]
    xml = send(reader, "POST", f"{notes_path(made['id'])}.xml", "<note><body>No</body></note>", "application/xml")
    assert xml.status == 403
    assert xml_errors(xml) == [READ_ONLY_KEY]
    # the scope is checked first: a missing contact or note is still 403 for a reader
    assert reader.delete(notes_path(99, 1)).status == 403
    assert state(api, made["id"]) == before


def test_private_contacts_notes_are_as_invisible_as_the_contact(api: Client, keys: Keys) -> None:
    private = api.create(first_name="Private", is_private=True)
    secret = add_note(api, private["id"], "Secret")
    colleague = Client(keys.colleague)
    before = state(api, private["id"])
    path = notes_path(private["id"], secret["id"])
    for reply in (
        colleague.get(notes_path(private["id"])),
        colleague.post(notes_path(private["id"]), {"body": "Seen"}),
        colleague.get(path),
        colleague.put(path, {"body": "Seen"}),
        colleague.patch(path, {"body": "Seen"}),
        colleague.delete(path),
    ):
        assert reply.status == 404, reply.text
        assert "Contact not found" in reply.text
        assert "Secret" not in reply.text
    assert state(api, private["id"]) == before
    # the owner's other keys and admins see them; an admin may write them
    for key in (keys.reader, keys.admin):
        assert Client(key).get(path).json()["note"] == secret
        assert ids(notes_of(Client(key), private["id"])) == [secret["id"]]
    by_admin = add_note(Client(keys.admin), private["id"], "Admin's")
    assert by_admin["user_id"] == 9
    assert ids(notes_of(api, private["id"])) == [by_admin["id"], secret["id"]]
    # and a contact made private later hides its notes too
    shared = api.create(first_name="Shared")
    shared_note = add_note(colleague, shared["id"], "Colleague's note")
    assert api.patch(f"/contacts/{shared['id']}", {"is_private": True}).status == 200
    assert colleague.get(notes_path(shared["id"], shared_note["id"])).status == 404
    assert colleague.get(notes_path(shared["id"])).status == 404
    assert api.get(notes_path(shared["id"], shared_note["id"])).json()["note"] == shared_note


def test_no_key_is_401(api: Client) -> None:
    made = api.create()
    created = add_note(api, made["id"])
    for method, path in (
        ("GET", notes_path(made["id"])),
        ("POST", notes_path(made["id"])),
        ("GET", notes_path(made["id"], created["id"])),
        ("DELETE", notes_path(made["id"], created["id"])),
    ):
        reply = Client().request(method, path)
        assert reply.status == 401, path
        assert errors(reply) == ["Invalid or missing API key"]
    assert note(api, made["id"], created["id"]) == created


def test_every_notes_response_has_charset_and_no_store(api: Client) -> None:
    made = api.create()
    created = add_note(api, made["id"])
    path = notes_path(made["id"], created["id"])
    replies: list[Reply] = [
        api.get(notes_path(made["id"])),
        api.get(f"{notes_path(made['id'])}.xml"),
        api.get(path),
        api.get(f"{path}.xml"),
        api.patch(path, {"body": "Changed"}),
        api.patch(path, {"body": ""}),
        api.get(notes_path(made["id"], 999) + ".xml"),
        api.post(f"{notes_path(made['id'])}.xml", {"nope": 1}),
    ]
    for reply in replies:
        assert reply.headers["content-type"] in (JSON_TYPE, XML_TYPE), reply.headers
        assert reply.headers["cache-control"] == "no-store", reply.headers
    assert api.delete(path).headers["cache-control"] == "no-store"
