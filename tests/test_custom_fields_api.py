"""Custom field definitions as a client sees them: status, headers, body, and what ends up stored.

Every request goes through the API Gateway emulation (authorizer, then the custom fields handler, as
template.yaml wires them), and every API test runs on moto and on DynamoDB Local (``store``). Any key
reads them; only an admin key changes them (they are the account's configuration).

The checks of the values contacts carry (``custom_values.check_values``, ``views.custom_values``)
are unit-tested at the end, without a store; so are the concurrent writers, on DynamoDB Local.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from crm import custom_fields, custom_values
from crm.auth import Principal, granted_scopes
from crm.errors import ApiError, Unprocessable
from crm.http import render, views, xml
from crm.paging import PageRequest
from crm.storage.items import CustomFieldItem, Item, account_pk, custom_field_sk
from crm.validation import contact_changes
from tests.conftest import Client, Keys, all_at_once
from tests.helpers import FORM, JSON_TYPE, XML_TYPE, errors, send, text_of, xml_errors

FIELD_KEYS = [
    "id",
    "name",
    "field_format",
    "possible_values",
    "is_required",
    "created_at",
    "updated_at",
    "version",
]
FIELD_ELEMENTS = [key.replace("_", "-") for key in FIELD_KEYS]
LICENSE = {"name": "License", "field_format": "list", "possible_values": ["Standard", "Professional"]}
NOT_ADMIN = "This key lacks the 'admin' scope"

# --- helpers -----------------------------------------------------------------------------


@pytest.fixture
def admin(keys: Keys) -> Client:
    """A client with the admin key of account acme: the only kind that changes custom fields."""
    return Client(keys.admin)


def path(field_id: int | None = None) -> str:
    return "/custom_fields" + ("" if field_id is None else f"/{field_id}")


def define(client: Client, **fields: Any) -> dict[str, Any]:
    reply = client.post(path(), {"custom_field": fields or LICENSE})
    assert reply.status == 201, reply.text
    return reply.json()["custom_field"]


def shown(client: Client, field_id: int) -> dict[str, Any]:
    reply = client.get(path(field_id))
    assert reply.status == 200, reply.text
    return reply.json()["custom_field"]


def listed(client: Client, **query: Any) -> dict[str, Any]:
    reply = client.get(path(), query=query)
    assert reply.status == 200, reply.text
    return reply.json()


def ids(page: dict[str, Any]) -> list[int]:
    return [field["id"] for field in page["custom_fields"]]


def everything(client: Client) -> tuple[int, list[dict[str, Any]]]:
    """All a client can see of the account's custom fields: the count and each one."""
    page = listed(client, limit=100)
    return page["total_count"], page["custom_fields"]


def stored_keys(account: str = "acme") -> list[str]:
    """Sort keys of the account's custom field items: definitions, names held, the count."""
    items = Item.query(account_pk(account), Item.sk.startswith("C"), consistent_read=True)
    return [item.sk for item in items if item.sk.startswith(("CF#", "CFNAME#", "COUNT#custom_fields"))]


# --- create, show, update, delete ------------------------------------------------------------


def test_create_answers_201_with_location_etag_and_the_wrapped_field(admin: Client) -> None:
    reply = admin.post(path(), {"custom_field": {**LICENSE, "is_required": True}})
    assert reply.status == 201, reply.text
    assert reply.headers["content-type"] == JSON_TYPE
    assert reply.headers["cache-control"] == "no-store"
    assert reply.headers["etag"] == '"1"'
    assert reply.headers["location"] == "/custom_fields/1"
    body = reply.json()
    assert list(body) == ["custom_field"]
    created = body["custom_field"]
    assert list(created) == FIELD_KEYS
    assert created["id"] == 1
    assert (created["name"], created["field_format"], created["is_required"]) == ("License", "list", True)
    assert created["possible_values"] == ["Standard", "Professional"]
    assert created["version"] == 1
    assert created["created_at"] == created["updated_at"]
    assert datetime.fromisoformat(created["created_at"]).utcoffset() is not None
    again = admin.get(reply.headers["location"])
    assert (again.status, again.headers["etag"]) == (200, '"1"')
    assert again.json() == body


def test_create_accepts_flat_json_a_form_and_defaults(admin: Client) -> None:
    flat = admin.post(path(), {"name": "Purchase date", "field_format": "date"})
    assert flat.status == 201, flat.text
    assert flat.json()["custom_field"]["possible_values"] == []
    assert flat.json()["custom_field"]["is_required"] is False
    form = send(
        admin,
        "POST",
        path(),
        "custom_field[name]=Tier&custom_field[field_format]=List"
        "&custom_field[possible_values][]=Gold%2C+plus&custom_field[possible_values][]=Silver"
        "&custom_field[is_required]=1",
        FORM,
    )
    assert form.status == 201, form.text
    made = form.json()["custom_field"]
    # the format is matched case-insensitively; a value may hold a comma
    assert (made["name"], made["field_format"], made["possible_values"]) == ("Tier", "list", ["Gold, plus", "Silver"])
    assert made["is_required"] is True
    assert ids(listed(admin)) == [1, 2]


# Possible values as text (a form's text area) and as a list's entries: (what is sent, what is kept).
LINES_SENT = [
    ("Gold\r\nSilver\n\n  Bronze  \r", ["Gold", "Silver", "Bronze"]),
    (" \u00a0\n\x0bTin\x1f\n", ["Tin"]),  # what str.strip() takes around a value goes
    ("One, two; three", ["One, two; three"]),
    ("\n".join(f"v{n}" for n in range(100)) + "\n\n", [f"v{n}" for n in range(100)]),
    ("x" * 255, ["x" * 255]),
    ("\n".join(f"v{n}" for n in range(101)), None),
    ("x" * 256, None),
    ("a\x0bb", None),  # a vertical tab inside a value is a control, not a line break
    ("a\ufffeb", None),
]
ENTRIES_SENT = [
    (["Gold", " Silver "], ["Gold", "Silver"]),
    ([7, {"value": "Gold"}, {"value": 8, "label": "ignored"}], ["7", "Gold", "8"]),
    ([" "], None),
    ([10**15], None),  # past the digits every client holds exactly
    ([True], None),
    ([{"label": "no value"}], None),
]


