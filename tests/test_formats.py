"""Unit tests of the formats and inputs: negotiation, Rails-style XML, bodies, fields, paging.

No store is needed: these call crm's functions directly.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from crm import validation as model
from crm.config import settings
from crm.errors import BadRequest, NotAcceptable, PayloadTooLarge, Unprocessable, UnsupportedMediaType
from crm.http import body, negotiation, render, xml
from crm.http.dialects import contact_body, minimal
from crm.http.xml import Nil
from crm.paging import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET, PageRequest, fingerprint, page_request, seal

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def contact_changes(body: dict[str, Any], current: dict[str, Any] | None = None) -> dict[str, Any]:
    """A body in any dialect as the API checks an update's: read at the edge, then by the model."""
    return model.contact_changes(contact_body(body, creating=False), current)


def messages(error: pytest.ExceptionInfo[Any]) -> list[str]:
    return error.value.messages


# --- negotiation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/contacts/16.xml", ("/contacts/16", "xml")),
        ("/contacts/16.json", ("/contacts/16", "json")),
        ("/contacts/16.vcf", ("/contacts/16", "vcf")),
        ("/contacts.xml", ("/contacts", "xml")),
        ("/contacts/16/history.xml", ("/contacts/16/history", "xml")),
        ("/contacts/16", ("/contacts/16", None)),
        ("/contacts/16.csv", ("/contacts/16.csv", None)),
        ("/contacts/.xml", ("/contacts/.xml", None)),
        ("/contacts.xml/16", ("/contacts.xml/16", None)),
        ("/", ("/", None)),
    ],
)
def test_split_suffix(path: str, expected: tuple[str, str | None]) -> None:
    assert negotiation.split_suffix(path) == expected


@pytest.mark.parametrize(
    ("suffix", "format_param", "accept", "expected"),
    [
        ("xml", "json", "application/json", "xml"),
        ("json", "xml", "application/xml", "json"),
        (None, "xml", "application/json", "xml"),
        (None, " JSON ", "application/xml", "json"),
        (None, None, "application/xml", "xml"),
        (None, None, "text/xml", "xml"),
        (None, None, "application/json", "json"),
        (None, None, "text/json", "json"),
        (None, None, "application/json;q=0.4, application/xml;q=0.6", "xml"),
        (None, None, "application/xml;q=0.4, application/json", "json"),
        (None, None, "application/json;q=0, application/xml", "xml"),
        (None, None, "text/html, application/xml", "xml"),
        (None, None, BROWSER_ACCEPT, "json"),
        (None, None, "*/*", "json"),
        (None, None, "application/*", "json"),
        (None, None, "text/*", "xml"),
        (None, None, "text/vcard", "vcf"),  # a card, where the operation offers one (Api.operation)
        (None, None, "text/x-vcard;q=0.9, application/json;q=0.5", "vcf"),
        ("vcf", None, "application/json", "vcf"),
        (None, None, "", "json"),
        (None, None, None, "json"),
        (None, "", None, "json"),
    ],
)
def test_choose(suffix: str | None, format_param: str | None, accept: str | None, expected: str) -> None:
    assert negotiation.choose(suffix, format_param, accept) == expected


@pytest.mark.parametrize(
    ("format_param", "accept"),
    [
        (None, "text/html"),
        (None, "image/png, text/csv"),
        (None, "application/json;q=0"),
        (None, "application/json;q=0, application/xml;q=0.0"),
        ("csv", "application/json"),
        ("html", None),
    ],
)
def test_choose_refuses_what_is_neither_json_nor_xml(format_param: str | None, accept: str | None) -> None:
    with pytest.raises(NotAcceptable) as error:
        negotiation.choose(None, format_param, accept)
    assert error.value.status == 406


def test_content_types_carry_charset() -> None:
    assert negotiation.CONTENT_TYPES == {
        "json": "application/json; charset=utf-8",
        "xml": "application/xml; charset=utf-8",
        "vcf": "text/vcard; charset=utf-8",
    }


# --- Rails-style XML ------------------------------------------------------------------------------


