"""JSON and XML files read as contact bodies (crm.imports.documents), one contact at a time."""

from __future__ import annotations

import io
import json

import pytest

from crm.imports import documents
from crm.imports.documents import NotThisFormat, json_rows, xml_rows


def from_json(text: str) -> list[tuple[int, dict, str | None]]:
    return [(row.line, row.body, row.error) for row in json_rows(io.BytesIO(text.encode()))]


def from_xml(text: str) -> list[tuple[int, dict, str | None]]:
    return [(row.line, row.body, row.error) for row in xml_rows(io.BytesIO(text.encode()))]


def test_an_array_flat_or_wrapped_and_the_apis_own_list() -> None:
    contacts = [{"first_name": "Ada"}, {"contact": {"first_name": "Grace", "tags": ["navy"]}}, 7]
    expected = [(1, {"first_name": "Ada"}, None), (2, {"first_name": "Grace", "tags": ["navy"]}, None)]
    expected.append((3, {}, "Contact 3 is not an object"))
    assert from_json(json.dumps(contacts)) == expected
    assert from_json(json.dumps({"contacts": contacts, "total_count": 3})) == expected
    assert from_json("\ufeff [ ] ") == []


def test_contacts_are_read_across_chunk_boundaries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(documents, "CHUNK", 7)  # every value straddles chunks, numbers too
    contacts = [{"first_name": f"N{i}", "assigned_to_id": 123456789 + i, "note": "é" * i} for i in range(30)]
    assert [body for _, body, _ in from_json(json.dumps(contacts))] == contacts


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("first_name,last_name\nAda,Lovelace\n", "Not a JSON array of contacts"),
        ('{"total_count": 1, "contacts": []}', 'A JSON object of contacts must start with its "contacts" key'),
        ('[{"first_name": "Ada"} {"first_name": "Bob"}]', "Not valid JSON after contact 1: expected ',' or ']'"),
        ('[{"first_name": "Ada"}, {"first_name": ', "Not valid JSON"),
    ],
)
def test_a_file_that_is_not_json_fails_with_a_message(text: str, message: str) -> None:
    with pytest.raises(NotThisFormat, match=message.replace("[", r"\[").replace("]", r"\]")):
        from_json(text)


def test_the_apis_xml_list_with_types_and_nils() -> None:
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<contacts type="array">\n'
        '  <contact><first-name>Ada</first-name><is-company type="boolean">false</is-company>'
        '<birthday type="date" nil="true"></birthday><tags type="array"><tag>vip</tag></tags></contact>\n'
        '  <contact><first_name>Grace</first_name><assigned-to-id type="integer">3</assigned-to-id></contact>\n'
        "</contacts>\n"
    )
    assert from_xml(text) == [
        (1, {"first_name": "Ada", "is_company": False, "birthday": None, "tags": ["vip"]}, None),
        (2, {"first_name": "Grace", "assigned_to_id": 3}, None),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<contact><first-name>Ada</first-name></contact>", "root must be <contacts"),
        (
            '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><contacts><contact>&e;</contact></contacts>',
            "Not a valid XML",
        ),
        ("<contacts><contact><first-name>Ada</contact></contacts>", "Not a valid XML"),
        ('{"contacts": []}', "Not a valid XML"),
    ],
)
def test_a_file_that_is_not_our_xml_fails_with_a_message(text: str, message: str) -> None:
    with pytest.raises(NotThisFormat, match=message):
        from_xml(text)