@pytest.mark.parametrize(("sent", "kept"), LINES_SENT + ENTRIES_SENT)
def test_the_document_takes_the_possible_values_the_api_takes(admin: Client, sent: Any, kept: Any) -> None:
    """What the API keeps of each way to send possible values, and that the OpenAPI document's
    schema of them takes exactly what the API takes (schemathesis holds the API to it)."""
    document = admin.get("/openapi.json").json()
    body = document["paths"]["/custom_fields"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    schema = body["anyOf"][0]["properties"]["possible_values"]
    reply = admin.post(path(), {"name": "Tier", "field_format": "list", "possible_values": sent})
    if kept is None:
        assert reply.status == 422, reply.text
        assert errors(reply)[0].startswith("Possible values"), reply.text
    else:
        assert reply.status == 201, reply.text
        assert reply.json()["custom_field"]["possible_values"] == kept
    assert Draft202012Validator(schema).is_valid(sent) == (kept is not None)


def test_create_and_show_in_rails_xml(admin: Client) -> None:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<custom_field><name>License</name>'
        "<field-format>list</field-format><possible_values type='array'>"
        "<possible_value>Standard</possible_value><possible-value>Pro &amp; more</possible-value>"
        "</possible_values><is-required type='boolean'>false</is-required></custom_field>"
    )
    reply = send(admin, "POST", f"{path()}.xml", body, "application/xml")
    assert reply.status == 201, reply.text
    assert reply.headers["content-type"] == XML_TYPE
    assert reply.headers["location"] == "/custom_fields/1.xml"
    assert reply.headers["etag"] == '"1"'
    root = reply.xml()
    assert root.tag == "custom_field"
    assert [child.tag for child in root] == FIELD_ELEMENTS
    assert (root.find("id").get("type"), text_of(root, "id")) == ("integer", "1")
    assert (text_of(root, "name"), text_of(root, "field-format")) == ("License", "list")
    values = root.find("possible-values")
    assert values.get("type") == "array"
    assert [(v.tag, v.text) for v in values] == [("possible-value", "Standard"), ("possible-value", "Pro & more")]
    assert (root.find("is-required").get("type"), text_of(root, "is-required")) == ("boolean", "false")
    assert root.find("created-at").get("type") == "datetime"
    assert (root.find("version").get("type"), text_of(root, "version")) == ("integer", "1")
    again = admin.get(reply.headers["location"])
    assert again.text == reply.text
    # a field that is not a list shows an empty array; the format follows suffix, ?format=, Accept
    define(admin, name="Since", field_format="date")
    for other in (
        admin.get(f"{path(2)}.xml"),
        admin.get(path(2), query={"format": "xml"}),
        admin.get(path(2), headers={"Accept": "application/xml"}),
    ):
        empty = other.xml().find("possible-values")
        assert (empty.get("type"), list(empty)) == ("array", [])
    assert admin.get(f"{path(2)}.json", headers={"Accept": "application/xml"}).json()["custom_field"]["id"] == 2


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_update_changes_what_is_sent_and_bumps_the_etag(admin: Client, method: str) -> None:
    created = define(admin)
    reply = admin.request(
        method,
        path(1),
        json_body={"custom_field": {"name": "Licence", "possible_values": ["Standard", "Enterprise"]}},
    )
    assert reply.status == 200, reply.text
    assert reply.headers["etag"] == '"2"'
    assert "location" not in reply.headers
    updated = reply.json()["custom_field"]
    assert list(updated) == FIELD_KEYS
    assert (updated["name"], updated["possible_values"], updated["version"]) == (
        "Licence",
        ["Standard", "Enterprise"],
        2,
    )
    assert (updated["field_format"], updated["is_required"]) == ("list", False)  # not sent: kept
    assert updated["created_at"] == created["created_at"]
    assert updated["updated_at"] >= created["updated_at"]
    assert shown(admin, 1) == updated
    # a flat body on the new ETag
    again = admin.request(method, path(1), json_body={"is_required": True}, headers={"If-Match": '"2"'})
    assert (again.status, again.headers["etag"]) == (200, '"3"')
    assert shown(admin, 1)["is_required"] is True


def test_sending_back_what_was_read_is_accepted_and_the_same_body_writes_nothing(admin: Client) -> None:
    created = define(admin)
    same = admin.put(path(1), {"custom_field": created})
    assert (same.status, same.headers["etag"]) == (200, '"1"')
    assert same.json()["custom_field"] == created
    edited = admin.put(path(1), {"custom_field": {**created, "name": "Licence"}})
    assert (edited.status, edited.headers["etag"]) == (200, '"2"')
    # the XML it showed, sent back with one change
    document = admin.get(f"{path(1)}.xml").text.replace("<name>Licence</name>", "<name>Licences</name>")
    back = send(admin, "PUT", f"{path(1)}.xml", document, "application/xml")
    assert back.status == 200, back.text
    assert (text_of(back.xml(), "name"), back.headers["etag"]) == ("Licences", '"3"')
    # a change of case only is a change, and the name stays the field's own
    assert admin.patch(path(1), {"name": "LICENCES"}).json()["custom_field"]["name"] == "LICENCES"


def test_a_version_makes_the_write_conditional(admin: Client) -> None:
    define(admin)
    before = everything(admin)
    for reply, asked in (
        (admin.put(path(1), {"name": "Stale"}, headers={"If-Match": '"2"'}), 2),
        (admin.patch(path(1), {"name": "Stale"}, headers={"If-Match": 'W/"7"'}), 7),
        (admin.put(path(1), {"custom_field": {"name": "Stale", "version": 3}}), 3),
        (admin.delete(path(1), headers={"If-Match": '"2"'}), 2),
    ):
        assert reply.status == 409, reply.text
        assert errors(reply) == [f"Custom field is at version 1, not {asked}"]
    assert everything(admin) == before
    ok = admin.put(path(1), {"name": "Fresh", "version": 1})
    assert (ok.status, ok.headers["etag"]) == (200, '"2"')
    assert admin.patch(path(1), {"name": "Fresher"}, headers={"If-Match": '"2"'}).status == 200
    assert admin.get(path(1)).headers["etag"] == '"3"'
    malformed = admin.put(path(1), {"name": "X"}, headers={"If-Match": "yesterday"})
    assert malformed.status == 400
    assert shown(admin, 1)["name"] == "Fresher"
    assert admin.delete(path(1), headers={"If-Match": '"3"'}).status == 204


