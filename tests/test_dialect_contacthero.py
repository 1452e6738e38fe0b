"""The ContactHero API document, spoken request by request over real HTTP against `make run`'s server.

Every request authenticates as a ContactHero client does: HTTP Basic with the API token as the user
name and ``API`` as the password. Bodies and answers are Rails-style XML (``.xml`` routes). The
document's example contact is read from the seed at test time, sent, read back and compared with
the example element for element.
"""

from __future__ import annotations

import base64
import re
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import pytest
from defusedxml.ElementTree import fromstring

from tests.local_server import BIN, Reply, Server, child, request, text

SEED = Path(__file__).resolve().parents[1].parent / "shared" / "seeds" / "000_cfc7ad554d9a6da6.txt"
DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$")
INTEGER = re.compile(r"^\d+$")
# Elements the document marks as the server's own: left out of what a client sends.
READ_ONLY = ("id", "created-at", "updated-at", "user-id", "last-action-at")
# Values that differ from run to run: compared by their type and shape, not their text.
SHAPE_ONLY = {
    "id": "integer",
    "contact-id": "integer",
    "created-at": "datetime",
    "updated-at": "datetime",
    "last-action-at": "datetime",
}
# What our contact carries beyond ContactHero's elements (API.md: the Redmine CRM fields and the
# version; the external_id upserts match on; its numbers in E.164, read-only). Anything else
# appearing in a contact is a change a ContactHero client did not agree to.
EXTRA_CONTACT_ELEMENTS = {
    "assigned-to-id",
    "background",
    "custom_fields",
    "emails",
    "external-id",
    "is-company",
    "phones",
    "phones-e164",
    "project-ids",
    "skype-name",
    "tags",
    "version",
}
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"

# --- helpers -----------------------------------------------------------------------------


def basic(token: str) -> str:
    """ContactHero's credentials: the token as user name, ``API`` as password."""
    return "Basic " + base64.b64encode(f"{token}:API".encode()).decode()


@dataclass
class ContactHero:
    """A ContactHero client: Basic auth with the token and password ``API``, XML bodies."""

    base: str
    token: str

    def send(self, method: str, path: str, body: str | None = None) -> Reply:
        headers = {"Authorization": basic(self.token)}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/xml"
            data = body.encode()
        return Reply(*request(method, self.base + path, None, data, headers))

    def expect(self, status: int, method: str, path: str, body: str | None = None) -> Element:
        """Send; assert the status and an XML answer; return its root."""
        reply = self.send(method, path, body)
        assert reply.status == status, (method, path, reply.status, reply.body[:500])
        return reply.xml()

    def created(self, path: str, body: str, root: str) -> Element:
        """POST a new resource: 201, a ``Location`` to the new record, the record as ``<root>``."""
        reply = self.send("POST", path, body)
        assert reply.status == 201, (path, reply.status, reply.body[:500])
        element = reply.xml()
        assert element.tag == root
        record_id = integer(element, "id")
        assert reply.headers["location"].split("?")[0].endswith(f"/{record_id}.xml"), reply.headers
        return element

    def gone(self, path: str, message: str) -> None:
        """The record answers 404, in XML, naming what was not found."""
        root = self.expect(404, "GET", path)
        assert errors_of(root) == [message]

    def deleted(self, path: str) -> None:
        reply = self.send("DELETE", path)
        assert (reply.status, reply.body) == (204, b""), (path, reply.status, reply.body[:300])

    def contact(self, first_name: str, **elements: str) -> int:
        """A new contact; its id."""
        extra = "".join(f"<{name}>{value}</{name}>" for name, value in elements.items())
        root = self.created(
            "/contacts.xml", f"<contact><first-name>{first_name}</first-name>{extra}</contact>", "contact"
        )
        return integer(root, "id")


def admin_cli(server: Server) -> list[str]:
    return [str(BIN / "contacts-admin"), "--endpoint-url", server.dynamodb]