def test_dumps_dasherizes_and_types_values() -> None:
    document = xml.dumps(
        "contact",
        {
            "first_name": "Ada",
            "id": 16,
            "is_private": False,
            "birthday": date(1815, 12, 10),
            "created_at": datetime(2008, 5, 27, 23, 31, 18, tzinfo=UTC),
            "anniversary": Nil("date"),
            "preferred_email_index": Nil("integer"),
            "company": Nil(None),
            "title": "",
            "tags": ["math", "poetry"],
        },
    )
    assert document.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<contact>\n')
    for line in (
        "<first-name>Ada</first-name>",
        '<id type="integer">16</id>',
        '<is-private type="boolean">false</is-private>',
        '<birthday type="date">1815-12-10</birthday>',
        '<created-at type="datetime">2008-05-27T23:31:18+00:00</created-at>',
        '<anniversary type="date" nil="true"></anniversary>',
        '<preferred-email-index type="integer" nil="true"></preferred-email-index>',
        '<company nil="true"></company>',
        "<title></title>",
        '<tags type="array">',
        "<tag>math</tag>",
    ):
        assert line in document, line


def test_dumps_and_loads_round_trip() -> None:
    view = {
        "first_name": "Zoë",
        "id": 16,
        "is_private": True,
        "is_company": False,
        "birthday": date(1815, 12, 10),
        "anniversary": Nil("date"),
        "company": None,
        "title": "",
        "tags": ["vip", "cold call"],
        "project_ids": [],
        "custom_fields": [{"id": 1, "name": "License", "value": "ABC"}],
        "address": {"city": "Moscow", "floor": 3},
    }
    root, value = xml.loads(xml.dumps("contact", view).encode(), 8)
    assert root == "contact"
    assert value == {
        "first_name": "Zoë",
        "id": 16,
        "is_private": True,
        "is_company": False,
        "birthday": "1815-12-10",
        "anniversary": None,
        "company": None,
        "title": "",
        "tags": ["vip", "cold call"],
        "project_ids": [],
        "custom_fields": [{"id": 1, "name": "License", "value": "ABC"}],
        "address": {"city": "Moscow", "floor": 3},
    }


def test_attributed_records_are_attributes_in_xml_and_plain_in_json() -> None:
    values = [
        xml.Attributed({"id": 1, "name": "License", "value": "abc"}, ("id", "name")),
        xml.Attributed({"id": 3, "name": "Purchase date", "value": ""}, ("id", "name")),
        xml.Attributed({"id": 4, "name": None, "flag": True, "value": "x"}, ("id", "name", "flag")),
    ]
    document = xml.dumps("contact", {"first_name": "Ada", "custom_fields": values})
    assert (
        '<custom_fields type="array">\n'
        '    <custom_field id="1" name="License">\n      <value>abc</value>\n    </custom_field>\n'
        '    <custom_field id="3" name="Purchase date">\n      <value></value>\n    </custom_field>\n'
        '    <custom_field id="4" flag="true">\n      <value>x</value>\n    </custom_field>\n'
        "  </custom_fields>"
    ) in document
    # read back, attributes are fields (as text) and <value> is one
    root, value = xml.loads(document.encode(), 8)
    assert (root, value["first_name"]) == ("contact", "Ada")
    assert value["custom_fields"] == [
        {"id": "1", "name": "License", "value": "abc"},
        {"id": "3", "name": "Purchase date", "value": ""},
        {"id": "4", "flag": "true", "value": "x"},
    ]
    # the Redmine CRM document's own spelling reads the same
    redmine = (
        b'<custom_fields type="array">'
        b'<custom_field name="License" id="1"><value>abc</value></custom_field>'
        b"</custom_fields>"
    )
    assert xml.loads(redmine, 8)[1] == [{"name": "License", "id": "1", "value": "abc"}]
    # JSON sees plain objects
    assert json.loads(render.one("json", "contact", {"custom_fields": values[:1]})) == {
        "contact": {"custom_fields": [{"id": 1, "name": "License", "value": "abc"}]}
    }


