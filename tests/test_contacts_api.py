"""The contacts API as a client sees it: status, headers, body, and what ends up stored.

Every request goes through the API Gateway emulation (authorizer, then handler, as template.yaml
wires them), and every test runs on moto and on DynamoDB Local (the ``store`` fixture).
"""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime
from typing import Any

import pytest

from crm import keys as crm_keys
from crm.storage.items import Item, account_pk, dependants_prefix
from tests.conftest import Client, Keys
from tests.helpers import (
    FORM,
    JSON_TYPE,
    MAX_BODY,
    XML_TYPE,
    XXE,
    contact,
    errors,
    history,
    listing,
    public_id,
    send,
    text_of,
    xml_errors,
)

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

# --- helpers -----------------------------------------------------------------------------


def ids(page: dict[str, Any]) -> list[int]:
    return [item["id"] for item in page["contacts"]]


def stored(client: Client) -> tuple[int, list[tuple[int, int, str]]]:
    """What the account holds, as far as a client can tell: the count and each contact's version."""
    page = listing(client, limit=100)
    return page["total_count"], [(c["id"], c["version"], c["first_name"]) for c in page["contacts"]]


def basic(user: str) -> dict[str, str]:
    """ContactHero's HTTP Basic: the key as user name and "API" as password."""
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:API".encode()).decode()}


def contacts_created(client: Client, count: int, **fields: Any) -> list[int]:
    return [client.create(first_name=f"Person {n}", **fields)["id"] for n in range(count)]


# --- create, show, update, delete ------------------------------------------------------------


def test_create_answers_201_with_location_etag_and_the_wrapped_contact(api: Client) -> None:
    reply = api.post("/contacts", {"contact": {"first_name": "Ada", "last_name": "Lovelace", "company": "Engines"}})
    assert reply.status == 201
    assert reply.headers["content-type"] == JSON_TYPE
    assert reply.headers["cache-control"] == "no-store"
    assert reply.headers["etag"] == '"1"'
    body = reply.json()
    assert list(body) == ["contact"]  # the root alone, which ActiveResource unwraps
    created = body["contact"]
    assert reply.headers["location"] == f"/contacts/{created['id']}"
    assert created["id"] == 1
    assert (created["first_name"], created["last_name"], created["company"]) == ("Ada", "Lovelace", "Engines")
    assert created["user_id"] == 1
    assert created["version"] == 1
    assert created["is_private"] is False
    assert created["anniversary"] is None
    assert created["tags"] == []
    assert created["notes"] == []
    assert created["created_at"] == created["updated_at"]
    assert datetime.fromisoformat(created["created_at"]).utcoffset() is not None
    assert contact(api, created["id"]) == created


def test_create_accepts_a_flat_body_and_ids_grow(api: Client) -> None:
    first = api.post("/contacts", {"first_name": "John", "last_name": "Doe"})
    second = api.post("/contacts", {"first_name": "Jane"})
    assert (first.status, second.status) == (201, 201)
    assert first.json()["contact"]["last_name"] == "Doe"
    assert [first.json()["contact"]["id"], second.json()["contact"]["id"]] == [1, 2]
    assert second.headers["location"] == "/contacts/2"
    # The minimal JSON API's clients read the id at the top, as a string, from a flat body's answer.
    assert (list(second.json()), second.json()["id"]) == (["contact", "id"], "2")
    wrapped = api.patch("/contacts/2", {"contact": {"last_name": "Roe"}}).json()
    flat = api.patch("/contacts/2", {"last_name": "Poe"}).json()
    assert (list(wrapped), list(flat), flat["id"]) == (["contact"], ["contact", "id"], "2")


def test_show_returns_the_contact_with_its_etag(api: Client) -> None:
    created = api.create(last_name="Lovelace", birthday="1815-12-10", tags=["math", "poetry"], is_company=False)
    reply = api.get(f"/contacts/{created['id']}")
    assert reply.status == 200
    assert reply.headers["etag"] == '"1"'
    assert reply.headers["content-type"] == JSON_TYPE
    shown = reply.json()["contact"]
    assert shown["birthday"] == "1815-12-10"
    assert shown["tags"] == ["math", "poetry"]
    assert shown["is_company"] is False
    assert shown["last_name"] == "Lovelace"


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_update_is_partial_fields_not_sent_stay(api: Client, method: str) -> None:
    created = api.create(last_name="Lovelace", company="Engines", email_address="ada@example.com")
    reply = api.request(method, f"/contacts/{created['id']}", json_body={"contact": {"company": "Analytical"}})
    assert reply.status == 200
    assert reply.headers["etag"] == '"2"'
    updated = reply.json()["contact"]
    assert updated["company"] == "Analytical"
    assert (updated["first_name"], updated["last_name"]) == ("Ada", "Lovelace")
    assert updated["email_address"] == "ada@example.com"
    assert updated["version"] == 2
    assert updated["created_at"] == created["created_at"]
    assert contact(api, created["id"]) == updated


def test_update_with_null_clears_a_field(api: Client) -> None:
    created = api.create(last_name="Lovelace", birthday="1815-12-10")
    updated = api.patch(f"/contacts/{created['id']}", {"last_name": None, "birthday": None}).json()["contact"]
    assert (updated["last_name"], updated["birthday"]) == (None, None)
    assert contact(api, created["id"])["last_name"] is None


def test_delete_answers_204_then_the_contact_is_gone_with_its_dependants(api: Client) -> None:
    keep = api.create(first_name="Keep")
    doomed = api.create(first_name="Doomed", notes="a first note")
    api.patch(f"/contacts/{doomed['id']}", {"last_name": "Soon"})
    reply = api.delete(f"/contacts/{doomed['id']}")
    assert reply.status == 204
    assert reply.text == ""
    assert api.get(f"/contacts/{doomed['id']}").status == 404
    assert api.get(f"/contacts/{doomed['id']}/history").status == 404
    assert api.delete(f"/contacts/{doomed['id']}").status == 404
    assert api.patch(f"/contacts/{doomed['id']}", {"last_name": "Back"}).status == 404
    page = listing(api)
    assert (ids(page), page["total_count"]) == ([keep["id"]], 1)
    left = list(Item.query(account_pk("acme"), Item.sk.startswith(dependants_prefix(doomed["id"]))))
    assert left == []
    # ids are never reused
    assert api.create(first_name="Next")["id"] == doomed["id"] + 1


def test_list_shows_contacts_in_id_order_with_paging_fields(api: Client) -> None:
    made = contacts_created(api, 3)
    page = listing(api)
    assert list(page) == ["contacts", "offset", "limit", "total_count", "next_cursor"]
    assert ids(page) == made
    assert (page["offset"], page["limit"], page["total_count"], page["next_cursor"]) == (0, 20, 3, None)
    assert [c["first_name"] for c in page["contacts"]] == ["Person 0", "Person 1", "Person 2"]


def test_unknown_route_and_non_numeric_id_are_404(api: Client) -> None:
    route = api.get("/nothing/here")
    assert route.status == 404
    assert errors(route) == ["Not found"]
    bad_id = api.get("/contacts/abc")
    assert bad_id.status == 404
    assert errors(bad_id) == ["Contact not found"]
    for path in ("/contacts/0", "/contacts/99", "/contacts/-1", "/contacts/99999999999"):
        assert api.get(path).status == 404, path


# --- history ----------------------------------------------------------------------------------