@pytest.fixture
def hero(server: Server) -> ContactHero:
    return ContactHero(server.base, server.key)


def integer(element: Element, name: str) -> int:
    found = child(element, name)
    assert found.get("type") == "integer", (name, found.attrib)
    return int(found.text or "")


def leaves(element: Element) -> dict[str, str | None]:
    """The element's children without children of their own, by tag: text, or None when nil."""
    return {c.tag: (None if c.get("nil") == "true" else (c.text or "")) for c in element if len(c) == 0}


def errors_of(root: Element) -> list[str]:
    assert root.tag == "errors"
    assert all(child.tag == "error" for child in root)
    return [child.text or "" for child in root]


def listed(root: Element, plural: str, singular: str) -> list[Element]:
    """The items of a list answer: ``<plural type="array">`` with one ``<singular>`` each."""
    assert (root.tag, root.get("type")) == (plural, "array")
    assert all(child.tag == singular for child in root)
    assert int(root.get("total_count", "-1")) >= len(root)
    return list(root)


def ids_of(items: list[Element]) -> list[int]:
    return [integer(item, "id") for item in items]


def example_contact() -> Element:
    """The document's example: the XML between ``<?xml`` and ``</contact>`` in the seed."""
    seed = SEED.read_text(encoding="utf-8")
    start = seed.index("<?xml")
    end = seed.index("</contact>", start) + len("</contact>")
    return fromstring(seed[start:end].encode(), forbid_dtd=True)


def as_sent(example: Element) -> str:
    """The example as a client creates it: without the read-only elements and without its notes."""
    parts = []
    for element in example:
        if element.tag in READ_ONLY or element.tag == "notes":
            continue
        attributes = "".join(f' {name}="{value}"' for name, value in sorted(element.attrib.items()))
        value = (element.text or "").replace("&", "&amp;").replace("<", "&lt;")
        parts.append(f"<{element.tag}{attributes}>{value}</{element.tag}>")
    return '<?xml version="1.0" encoding="UTF-8"?>\n<contact>' + "".join(parts) + "</contact>"


def assert_same_element(expected: Element, actual: Element, where: str) -> None:
    """One element of the example against ours: same tag, ``type`` and ``nil``, same text (or, for
    the values that differ from run to run, the same type and shape)."""
    assert actual.tag == expected.tag, where
    assert actual.get("type") == expected.get("type"), (where, actual.attrib, expected.attrib)
    if expected.tag in SHAPE_ONLY:
        assert expected.get("type") == SHAPE_ONLY[expected.tag], where  # the example's own shape
        if expected.tag == "last-action-at" and actual.get("nil") == "true":
            assert (actual.text or "") == "", where
            return
        assert actual.get("nil") is None, (where, actual.attrib)
        pattern = INTEGER if SHAPE_ONLY[expected.tag] == "integer" else DATETIME
        assert pattern.match(actual.text or ""), (where, actual.text)
        if pattern is DATETIME:
            assert datetime.fromisoformat(actual.text or "").utcoffset() is not None, where
        return
    assert actual.get("nil") == expected.get("nil"), (where, actual.attrib, expected.attrib)
    assert (actual.text or "") == (expected.text or ""), (where, actual.text, expected.text)


def wait_for_photo(hero: ContactHero, photo_id: int) -> Element:
    """The photo once S3's event about its upload was handled (it is delivered after the upload
    is answered); the last answer if that never happens, for the caller's assertions to show."""
    deadline = time.monotonic() + 30
    while True:
        photo = hero.expect(200, "GET", f"/photos/{photo_id}.xml")
        if text(photo, "status") != "waiting_for_upload" or time.monotonic() > deadline:
            return photo
        time.sleep(0.1)


# --- authentication ------------------------------------------------------------------------