def test_dumps_a_list_with_its_paging_attributes() -> None:
    document = xml.dumps(
        "contacts", [{"id": 1}, {"id": 2}], {"offset": 0, "total_count": 2, "next_cursor": None}, item="contact"
    )
    root, value = xml.loads(document.encode(), 8)
    assert '<contacts type="array" offset="0" total_count="2">' in document
    assert "next_cursor" not in document
    assert (root, value) == ("contacts", [{"id": 1}, {"id": 2}])


def test_errors_are_an_untyped_list() -> None:
    document = xml.dumps("errors", ["First name cannot be blank"], item="error", typed=False)
    assert "<errors>\n  <error>First name cannot be blank</error>\n</errors>" in document


def test_loads_accepts_underscored_names_attributes_and_repeats() -> None:
    data = b"""<contact>
      <first_name>Ada</first_name>
      <custom_fields type="array"><custom_field name="License" id="1">ABC</custom_field></custom_fields>
      <phone>1</phone><phone>2</phone>
      <x:title xmlns:x="urn:example">Ms</x:title>
      <assigned-to-id type="integer">-5</assigned-to-id>
      <preferred-email-index type="integer">two</preferred-email-index>
      <is-company type="boolean">TRUE</is-company>
      <is-private type="boolean">true</is-private>
    </contact>"""
    root, value = xml.loads(data, 8)
    assert root == "contact"
    assert value == {
        "first_name": "Ada",
        "custom_fields": [{"name": "License", "id": "1", "value": "ABC"}],
        "phone": ["1", "2"],
        "title": "Ms",
        "assigned_to_id": -5,
        "preferred_email_index": "two",  # left as text: the field check refuses it
        "is_company": "TRUE",
        "is_private": True,
    }


def test_loads_nil_wins_over_type_and_text() -> None:
    _, value = xml.loads(b'<c><a type="date" nil="true">2020-01-01</a><b nil="true"/><d/></c>', 8)
    assert value == {"a": None, "b": None, "d": ""}


def nested(levels: int) -> bytes:
    return ("<a>" * levels + "x" + "</a>" * levels).encode()


def test_loads_caps_the_depth() -> None:
    assert xml.loads(nested(8), 8)[0] == "a"
    with pytest.raises(BadRequest) as error:
        xml.loads(nested(9), 8)
    assert messages(error) == ["XML is nested more than 8 levels deep"]


@pytest.mark.parametrize(
    "document",
    [
        b"<!DOCTYPE contact><contact/>",
        b'<!DOCTYPE contact SYSTEM "file:///etc/passwd"><contact/>',
        b'<!DOCTYPE c [<!ENTITY x "y">]><c>&x;</c>',
        b'<!DOCTYPE c [<!ENTITY x SYSTEM "file:///etc/passwd">]><c>&x;</c>',
        b'<!DOCTYPE c [<!ENTITY % x SYSTEM "http://127.0.0.1:9/x.dtd"> %x;]><c/>',
        b'<!DOCTYPE c [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><c>&b;</c>',
    ],
)
def test_loads_refuses_dtds_and_entities(document: bytes) -> None:
    with pytest.raises(BadRequest) as error:
        xml.loads(document, 8)
    assert messages(error) == ["XML with a DTD, entities or external references is not accepted"]


@pytest.mark.parametrize("document", [b"<a>", b"<a></b>", b"not xml", b"<a>&undefined;</a>", b"<a>&#0;</a>"])
def test_loads_refuses_malformed_xml(document: bytes) -> None:
    with pytest.raises(BadRequest) as error:
        xml.loads(document, 8)
    assert messages(error)[0].startswith("Malformed XML")


def test_singular_and_dasherize() -> None:
    assert [xml.singular(n) for n in ("contacts", "notes", "entries", "history", "tags")] == [
        "contact",
        "note",
        "entry",
        "history",
        "tag",
    ]
    assert xml.dasherize("email_address_2") == "email-address-2"
    assert xml.underscore("{urn:x}email-address-2") == "email_address_2"