def test_history_lists_every_change_newest_first_with_who_when_and_values(api: Client, keys: Keys) -> None:
    created = api.create(last_name="Byron")
    path = f"/contacts/{created['id']}"
    assert api.patch(path, {"last_name": "Lovelace"}).status == 200
    assert Client(keys.colleague).put(path, {"first_name": "Augusta", "last_name": "Lovelace"}).status == 200
    latest = contact(api, created["id"])
    assert latest["version"] == 3

    page = history(api, created["id"])
    assert (page["total_count"], page["offset"], page["limit"], page["next_cursor"]) == (3, 0, 20, None)
    entries = page["history"]
    assert [e["id"] for e in entries] == [3, 2, 1]
    assert [e["action"] for e in entries] == ["updated", "updated", "created"]
    assert [e["version"] for e in entries] == [3, 2, 1]
    assert {e["contact_id"] for e in entries} == {created["id"]}
    assert [e["user_id"] for e in entries] == [2, 1, 1]
    assert [e["key_id"] for e in entries] == [public_id(k) for k in (keys.colleague, keys.writer, keys.writer)]
    assert entries[0]["changes"] == [{"field": "first_name", "old_value": "Ada", "new_value": "Augusta"}]
    assert entries[1]["changes"] == [{"field": "last_name", "old_value": "Byron", "new_value": "Lovelace"}]
    created_changes = {c["field"]: (c["old_value"], c["new_value"]) for c in entries[2]["changes"]}
    assert created_changes["first_name"] == (None, "Ada")
    assert created_changes["last_name"] == (None, "Byron")
    assert entries[0]["created_at"] == latest["updated_at"]
    assert entries[2]["created_at"] == created["created_at"]
    times = [datetime.fromisoformat(e["created_at"]) for e in entries]
    assert times == sorted(times, reverse=True)


def test_history_in_xml(api: Client) -> None:
    created = api.create(last_name="Byron")
    api.patch(f"/contacts/{created['id']}", {"last_name": "Lovelace"})
    reply = api.get(f"/contacts/{created['id']}/history.xml")
    assert reply.status == 200
    assert reply.headers["content-type"] == XML_TYPE
    root = reply.xml()
    assert root.tag == "history"
    assert (root.get("type"), root.get("offset"), root.get("limit"), root.get("total_count")) == (
        "array",
        "0",
        "20",
        "2",
    )
    entries = root.findall("entry")
    assert [text_of(e, "id") for e in entries] == ["2", "1"]
    assert entries[0].find("id").get("type") == "integer"
    change = entries[0].find("changes").findall("change")
    assert len(change) == 1
    assert [text_of(change[0], n) for n in ("field", "old-value", "new-value")] == ["last_name", "Byron", "Lovelace"]


def test_no_op_update_writes_nothing_and_keeps_the_version(api: Client) -> None:
    created = api.create(last_name="Lovelace")
    path = f"/contacts/{created['id']}"
    reply = api.put(path, {"contact": {"first_name": "Ada", "last_name": "Lovelace"}})
    assert reply.status == 200
    assert reply.headers["etag"] == '"1"'
    assert reply.json()["contact"]["version"] == 1
    assert reply.json()["contact"]["updated_at"] == created["updated_at"]
    assert history(api, created["id"])["total_count"] == 1


def test_sending_back_the_contact_as_read_is_a_no_op(api: Client) -> None:
    created = api.create(last_name="Lovelace")
    path = f"/contacts/{created['id']}"
    as_read = contact(api, created["id"])
    reply = api.put(path, {"contact": as_read})
    assert reply.status == 200
    assert reply.json()["contact"]["version"] == 1
    assert history(api, created["id"])["total_count"] == 1


# --- JSON and XML, in and out ---------------------------------------------------------------------


def test_show_in_rails_xml(api: Client) -> None:
    created = api.create(
        last_name="Lovelace",
        birthday="1815-12-10",
        is_company=False,
        preferred_email_index=2,
        email_address_2="ada@example.com",
        tags=["math", "poetry"],
        title="",
        notes="Met at a soiree",
    )
    reply = api.get(f"/contacts/{created['id']}.xml")
    assert reply.status == 200
    assert reply.headers["content-type"] == XML_TYPE
    assert reply.headers["etag"] == '"1"'
    assert reply.text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = reply.xml()
    assert root.tag == "contact"
    assert text_of(root, "first-name") == "Ada"
    assert text_of(root, "email-address-2") == "ada@example.com"
    assert root.find("first_name") is None
    assert root.find("id").attrib == {"type": "integer"}
    assert text_of(root, "id") == str(created["id"])
    assert root.find("is-company").attrib == {"type": "boolean"}
    assert text_of(root, "is-company") == "false"
    assert root.find("birthday").attrib == {"type": "date"}
    assert text_of(root, "birthday") == "1815-12-10"
    assert root.find("created-at").attrib == {"type": "datetime"}
    assert text_of(root, "created-at") == created["created_at"]
    assert root.find("preferred-email-index").attrib == {"type": "integer"}
    assert text_of(root, "preferred-email-index") == "2"
    # nulls keep their type; strings have none; an empty string is an empty element
    assert root.find("anniversary").attrib == {"type": "date", "nil": "true"}
    assert root.find("last-action-at").get("type") == "datetime"
    assert root.find("assigned-to-id").attrib == {"type": "integer", "nil": "true"}
    assert root.find("company").attrib == {"nil": "true"}
    assert root.find("title").attrib == {}
    assert not root.find("title").text
    tags = root.find("tags")
    assert tags.get("type") == "array"
    assert [t.text for t in tags.findall("tag")] == ["math", "poetry"]
    notes = root.find("notes")
    assert notes.get("type") == "array"
    assert [text_of(n, "body") for n in notes.findall("note")] == ["Met at a soiree"]


def test_list_in_xml(api: Client) -> None:
    made = contacts_created(api, 3)
    reply = api.get("/contacts.xml", query={"limit": 2})
    assert reply.status == 200
    root = reply.xml()
    assert root.tag == "contacts"
    assert (root.get("type"), root.get("offset"), root.get("limit"), root.get("total_count")) == (
        "array",
        "0",
        "2",
        "3",
    )
    assert root.get("next_cursor")
    assert [text_of(c, "id") for c in root.findall("contact")] == [str(i) for i in made[:2]]
    rest = api.get("/contacts.xml", query={"limit": 2, "cursor": root.get("next_cursor")}).xml()
    assert [text_of(c, "id") for c in rest.findall("contact")] == [str(made[2])]
    assert rest.get("next_cursor") is None


def define_fields(keys: Keys, *fields: tuple[str, str]) -> None:
    """Define custom fields 1, 2, ... of account acme as (name, format), with its admin key."""
    for name, field_format in fields:
        reply = Client(keys.admin).post(
            "/custom_fields", {"custom_field": {"name": name, "field_format": field_format}}
        )
        assert reply.status == 201, reply.text


def test_create_from_xml_with_dashed_and_underscored_names_and_types(api: Client, keys: Keys) -> None:
    define_fields(keys, ("Serial", "string"))
    body = """<?xml version="1.0" encoding="UTF-8"?>
    <contact>
      <first-name>Ada</first-name>
      <last_name>Lovelace</last_name>
      <is-company type="boolean">false</is-company>
      <is_private type="boolean">true</is_private>
      <birthday type="date">1815-12-10</birthday>
      <anniversary type="date" nil="true"></anniversary>
      <assigned-to-id type="integer">7</assigned-to-id>
      <tags type="array"><tag>math</tag><tag>poetry</tag></tags>
      <custom-fields type="array">
        <custom-field><id type="integer">1</id><value>ABC-1</value></custom-field>
      </custom-fields>
    </contact>"""
    reply = send(api, "POST", "/contacts.xml", body, "application/xml")
    assert reply.status == 201, reply.text
    assert reply.headers["content-type"] == XML_TYPE
    root = reply.xml()
    assert reply.headers["location"] == f"/contacts/{text_of(root, 'id')}.xml"
    stored_contact = contact(api, int(text_of(root, "id")))
    assert stored_contact["first_name"] == "Ada"
    assert stored_contact["last_name"] == "Lovelace"
    assert stored_contact["is_company"] is False
    assert stored_contact["is_private"] is True
    assert stored_contact["birthday"] == "1815-12-10"
    assert stored_contact["anniversary"] is None
    assert stored_contact["assigned_to_id"] == 7
    assert stored_contact["tags"] == ["math", "poetry"]
    assert stored_contact["custom_fields"] == [{"id": 1, "name": "Serial", "value": "ABC-1"}]