def test_basic_auth_with_the_token_and_password_api_is_how_a_client_signs_in(server: Server, hero: ContactHero) -> None:
    """The token as Basic user name with password ``API`` is accepted; nothing, or a wrong token, is
    401 with a Basic challenge, and a refused write changes nothing."""
    before = int(hero.expect(200, "GET", "/contacts.xml").get("total_count", "-1"))
    assert before >= 0

    secret = server.key.rsplit(".", 1)[1]
    wrong_tokens = [server.key.replace(secret, secret[::-1]), "not-a-token"]
    for token in wrong_tokens:
        for method, path, body in [
            ("GET", "/contacts.xml", None),
            ("POST", "/contacts.xml", "<contact><first-name>Intruder</first-name></contact>"),
        ]:
            reply = ContactHero(server.base, token).send(method, path, body)
            assert reply.status == 401, (token, method, reply.status, reply.body[:300])
            assert reply.headers["www-authenticate"].startswith("Basic"), reply.headers
            assert b"Invalid or missing API key" in reply.body, reply.body
    anonymous = request("GET", f"{server.base}/contacts.xml")
    assert anonymous[0] == 401
    assert int(hero.expect(200, "GET", "/contacts.xml").get("total_count", "-1")) == before


def test_a_token_made_with_contacts_admin_signs_in_as_its_own_user(server: Server, hero: ContactHero) -> None:
    """Any user's token works over Basic: what it creates is that user's (``user-id``)."""
    made = subprocess.run(
        [*admin_cli(server), "keys", "create", "--account", "dev", "--user", "2", "--scope", "write"],
        capture_output=True,
        text=True,
        check=True,
    )
    colleague = ContactHero(server.base, made.stdout.strip().splitlines()[-1])
    contact_id = colleague.contact("Mary", **{"last-name": "Todd"})
    shown = hero.expect(200, "GET", f"/contacts/{contact_id}.xml")
    assert (text(shown, "first-name"), integer(shown, "user-id")) == ("Mary", 2)
    note = colleague.created(f"/contacts/{contact_id}/notes.xml", "<note><body>Hello</body></note>", "note")
    assert integer(note, "user-id") == 2


# --- the document's example contact -----------------------------------------------------------


def test_the_documents_example_contact_reads_back_element_for_element(hero: ContactHero) -> None:
    """The example, created without its read-only elements, then its two notes (older first), reads
    back as the example shows it: same elements in the same order, with the same ``type``, ``nil``
    and text; notes newest first; beyond them only the documented extra elements."""
    example = example_contact()
    assert example.tag == "contact"
    notes = example.find("notes")
    assert notes is not None
    assert len(notes) == 2

    created = hero.created("/contacts.xml", as_sent(example), "contact")
    contact_id = integer(created, "id")
    older_first = sorted(notes, key=lambda note: text(note, "created-at"))
    note_ids = []
    for note in older_first:
        body = text(note, "body").replace("&", "&amp;").replace("<", "&lt;")
        made = hero.created(f"/contacts/{contact_id}/notes.xml", f"<note><body>{body}</body></note>", "note")
        assert (text(made, "body"), integer(made, "contact-id")) == (text(note, "body"), contact_id)
        note_ids.append(integer(made, "id"))

    shown = hero.expect(200, "GET", f"/contacts/{contact_id}.xml")
    assert shown.tag == "contact"
    tags = [child.tag for child in shown]
    assert len(tags) == len(set(tags)), tags
    assert set(tags) - {child.tag for child in example} == EXTRA_CONTACT_ELEMENTS
    ours = [child for child in shown if child.tag not in EXTRA_CONTACT_ELEMENTS]
    assert [child.tag for child in ours] == [child.tag for child in example]

    for expected, actual in zip(example, ours, strict=True):
        if expected.tag != "notes":
            assert_same_element(expected, actual, f"contact/{expected.tag}")
    assert integer(shown, "id") == contact_id
    assert integer(shown, "user-id") == 1  # the document's user 1: the key's user

    shown_notes = shown.find("notes")
    assert shown_notes is not None
    assert shown_notes.get("type") == "array"
    assert len(shown_notes) == len(notes)
    for position, (expected, actual) in enumerate(zip(notes, shown_notes, strict=True)):
        where = f"contact/notes/note[{position}]"
        assert actual.tag == expected.tag == "note", where
        assert [c.tag for c in actual] == [c.tag for c in expected], where
        for expected_child, actual_child in zip(expected, actual, strict=True):
            assert_same_element(expected_child, actual_child, f"{where}/{expected_child.tag}")
        assert integer(actual, "contact-id") == contact_id
    assert ids_of(list(shown_notes)) == note_ids[::-1]  # newest first