def test_delete_answers_204_then_the_field_is_gone_and_its_name_free(admin: Client) -> None:
    define(admin)
    define(admin, name="Since", field_format="date")
    reply = admin.delete(path(1))
    assert (reply.status, reply.text) == (204, "")
    assert reply.headers["cache-control"] == "no-store"
    for gone in (
        admin.get(path(1)),
        admin.get(f"{path(1)}.xml"),
        admin.put(path(1), {"name": "X"}),
        admin.delete(path(1)),
    ):
        assert gone.status == 404, gone.text
    assert errors(admin.get(path(1))) == ["Custom field not found"]
    assert xml_errors(admin.get(f"{path(1)}.xml")) == ["Custom field not found"]
    page = listed(admin)
    assert (ids(page), page["total_count"]) == ([2], 1)
    # the name is free again, and ids are never reused
    assert define(admin, **LICENSE)["id"] == 3
    assert listed(admin)["total_count"] == 2


@pytest.mark.parametrize("bad", ["abc", "0", "-1", "99999999999", "1.5"])
def test_an_id_that_cannot_exist_is_404(admin: Client, bad: str) -> None:
    define(admin)
    for reply in (admin.get(f"/custom_fields/{bad}"), admin.put(f"/custom_fields/{bad}", {"name": "X"})):
        assert reply.status == 404, reply.text
        assert errors(reply) == ["Custom field not found"]
    assert admin.delete(f"/custom_fields/{bad}").status == 404


# --- names --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["License", "license", "LICENSE", "  License ", "\uff2c\uff29\uff23\uff25\uff2e\uff33\uff25"],
    ids=["same", "lower", "upper", "spaced", "fullwidth"],
)
def test_a_name_is_unique_in_the_account_whatever_its_case(admin: Client, name: str) -> None:
    define(admin)
    before = everything(admin)
    reply = admin.post(path(), {"name": name, "field_format": "string"})
    assert reply.status == 422, reply.text
    assert errors(reply) == [f"Name has already been taken ({name.strip()})"]
    assert everything(admin) == before
    assert define(admin, name="Other", field_format="string")["id"] == 2  # the refused one took no id


def test_renaming_moves_the_name(admin: Client) -> None:
    define(admin)
    define(admin, name="Since", field_format="date")
    taken = admin.patch(path(2), {"name": "license"})
    assert taken.status == 422
    assert errors(taken) == ["Name has already been taken (license)"]
    assert shown(admin, 2)["name"] == "Since"
    assert admin.patch(path(1), {"name": "Licence"}).status == 200
    # the old name is free; the new one is held
    assert define(admin, name="License", field_format="string")["id"] == 3
    assert admin.post(path(), {"name": "LICENCE", "field_format": "string"}).status == 422
    assert admin.patch(path(2), {"name": "licence"}).status == 422
    names = [(f["id"], f["name"]) for f in listed(admin)["custom_fields"]]
    assert names == [(1, "Licence"), (2, "Since"), (3, "License")]
    # one name held per definition, and the count, and nothing else
    assert len(stored_keys()) == 3 + 3 + 1


# --- refused requests: status, error body, nothing changed ---------------------------------------

LIST_EMPTY = "Possible values cannot be empty for a list"
FORMAT_ONE_OF = "Field format must be one of: string, integer, date, boolean, list"

# (name, body, content type, status, messages), each POSTed to /custom_fields (an XML body to .xml).
REFUSED_CREATES = [
    ("unknown fields", {**LICENSE, "colour": 1, "notes": []}, None, 422, ["Unknown fields: colour, notes"]),
    ("no name", {"field_format": "string"}, None, 422, ["Name cannot be blank"]),
    ("blank name", {"name": "  ", "field_format": "string"}, None, 422, ["Name cannot be blank"]),
    ("name too long", {"name": "x" * 256, "field_format": "string"}, None, 422, ["Name is too long"]),
    (
        "name not text",
        {"name": ["a"], "field_format": "string"},
        None,
        422,
        ["Name must be text", "Name cannot be blank"],
    ),
    ("no format", {"name": "A"}, None, 422, ["Field format cannot be blank"]),
    ("null format", {"name": "A", "field_format": None}, None, 422, ["Field format cannot be blank"]),
    ("unknown format", {"name": "A", "field_format": "float"}, None, 422, [FORMAT_ONE_OF]),
    ("format not text", {"name": "A", "field_format": ["list"]}, None, 422, [FORMAT_ONE_OF]),
    ("list without values", {"name": "A", "field_format": "list"}, None, 422, [LIST_EMPTY]),
    ("list with no values", {"name": "A", "field_format": "list", "possible_values": []}, None, 422, [LIST_EMPTY]),
    (
        "values on a string",
        {"name": "A", "field_format": "string", "possible_values": ["x"]},
        None,
        422,
        ["Possible values are only for list fields"],
    ),
    (
        "blank value",
        {"name": "A", "field_format": "list", "possible_values": ["x", " "]},
        None,
        422,
        ["Possible values cannot contain a blank value"],
    ),
    (
        "repeated values",
        {"name": "A", "field_format": "list", "possible_values": ["x", "y", "x"]},
        None,
        422,
        ["Possible values must be distinct: x repeated"],
    ),
    (
        "too many values",
        {"name": "A", "field_format": "list", "possible_values": [f"v{n}" for n in range(101)]},
        None,
        422,
        ["Possible values take at most 100 values"],
    ),
    (
        "value too long",
        {"name": "A", "field_format": "list", "possible_values": ["x" * 256]},
        None,
        422,
        ["Possible values are text of at most 255 characters"],
    ),
    (
        "values not a list",
        {"name": "A", "field_format": "list", "possible_values": {"a": 1}},
        None,
        422,
        ["Possible values must be a list of text values"],
    ),
    ("required not boolean", {**LICENSE, "is_required": "maybe"}, None, 422, ["Is required must be true or false"]),
    ("read-only id", {**LICENSE, "id": 5}, None, 422, ["Id is read-only"]),
    ("read-only version", {**LICENSE, "version": 1}, None, 422, ["Version is read-only"]),
    (
        "read-only created at",
        {**LICENSE, "created_at": "2001-01-01T00:00:00Z"},
        None,
        422,
        ["Created at is read-only"],
    ),
    (
        "every message at once",
        {"field_format": "text", "possible_values": ["x", "x"], "hat": 1},
        None,
        422,
        ["Unknown fields: hat", "Name cannot be blank", FORMAT_ONE_OF, "Possible values must be distinct: x repeated"],
    ),
    ("empty body", "", "application/json", 422, ["Name cannot be blank", "Field format cannot be blank"]),
    (
        "unknown in xml",
        "<custom_field><name>A</name><field_format>string</field_format><hat>y</hat></custom_field>",
        "application/xml",
        422,
        ["Unknown fields: hat"],
    ),
    (
        "list without values in xml",
        "<custom_field><name>A</name><field-format>list</field-format></custom_field>",
        "application/xml",
        422,
        [LIST_EMPTY],
    ),
    ("malformed json", '{"custom_field": {"name": "A"', "application/json", 400, ["Malformed JSON"]),
    ("malformed xml", "<custom_field><name>A</custom_field>", "application/xml", 400, ["Malformed XML"]),
    ("text/plain", "name=A", "text/plain", 415, ["Send application/json"]),
]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "expected"),
    [case[1:] for case in REFUSED_CREATES],
    ids=[case[0] for case in REFUSED_CREATES],
)
def test_refused_create_answers_in_the_request_format_and_stores_nothing(
    admin: Client, body: Any, content_type: str | None, status: int, expected: list[str]
) -> None:
    define(admin, name="Existing", field_format="string")
    before = everything(admin)
    is_xml = (content_type or "").endswith("xml")
    text = body if isinstance(body, str) else json.dumps(body)
    reply = send(admin, "POST", path() + (".xml" if is_xml else ""), text, content_type or "application/json")
    assert reply.status == status, reply.text
    assert reply.headers["cache-control"] == "no-store"
    messages = xml_errors(reply) if is_xml else errors(reply)
    assert len(messages) == len(expected), messages
    assert all(message.startswith(fragment) for message, fragment in zip(messages, expected, strict=True)), messages
    assert everything(admin) == before
    assert len(stored_keys()) == 3  # the existing definition, its name and the count