# --- request bodies ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "text/json", "application/ld+json", "Application/JSON"],
)
def test_parse_json(content_type: str) -> None:
    assert body.parse('{"contact": {"first_name": "Ada"}}', False, content_type) == (
        None,
        {"contact": {"first_name": "Ada"}},
    )


@pytest.mark.parametrize("content_type", ["application/xml", "text/xml; charset=utf-8", "application/atom+xml"])
def test_parse_xml(content_type: str) -> None:
    assert body.parse("<contact><first-name>Ada</first-name></contact>", False, content_type) == (
        "contact",
        {"first_name": "Ada"},
    )


def test_parse_xml_lone_element() -> None:
    assert body.parse("<first_name>Ada</first_name>", False, "application/xml") == (None, {"first_name": "Ada"})


def test_parse_form_nesting() -> None:
    form = (
        "contact[first_name]=Ren%C3%A9e&contact[last_name]=O%27Hara+Smith"
        "&contact[custom_fields][][id]=1&contact[custom_fields][][value]=x"
        "&contact[custom_fields][][id]=3&contact[custom_fields][][value]="
        "&contact[tags][]=vip&contact[tags][]=cold+call"
        "&contact[address_attributes][city]=Moscow&key=abc"
    )
    assert body.parse(form, False, "application/x-www-form-urlencoded; charset=UTF-8") == (
        None,
        {
            "contact": {
                "first_name": "Renée",
                "last_name": "O'Hara Smith",
                "custom_fields": [{"id": "1", "value": "x"}, {"id": "3", "value": ""}],
                "tags": ["vip", "cold call"],
                "address_attributes": {"city": "Moscow"},
            },
            "key": "abc",
        },
    )


@pytest.mark.parametrize(
    "form",
    [
        "contact[a]=1&contact[a][b]=2",
        "contact[]=1&contact[x]=2",
        "a[b][]=1&a[b][c]=2",
        # Either order of a list and a text of one name (it was the text's, the last, one way round).
        "contact[tags]=a&contact[tags][]=b",
        "contact[tags][]=b&contact[tags]=a",
        "contact[a][b]=1&contact[a]=2",
    ],
)
def test_parse_form_refuses_conflicting_shapes(form: str) -> None:
    with pytest.raises(BadRequest) as error:
        body.parse(form, False, body.FORM)
    assert "Malformed form field" in messages(error)[0]


def test_parse_base64_bodies() -> None:
    encoded = base64.b64encode(b'{"first_name": "Ada"}').decode()
    assert body.parse(encoded, True, "application/json") == (None, {"first_name": "Ada"})
    latin1 = base64.b64encode('<?xml version="1.0" encoding="ISO-8859-1"?><c><n>Renée</n></c>'.encode("latin-1"))
    assert body.parse(latin1.decode(), True, "application/xml") == ("c", {"n": "Renée"})
    with pytest.raises(BadRequest) as error:
        body.parse("not base64!", True, "application/json")
    assert messages(error) == ["Body is not valid base64"]
    not_utf8 = base64.b64encode('{"first_name": "Renée"}'.encode("latin-1")).decode()
    with pytest.raises(BadRequest) as error:
        body.parse(not_utf8, True, "application/json")
    assert messages(error)[0].startswith("Malformed JSON")