# --- contacts ---------------------------------------------------------------------------------


def test_contacts_create_list_and_show(hero: ContactHero) -> None:
    """POST /contacts.xml is 201 with the contact; GET /contacts.xml lists it in
    ``<contacts type="array">``; GET /contacts/{id}.xml shows what was sent."""
    body = (
        "<contact><first-name>Ulysses</first-name><last-name>Grant</last-name>"
        "<company>US Army</company><birthday type='date'>1822-04-27</birthday>"
        "<is-private type='boolean'>false</is-private></contact>"
    )
    created = hero.created("/contacts.xml", body, "contact")
    contact_id = integer(created, "id")

    contacts = listed(hero.expect(200, "GET", "/contacts.xml?limit=100"), "contacts", "contact")
    assert contact_id in ids_of(contacts)
    in_list = next(c for c in contacts if integer(c, "id") == contact_id)

    shown = hero.expect(200, "GET", f"/contacts/{contact_id}.xml")
    assert shown.tag == "contact"
    for element in (created, shown, in_list):
        values = leaves(element)
        assert (values["first-name"], values["last-name"], values["company"]) == ("Ulysses", "Grant", "US Army")
        assert values["birthday"] == "1822-04-27"
        assert child(element, "birthday").get("type") == "date"
        assert (values["is-private"], values["job-title"]) == ("false", None)


def test_contact_update_by_put_is_seen_by_the_next_get_and_in_history(hero: ContactHero) -> None:
    """PUT /contacts/{id}.xml is 200 with the contact; a GET shows the change; the history lists it
    first, with the old and new value."""
    contact_id = hero.contact("Julia", **{"last-name": "Dent"})
    updated = hero.expect(200, "PUT", f"/contacts/{contact_id}.xml", "<contact><last-name>Grant</last-name></contact>")
    assert updated.tag == "contact"
    assert (integer(updated, "id"), text(updated, "last-name"), text(updated, "first-name")) == (
        contact_id,
        "Grant",
        "Julia",
    )
    shown = hero.expect(200, "GET", f"/contacts/{contact_id}.xml")
    assert (text(shown, "first-name"), text(shown, "last-name")) == ("Julia", "Grant")

    history = hero.expect(200, "GET", f"/contacts/{contact_id}/history.xml")
    assert (history.tag, history.get("type")) == ("history", "array")
    newest, *older = list(history)
    assert (text(newest, "action"), integer(newest, "contact-id")) == ("updated", contact_id)
    changes = [leaves(change) for change in child(newest, "changes")]
    assert {"field": "last_name", "old-value": "Dent", "new-value": "Grant"} in changes
    assert [text(entry, "action") for entry in older][-1] == "created"


def test_contact_search_by_term(hero: ContactHero) -> None:
    """GET /contacts/search.xml?term=... answers ``<contacts type="array">`` with the matches only."""
    wanted = hero.contact("Ebenezer", **{"last-name": "Quillfeather"})
    other = hero.contact("Ebenezer", **{"last-name": "Scrooge"})
    root = hero.expect(200, "GET", "/contacts/search.xml?term=quillfeather")
    found = listed(root, "contacts", "contact")
    assert ids_of(found) == [wanted]
    assert root.get("total_count") == "1"
    assert text(found[0], "last-name") == "Quillfeather"
    both = ids_of(listed(hero.expect(200, "GET", "/contacts/search.xml?term=ebenezer"), "contacts", "contact"))
    assert sorted(both) == sorted([wanted, other])