# (name, field created first, body of the PUT, messages)
REFUSED_UPDATES = [
    (
        "format change",
        LICENSE,
        {"field_format": "string"},
        ["Field format cannot be changed from list: the values contacts hold were checked against it"],
    ),
    ("format cleared", LICENSE, {"field_format": None}, ["Field format cannot be blank"]),
    ("unknown format", LICENSE, {"field_format": "bool"}, [FORMAT_ONE_OF]),
    ("values cleared on a list", LICENSE, {"possible_values": []}, [LIST_EMPTY]),
    ("values null on a list", LICENSE, {"possible_values": None}, [LIST_EMPTY]),
    (
        "values on a date",
        {"name": "Since", "field_format": "date"},
        {"possible_values": ["2020-01-01"]},
        ["Possible values are only for list fields"],
    ),
    ("name cleared", LICENSE, {"name": ""}, ["Name cannot be blank"]),
    ("another id", LICENSE, {"id": 2}, ["Id is read-only"]),
    ("another creation time", LICENSE, {"created_at": "2001-01-01T00:00:00+00:00"}, ["Created at is read-only"]),
    ("unknown field", LICENSE, {"label": "x"}, ["Unknown fields: label"]),
]


@pytest.mark.parametrize(
    ("first", "body", "expected"),
    [case[1:] for case in REFUSED_UPDATES],
    ids=[case[0] for case in REFUSED_UPDATES],
)
def test_refused_update_changes_nothing(
    admin: Client, first: dict[str, Any], body: dict[str, Any], expected: list[str]
) -> None:
    define(admin, **first)
    before = everything(admin)
    for method in ("PUT", "PATCH"):
        reply = admin.request(method, path(1), json_body={"custom_field": body})
        assert reply.status == 422, reply.text
        assert errors(reply) == expected
    # a JSON body sent to the .xml route is answered in XML
    in_xml = send(admin, "PUT", f"{path(1)}.xml", json.dumps(body), "application/json")
    assert in_xml.status == 422
    assert xml_errors(in_xml) == expected
    assert everything(admin) == before


# --- keys and tenancy -----------------------------------------------------------------------------


def test_only_an_admin_key_changes_custom_fields_any_key_reads_them(admin: Client, keys: Keys) -> None:
    created = define(admin)
    before = everything(admin)
    for key in (keys.writer, keys.reader, keys.colleague):
        client = Client(key)
        assert shown(client, 1) == created
        assert ids(listed(client)) == [1]
        assert client.get(f"{path()}.xml").xml().get("total_count") == "1"
        for reply in (
            client.post(path(), {"name": "Mine", "field_format": "string"}),
            client.put(path(1), {"name": "Mine"}),
            client.patch(path(1), {"name": "Mine"}),
            client.delete(path(1)),
            client.delete(path(99)),  # the scope is checked first: no hint whether it exists
        ):
            assert reply.status == 403, reply.text
            assert errors(reply) == [NOT_ADMIN]
        refused = send(
            client, "POST", f"{path()}.xml", "<custom_field><name>X</name></custom_field>", "application/xml"
        )
        assert (refused.status, xml_errors(refused)) == (403, [NOT_ADMIN])
    assert everything(admin) == before


def test_no_key_is_401(admin: Client) -> None:
    define(admin)
    for method, where in (("GET", path()), ("POST", path()), ("GET", path(1)), ("DELETE", path(1))):
        reply = Client().request(method, where)
        assert reply.status == 401, where
        assert errors(reply) == ["Invalid or missing API key"]
    assert shown(admin, 1)["version"] == 1


def test_another_accounts_fields_are_404_and_never_listed(admin: Client, keys: Keys) -> None:
    define(admin, name="Padding", field_format="string")
    mine = define(admin, name="Secret scoring", field_format="integer")
    stranger = Client(keys.stranger)  # an admin of another account
    define(stranger, name="Theirs", field_format="string")
    before = everything(admin)
    where = path(mine["id"])
    for reply in (
        stranger.get(where),
        stranger.get(f"{where}.xml"),
        stranger.put(where, {"name": "Taken"}),
        stranger.patch(where, {"name": "Taken"}),
        stranger.delete(where),
    ):
        assert reply.status == 404, reply.text
        assert "Custom field not found" in reply.text
        assert "Secret scoring" not in reply.text
    theirs = listed(stranger)
    assert ([f["name"] for f in theirs["custom_fields"]], theirs["total_count"]) == (["Theirs"], 1)
    assert "Secret" not in stranger.get(f"{path()}.xml").text
    assert everything(admin) == before