def test_parse_caps_the_size_before_parsing() -> None:
    limit = settings.max_body_bytes
    assert limit == 128 * 1024
    padding = " " * (limit - len('{"a": 1}'))
    assert body.parse('{"a": 1}' + padding, False, "application/json") == (None, {"a": 1})
    with pytest.raises(PayloadTooLarge) as error:
        body.parse('{"a": 1}' + padding + " ", False, "application/json")
    assert error.value.status == 413
    # the cap holds before the content type is looked at, and for base64 bodies by their decoded size
    with pytest.raises(PayloadTooLarge):
        body.parse("x" * (limit + 1), False, "text/plain")
    with pytest.raises(PayloadTooLarge):
        body.parse(base64.b64encode(b"{" * (limit + 1)).decode(), True, "application/json")
    # multi-byte characters count as bytes
    with pytest.raises(PayloadTooLarge):
        body.parse("é" * (limit // 2 + 1), False, "application/json")


@pytest.mark.parametrize("content_type", ["text/plain", "multipart/form-data; boundary=x", "application/octet-stream"])
def test_parse_refuses_other_media_types(content_type: str) -> None:
    with pytest.raises(UnsupportedMediaType) as error:
        body.parse('{"first_name": "Ada"}', False, content_type)
    assert error.value.status == 415


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"first_name": "Ada"}', (None, {"first_name": "Ada"})),
        ("<contact><first-name>Ada</first-name></contact>", ("contact", {"first_name": "Ada"})),
        ("  \n <contact><id type='integer'>3</id></contact>", ("contact", {"id": 3})),
    ],
)
def test_parse_sniffs_a_missing_content_type(text: str, expected: tuple[str | None, dict[str, Any]]) -> None:
    assert body.parse(text, False, None) == expected


def test_parse_without_content_type_still_refuses_garbage() -> None:
    with pytest.raises(BadRequest):
        body.parse("first_name=Ada", False, None)


@pytest.mark.parametrize("empty", [None, "", "   \n"])
def test_parse_empty_body(empty: str | None) -> None:
    assert body.parse(empty, False, "application/json") == (None, {})


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('{"first_name": "Ada"', "Malformed JSON"),
        ('["Ada"]', "The JSON body must be an object"),
        ('"Ada"', "The JSON body must be an object"),
        ('{"a": ' * 9 + "1" + "}" * 9, "nested more than 8 levels"),
        ('{"a": ' * 5000 + "1" + "}" * 5000, ""),
    ],
)
def test_parse_refuses_bad_json(text: str, fragment: str) -> None:
    with pytest.raises(BadRequest) as error:
        body.parse(text, False, "application/json")
    assert fragment in messages(error)[0]


@pytest.mark.parametrize("text", ['{"first_name": NaN}', '{"first_name": Infinity}', '{"a": -Infinity}'])
def test_parse_refuses_non_json_numbers(text: str) -> None:
    with pytest.raises(BadRequest) as error:
        body.parse(text, False, "application/json")
    assert messages(error)[0].startswith("Malformed JSON")


def test_parse_caps_form_depth() -> None:
    with pytest.raises(BadRequest) as error:
        body.parse("a" + "[b]" * 8 + "=1", False, body.FORM)
    assert messages(error) == ["Body is nested more than 8 levels deep"]


# --- contact fields ---------------------------------------------------------------------------------

STORED = {
    "id": 5,
    "user_id": 1,
    "created_at": "2024-01-02T03:04:05+00:00",
    "updated_at": "2024-01-03T03:04:05+00:00",
    "version": 2,
    "first_name": "Ada",
    "last_action_at": None,
}


def test_changes_of_a_plain_body() -> None:
    assert contact_changes({"first_name": "Ada", "last_name": "Lovelace", "anniversary": None}) == {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "anniversary": None,
    }


def test_aliases() -> None:
    changes = contact_changes(
        {
            "first_name": "John",
            "email": "a@example.com, b@example.com ,c@example.com",
            "phone": "111,222, 333",
            "website": "example.com",
            "tag_list": "vip, cold call,,vip",
            "project_id": 7,
            "project_ids": ["1"],
            "visibility": "2",
            "address_attributes": {
                "street1": "12, Street",
                "street2": "2nd floor",
                "city": "Moscow",
                "region": "MOW",
                "postcode": "101000",
                "country_code": "RU",
            },
        }
    )
    assert changes == {
        "first_name": "John",
        "email_address": "a@example.com",
        "email_address_2": "b@example.com",
        "email_address_3": "c@example.com",
        "business_phone": "111",
        "mobile_phone": "222",
        "home_phone": "333",
        "url": "example.com",
        "tags": ["vip", "cold call"],
        "project_ids": ["1", "7"],
        "is_private": True,
        "business_street": "12, Street",
        "business_street_2": "2nd floor",
        "business_city": "Moscow",
        "business_state": "MOW",
        "business_postal_code": "101000",
        "business_country": "RU",
    }