def test_contact_delete_then_it_and_its_notes_are_404(hero: ContactHero) -> None:
    """DELETE /contacts/{id}.xml is 204; the contact, its notes and its history then answer 404, and
    it is no longer listed."""
    contact_id = hero.contact("Andrew", **{"last-name": "Johnson"})
    note = hero.created(f"/contacts/{contact_id}/notes.xml", "<note><body>Impeached</body></note>", "note")
    hero.deleted(f"/contacts/{contact_id}.xml")
    hero.gone(f"/contacts/{contact_id}.xml", "Contact not found")
    hero.gone(f"/contacts/{contact_id}/notes/{integer(note, 'id')}.xml", "Contact not found")
    hero.gone(f"/contacts/{contact_id}/history.xml", "Contact not found")
    assert contact_id not in ids_of(listed(hero.expect(200, "GET", "/contacts.xml?limit=100"), "contacts", "contact"))
    assert hero.send("DELETE", f"/contacts/{contact_id}.xml").status == 404


# --- notes ------------------------------------------------------------------------------------


def test_notes_create_list_show_update_delete(hero: ContactHero) -> None:
    """Each notes method of the document: create 201, list newest first, show, update 200 (seen by a
    GET), delete 204 then 404."""
    contact_id = hero.contact("Edwin", **{"last-name": "Stanton"})
    path = f"/contacts/{contact_id}/notes"
    first = integer(hero.created(f"{path}.xml", "<note><body>Met at the War Office</body></note>", "note"), "id")
    second = integer(hero.created(f"{path}.xml", "<note><body>Sent the telegram</body></note>", "note"), "id")

    notes = listed(hero.expect(200, "GET", f"{path}.xml"), "notes", "note")
    assert ids_of(notes) == [second, first]
    assert [text(n, "body") for n in notes] == ["Sent the telegram", "Met at the War Office"]

    shown = hero.expect(200, "GET", f"{path}/{first}.xml")
    assert shown.tag == "note"
    assert [c.tag for c in shown] == ["body", "contact-id", "created-at", "id", "updated-at", "user-id"]
    assert (text(shown, "body"), integer(shown, "contact-id"), integer(shown, "user-id")) == (
        "Met at the War Office",
        contact_id,
        1,
    )

    updated = hero.expect(200, "PUT", f"{path}/{first}.xml", "<note><body>Met at the White House</body></note>")
    assert (updated.tag, text(updated, "body")) == ("note", "Met at the White House")
    assert text(hero.expect(200, "GET", f"{path}/{first}.xml"), "body") == "Met at the White House"

    hero.deleted(f"{path}/{first}.xml")
    hero.gone(f"{path}/{first}.xml", "Note not found")
    assert ids_of(listed(hero.expect(200, "GET", f"{path}.xml"), "notes", "note")) == [second]


# --- calls ------------------------------------------------------------------------------------