def test_each_account_has_its_own_ids_and_names(admin: Client, keys: Keys) -> None:
    stranger = Client(keys.stranger)
    ours, theirs = define(admin), define(stranger)  # the same name in two accounts
    assert ours["id"] == theirs["id"] == 1
    assert stranger.patch(path(1), {"possible_values": ["Gratis"]}).status == 200
    assert stranger.delete(path(1)).status == 204
    assert shown(admin, 1) == ours
    assert admin.get(path(1)).headers["etag"] == '"1"'
    assert listed(stranger)["total_count"] == 0


# --- lists and paging ------------------------------------------------------------------------------


def defined(client: Client, count: int) -> list[int]:
    return [define(client, name=f"Field {n}", field_format="string")["id"] for n in range(count)]


def test_list_is_in_id_order_with_paging_fields(admin: Client) -> None:
    empty = listed(admin)
    assert empty == {"custom_fields": [], "offset": 0, "limit": 20, "total_count": 0, "next_cursor": None}
    made = defined(admin, 3)
    page = listed(admin)
    assert list(page) == ["custom_fields", "offset", "limit", "total_count", "next_cursor"]
    assert (ids(page), page["total_count"], page["next_cursor"]) == (made, 3, None)
    assert all(list(f) == FIELD_KEYS for f in page["custom_fields"])
    assert page["custom_fields"][0] == shown(admin, made[0])
    assert admin.get(f"{path()}.json").json() == page