def test_a_single_email_or_phone_fills_only_the_first() -> None:
    assert contact_changes({"first_name": "A", "email": "a@example.com", "phone": 1234567890}) == {
        "first_name": "A",
        "email_address": "a@example.com",
        "business_phone": "1234567890",
    }


@pytest.mark.parametrize(("visibility", "private"), [("0", False), ("1", False), ("2", True), (2, True), (" 2 ", True)])
def test_visibility(visibility: Any, private: bool) -> None:
    assert contact_changes({"first_name": "A", "visibility": visibility})["is_private"] is private


def test_our_names_win_over_aliases() -> None:
    changes = contact_changes({"first_name": "A", "email": "x@example.com", "email_address": "y@example.com"})
    assert changes["email_address"] == "y@example.com"


@pytest.mark.parametrize(
    ("field", "given", "stored"),
    [
        ("is_company", "true", True),
        ("is_company", "1", True),
        ("is_company", " FALSE ", False),
        ("is_company", 0, False),
        ("is_company", "", None),
        ("assigned_to_id", "42", 42),
        ("assigned_to_id", " 7 ", 7),
        ("assigned_to_id", "", None),
        ("birthday", " 1815-12-10 ", "1815-12-10"),
        ("birthday", None, None),
        ("tags", "b, a, b", ["b", "a"]),
        ("tags", ["x", 5], ["x", "5"]),
        ("project_ids", 3, ["3"]),
        ("business_phone", 1234567890, "1234567890"),
        ("custom_fields", {"id": "2", "value": True}, [{"id": 2, "name": None, "value": "true"}]),
        ("custom_fields", [{"id": 1, "name": "License", "value": 12}], [{"id": 1, "name": "License", "value": "12"}]),
    ],
)
def test_coercion(field: str, given: Any, stored: Any) -> None:
    assert contact_changes({"first_name": "A", field: given})[field] == stored


def test_datetimes_are_normalised_to_utc() -> None:
    current = {**STORED, "last_action_at": "2024-01-01T10:00:00+00:00"}
    # a read-only datetime sent back in another zone is the same instant: accepted
    assert contact_changes({"last_action_at": "2024-01-01T12:00:00+02:00"}, current) == {}
    assert contact_changes({"created_at": "2024-01-02T03:04:05Z"}, current) == {}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"first_name": "A", "shoe_size": 9, "colour": "red"}, ["Unknown fields: colour, shoe_size"]),
        ({"last_name": "B"}, ["First name cannot be blank"]),
        ({"first_name": "  "}, ["First name cannot be blank"]),
        ({"first_name": None}, ["First name cannot be blank"]),
        ({"first_name": True}, ["First name must be text", "First name cannot be blank"]),
        ({"first_name": "A", "email_address": "nope"}, ["Email address is not a valid email address"]),
        ({"first_name": "A", "email_address_2": "a b@c"}, ["Email address 2 is not a valid email address"]),
        ({"first_name": "A", "birthday": "10/12/1815"}, ["Birthday is not a valid date (YYYY-MM-DD)"]),
        ({"first_name": "A", "birthday": 18151210}, ["Birthday is not a valid date (YYYY-MM-DD)"]),
        ({"first_name": "A", "is_company": "maybe"}, ["Is company must be true or false"]),
        ({"first_name": "A", "assigned_to_id": -1}, ["Assigned to id must be a whole number from 0"]),
        ({"first_name": "A", "assigned_to_id": 1.5}, ["Assigned to id must be a whole number from 0"]),
        ({"first_name": "A", "assigned_to_id": True}, ["Assigned to id must be a whole number from 0"]),
        ({"first_name": "A", "assigned_to_id": 2**53 + 1}, ["Assigned to id must be a whole number from 0"]),
        ({"first_name": "A" * 256}, ["First name is too long (at most 255 characters)"]),
        ({"first_name": "A", "background": "b" * 32_001}, ["Background is too long (at most 32000 characters)"]),
        ({"first_name": "A\x00"}, ["First name contains control characters or non-characters (U+FFFE, U+FFFF)"]),
        (
            {"first_name": "A", "tags": [str(n) for n in range(51)]},
            ["Tags takes at most 50 values of at most 64 characters"],
        ),
        ({"first_name": "A", "tags": {"a": 1}}, ["Tags must be a list of text values"]),
        ({"first_name": "A", "custom_fields": [{"value": "x"}]}, ["Custom fields entries need an id"]),
        ({"first_name": "A", "custom_fields": [{"id": 1, "value": ["x"]}]}, ["Custom fields values must be text"]),
        ({"first_name": "A", "visibility": "3"}, ["Visibility must be 0 (project), 1 (public) or 2 (private)"]),
        ({"first_name": "A", "address_attributes": "Moscow"}, ["Address attributes must be an object"]),
        ({"first_name": "A", "address_attributes": {"zip": "1"}}, ["Unknown address attributes: zip"]),
        ({"first_name": "A", "id": 5}, ["Id is read-only"]),
        ({"first_name": "A", "notes": "text"}, ["Notes are added with POST /contacts/{id}/notes"]),
        (
            {"first_name": "", "email_address": "x", "shoe": 1},
            ["Unknown fields: shoe", "Email address is not a valid email address", "First name cannot be blank"],
        ),
    ],
)
def test_errors_name_the_field(body: dict[str, Any], expected: list[str]) -> None:
    with pytest.raises(Unprocessable) as error:
        contact_changes(body)
    assert error.value.status == 422
    assert messages(error) == expected