def test_calls_create_list_show_complete_update_delete(hero: ContactHero) -> None:
    """Each calls method of the document: create 201, list, show, complete, update 200 (each seen by a
    GET), delete 204 then 404."""
    contact_id = hero.contact("William", **{"last-name": "Seward"})
    body = (
        f"<call><contact-id type='integer'>{contact_id}</contact-id><subject>Alaska</subject>"
        "<due-at type='datetime'>2031-03-30T09:00:00-05:00</due-at></call>"
    )
    created = hero.created("/calls.xml", body, "call")
    call_id = integer(created, "id")
    assert (text(created, "subject"), integer(created, "contact-id")) == ("Alaska", contact_id)
    assert text(created, "due-at") == "2031-03-30T14:00:00+00:00"
    assert child(created, "completed-at").get("nil") == "true"

    assert call_id in ids_of(listed(hero.expect(200, "GET", "/calls.xml?limit=100"), "calls", "call"))
    shown = hero.expect(200, "GET", f"/calls/{call_id}.xml")
    assert (shown.tag, text(shown, "subject")) == ("call", "Alaska")

    done = hero.expect(200, "POST", f"/calls/{call_id}/complete.xml", "<call><outcome>Purchased</outcome></call>")
    assert (done.tag, text(done, "outcome")) == ("call", "Purchased")
    assert DATETIME.match(text(done, "completed-at"))
    shown = hero.expect(200, "GET", f"/calls/{call_id}.xml")
    assert (text(shown, "outcome"), text(shown, "completed-at")) == ("Purchased", text(done, "completed-at"))

    updated = hero.expect(200, "PUT", f"/calls/{call_id}.xml", "<call><subject>Seward's folly</subject></call>")
    assert (updated.tag, text(updated, "subject")) == ("call", "Seward's folly")
    shown = hero.expect(200, "GET", f"/calls/{call_id}.xml")
    assert (text(shown, "subject"), text(shown, "outcome")) == ("Seward's folly", "Purchased")

    hero.deleted(f"/calls/{call_id}.xml")
    hero.gone(f"/calls/{call_id}.xml", "Call not found")
    assert call_id not in ids_of(listed(hero.expect(200, "GET", "/calls.xml?limit=100"), "calls", "call"))


# --- messages ---------------------------------------------------------------------------------


def test_messages_create_list_show_update_delete(hero: ContactHero) -> None:
    """Each messages method of the document: create 201, list, show, update 200 (seen by a GET),
    delete 204 then 404."""
    contact_id = hero.contact("Salmon", **{"last-name": "Chase"})
    body = (
        f"<message><contact-id type='integer'>{contact_id}</contact-id><subject>Greenbacks</subject>"
        "<body>The notes are printed.</body><to>chase@example.com</to></message>"
    )
    created = hero.created("/messages.xml", body, "message")
    message_id = integer(created, "id")
    assert (text(created, "subject"), text(created, "body"), text(created, "to")) == (
        "Greenbacks",
        "The notes are printed.",
        "chase@example.com",
    )

    assert message_id in ids_of(listed(hero.expect(200, "GET", "/messages.xml?limit=100"), "messages", "message"))
    shown = hero.expect(200, "GET", f"/messages/{message_id}.xml")
    assert (shown.tag, integer(shown, "contact-id"), text(shown, "body")) == (
        "message",
        contact_id,
        "The notes are printed.",
    )

    updated = hero.expect(200, "PUT", f"/messages/{message_id}.xml", "<message><body>Issued.</body></message>")
    assert (updated.tag, text(updated, "body")) == ("message", "Issued.")
    shown = hero.expect(200, "GET", f"/messages/{message_id}.xml")
    assert (text(shown, "body"), text(shown, "subject")) == ("Issued.", "Greenbacks")

    hero.deleted(f"/messages/{message_id}.xml")
    hero.gone(f"/messages/{message_id}.xml", "Message not found")
    assert message_id not in ids_of(listed(hero.expect(200, "GET", "/messages.xml?limit=100"), "messages", "message"))


# --- photos -----------------------------------------------------------------------------------