def test_xml_body_without_a_contact_root(api: Client) -> None:
    body = "<person><first_name>Grace</first_name><company>Navy</company><is-company>false</is-company></person>"
    reply = send(api, "POST", "/contacts", body, "text/xml")
    assert reply.status == 201, reply.text
    created = reply.json()["contact"]
    assert (created["first_name"], created["company"], created["is_company"]) == ("Grace", "Navy", False)


def test_update_from_xml(api: Client) -> None:
    created = api.create(last_name="Lovelace", company="Engines")
    body = '<contact><company>Analytical</company><is-private type="boolean">true</is-private></contact>'
    reply = send(api, "PUT", f"/contacts/{created['id']}.xml", body, "application/xml")
    assert reply.status == 200, reply.text
    root = reply.xml()
    assert text_of(root, "company") == "Analytical"
    assert text_of(root, "last-name") == "Lovelace"
    assert text_of(root, "is-private") == "true"
    assert text_of(root, "version") == "2"
    assert reply.headers["etag"] == '"2"'


def test_create_from_a_form(api: Client, keys: Keys) -> None:
    define_fields(keys, ("License", "string"), ("Seats", "integer"), ("Purchase date", "date"))
    body = (
        "contact[first_name]=Ren%C3%A9e&contact[last_name]=O%27Hara&contact[tag_list]=vip%2C+cold+call"
        "&contact[custom_fields][][id]=1&contact[custom_fields][][value]=ABC"
        "&contact[custom_fields][][id]=3&contact[custom_fields][][value]=2024-01-01"
    )
    reply = send(api, "POST", "/contacts", body, FORM)
    assert reply.status == 201, reply.text
    created = reply.json()["contact"]
    assert (created["first_name"], created["last_name"]) == ("Renée", "O'Hara")
    assert created["tags"] == ["vip", "cold call"]
    assert created["custom_fields"] == [
        {"id": 1, "name": "License", "value": "ABC"},
        {"id": 3, "name": "Purchase date", "value": "2024-01-01"},
    ]


def test_non_ascii_survives_both_formats(api: Client) -> None:
    created = api.create(first_name="Zoë", last_name="Łukasiewicz", company="東京")
    assert contact(api, created["id"])["company"] == "東京"
    root = api.get(f"/contacts/{created['id']}.xml").xml()
    assert (text_of(root, "first-name"), text_of(root, "company")) == ("Zoë", "東京")


# --- format selection -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "query", "accept", "expected"),
    [
        ("/contacts/1.xml", {}, None, "xml"),
        ("/contacts/1.json", {}, "application/xml", "json"),
        ("/contacts/1.xml", {"format": "json"}, "application/json", "xml"),
        ("/contacts/1", {"format": "xml"}, "application/json", "xml"),
        ("/contacts/1", {"format": "json"}, "application/xml", "json"),
        ("/contacts/1", {}, "application/xml", "xml"),
        ("/contacts/1", {}, "text/xml", "xml"),
        ("/contacts/1", {}, "application/json;q=0.5, application/xml", "xml"),
        ("/contacts/1", {}, "application/xml;q=0.2, application/json;q=0.8", "json"),
        ("/contacts/1", {}, "application/json;q=0, text/xml", "xml"),
        ("/contacts/1", {}, BROWSER_ACCEPT, "json"),
        ("/contacts/1", {}, "*/*", "json"),
        ("/contacts/1", {}, None, "json"),
        ("/contacts.xml", {}, None, "xml"),
        ("/contacts.json", {}, "application/xml", "json"),
        ("/contacts", {"format": "xml"}, None, "xml"),
        ("/contacts/1/history.xml", {}, None, "xml"),
        ("/contacts/1/history.json", {}, "application/xml", "json"),
        ("/contacts/1/history", {}, "application/xml", "xml"),
    ],
)
def test_response_format_is_chosen_by_suffix_then_format_then_accept(
    api: Client, path: str, query: dict[str, str], accept: str | None, expected: str
) -> None:
    api.create()
    reply = api.get(path, query=query, headers={"Accept": accept} if accept else None)
    assert reply.status == 200, reply.text
    assert reply.headers["content-type"] == (XML_TYPE if expected == "xml" else JSON_TYPE)
    assert reply.headers["cache-control"] == "no-store"
    if expected == "xml":
        assert reply.xml().tag in ("contact", "contacts", "history")
    else:
        assert set(reply.json()) & {"contact", "contacts", "history"}


@pytest.mark.parametrize(
    ("query", "accept"),
    [
        ({}, "text/html"),
        ({}, "application/json;q=0, application/xml;q=0"),
        ({}, "image/png"),
        ({"format": "csv"}, None),
    ],
)
def test_a_format_neither_json_nor_xml_is_406(api: Client, query: dict[str, str], accept: str | None) -> None:
    api.create()
    for path in ("/contacts", "/contacts/1"):
        reply = api.get(path, query=query, headers={"Accept": accept} if accept else None)
        assert reply.status == 406, reply.text
        assert reply.headers["content-type"] == JSON_TYPE
        assert reply.headers["cache-control"] == "no-store"
        assert errors(reply)


def test_406_is_answered_before_anything_is_written(api: Client) -> None:
    reply = api.post("/contacts", {"first_name": "Ada"}, headers={"Accept": "text/html"})
    assert reply.status == 406
    assert stored(api) == (0, [])


def test_every_handler_response_has_charset_and_no_store(api: Client) -> None:
    created = api.create()
    path = f"/contacts/{created['id']}"
    replies = [
        api.get(path),
        api.get(f"{path}.xml"),
        api.get("/contacts"),
        api.get(f"{path}/history"),
        api.patch(path, {"last_name": "L"}),
        api.patch(path, {"first_name": ""}),
        api.get("/contacts/999.xml"),
        api.post("/contacts.xml", {"nope": 1}),
    ]
    for reply in replies:
        assert reply.headers["content-type"] in (JSON_TYPE, XML_TYPE), reply.headers
        assert reply.headers["cache-control"] == "no-store", reply.headers
    assert api.delete(path).headers["cache-control"] == "no-store"


def test_gateway_responses_have_charset_too(api: Client) -> None:
    for reply in (Client().get("/contacts"), api.get("/nothing/here")):
        assert "charset=utf-8" in reply.headers["content-type"], reply.headers


# --- aliases of the other documents -------------------------------------------------------------


def test_aliases_of_the_redmine_and_minimal_documents(api: Client) -> None:
    reply = api.post(
        "/contacts",
        {
            "contact": {
                "first_name": "John",
                "email": "john@example.com, j.doe@example.com,jd@example.org",
                "phone": "+1 555 0100, +1 555 0101, +1 555 0102",
                "website": "https://example.com",
                "tag_list": "vip,cold call, vip",
                "project_id": "support",
                "project_ids": ["1"],
                "visibility": "2",
                "address_attributes": {
                    "street1": "12, Street",
                    "street2": "Floor 3",
                    "city": "Moscow",
                    "region": "MOW",
                    "postcode": "101000",
                    "country_code": "RU",
                },
            }
        },
    )
    assert reply.status == 201, reply.text
    created = reply.json()["contact"]
    assert [created[f] for f in ("email_address", "email_address_2", "email_address_3")] == [
        "john@example.com",
        "j.doe@example.com",
        "jd@example.org",
    ]
    assert [created[f] for f in ("business_phone", "mobile_phone", "home_phone")] == [
        "+1 555 0100",
        "+1 555 0101",
        "+1 555 0102",
    ]
    assert created["url"] == "https://example.com"
    assert created["tags"] == ["vip", "cold call"]
    assert created["project_ids"] == ["1", "support"]
    assert created["is_private"] is True
    assert [created[f"business_{part}"] for part in ("street", "street_2", "city", "state", "postal_code")] == [
        "12, Street",
        "Floor 3",
        "Moscow",
        "MOW",
        "101000",
    ]
    assert created["business_country"] == "RU"
    assert contact(api, created["id"]) == created