@pytest.mark.parametrize(
    ("name", "other"),
    [
        ("id", 6),
        ("user_id", 2),
        ("created_at", "2020-01-01T00:00:00+00:00"),
        ("updated_at", "2020-01-01T00:00:00+00:00"),
        ("last_action_at", "2020-01-01T00:00:00+00:00"),
    ],
)
def test_read_only_fields(name: str, other: Any) -> None:
    assert contact_changes({name: STORED[name], "last_name": "B"}, STORED) == {"last_name": "B"}
    with pytest.raises(Unprocessable) as error:
        contact_changes({name: other}, STORED)
    label = name.replace("_", " ").capitalize()
    assert messages(error) == [f"{label} is read-only"]


def test_update_needs_no_first_name_but_refuses_clearing_it() -> None:
    assert contact_changes({"last_name": "B"}, STORED) == {"last_name": "B"}
    with pytest.raises(Unprocessable):
        contact_changes({"first_name": ""}, STORED)


def test_version_and_echoed_notes_are_not_changes() -> None:
    assert contact_changes({"version": 2, "notes": [{"id": 1}], "last_name": "B"}, STORED) == {"last_name": "B"}


def test_the_minimal_apis_edit_body() -> None:
    assert minimal.edit({"contact_id": 5, "update_fields": {"email": "a@example.com"}}) == (
        "5",
        {"email": "a@example.com"},
    )
    assert minimal.edit({"contactID": "12", "updateFields": {"phone": 1}}) == ("12", {"phone": 1})
    assert minimal.edit({"first_name": "Ada"}) is None
    assert minimal.edit({"contact_id": 5}) is None
    assert minimal.edit({"update_fields": {}}) is None
    with pytest.raises(Unprocessable) as error:
        minimal.edit({"contact_id": 5, "update_fields": ["email"]})
    assert messages(error) == ["update_fields must be an object"]


# --- paging ----------------------------------------------------------------------------------------

FP = fingerprint("acme", "/contacts", {})


def test_page_request_defaults() -> None:
    assert page_request({}, FP) == PageRequest(limit=DEFAULT_LIMIT, offset=0, after=None, fingerprint=FP)
    assert (DEFAULT_LIMIT, MAX_LIMIT) == (20, 100)