def test_photos_create_upload_list_show_update_delete(hero: ContactHero) -> None:
    """Each photos method of the document: create 201 (a record and where to upload the image), the
    upload, list, show (the image downloadable), update 200 (seen by a GET), delete 204 then 404."""
    contact_id = hero.contact("Mathew", **{"last-name": "Brady"})
    body = (
        f"<photo><contact-id type='integer'>{contact_id}</contact-id><content-type>image/png</content-type>"
        "<caption>Portrait</caption></photo>"
    )
    created = hero.created("/photos.xml", body, "photo")
    photo_id = integer(created, "id")
    assert (text(created, "caption"), text(created, "status"), text(created, "upload-method")) == (
        "Portrait",
        "waiting_for_upload",
        "PUT",
    )
    upload_headers: dict[str, Any] = {c.tag: c.text or "" for c in child(created, "upload-headers")}
    status, _, _ = request("PUT", text(created, "upload-url"), None, PNG, upload_headers)
    assert status == 200

    ready = wait_for_photo(hero, photo_id)
    assert (ready.tag, text(ready, "status"), integer(ready, "size")) == ("photo", "ready", len(PNG))
    assert request("GET", text(ready, "url"))[2] == PNG

    assert photo_id in ids_of(listed(hero.expect(200, "GET", "/photos.xml?limit=100"), "photos", "photo"))

    updated = hero.expect(200, "PUT", f"/photos/{photo_id}.xml", "<photo><caption>Official portrait</caption></photo>")
    assert (updated.tag, text(updated, "caption")) == ("photo", "Official portrait")
    shown = hero.expect(200, "GET", f"/photos/{photo_id}.xml")
    assert (text(shown, "caption"), text(shown, "status"), integer(shown, "contact-id")) == (
        "Official portrait",
        "ready",
        contact_id,
    )

    hero.deleted(f"/photos/{photo_id}.xml")
    hero.gone(f"/photos/{photo_id}.xml", "Photo not found")
    assert photo_id not in ids_of(listed(hero.expect(200, "GET", "/photos.xml?limit=100"), "photos", "photo"))


# --- validation errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<contact><last-name>Nobody</last-name></contact>", "First name cannot be blank"),
        ("<contact><first-name>Ann</first-name><shoe-size>9</shoe-size></contact>", "Unknown fields: shoe_size"),
        (
            "<contact><first-name>Ann</first-name><birthday type='date'>soon</birthday></contact>",
            "Birthday is not a valid date (YYYY-MM-DD)",
        ),
    ],
    ids=["blank-first-name", "unknown-element", "bad-date"],
)
def test_an_invalid_contact_is_422_with_xml_errors_and_creates_nothing(
    hero: ContactHero, body: str, message: str
) -> None:
    """An invalid contact answers 422 ``<errors><error>...</error></errors>`` and stores nothing."""
    before = hero.expect(200, "GET", "/contacts.xml").get("total_count")
    root = hero.expect(422, "POST", "/contacts.xml", body)
    assert errors_of(root) == [message]
    assert hero.expect(200, "GET", "/contacts.xml").get("total_count") == before


def test_invalid_updates_and_records_are_422_with_xml_errors(hero: ContactHero) -> None:
    """An update blanking the first name, and notes, calls, messages and photos without what they
    need, answer 422 in XML; the contact keeps its name."""
    contact_id = hero.contact("Gideon", **{"last-name": "Welles"})
    cases = [
        (
            "PUT",
            f"/contacts/{contact_id}.xml",
            "<contact><first-name></first-name></contact>",
            "First name cannot be blank",
        ),
        ("POST", f"/contacts/{contact_id}/notes.xml", "<note><body></body></note>", "Body cannot be blank"),
        ("POST", "/calls.xml", "<call><subject>No one</subject></call>", "Contact id cannot be blank"),
        (
            "POST",
            "/messages.xml",
            f"<message><contact-id type='integer'>{contact_id}</contact-id></message>",
            "Body cannot be blank",
        ),
        (
            "POST",
            "/photos.xml",
            f"<photo><contact-id type='integer'>{contact_id}</contact-id>"
            "<content-type>text/plain</content-type></photo>",
            "Content type must be one of image/jpeg, image/png, image/gif, image/webp",
        ),
    ]
    for method, path, body, message in cases:
        assert errors_of(hero.expect(422, method, path, body)) == [message], (method, path)
    assert text(hero.expect(200, "GET", f"/contacts/{contact_id}.xml"), "first-name") == "Gideon"