def test_limit_offset_page_and_cursor(admin: Client) -> None:
    made = defined(admin, 5)
    first = listed(admin, limit=2)
    assert (ids(first), first["total_count"]) == (made[:2], 5)
    assert first["next_cursor"]
    assert ids(listed(admin, limit=2, cursor=first["next_cursor"])) == made[2:4]
    by_offset = listed(admin, offset=1, limit=2)
    assert (ids(by_offset), by_offset["offset"], by_offset["limit"]) == (made[1:3], 1, 2)
    last = listed(admin, page=3, limit=2)
    assert (ids(last), last["offset"], last["next_cursor"]) == (made[4:], 4, None)
    assert ids(listed(admin, offset=10)) == []
    for bad in ({"limit": "many"}, {"limit": 0}, {"offset": 1, "page": "x"}, {"cursor": "forged"}):
        reply = admin.get(path(), query=bad)
        assert reply.status == 400, bad
        assert errors(reply)
    # every one once, through the cursors
    assert admin.delete(path(made[2])).status == 204
    seen, cursor = [], None
    while True:
        page = listed(admin, limit=2, **({"cursor": cursor} if cursor else {}))
        assert page["total_count"] == 4
        seen += ids(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [made[0], made[1], made[3], made[4]]


def test_list_in_xml(admin: Client) -> None:
    made = defined(admin, 3)
    reply = admin.get(f"{path()}.xml", query={"limit": 2})
    assert (reply.status, reply.headers["content-type"]) == (200, XML_TYPE)
    root = reply.xml()
    assert root.tag == "custom_fields"
    attributes = (root.get("type"), root.get("offset"), root.get("limit"), root.get("total_count"))
    assert attributes == ("array", "0", "2", "3")
    items = root.findall("custom_field")
    assert [text_of(f, "id") for f in items] == [str(i) for i in made[:2]]
    assert [child.tag for child in items[0]] == FIELD_ELEMENTS
    rest = admin.get(f"{path()}.xml", query={"limit": 2, "cursor": root.get("next_cursor")}).xml()
    assert [text_of(f, "id") for f in rest.findall("custom_field")] == [str(made[2])]


def test_an_account_has_a_capped_number_of_custom_fields(
    admin: Client, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert custom_fields.MAX_FIELDS == 100
    monkeypatch.setattr(custom_fields, "MAX_FIELDS", 4)  # 100 creates would take half a minute on moto
    made = defined(admin, 4)
    before = everything(admin)
    reply = admin.post(path(), {"name": "One too many", "field_format": "string"})
    assert reply.status == 422
    assert errors(reply) == ["An account has at most 4 custom fields"]
    assert everything(admin) == before
    assert before[0] == 4
    # another account is not affected; deleting one makes room for one
    assert define(Client(keys.stranger), name="Theirs", field_format="string")["id"] == 1
    assert admin.delete(path(made[1])).status == 204
    assert define(admin, name="One too many", field_format="string")["id"] == 5  # a refused create takes no id
    assert admin.post(path(), {"name": "Two too many", "field_format": "string"}).status == 422
    assert listed(admin)["total_count"] == 4


# --- idempotent create ----------------------------------------------------------------------------


def test_a_retried_create_with_its_idempotency_key_creates_nothing(admin: Client) -> None:
    headers = {"Idempotency-Key": "cf-7"}
    first = admin.post(path(), {"custom_field": LICENSE}, headers=headers)
    retry = admin.post(path(), {"custom_field": LICENSE}, headers=headers)
    assert (first.status, retry.status) == (201, 201)
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == first.json()
    assert listed(admin)["total_count"] == 1


# --- the values contacts carry, through the contacts API -------------------------------------------


@pytest.fixture
def account_fields(admin: Client) -> dict[str, int]:
    """Fields 1 to 5 of account acme, one of each format, by name."""
    made = [
        define(admin, **LICENSE),
        define(admin, name="Seats", field_format="integer"),
        define(admin, name="Purchase date", field_format="date"),
        define(admin, name="Renews", field_format="boolean"),
        define(admin, name="Reseller", field_format="string"),
    ]
    return {field["name"]: field["id"] for field in made}


def test_a_contact_carries_its_values_with_their_names(account_fields: dict[str, int], keys: Keys) -> None:
    writer = Client(keys.writer)
    sent = [
        {"id": account_fields["License"], "value": "professional"},
        {"id": account_fields["Seats"], "value": 12},
        {"id": account_fields["Renews"], "value": True},
    ]
    reply = writer.post("/contacts", {"contact": {"first_name": "Ada", "custom_fields": sent}})
    assert reply.status == 201, reply.text
    expected = [
        {"id": 1, "name": "License", "value": "Professional"},
        {"id": 2, "name": "Seats", "value": "12"},
        {"id": 4, "name": "Renews", "value": "1"},
    ]
    created = reply.json()["contact"]
    assert created["custom_fields"] == expected
    assert writer.get(f"/contacts/{created['id']}").json()["contact"]["custom_fields"] == expected
    listed_contacts = writer.get("/contacts").json()["contacts"]
    assert [c["custom_fields"] for c in listed_contacts] == [expected]
    found = writer.get("/contacts/search", query={"term": "ada"}).json()["contacts"]
    assert [c["custom_fields"] for c in found] == [expected]


def test_values_in_xml_are_the_redmine_shape_and_are_read_back(account_fields: dict[str, int], keys: Keys) -> None:
    writer = Client(keys.writer)
    body = (
        "<contact><first_name>Ada</first_name><custom_fields type='array'>"
        "<custom_field id='1' name='License'><value>Standard</value></custom_field>"
        "<custom_field id='3'><value>2024-02-29</value></custom_field>"
        "</custom_fields></contact>"
    )
    reply = send(writer, "POST", "/contacts.xml", body, "application/xml")
    assert reply.status == 201, reply.text
    values = reply.xml().find("custom_fields")
    assert values.get("type") == "array"
    shown = [(v.tag, v.get("id"), v.get("name"), text_of(v, "value")) for v in values]
    assert shown == [
        ("custom_field", "1", "License", "Standard"),
        ("custom_field", "3", "Purchase date", "2024-02-29"),
    ]
    # What a client read, sent back as it is, changes nothing.
    contact_id = text_of(reply.xml(), "id")
    again = send(writer, "PUT", f"/contacts/{contact_id}.xml", reply.text, "application/xml")
    assert again.status == 200, again.text
    assert text_of(again.xml(), "version") == "1"


@pytest.mark.parametrize(
    ("value", "field", "message"),
    [
        ("Gold", "License", "License is not one of its possible values"),
        ("twelve", "Seats", "Seats must be a whole number"),
        ("1.5", "Seats", "Seats must be a whole number"),
        ("2024-02-30", "Purchase date", "Purchase date is not a valid date (YYYY-MM-DD)"),
        ("yes", "Renews", "Renews must be true or false"),
        pytest.param(
            "x" * 256, "Reseller", "Custom fields names and values are text of at most 255 characters", id="long"
        ),
    ],
)
def test_a_value_not_of_its_format_is_422_and_changes_nothing(
    account_fields: dict[str, int], keys: Keys, value: str, field: str, message: str
) -> None:
    writer = Client(keys.writer)
    existing = writer.create(first_name="Ada", custom_fields=[{"id": account_fields["Seats"], "value": "3"}])
    before = writer.get("/contacts").json()
    sent = [{"id": account_fields[field], "value": value}]
    created = writer.post("/contacts", {"contact": {"first_name": "Grace", "custom_fields": sent}})
    assert (created.status, errors(created)) == (422, [message])
    changed = writer.patch(f"/contacts/{existing['id']}", {"contact": {"custom_fields": sent}})
    assert (changed.status, errors(changed)) == (422, [message])
    xml_body = f"<contact><custom_fields type='array'><custom_field id='{account_fields[field]}'>"
    xml_body += f"<value>{value}</value></custom_field></custom_fields></contact>"
    in_xml = send(writer, "PATCH", f"/contacts/{existing['id']}.xml", xml_body, "application/xml")
    assert (in_xml.status, xml_errors(in_xml)) == (422, [message])
    after = writer.get("/contacts").json()
    assert after == before
    assert (after["total_count"], after["contacts"][0]["version"]) == (1, 1)
    assert after["contacts"][0]["custom_fields"] == [{"id": 2, "name": "Seats", "value": "3"}]


def test_an_unknown_field_id_is_422(account_fields: dict[str, int], keys: Keys) -> None:
    writer = Client(keys.writer)
    reply = writer.post("/contacts", {"contact": {"first_name": "Ada", "custom_fields": [{"id": 99, "value": "x"}]}})
    assert (reply.status, errors(reply)) == (422, ["Custom field 99 does not exist"])
    # another account's field is unknown here
    stranger = Client(keys.stranger)
    assert (
        stranger.post("/contacts", {"first_name": "Ada", "custom_fields": [{"id": 1, "value": "Standard"}]}).status
        == 422
    )
    assert writer.get("/contacts").json()["total_count"] == 0


def test_a_required_field_needs_a_value(admin: Client, keys: Keys) -> None:
    writer = Client(keys.writer)
    early = writer.create(first_name="Early")  # made before the field was required
    field = define(admin, name="Region", field_format="string", is_required=True)
    missing = writer.post("/contacts", {"first_name": "Ada"})
    assert (missing.status, errors(missing)) == (422, ["Region cannot be blank"])
    made = writer.post("/contacts", {"first_name": "Ada", "custom_fields": [{"id": field["id"], "value": "EU"}]})
    assert made.status == 201, made.text
    contact_id = made.json()["contact"]["id"]
    cleared = writer.patch(f"/contacts/{contact_id}", {"custom_fields": [{"id": field["id"], "value": ""}]})
    assert (cleared.status, errors(cleared)) == (422, ["Region cannot be blank"])
    # A change that does not touch the values is not held up by a field defined since.
    assert writer.patch(f"/contacts/{early['id']}", {"last_name": "Bird"}).status == 200
    assert writer.get(f"/contacts/{contact_id}").json()["contact"]["custom_fields"][0]["value"] == "EU"


def test_values_merge_by_id_and_a_blank_one_clears_it(account_fields: dict[str, int], keys: Keys) -> None:
    writer = Client(keys.writer)
    first = [{"id": 2, "value": "3"}, {"id": 5, "value": "Acme"}]
    created = writer.create(first_name="Ada", custom_fields=first)
    reply = writer.patch(
        f"/contacts/{created['id']}", {"custom_fields": [{"id": 2, "value": "4"}, {"id": 5, "value": None}]}
    )
    assert reply.status == 200, reply.text
    assert reply.json()["contact"]["custom_fields"] == [{"id": 2, "name": "Seats", "value": "4"}]
    assert reply.json()["contact"]["version"] == 2
    changes = writer.get(f"/contacts/{created['id']}/history").json()["history"][0]["changes"]
    assert [change["field"] for change in changes] == ["custom_fields"]


def test_deleting_a_definition_hides_its_values(account_fields: dict[str, int], admin: Client, keys: Keys) -> None:
    writer = Client(keys.writer)
    created = writer.create(first_name="Ada", custom_fields=[{"id": 1, "value": "Standard"}, {"id": 2, "value": "3"}])
    assert admin.delete(path(1)).status == 204
    shown = writer.get(f"/contacts/{created['id']}").json()["contact"]["custom_fields"]
    assert shown == [{"id": 2, "name": "Seats", "value": "3"}]
    assert writer.get("/contacts").json()["contacts"][0]["custom_fields"] == shown


# --- the values contacts carry (unit tests, no store) -------------------------------------------------


def definition(field_id: int, name: str, field_format: str, **extra: Any) -> CustomFieldItem:
    return CustomFieldItem(
        account_pk("acme"),
        custom_field_sk(field_id),
        id=field_id,
        name=name,
        field_format=field_format,
        possible_values=extra.get("possible_values"),
        is_required=extra.get("is_required", False),
        created_at="2030-01-01T00:00:00+00:00",
        updated_at="2030-01-01T00:00:00+00:00",
    )


DEFS = {
    1: definition(1, "License", "list", possible_values=["Standard", "Professional"]),
    2: definition(2, "Seats", "integer"),
    3: definition(3, "Purchase date", "date"),
    4: definition(4, "Renews", "boolean"),
    5: definition(5, "Reseller", "string"),
}


def given(*pairs: tuple[int, Any]) -> list[dict[str, Any]]:
    return [{"id": field_id, "name": None, "value": value} for field_id, value in pairs]


def refused(defs: dict[int, Any], values: list[dict[str, Any]], current: list[dict[str, Any]] | None) -> list[str]:
    with pytest.raises(Unprocessable) as error:
        custom_values.check_values(defs, values, current)
    return error.value.messages


@pytest.mark.parametrize(
    ("field_id", "value", "stored"),
    [
        (1, "Standard", "Standard"),
        (1, " professional ", "Professional"),  # matched whatever the case, stored as defined
        (2, "12", "12"),
        (2, " 007", "7"),
        (2, "-3", "-3"),
        (2, 42, "42"),
        (3, "2024-02-29", "2024-02-29"),
        (3, " 1815-12-10 ", "1815-12-10"),
        (4, "true", "1"),
        (4, "TRUE", "1"),
        (4, "1", "1"),
        (4, True, "1"),
        (4, "false", "0"),
        (4, "0", "0"),
        (4, False, "0"),
        (5, "  Acme, Inc.  ", "  Acme, Inc.  "),
        (5, "x" * 255, "x" * 255),
    ],
)
def test_each_format_stores_its_canonical_form(field_id: int, value: Any, stored: str) -> None:
    assert custom_values.check_values(DEFS, given((field_id, value)), None) == [{"id": field_id, "value": stored}]


@pytest.mark.parametrize(
    ("field_id", "value", "message"),
    [
        (1, "Enterprise", "License is not one of its possible values"),
        (2, "12.5", "Seats must be a whole number"),
        (2, "1e3", "Seats must be a whole number"),
        (2, "twelve", "Seats must be a whole number"),
        (2, "+5", "Seats must be a whole number"),
        (3, "2023-02-29", "Purchase date is not a valid date (YYYY-MM-DD)"),
        (3, "20240101", "Purchase date is not a valid date (YYYY-MM-DD)"),
        (3, "10/12/1815", "Purchase date is not a valid date (YYYY-MM-DD)"),
        (3, "2024-01-01T10:00:00", "Purchase date is not a valid date (YYYY-MM-DD)"),
        (4, "yes", "Renews must be true or false"),
        (4, "2", "Renews must be true or false"),
        (5, "x" * 256, "Reseller must be text of at most 255 characters"),
        (5, "bell\x07", "Reseller must be text of at most 255 characters"),
    ],
)
def test_each_format_refuses_what_is_not_of_it(field_id: int, value: Any, message: str) -> None:
    assert refused(DEFS, given((field_id, value)), None) == [message]


def test_values_merge_by_id_onto_what_the_contact_has() -> None:
    current = [{"id": 1, "value": "Standard"}, {"id": 3, "value": "2020-01-01"}]
    merged = custom_values.check_values(DEFS, given((2, "5"), (1, "Professional")), current)
    assert merged == [{"id": 1, "value": "Professional"}, {"id": 2, "value": "5"}, {"id": 3, "value": "2020-01-01"}]
    assert custom_values.check_values(DEFS, [], current) == current
    assert custom_values.check_values(DEFS, [], None) == []
    # the last of two values for one id wins; the name sent beside an id is not used
    twice = [{"id": 5, "name": "Whatever", "value": "a"}, {"id": 5, "name": None, "value": "b"}]
    assert custom_values.check_values(DEFS, twice, None) == [{"id": 5, "value": "b"}]


def test_stored_records_with_names_or_without_values_are_read_as_values() -> None:
    # what a contact stored as plain records: a name beside each, and an empty value
    current = [{"id": 5, "name": "Reseller", "value": "Acme"}, {"id": 2, "name": "Seats", "value": None}]
    assert custom_values.check_values(DEFS, [], current) == [{"id": 5, "value": "Acme"}]
    assert views.custom_values(DEFS, current) == [{"id": 5, "name": "Reseller", "value": "Acme"}]


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_a_null_or_blank_value_removes_the_fields_value(blank: Any) -> None:
    current = [{"id": 1, "value": "Standard"}, {"id": 2, "value": "5"}]
    assert custom_values.check_values(DEFS, given((1, blank)), current) == [{"id": 2, "value": "5"}]
    assert custom_values.check_values(DEFS, given((4, blank)), None) == []  # nothing to remove: fine


def test_an_unknown_id_is_refused_by_number() -> None:
    assert refused(DEFS, given((7, "x")), None) == ["Custom field 7 does not exist"]
    assert refused(DEFS, given((7, None)), None) == ["Custom field 7 does not exist"]


def test_a_required_field_needs_a_value_on_create_and_after_every_update() -> None:
    defs = {**DEFS, 6: definition(6, "Account manager", "string", is_required=True)}
    assert refused(defs, [], None) == ["Account manager cannot be blank"]
    assert refused(defs, given((5, "x")), None) == ["Account manager cannot be blank"]
    assert custom_values.check_values(defs, given((6, "Ada")), None) == [{"id": 6, "value": "Ada"}]
    current = [{"id": 6, "value": "Ada"}]
    assert custom_values.check_values(defs, given((2, "1")), current) == [
        {"id": 2, "value": "1"},
        {"id": 6, "value": "Ada"},
    ]
    assert refused(defs, given((6, "")), current) == ["Account manager cannot be blank"]
    # a required boolean may be false
    flag = {8: definition(8, "Consent", "boolean", is_required=True)}
    assert custom_values.check_values(flag, given((8, "false")), None) == [{"id": 8, "value": "0"}]


def test_every_message_comes_at_once() -> None:
    defs = {**DEFS, 6: definition(6, "Account manager", "string", is_required=True)}
    messages = refused(defs, given((2, "many"), (9, "x"), (3, "soon"), (2, "lots")), None)
    assert messages == [
        "Seats must be a whole number",
        "Custom field 9 does not exist",
        "Purchase date is not a valid date (YYYY-MM-DD)",
        "Account manager cannot be blank",
    ]


def test_values_of_a_deleted_definition_are_kept_but_not_shown() -> None:
    current = [{"id": 1, "value": "Standard"}, {"id": 12, "value": "old"}]
    without_12 = dict(DEFS)
    merged = custom_values.check_values(without_12, given((2, "3")), current)
    assert merged == [{"id": 1, "value": "Standard"}, {"id": 2, "value": "3"}, {"id": 12, "value": "old"}]
    assert views.custom_values(without_12, merged) == [
        {"id": 1, "name": "License", "value": "Standard"},
        {"id": 2, "name": "Seats", "value": "3"},
    ]
    assert views.custom_values(DEFS, None) == []
    assert views.custom_values({}, merged) == []


def test_views_are_plain_objects_in_json_and_attributes_in_xml() -> None:
    stored = [{"id": 2, "value": "3"}, {"id": 1, "value": "Pro & co"}]
    shown_values = views.custom_values(DEFS, stored)
    assert [v["id"] for v in shown_values] == [1, 2]  # sorted by id
    document = json.loads(render.one("json", "contact", {"custom_fields": shown_values}))
    assert document == {
        "contact": {
            "custom_fields": [
                {"id": 1, "name": "License", "value": "Pro & co"},
                {"id": 2, "name": "Seats", "value": "3"},
            ]
        }
    }
    text = render.one("xml", "contact", {"first_name": "Ada", "custom_fields": shown_values})
    assert '<custom_fields type="array">' in text
    assert '<custom_field id="1" name="License">\n      <value>Pro &amp; co</value>\n    </custom_field>' in text
    assert '<custom_field id="2" name="Seats">' in text
    # what a client sends back of it is read as the contact's custom_fields, and checks out
    _, fields = xml.loads(text.encode(), 8)
    assert fields["custom_fields"] == [
        {"id": "1", "name": "License", "value": "Pro & co"},
        {"id": "2", "name": "Seats", "value": "3"},
    ]
    coerced = contact_changes(fields)["custom_fields"]
    assert coerced == [
        {"id": 1, "name": "License", "value": "Pro & co"},
        {"id": 2, "name": "Seats", "value": "3"},
    ]
    pro = {**DEFS, 1: definition(1, "License", "list", possible_values=["Pro & co"])}
    assert custom_values.check_values(pro, coerced, None) == [{"id": 1, "value": "Pro & co"}, {"id": 2, "value": "3"}]


# --- concurrent writers (DynamoDB Local) ---------------------------------------------------------------

ADMIN = Principal("race", 9, frozenset(granted_scopes("admin")), "race.admin")


def test_concurrent_creates_of_one_name_have_one_winner(race_table: None) -> None:
    def create(n: int) -> Any:
        return custom_fields.create(ADMIN, {"name": "Tier" if n % 2 else "TIER", "field_format": "string"})

    results = all_at_once(20, create)
    won = [r for r in results if not isinstance(r, ApiError)]
    lost = [r for r in results if isinstance(r, ApiError)]
    assert len(won) == 1
    assert {(type(r), r.messages[0].split(" (")[0]) for r in lost} == {(Unprocessable, "Name has already been taken")}
    assert list(custom_fields.definitions("race")) == [int(won[0].id)]
    assert custom_fields.listing(ADMIN, PageRequest(limit=100)).total_count == 1


def test_concurrent_creates_stop_at_the_cap(race_table: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(custom_fields, "MAX_FIELDS", 5)
    results = all_at_once(12, lambda n: custom_fields.create(ADMIN, {"name": f"F{n}", "field_format": "string"}))
    assert sum(not isinstance(r, ApiError) for r in results) == 5
    assert [r.messages for r in results if isinstance(r, ApiError)] == [["An account has at most 5 custom fields"]] * 7
    assert len(custom_fields.definitions("race")) == 5
    assert custom_fields.listing(ADMIN, PageRequest(limit=100)).total_count == 5


def test_concurrent_renames_never_share_a_name(race_table: None) -> None:
    for n in range(6):
        custom_fields.create(ADMIN, {"name": f"F{n}", "field_format": "string"})
    results = all_at_once(6, lambda n: custom_fields.update(ADMIN, n + 1, {"name": "shared"}))
    assert sum(not isinstance(r, ApiError) for r in results) == 1
    names = sorted(
        folded for folded in (custom_fields.folded(i.name) for i in custom_fields.definitions("race").values())
    )
    assert names.count("shared") == 1
    assert len(set(names)) == 6


def test_concurrent_changes_to_one_field_are_all_kept(race_table: None) -> None:
    field_id = int(custom_fields.create(ADMIN, {**LICENSE}).id)
    bodies = [{"is_required": True}, {"name": "Licence"}, {"possible_values": ["Gold", "Silver"]}]
    results = all_at_once(3, lambda n: custom_fields.update(ADMIN, field_id, bodies[n]))
    assert not any(isinstance(r, ApiError) for r in results)
    item = custom_fields.get(ADMIN, field_id)
    assert (item.name, item.is_required, item.possible_values, int(item.version)) == (
        "Licence",
        True,
        ["Gold", "Silver"],
        4,
    )


def test_a_container_reads_the_definitions_again_only_when_one_changed(
    account_fields: dict[str, int], admin: Client, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = Client(keys.writer)
    created = writer.create(first_name="Ada", custom_fields=[{"id": account_fields["Seats"], "value": "3"}])
    queried, real = [], custom_fields.CustomFieldItem.query

    def query(*args: Any, **kwargs: Any) -> Any:
        queried.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(custom_fields.CustomFieldItem, "query", query)
    for _ in range(3):
        assert writer.get(f"/contacts/{created['id']}").json()["contact"]["custom_fields"][0]["name"] == "Seats"
    assert len(queried) <= 1  # read once (if this container had not yet), then its copy
    before = len(queried)
    assert admin.patch(path(account_fields["Seats"]), {"custom_field": {"name": "Licences"}}).status == 200
    shown = writer.get(f"/contacts/{created['id']}").json()["contact"]["custom_fields"]
    assert shown == [{"id": account_fields["Seats"], "name": "Licences", "value": "3"}]
    assert len(queried) == before + 1