@pytest.mark.parametrize(("visibility", "private"), [("0", False), ("1", False), ("2", True), (2, True)])
def test_visibility_sets_is_private(api: Client, visibility: Any, private: bool) -> None:
    assert api.create(visibility=visibility)["is_private"] is private


ALIAS_SAMPLES = {
    "email": ["a@example.com", " a@example.com , b@example.com,c@example.com", "", ",,", "a@b,,c@d", "ab", "a@b@c",
              "a b@example.com", "a@example.com,b@example.com,c@example.com,d@example.com", "\x1ca@example.com\t"],
    "phone": ["+1 (202) 456-1414", " 1 , 2 ,3 ", "", "1,2,3,4", "x" * 255, "x" * 256, f" {'x' * 255}\n", "1\n2",
              "1\x01", "1,\x7f"],
    "tags": ["vip, cold call", " , ,", "t" * 64, f"\x1c{'t' * 64} ,a", "t" * 65, "a\nb", "a\x01", "a,\uffff"],
    "tag_list": ["vip, cold call", "t" * 64 + ",", "t" * 65, "a\x01"],
}  # fmt: skip


@pytest.mark.parametrize("alias", sorted(ALIAS_SAMPLES))
def test_the_documents_pattern_for_a_comma_separated_text_takes_what_the_api_takes(api: Client, alias: str) -> None:
    """Comma-separated text (Redmine CRM's ``email``, ``phone`` and ``tag_list``, and ``tags``): a
    value the document's pattern takes is stored (201), one it refuses is a 422, sample by sample."""
    body = Client().get("/openapi.json").json()["paths"]["/contacts/{contact_id}"]["patch"]["requestBody"]
    schema = body["content"]["application/x-www-form-urlencoded"]["schema"]["properties"][alias]
    pattern = re.compile(schema["pattern"])
    for sample in ALIAS_SAMPLES[alias]:
        status = api.post("/contacts", {"contact": {"first_name": "Ada", alias: sample}}).status
        assert (sample, status) == (sample, 201 if pattern.fullmatch(sample) else 422)


def test_our_name_wins_over_its_alias(api: Client) -> None:
    created = api.create(email="alias@example.com", email_address="ours@example.com", website="a.com", url="b.com")
    assert (created["email_address"], created["url"]) == ("ours@example.com", "b.com")


def test_notes_text_on_create_becomes_the_first_note(api: Client) -> None:
    reply = api.post(
        "/contacts",
        {
            "first_name": "John",
            "last_name": "Doe",
            "email": "johndoe@example.com",
            "phone": 1234567890,
            "company": "Example Inc.",
            "job_title": "Sales Manager",
            "notes": "Interested in product demo",
        },
    )
    assert reply.status == 201, reply.text
    created = reply.json()["contact"]
    assert created["business_phone"] == "1234567890"
    assert [n["body"] for n in created["notes"]] == ["Interested in product demo"]
    note = created["notes"][0]
    assert (note["contact_id"], note["user_id"]) == (created["id"], 1)
    assert created["last_action_at"] == note["created_at"]
    assert [n["body"] for n in contact(api, created["id"])["notes"]] == ["Interested in product demo"]


@pytest.mark.parametrize(("id_name", "fields_name"), [("contact_id", "update_fields"), ("contactID", "updateFields")])
def test_minimal_api_edit_through_post(api: Client, id_name: str, fields_name: str) -> None:
    created = api.create(last_name="Doe")
    reply = api.post(
        "/contacts", {id_name: str(created["id"]), fields_name: {"email": "example@example.com", "phone": 1234567890}}
    )
    assert reply.status == 200, reply.text
    assert "location" not in reply.headers
    assert reply.headers["etag"] == '"2"'
    edited = reply.json()["contact"]
    assert edited["id"] == created["id"]
    assert (edited["email_address"], edited["business_phone"], edited["last_name"]) == (
        "example@example.com",
        "1234567890",
        "Doe",
    )
    assert stored(api)[0] == 1


def test_minimal_api_edit_of_a_missing_contact_is_404(api: Client, keys: Keys) -> None:
    theirs = Client(keys.stranger).create(first_name="Theirs")
    assert api.post("/contacts", {"contact_id": 42, "update_fields": {"last_name": "X"}}).status == 404
    reply = api.post("/contacts", {"contact_id": theirs["id"], "update_fields": {"last_name": "X"}})
    assert reply.status == 404
    assert contact(Client(keys.stranger), theirs["id"])["last_name"] is None
    assert stored(api) == (0, [])


def test_minimal_api_edit_refuses_fields_it_would_ignore(api: Client) -> None:
    created = api.create()
    reply = api.post("/contacts", {"contact_id": created["id"], "update_fields": {"last_name": "X"}, "first_name": "Z"})
    assert reply.status == 422
    assert "first_name" in " ".join(errors(reply))
    assert contact(api, created["id"])["version"] == 1


# --- refused requests: status, error body, nothing stored -----------------------------------------

BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(f' <!ENTITY lol{n} "{f"&lol{n - 1};" * 10 if n > 1 else "&lol;" * 10}">\n' for n in range(1, 10))
    + "]>\n<contact><first-name>&lol9;</first-name></contact>"
)
XXE_PARAMETER = (
    '<?xml version="1.0"?>\n<!DOCTYPE contact [<!ENTITY % ext SYSTEM "file:///etc/passwd"> %ext;]>\n'
    "<contact><first-name>Ada</first-name></contact>"
)
EXTERNAL_DTD = '<!DOCTYPE contact SYSTEM "file:///etc/passwd"><contact><first-name>Ada</first-name></contact>'
PLAIN_DTD = "<!DOCTYPE contact><contact><first-name>Ada</first-name></contact>"
TOO_BIG = json.dumps({"contact": {"first_name": "Ada", "background": "x" * MAX_BODY}})

