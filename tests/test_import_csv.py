"""CSV files read as contact bodies (crm.imports.csv_rows): the exports people have, as they are."""

from __future__ import annotations

import io

import pytest

from crm.http.dialects import contact_body
from crm.imports.csv_rows import Columns, rows
from crm.validation import contact_changes


def read(text: str, encoding: str = "utf-8") -> tuple[list[tuple[int, dict]], list[str]]:
    seen: list[Columns] = []
    found = [(row.line, row.body) for row in rows(io.BytesIO(text.encode(encoding)), seen)]
    return found, seen[0].unknown if seen else []


def test_our_own_names_in_any_spelling() -> None:
    found, unknown = read("first_name,Last-Name,EMAIL,phone,tag_list\nAda,Lovelace,ada@example.com,555,vip\n")
    assert found == [
        (
            2,
            {
                "first_name": "Ada",
                "last_name": "Lovelace",
                "email": "ada@example.com",
                "phone": "555",
                "tag_list": "vip",
            },
        )
    ]
    assert unknown == []


def test_outlook_export_with_bom_and_quoted_multiline_notes() -> None:
    text = (
        '\ufeff"First Name","Last Name","Company","E-mail Address","Business Phone","Home Street",'
        '"Business Country/Region","Categories","Notes","Web Page"\r\n'
        '"Grace","Hopper","US Navy","grace@example.com","+1 555 0100","12 Elm St","USA",'
        '"Navy;Pioneers","Met at\r\nthe conference","https://example.com"\r\n'
        '"Alan","Turing","","","","","","","",""\r\n'
    )
    found, unknown = read(text)
    assert found[0] == (
        2,
        {
            "first_name": "Grace",
            "last_name": "Hopper",
            "company": "US Navy",
            "email_address": "grace@example.com",
            "business_phone": "+1 555 0100",
            "home_street": "12 Elm St",
            "business_country": "USA",
            "tags": ["Navy", "Pioneers"],
            "background": "Met at\r\nthe conference",
            "url": "https://example.com",
        },
    )
    assert found[1] == (4, {"first_name": "Alan", "last_name": "Turing"})  # the note took two lines
    assert unknown == []


def test_google_export_places_phones_and_addresses_by_type() -> None:
    header = (
        "Name,Given Name,Family Name,Group Membership,E-mail 1 - Type,E-mail 1 - Value,"
        "Phone 1 - Type,Phone 1 - Value,Phone 2 - Type,Phone 2 - Value,Phone 3 - Type,Phone 3 - Value,"
        "Address 1 - Type,Address 1 - Street,Address 1 - City,Address 1 - Postal Code,"
        "Organization 1 - Name,Organization 1 - Title"
    )
    row = (
        "Katherine Johnson,Katherine,Johnson,* myContacts ::: NASA,* Work,kj@example.com,"
        "Mobile,555-1,Work,555-2,Mobile,555-3,Home,1 Orbit Way,Hampton,23666,NASA,Mathematician"
    )
    found, unknown = read(f"{header}\n{row}\n")
    assert found == [
        (
            2,
            {
                "first_name": "Katherine",
                "last_name": "Johnson",
                "tags": ["NASA"],
                "email_address": "kj@example.com",
                "mobile_phone": "555-1",
                "business_phone": "555-2",
                "mobile_phone_2": "555-3",
                "home_street": "1 Orbit Way",
                "home_city": "Hampton",
                "home_postal_code": "23666",
                "company": "NASA",
                "job_title": "Mathematician",
            },
        )
    ]
    assert unknown == []  # the type columns and the derived Name are understood, not unknown


def test_semicolons_blank_lines_and_unknown_columns_reported_once() -> None:
    found, unknown = read(
        "first_name;shoe size;last_name;Favourite colour\nAda;5;Lovelace;blue\n\n;;;\nCharles;9;Babbage;\n"
    )
    assert found == [
        (2, {"first_name": "Ada", "last_name": "Lovelace"}),
        (5, {"first_name": "Charles", "last_name": "Babbage"}),
    ]
    assert unknown == ["shoe size", "Favourite colour"]


def test_a_short_row_leaves_the_missing_cells_empty() -> None:
    found, _ = read("first_name,last_name,company\nAda\n")
    assert found == [(2, {"first_name": "Ada"})]


def test_an_empty_file_has_no_rows() -> None:
    assert read("") == ([], [])


def test_not_utf8_is_an_error_not_mojibake() -> None:
    with pytest.raises(UnicodeDecodeError):
        read("first_name\nJosé\n", encoding="latin-1")


def test_every_body_passes_the_api_validation() -> None:
    """The rows of both exports are what POST /contacts takes (a note as a string, on create)."""
    outlook = '"First Name","E-mail Address","Categories","Birthday"\n"Grace","grace@example.com","Navy","1906-12-09"\n'
    google = (
        "Given Name,Phone 1 - Type,Phone 1 - Value,Address 1 - Type,Address 1 - City\nKate,Work Fax,555,Other,Hampton\n"
    )
    for text in (outlook, google):
        ((_, body),) = read(text)[0]
        fields = contact_changes(
            contact_body({name: value for name, value in body.items() if name != "notes"}, creating=False)
        )
        assert fields["first_name"] in ("Grace", "Kate")
    assert read(google)[0][0][1] == {"first_name": "Kate", "business_fax": "555", "other_city": "Hampton"}
