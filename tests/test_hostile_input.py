"""Input an attacker or a broken client sends: each is a clear 4xx in the request's format, in the
API's own words, and stores nothing; and what is stored can always be written as XML that parses."""

from __future__ import annotations

import base64
from urllib.parse import quote, urlencode

import pytest
from defusedxml.ElementTree import fromstring

from crm.storage.items import ContactItem, account_pk, contact_sk
from tests.conftest import Client
from tests.helpers import FORM_TYPE, csv_file, errors, fields, form_key, listing, post_form, run_import

NON_CHARACTERS = ["\ufffe", "\uffff"]


def stored_count(client: Client) -> int:
    return listing(client)["total_count"]


@pytest.mark.parametrize("bad", NON_CHARACTERS, ids=["U+FFFE", "U+FFFF"])
def test_a_non_character_is_refused_in_json_xml_and_form_bodies(api: Client, bad: str) -> None:
    message = "First name contains control characters or non-characters (U+FFFE, U+FFFF)"
    reply = api.post("/contacts", {"first_name": f"A{bad}"})
    assert (reply.status, errors(reply)) == (422, [message])
    xml_body = f"<contact><first-name>A{bad}</first-name></contact>".encode()
    # XML 1.0 cannot even carry it: the parser refuses the document.
    reply = api.request("POST", "/contacts.xml", body=xml_body, content_type="application/xml")
    assert reply.status == 400
    assert reply.xml().findtext("error").startswith("Malformed XML at line 1, column ")
    form = urlencode({"contact[first_name]": f"A{bad}"})
    reply = api.request("POST", "/contacts", body=form, content_type=FORM_TYPE)
    assert (reply.status, errors(reply)) == (422, [message])
    reply = api.post("/contacts/1/notes", {"body": f"x{bad}"})
    assert reply.status in (404, 422)
    made = api.create(last_name="Clean")
    reply = api.post(f"/contacts/{made['id']}/notes", {"body": f"x{bad}"})
    assert (reply.status, errors(reply)) == (
        422,
        ["Body contains control characters or non-characters (U+FFFE, U+FFFF)"],
    )
    reply = api.patch(f"/contacts/{made['id']}", {"tags": [f"t{bad}"]})
    assert reply.status == 422
    assert stored_count(api) == 1


def test_a_non_character_is_refused_through_the_web_form_and_the_imports(api: Client, admin: Client) -> None:
    key = form_key()
    reply = post_form(fields(key, **{"contact[last_name]": "Non\uffffcharacter"}))
    assert reply.status == 422
    done = run_import(api, csv_file(["first_name", "last_name"], ["Ok", "Row"], ["Bad", "Row\ufffe"]), format="csv")
    assert (done["status"], done["rows_imported"], done["rows_failed"]) == ("completed", 1, 1)
    assert "non-characters" in done["errors"][0]["messages"][0]


def test_xml_is_written_well_formed_whatever_is_stored(api: Client) -> None:
    """A value an older version stored (or another writer did) that XML 1.0 cannot carry."""
    made = api.create(last_name="Stored")
    item = ContactItem.get(account_pk("acme"), contact_sk(made["id"]))
    item.update(actions=[ContactItem.company.set("Bad\ufffe\x01Co")])
    for path in (f"/contacts/{made['id']}.xml", "/contacts.xml", f"/contacts/{made['id']}/history.xml"):
        reply = api.get(path)
        assert reply.status == 200, path
        fromstring(reply.raw.body, forbid_dtd=True)  # parses
    assert api.get(f"/contacts/{made['id']}.xml").xml().findtext("company") == "Bad\ufffd\ufffdCo"


@pytest.mark.parametrize(
    "credentials",
    ["é", "Zm9v\u00e9", "!!!", base64.b64encode(b"\xff\xfe:API").decode(), "dXNlcg==="],
    ids=["not ascii", "base64 then not ascii", "not base64", "not utf-8", "padding"],
)
def test_every_malformed_basic_credential_is_401(api: Client, credentials: str) -> None:
    reply = Client().get("/contacts", headers={"Authorization": f"Basic {credentials}"})
    assert (reply.status, errors(reply)) == (401, ["Invalid or missing API key"])


def test_a_form_value_that_is_not_utf8_is_400_and_stores_nothing(api: Client) -> None:
    reply = api.request("POST", "/contacts", body="contact[first_name]=%FF", content_type=FORM_TYPE)
    assert (reply.status, errors(reply)) == (400, ["Malformed form body: a value is not UTF-8 text"])
    reply = api.request("POST", "/contacts", body=b'{"first_name": "\xff"}', content_type="application/json")
    assert (reply.status, errors(reply)) == (400, ["Malformed JSON: the body is not UTF-8 text"])
    assert stored_count(api) == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[" * 10_000 + "]" * 10_000, "Body is nested more than 8 levels deep"),
        ('{"first_name": "A", "user_1": ' + "9" * 5000 + "}", "Malformed JSON: a number in the body is too long"),
        ('{"first_name": NaN}', "Malformed JSON: NaN is not JSON"),
        ('{"first_name": "A",}', "Malformed JSON at line 1, column 20"),
    ],
    ids=["10,000 deep", "5,000 digits", "NaN", "trailing comma"],
)
def test_json_the_parser_refuses_is_400_in_our_words(api: Client, body: str, message: str) -> None:
    reply = api.request("POST", "/contacts", body=body, content_type="application/json")
    assert (reply.status, errors(reply)) == (400, [message])
    assert "recursion" not in reply.text
    assert "4300" not in reply.text
    assert stored_count(api) == 0


def test_a_form_with_too_many_fields_is_400(api: Client) -> None:
    body = "&".join(f"f{n}={quote('x')}" for n in range(1001))
    reply = api.request("POST", "/contacts", body=body, content_type=FORM_TYPE)
    assert (reply.status, errors(reply)) == (400, ["A form has at most 1000 fields"])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b'<?xml version="1.0"?><!DOCTYPE c [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            b'<contacts type="array"><contact><first_name>&e;</first_name></contact></contacts>',
            "Not a valid XML document of contacts: DTDs, entities and external references are refused",
        ),
        (
            b'<contacts type="array"><contact><first_name>A</contact></contacts>',
            "Not a valid XML document of contacts at line 1, column 48",
        ),
    ],
    ids=["external entity", "not well-formed"],
)
def test_an_xml_import_that_does_not_parse_fails_in_our_words(api: Client, data: bytes, message: str) -> None:
    done = run_import(api, data, format="xml")
    assert (done["status"], done["error"]) == ("failed", message)
    assert stored_count(api) == 0


@pytest.mark.parametrize("projects", [{}, {"a": "1"}, 5.5, True])
def test_project_ids_that_are_no_list_are_422_even_beside_a_project_id(api: Client, projects: object) -> None:
    """Redmine CRM's project_id adds to project_ids; a project_ids that is no list is refused, not
    taken for none (schemathesis found {} with a blank project_id accepted)."""
    reply = api.post("/contacts", {"contact": {"first_name": "A", "project_id": "", "project_ids": projects}})
    assert (reply.status, errors(reply)) == (422, ["Project ids must be a list of text values"])
    assert api.get("/contacts").json()["total_count"] == 0