# (name, path, body, content type, status, message fragment); ".xml" paths answer in XML.
REFUSED_CREATES = [
    ("malformed json", "/contacts", '{"contact": {"first_name": "Ada"', "application/json", 400, "Malformed JSON"),
    ("json array", "/contacts", '[{"first_name": "Ada"}]', "application/json", 400, "must be an object"),
    ("malformed xml", "/contacts.xml", "<contact><first-name>Ada</contact>", "application/xml", 400, "Malformed XML"),
    ("billion laughs", "/contacts.xml", BILLION_LAUGHS, "application/xml", 400, "DTD"),
    ("xxe", "/contacts.xml", XXE, "application/xml", 400, "DTD"),
    ("xxe parameter entity", "/contacts.xml", XXE_PARAMETER, "application/xml", 400, "DTD"),
    ("external dtd", "/contacts.xml", EXTERNAL_DTD, "application/xml", 400, "DTD"),
    ("plain dtd", "/contacts.xml", PLAIN_DTD, "text/xml", 400, "DTD"),
    ("xxe in json route", "/contacts", XXE, "application/xml", 400, "DTD"),
    ("unknown fields", "/contacts", '{"first_name": "A", "shoe_size": 9, "colour": 1}', "application/json", 422, ""),
    ("read-only id", "/contacts", '{"first_name": "Ada", "id": 5}', "application/json", 422, "Id is read-only"),
    ("read-only user", "/contacts", '{"first_name": "Ada", "user_id": 2}', "application/json", 422, "User id is"),
    ("blank first name", "/contacts", '{"first_name": "  "}', "application/json", 422, "First name cannot be blank"),
    ("no first name", "/contacts", '{"last_name": "Doe"}', "application/json", 422, "First name cannot be blank"),
    ("blank in xml", "/contacts.xml", "<contact><first-name/></contact>", "application/xml", 422, "First name cannot"),
    ("bad email", "/contacts", '{"first_name": "A", "email": "nope"}', "application/json", 422, "valid email"),
    ("bad date", "/contacts", '{"first_name": "A", "birthday": "12/10/1815"}', "application/json", 422, "valid date"),
    (
        "bad boolean",
        "/contacts.xml",
        "<contact><first-name>A</first-name><is-private>maybe</is-private></contact>",
        "application/xml",
        422,
        "Is private must be true or false",
    ),
    ("too large", "/contacts", TOO_BIG, "application/json", 413, "larger than"),
    (
        "too large xml",
        "/contacts.xml",
        f"<contact><background>{'x' * MAX_BODY}</background></contact>",
        "application/xml",
        413,
        "larger than",
    ),
    ("text/plain", "/contacts", "first_name=Ada", "text/plain", 415, "Send application/json"),
    ("multipart", "/contacts.xml", "--x\r\n\r\nAda\r\n--x--", "multipart/form-data; boundary=x", 415, "Send"),
    ("latin-1 json", "/contacts", '{"first_name": "Ren\xe9e"}'.encode("latin-1"), "application/json", 400, "Malformed"),
    ("latin-1 form", "/contacts", "contact[first_name]=Ren\xe9e".encode("latin-1"), FORM, 400, "Malformed form"),
    (
        "nested too deep",
        "/contacts",
        json.dumps({"contact": {"tags": [[[[[[[["x"]]]]]]]]}}),
        "application/json",
        400,
        "nested more than",
    ),
    ("control character", "/contacts", '{"first_name": "A\\u0007"}', "application/json", 422, "control characters"),
    ("string too long", "/contacts", json.dumps({"first_name": "A" * 256}), "application/json", 422, "too long"),
]


@pytest.mark.parametrize(
    ("path", "body", "content_type", "status", "fragment"),
    [case[1:] for case in REFUSED_CREATES],
    ids=[case[0] for case in REFUSED_CREATES],
)
def test_refused_create_answers_in_the_request_format_and_stores_nothing(
    api: Client, path: str, body: str | bytes, content_type: str, status: int, fragment: str
) -> None:
    existing = api.create(first_name="Existing")
    before = stored(api)
    reply = send(api, "POST", path, body, content_type)
    assert reply.status == status, reply.text
    assert reply.headers["cache-control"] == "no-store"
    messages = xml_errors(reply) if path.endswith(".xml") else errors(reply)
    assert len(messages) >= 1
    assert fragment in " ".join(messages)
    assert "root:" not in reply.text  # no file content leaks out
    assert stored(api) == before
    assert contact(api, existing["id"])["version"] == 1


def test_xml_in_a_declared_encoding(api: Client) -> None:
    body = '<?xml version="1.0" encoding="ISO-8859-1"?><contact><first-name>Ren\xe9e</first-name></contact>'
    reply = send(api, "POST", "/contacts.xml", body.encode("latin-1"), "application/xml")
    assert reply.status == 201, reply.text
    assert text_of(reply.xml(), "first-name") == "Renée"


def test_unknown_fields_are_named(api: Client) -> None:
    reply = api.post("/contacts", {"first_name": "Ada", "shoe_size": 9, "favourite_colour": "red"})
    assert reply.status == 422
    assert errors(reply) == ["Unknown fields: favourite_colour, shoe_size"]
    xml = send(api, "POST", "/contacts.xml", "<contact><first-name>A</first-name><hat>x</hat></contact>", "text/xml")
    assert xml.status == 422
    assert xml_errors(xml) == ["Unknown fields: hat"]
    assert stored(api) == (0, [])


def test_every_invalid_field_is_reported_at_once(api: Client) -> None:
    reply = api.post("/contacts", {"first_name": "", "email_address": "x", "birthday": "soon", "is_company": "maybe"})
    assert reply.status == 422
    assert sorted(errors(reply)) == sorted(
        [
            "Email address is not a valid email address",
            "Birthday is not a valid date (YYYY-MM-DD)",
            "Is company must be true or false",
            "First name cannot be blank",
        ]
    )


def test_xml_errors_have_the_rails_shape(api: Client) -> None:
    reply = send(api, "POST", "/contacts.xml", "<contact><last-name>Doe</last-name></contact>", "application/xml")
    assert reply.status == 422
    assert reply.headers["content-type"] == XML_TYPE
    assert reply.xml().attrib == {}
    assert xml_errors(reply) == ["First name cannot be blank"]


def test_xxe_never_reads_the_file(api: Client) -> None:
    for path in ("/contacts.xml", "/contacts"):
        reply = send(api, "POST", path, XXE, "application/xml")
        assert reply.status == 400
        assert "root:" not in reply.text
        assert "/bin/" not in reply.text
    created = api.create()
    reply = send(api, "PUT", f"/contacts/{created['id']}.xml", XXE, "application/xml")
    assert reply.status == 400
    assert "root:" not in reply.text
    assert contact(api, created["id"])["first_name"] == "Ada"


# (name, body, content type, status, message fragment), each sent as a PATCH of contact 1 as created.
REFUSED_UPDATES = [
    ("read-only id", {"id": 99}, None, 422, "Id is read-only"),
    ("read-only user_id", {"user_id": 2}, None, 422, "User id is read-only"),
    ("read-only created_at", {"created_at": "2001-01-01T00:00:00+00:00"}, None, 422, "Created at is read-only"),
    ("read-only updated_at", {"updated_at": "2001-01-01T00:00:00+00:00"}, None, 422, "Updated at is read-only"),
    ("unknown field", {"last_name": "X", "nickname": "Y"}, None, 422, "Unknown fields: nickname"),
    ("blank first name", {"first_name": ""}, None, 422, "First name cannot be blank"),
    ("null first name", {"first_name": None}, None, 422, "First name cannot be blank"),
    ("notes as text", {"notes": "hello"}, None, 422, "Notes are added with POST"),
    ("malformed json", '{"last_name": ', "application/json", 400, "Malformed JSON"),
    ("malformed xml", "<contact><last-name>X</contact>", "application/xml", 400, "Malformed XML"),
    ("xxe", XXE, "application/xml", 400, "DTD"),
    ("too large", TOO_BIG, "application/json", 413, "larger than"),
    ("wrong type", "last_name=X", "text/plain", 415, "Send application/json"),
]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "fragment"),
    [case[1:] for case in REFUSED_UPDATES],
    ids=[case[0] for case in REFUSED_UPDATES],
)
def test_refused_update_changes_nothing(
    api: Client, body: Any, content_type: str | None, status: int, fragment: str
) -> None:
    created = api.create(last_name="Lovelace")
    path = f"/contacts/{created['id']}"
    reply = api.patch(path, body) if content_type is None else send(api, "PATCH", path, body, content_type)
    assert reply.status == status, reply.text
    assert fragment in " ".join(errors(reply))
    assert contact(api, created["id"]) == created
    assert history(api, created["id"])["total_count"] == 1


def test_read_only_fields_sent_back_unchanged_are_accepted(api: Client) -> None:
    created = api.create(last_name="Lovelace")
    same = {name: created[name] for name in ("id", "user_id", "created_at", "updated_at")}
    reply = api.put(f"/contacts/{created['id']}", {"contact": {**same, "company": "Engines"}})
    assert reply.status == 200, reply.text
    assert reply.json()["contact"]["company"] == "Engines"
    assert reply.json()["contact"]["id"] == created["id"]