@pytest.mark.parametrize(
    ("query", "limit", "offset"),
    [
        ({"limit": "1"}, 1, 0),
        ({"limit": "100"}, 100, 0),
        ({"limit": ""}, 20, 0),
        ({"offset": "7"}, 20, 7),
        ({"offset": str(MAX_OFFSET)}, 20, MAX_OFFSET),
        ({"page": "1"}, 20, 0),
        ({"page": "2", "limit": "2"}, 2, 2),
        ({"page": "3"}, 20, 40),
    ],
)
def test_page_request_bounds(query: dict[str, str], limit: int, offset: int) -> None:
    page = page_request(query, FP)
    assert (page.limit, page.offset, page.after) == (limit, offset, None)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"limit": "0"}, "limit must be a whole number of at least 1"),
        ({"limit": "abc"}, "limit must be a whole number of at least 1"),
        ({"limit": "-5"}, "limit must be a whole number of at least 1"),
        ({"limit": "2.5"}, "limit must be a whole number of at least 1"),
        ({"offset": "-1"}, "offset must be a whole number from 0 to 10000"),
        ({"offset": str(MAX_OFFSET + 1)}, "offset must be a whole number from 0 to 10000"),
        ({"page": "0"}, "page must be a whole number of at least 1"),
        ({"page": "502"}, "page must be a whole number from 1 to 501"),
        ({"page": "0", "offset": "3"}, "page must be a whole number of at least 1"),
        ({"cursor": "x", "page": "2"}, "cursor is invalid for this query; start again without it"),
    ],
)
def test_page_request_refuses(query: dict[str, str], message: str) -> None:
    with pytest.raises(BadRequest) as error:
        page_request(query, FP)
    assert messages(error) == [message]


@pytest.mark.parametrize("name", ["limit", "offset", "page"])
@pytest.mark.parametrize("value", ["\u00b2", "9" * 5000], ids=["superscript two", "5000 digits"])
def test_page_request_refuses_odd_digits_with_400(name: str, value: str) -> None:
    with pytest.raises(BadRequest) as error:
        page_request({name: value}, FP)
    assert messages(error)[0].startswith(f"{name} must be a whole number")


def test_cursor_round_trip() -> None:
    cursor = seal(FP, 40, "C#0000000040")
    page = page_request({"cursor": cursor, "limit": "10"}, FP)
    assert page == PageRequest(limit=10, offset=40, after="C#0000000040", fingerprint=FP)
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def _refused(cursor: str, fp: str = FP) -> None:
    with pytest.raises(BadRequest) as error:
        page_request({"cursor": cursor}, fp)
    assert messages(error) == ["cursor is invalid for this query; start again without it"]


def test_cursor_of_another_query_or_account_is_refused() -> None:
    cursor = seal(FP, 20, "C#0000000020")
    _refused(cursor, fingerprint("globex", "/contacts", {}))
    _refused(cursor, fingerprint("acme", "/contacts/1/history", {}))
    _refused(cursor, fingerprint("acme", "/contacts", {"tags": "vip"}))


def test_tampered_cursors_are_refused() -> None:
    cursor = seal(FP, 20, "C#0000000020")
    payload, tag = cursor.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps({**data, "p": 0}).encode()).decode().rstrip("=")
    for bad in (
        f"{forged}.{tag}",
        f"{payload}.{tag[:-1]}{'A' if tag[-1] != 'A' else 'B'}",
        payload,
        f"{payload}.{tag}.x",
        "garbage",
        "é.é",
        ".",
    ):
        _refused(bad)


def test_fingerprint_ignores_paging_and_order_but_not_filters() -> None:
    base = fingerprint("acme", "/contacts", {"tags": "vip", "search": "ada"})
    assert base == fingerprint(
        "acme", "/contacts", {"search": "ada", "tags": "vip", "limit": "5", "cursor": "c", "format": "xml"}
    )
    assert base != fingerprint("acme", "/contacts", {"tags": "vip", "search": "bob"})
    assert base != fingerprint("acme", "/contacts", {"tags": "vip"})
    assert base != fingerprint("globex", "/contacts", {"tags": "vip", "search": "ada"})