def test_version_on_create_is_read_only(api: Client) -> None:
    reply = api.post("/contacts", {"first_name": "Ada", "version": 7})
    assert reply.status == 422
    assert errors(reply) == ["Version is read-only"]
    assert stored(api) == (0, [])


@pytest.mark.parametrize("text", ['{"first_name": NaN}', '{"first_name": "A", "last_name": Infinity}'])
def test_non_json_numbers_are_malformed_json(api: Client, text: str) -> None:
    reply = send(api, "POST", "/contacts", text, "application/json")
    assert reply.status == 400
    assert errors(reply)[0].startswith("Malformed JSON")
    assert stored(api) == (0, [])


# --- never a 500 on client input ---------------------------------------------------------------------

SUPERSCRIPT_TWO = "\u00b2"  # str.isdigit() says yes, int() says no
HUGE = "9" * 5000  # past int()'s 4300-digit limit

# (name, method, path, query, headers, JSON body, acceptable statuses); contact 1 exists.
ODD_INPUT = [
    ("superscript id", "GET", f"/contacts/{SUPERSCRIPT_TWO}", {}, {}, None, {404}),
    ("superscript id history", "GET", f"/contacts/{SUPERSCRIPT_TWO}/history", {}, {}, None, {404}),
    ("superscript id update", "PATCH", f"/contacts/{SUPERSCRIPT_TWO}", {}, {}, {"last_name": "X"}, {404}),
    ("superscript limit", "GET", "/contacts", {"limit": SUPERSCRIPT_TWO}, {}, None, {400}),
    ("superscript offset", "GET", "/contacts", {"offset": SUPERSCRIPT_TWO}, {}, None, {400}),
    ("superscript page", "GET", "/contacts", {"page": SUPERSCRIPT_TWO}, {}, None, {400}),
    ("huge limit", "GET", "/contacts", {"limit": HUGE}, {}, None, {400}),
    ("huge offset", "GET", "/contacts", {"offset": HUGE}, {}, None, {400}),
    ("huge page", "GET", "/contacts/1/history", {"page": HUGE}, {}, None, {400}),
    (
        "superscript If-Match",
        "PATCH",
        "/contacts/1",
        {},
        {"If-Match": f'"{SUPERSCRIPT_TWO}"'},
        {"last_name": "X"},
        {400},
    ),
    ("huge If-Match", "PATCH", "/contacts/1", {}, {"If-Match": f'"{HUGE}"'}, {"last_name": "X"}, {400, 409}),
    ("superscript version", "PATCH", "/contacts/1", {}, {}, {"last_name": "X", "version": SUPERSCRIPT_TWO}, {422}),
    ("huge version", "PATCH", "/contacts/1", {}, {}, {"last_name": "X", "version": HUGE}, {409, 422}),
    ("lone surrogate on create", "POST", "/contacts", {}, {}, {"first_name": "\ud800"}, {400, 422}),
    ("lone surrogate in tags", "POST", "/contacts", {}, {}, {"first_name": "A", "tags": ["\udfff"]}, {400, 422}),
    ("lone surrogate on update", "PATCH", "/contacts/1", {}, {}, {"last_name": "\ud800"}, {400, 422}),
]


@pytest.mark.parametrize(
    ("method", "path", "query", "headers", "payload", "statuses"),
    [case[1:] for case in ODD_INPUT],
    ids=[case[0] for case in ODD_INPUT],
)
def test_odd_input_is_a_client_error_not_500(
    api: Client,
    method: str,
    path: str,
    query: dict[str, str],
    headers: dict[str, str],
    payload: Any,
    statuses: set[int],
) -> None:
    existing = api.create(first_name="Existing")
    before = stored(api)
    reply = api.request(method, path, query=query, headers=headers, json_body=payload)
    assert reply.status in statuses, reply.text
    assert errors(reply)
    assert stored(api) == before
    assert contact(api, existing["id"]) == existing


def test_odd_but_harmless_input_is_handled(api: Client) -> None:
    existing = api.create(first_name="Existing")
    before = stored(api)
    for method, path, query, payload, status in (
        ("GET", "/contacts", {"limit": "9" * 400}, None, 400),
        ("GET", "/contacts/" + "9" * 400, {}, None, 404),
        ("PATCH", "/contacts/1", {}, {"last_name": "X", "assigned_to_id": 1e300}, 422),
        ("PATCH", "/contacts/1", {}, {"last_name": "X", "version": "1.0"}, 422),
        ("POST", "/contacts", {}, {"contact": "Ada"}, 422),
        ("POST", "/contacts", {}, {"contact_id": True, "update_fields": {"last_name": "X"}}, 422),
        ("POST", "/contacts", {}, {"contact_id": 1, "update_fields": "last_name"}, 422),
        ("POST", "/contacts", {}, {"first_name": "A", "custom_fields": [{"id": 10**30}]}, 422),
        ("POST", "/contacts", {}, {"first_name": "A", "address_attributes": {"city": ["x"]}}, 422),
    ):
        reply = api.request(method, path, query=query, json_body=payload)
        assert reply.status == status, (path, payload, reply.text)
        assert errors(reply)
    assert stored(api) == before
    assert contact(api, existing["id"]) == existing


# --- optimistic locking ------------------------------------------------------------------------------


def test_etag_follows_the_version_and_if_match_guards_writes(api: Client) -> None:
    created = api.create()
    path = f"/contacts/{created['id']}"
    first = api.patch(path, {"last_name": "One"}, headers={"If-Match": '"1"'})
    assert (first.status, first.headers["etag"]) == (200, '"2"')
    second = api.put(path, {"last_name": "Two"}, headers={"If-Match": 'W/"2"'})
    assert (second.status, second.headers["etag"]) == (200, '"3"')
    stale = api.patch(path, {"last_name": "Lost"}, headers={"If-Match": '"2"'})
    assert stale.status == 409
    assert errors(stale)
    assert api.get(path).headers["etag"] == '"3"'
    assert contact(api, created["id"])["last_name"] == "Two"
    assert history(api, created["id"])["total_count"] == 3
    assert api.patch(path, {"last_name": "Any"}, headers={"If-Match": "*"}).status == 200


def test_stale_if_match_on_delete_is_409_and_keeps_the_contact(api: Client) -> None:
    created = api.create()
    path = f"/contacts/{created['id']}"
    api.patch(path, {"last_name": "Changed"})
    reply = api.delete(path, headers={"If-Match": '"1"'})
    assert reply.status == 409
    assert contact(api, created["id"])["version"] == 2
    assert api.delete(path, headers={"If-Match": '"2"'}).status == 204


def test_version_in_the_body_acts_like_if_match(api: Client) -> None:
    created = api.create()
    path = f"/contacts/{created['id']}"
    assert api.patch(path, {"contact": {"last_name": "One", "version": 1}}).json()["contact"]["version"] == 2
    stale = api.patch(path, {"contact": {"last_name": "Lost", "version": 1}})
    assert stale.status == 409
    assert contact(api, created["id"])["last_name"] == "One"
    xml = send(api, "PUT", f"{path}.xml", '<contact><version type="integer">1</version></contact>', "text/xml")
    assert xml.status == 409
    assert xml_errors(xml)
    assert contact(api, created["id"])["version"] == 2


def test_stale_version_is_409_even_when_nothing_else_changes(api: Client) -> None:
    created = api.create()
    path = f"/contacts/{created['id']}"
    api.patch(path, {"last_name": "One"})
    assert api.patch(path, {"first_name": "Ada"}, headers={"If-Match": '"1"'}).status == 409


def test_if_match_must_be_an_etag(api: Client) -> None:
    created = api.create()
    reply = api.patch(f"/contacts/{created['id']}", {"last_name": "X"}, headers={"If-Match": "yesterday"})
    assert reply.status == 400
    assert contact(api, created["id"])["version"] == 1


# --- paging ----------------------------------------------------------------------------------------


def test_limit_defaults_to_20_and_the_cursor_reaches_the_rest(api: Client) -> None:
    made = contacts_created(api, 21)
    first = listing(api)
    assert (len(first["contacts"]), first["limit"], first["total_count"]) == (20, 20, 21)
    assert first["next_cursor"]
    second = listing(api, cursor=first["next_cursor"])
    assert ids(first) + ids(second) == made
    assert (second["offset"], second["total_count"], second["next_cursor"]) == (20, 21, None)
    assert ids(listing(api, limit=100)) == made


@pytest.mark.parametrize("limit", ["0", "abc", "-1", "1.5"])
def test_a_limit_that_is_not_a_whole_number_from_1_is_400(api: Client, limit: str) -> None:
    reply = api.get("/contacts", query={"limit": limit})
    assert reply.status == 400
    assert errors(reply) == ["limit must be a whole number of at least 1"]


def test_a_limit_above_100_is_served_as_100_as_redmine_does(api: Client) -> None:
    made = contacts_created(api, 105)
    for limit in ("101", "105", "100000"):
        first = listing(api, limit=limit)
        assert (ids(first), first["limit"], first["total_count"]) == (made[:100], 100, 105)
        rest = listing(api, limit=limit, offset=100)  # what python-redmine asks for next
        assert (ids(rest), rest["offset"], rest["limit"]) == (made[100:], 100, 100)


def test_offset_and_page(api: Client) -> None:
    made = contacts_created(api, 5)
    by_offset = listing(api, offset=1, limit=2)
    assert (ids(by_offset), by_offset["offset"], by_offset["limit"], by_offset["total_count"]) == (made[1:3], 1, 2, 5)
    by_page = listing(api, page=2, limit=2)
    assert (ids(by_page), by_page["offset"], by_page["total_count"]) == (made[2:4], 2, 5)
    last = listing(api, page=3, limit=2)
    assert (ids(last), last["next_cursor"]) == (made[4:], None)
    beyond = listing(api, offset=10)
    assert (ids(beyond), beyond["total_count"], beyond["next_cursor"]) == ([], 5, None)
    assert api.get("/contacts", query={"page": 0}).status == 400
    assert api.get("/contacts", query={"offset": -1}).status == 400


def test_cursor_walk_returns_every_contact_once_in_id_order(api: Client) -> None:
    made = contacts_created(api, 7)
    api.delete(f"/contacts/{made[3]}")
    expected = made[:3] + made[4:]
    seen, cursor, pages = [], None, 0
    while True:
        page = listing(api, limit=2, **({"cursor": cursor} if cursor else {}))
        assert page["total_count"] == 6
        assert page["offset"] == len(seen)
        seen += ids(page)
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    assert pages == 3


def test_offset_walk_and_cursor_walk_agree(api: Client) -> None:
    made = contacts_created(api, 5)
    by_offset = [i for offset in range(0, 5, 2) for i in ids(listing(api, offset=offset, limit=2))]
    assert by_offset == made
    # a cursor taken from an offset page carries on from there
    middle = listing(api, offset=1, limit=2)
    assert ids(listing(api, limit=2, cursor=middle["next_cursor"])) == made[3:5]


def test_history_pages_with_a_cursor(api: Client) -> None:
    created = api.create()
    path = f"/contacts/{created['id']}"
    for n in range(4):
        api.patch(path, {"last_name": f"Name {n}"})
    seen, cursor = [], None
    while True:
        page = history(api, created["id"], limit=2, **({"cursor": cursor} if cursor else {}))
        assert page["total_count"] == 5
        seen += [e["id"] for e in page["history"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [5, 4, 3, 2, 1]


def test_cursor_of_another_account_is_400(api: Client, keys: Keys) -> None:
    contacts_created(api, 3)
    stranger = Client(keys.stranger)
    contacts_created(stranger, 3)
    cursor = listing(api, limit=1)["next_cursor"]
    reply = stranger.get("/contacts", query={"limit": 1, "cursor": cursor})
    assert reply.status == 400
    assert "cursor" in errors(reply)[0]


def test_cursor_of_another_query_is_400(api: Client) -> None:
    first, second = api.create(), api.create()
    for n in range(3):
        api.patch(f"/contacts/{first['id']}", {"last_name": f"N{n}"})
        api.patch(f"/contacts/{second['id']}", {"last_name": f"N{n}"})
    contacts_created(api, 2)
    history_cursor = history(api, first["id"], limit=1)["next_cursor"]
    list_cursor = listing(api, limit=1)["next_cursor"]
    assert history_cursor
    assert list_cursor
    for path, cursor in (
        (f"/contacts/{second['id']}/history", history_cursor),  # another contact's history
        ("/contacts", history_cursor),  # history cursor on the list
        (f"/contacts/{first['id']}/history", list_cursor),  # list cursor on a history
    ):
        reply = api.get(path, query={"limit": 1, "cursor": cursor})
        assert reply.status == 400, path
        assert "cursor" in errors(reply)[0]
    # the cursor still works where it came from
    assert history(api, first["id"], limit=1, cursor=history_cursor)["history"][0]["id"] == 3


def _flip(text: str, at: int) -> str:
    return text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1 :]


def test_tampered_cursor_is_400(api: Client) -> None:
    contacts_created(api, 3)
    cursor = listing(api, limit=1)["next_cursor"]
    payload, tag = cursor.split(".")
    forged_payload = base64.urlsafe_b64encode(
        json.dumps(
            {**json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))), "p": 0, "k": "C#"}
        ).encode()
    ).decode()
    for bad in (_flip(cursor, 3), _flip(cursor, len(cursor) - 2), f"{forged_payload}.{tag}", "garbage", payload):
        reply = api.get("/contacts", query={"limit": 1, "cursor": bad})
        assert reply.status == 400, bad
        assert "cursor" in errors(reply)[0]


@pytest.mark.parametrize("other", [{"offset": 0}, {"offset": 2}, {"page": 1}, {"page": 9999}])
def test_a_cursor_wins_over_offset_and_page(api: Client, other: dict[str, int]) -> None:
    # As Redmine reads offset over page: its clients send offset on every request.
    created = contacts_created(api, 3)
    cursor = listing(api, limit=1)["next_cursor"]
    assert ids(listing(api, limit=1, cursor=cursor, **other)) == created[1:2]


def test_an_offset_wins_over_page(api: Client) -> None:
    created = contacts_created(api, 3)
    assert ids(listing(api, limit=1, offset=2, page=999999)) == created[2:]


# --- keys and tenancy ----------------------------------------------------------------------------


def test_no_key_is_401_with_a_json_error(api: Client) -> None:
    api.create()
    for method, path in (
        ("GET", "/contacts"),
        ("GET", "/contacts/1"),
        ("POST", "/contacts"),
        ("DELETE", "/contacts/1"),
    ):
        reply = Client().request(method, path)
        assert reply.status == 401, path
        assert errors(reply) == ["Invalid or missing API key"]
        assert reply.headers["cache-control"] == "no-store"
        assert reply.headers["www-authenticate"].startswith("Basic")
    # API Gateway answers this itself, before any function runs, and a gateway response cannot
    # choose its Content-Type by the client's format: XML clients get the JSON error too.
    xml = Client().get("/contacts.xml", headers={"Accept": "application/xml"})
    assert xml.status == 401
    assert xml.headers["content-type"] == "application/json; charset=utf-8"
    assert errors(xml) == ["Invalid or missing API key"]
    assert stored(api)[0] == 1


def test_unknown_or_garbled_keys_are_401(api: Client, keys: Keys) -> None:
    account, key_id, secret = keys.writer.split(".")[1:]
    wrong_secret = f"ck.{account}.{key_id}.{'x' * len(secret)}"
    unknown_id = f"ck.{account}.feedfacecafe.{secret}"
    other_account = f"ck.globex.{key_id}.{secret}"
    for key in (wrong_secret, unknown_id, other_account, "garbage", "ck.acme..", keys.writer[:-1]):
        reply = Client(key).get("/contacts")
        assert reply.status == 401, key
        assert errors(reply) == ["Invalid or missing API key"]


def test_http_basic_with_the_key_as_user_name(api: Client, keys: Keys) -> None:
    created = api.create(last_name="Basic")
    reply = Client().get(f"/contacts/{created['id']}.xml", headers=basic(keys.writer))
    assert reply.status == 200
    assert text_of(reply.xml(), "last-name") == "Basic"
    posted = Client().post("/contacts", {"first_name": "Via Basic"}, headers=basic(keys.writer))
    assert posted.status == 201
    assert Client().get("/contacts", headers=basic("nobody")).status == 401
    assert Client().get("/contacts", headers={"Authorization": "Basic !!!"}).status == 401
    assert Client().get("/contacts", headers={"Authorization": f"Bearer {keys.writer}"}).status == 401


def test_another_accounts_contact_is_404_everywhere(api: Client, keys: Keys) -> None:
    mine = api.create(last_name="Acme")
    stranger = Client(keys.stranger)
    path = f"/contacts/{mine['id']}"
    for reply in (
        stranger.get(path),
        stranger.get(f"{path}.xml"),
        stranger.put(path, {"last_name": "Taken"}),
        stranger.patch(path, {"last_name": "Taken"}),
        stranger.delete(path),
        stranger.get(f"{path}/history"),
    ):
        assert reply.status == 404, reply.text
        assert "Contact not found" in reply.text
    listed = listing(stranger)
    assert (listed["contacts"], listed["total_count"]) == ([], 0)
    assert contact(api, mine["id"]) == mine
    assert history(api, mine["id"])["total_count"] == 1


def test_ids_are_per_account_and_each_sees_its_own(api: Client, keys: Keys) -> None:
    stranger = Client(keys.stranger)
    ours = api.create(first_name="Ours")
    theirs = stranger.create(first_name="Theirs")
    assert ours["id"] == theirs["id"] == 1
    assert contact(api, 1)["first_name"] == "Ours"
    assert contact(stranger, 1)["first_name"] == "Theirs"
    stranger.patch("/contacts/1", {"last_name": "Changed"})
    assert contact(api, 1)["last_name"] is None
    assert [c["first_name"] for c in listing(api)["contacts"]] == ["Ours"]


def test_read_only_key_reads_but_cannot_write(api: Client, keys: Keys) -> None:
    created = api.create()
    reader = Client(keys.reader)
    path = f"/contacts/{created['id']}"
    assert reader.get(path).status == 200
    assert reader.get("/contacts").status == 200
    assert reader.get(f"{path}/history").status == 200
    before = stored(api)
    for reply in (
        reader.post("/contacts", {"first_name": "No"}),
        reader.put(path, {"last_name": "No"}),
        reader.patch(path, {"last_name": "No"}),
        reader.delete(path),
        reader.post("/contacts", {"contact_id": created["id"], "update_fields": {"last_name": "No"}}),
    ):
        assert reply.status == 403
        assert errors(reply) == ["This key lacks the 'write' scope"]
    xml = send(reader, "POST", "/contacts.xml", "<contact><first-name>No</first-name></contact>", "text/xml")
    assert xml.status == 403
    assert xml_errors(xml) == ["This key lacks the 'write' scope"]
    assert stored(api) == before


def test_private_contact_is_seen_by_its_owner_and_admins_only(api: Client, keys: Keys) -> None:
    public = api.create(first_name="Public")
    private = api.create(first_name="Private", is_private=True)
    path = f"/contacts/{private['id']}"
    for key in (keys.writer, keys.reader, keys.admin):
        assert Client(key).get(path).status == 200
        assert Client(key).get(f"{path}/history").status == 200
    colleague = Client(keys.colleague)
    for reply in (
        colleague.get(path),
        colleague.put(path, {"last_name": "Seen"}),
        colleague.patch(path, {"last_name": "Seen"}),
        colleague.delete(path),
        colleague.get(f"{path}/history"),
        colleague.post("/contacts", {"contact_id": private["id"], "update_fields": {"last_name": "Seen"}}),
    ):
        assert reply.status == 404, reply.text
    theirs = listing(colleague)
    assert (ids(theirs), theirs["total_count"]) == ([public["id"]], 1)
    for key in (keys.writer, keys.reader, keys.admin):
        everything = listing(Client(key))
        assert (ids(everything), everything["total_count"]) == ([public["id"], private["id"]], 2)
    assert contact(api, private["id"]) == private


def test_privacy_follows_updates_and_the_colleagues_own_private_contacts(api: Client, keys: Keys) -> None:
    colleague = Client(keys.colleague)
    shared = api.create(first_name="Shared")
    theirs = colleague.create(first_name="Theirs", visibility="2")
    assert listing(api)["total_count"] == 1
    assert api.get(f"/contacts/{theirs['id']}").status == 404
    api.patch(f"/contacts/{shared['id']}", {"is_private": True})
    assert colleague.get(f"/contacts/{shared['id']}").status == 404
    assert (ids(listing(colleague)), listing(colleague)["total_count"]) == ([theirs["id"]], 1)
    api.patch(f"/contacts/{shared['id']}", {"is_private": False})
    assert (ids(listing(colleague)), listing(colleague)["total_count"]) == ([shared["id"], theirs["id"]], 2)
    assert listing(Client(keys.admin))["total_count"] == 2
    colleague.delete(f"/contacts/{theirs['id']}")
    assert listing(Client(keys.admin))["total_count"] == 1
    assert listing(api)["total_count"] == 1


def test_colleague_cursor_walk_skips_others_private_contacts(api: Client, keys: Keys) -> None:
    visible = []
    for n in range(8):
        made = api.create(first_name=f"P{n}", is_private=n % 3 != 0)
        if not made["is_private"]:
            visible.append(made["id"])
    colleague = Client(keys.colleague)
    visible.append(colleague.create(first_name="Mine", is_private=True)["id"])
    seen, cursor = [], None
    while True:
        page = listing(colleague, limit=2, **({"cursor": cursor} if cursor else {}))
        assert page["total_count"] == len(visible)
        seen += ids(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == visible
    assert ids(listing(colleague, offset=1, limit=2)) == visible[1:3]


@pytest.mark.parametrize("how", ["json create", "form create", "patch"])
def test_is_private_null_keeps_list_and_count_in_step(api: Client, keys: Keys, how: str) -> None:
    if how == "json create":
        made = api.create(is_private=None)
    elif how == "form create":
        made = send(api, "POST", "/contacts", "contact[first_name]=Ada&contact[is_private]=", FORM).json()["contact"]
    else:
        made = api.create(is_private=True)
        assert api.patch(f"/contacts/{made['id']}", {"is_private": None}).status == 200
    colleague = Client(keys.colleague)
    page = listing(colleague)
    assert page["total_count"] == len(page["contacts"])
    assert (made["id"] in ids(page)) == (colleague.get(f"/contacts/{made['id']}").status == 200)


def test_revoked_key_is_401(api: Client, keys: Keys) -> None:
    api.create()
    assert crm_keys.revoke(public_id(keys.writer)) is True
    reply = api.get("/contacts")
    assert reply.status == 401
    assert errors(reply) == ["Invalid or missing API key"]
    assert Client().get("/contacts", headers=basic(keys.writer)).status == 401
    assert api.post("/contacts", {"first_name": "Late"}).status == 401
    # the other keys of the same user still work
    assert listing(Client(keys.reader))["total_count"] == 1
