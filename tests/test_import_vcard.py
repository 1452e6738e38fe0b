"""vCard files read as contact bodies (crm.imports.vcards): 3.0 and 4.0 as phones and mail programs
write them, folded lines and escapes included."""

from __future__ import annotations

import io

from crm.http.dialects import contact_body
from crm.imports.vcards import rows
from crm.validation import contact_changes

VCARD_3 = (
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "UID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1\r\n"
    "N:Lovelace;Ada;Augusta;Countess;\r\n"
    "FN:Ada Lovelace\r\n"
    "ORG:Analytical Engines;Research\r\n"
    "TITLE:Mathematician\r\n"
    "EMAIL;TYPE=INTERNET,WORK:ada@example.com\r\n"
    "EMAIL;TYPE=INTERNET,HOME:ada@home.example\r\n"
    "TEL;TYPE=CELL:+44 20 7946 0001\r\n"
    "TEL;TYPE=WORK,VOICE:+44 20 7946 0002\r\n"
    "TEL;TYPE=WORK,FAX:+44 20 7946 0003\r\n"
    "ADR;TYPE=WORK:;;12 St James's Square;London;;SW1Y 4JH;United Kingdom\r\n"
    "ADR;TYPE=HOME:;Flat 2;1 Ockham Park;Ockham;Surrey;;UK\r\n"
    "BDAY:1815-12-10\r\n"
    "URL:https://example.com/ada\r\n"
    "CATEGORIES:Pioneers,Friends\r\n"
    "NOTE:Wrote the first program\\, notes A to G.\\nAsk about Bernoulli numbers.\r\n"
    "END:VCARD\r\n"
)
VCARD_4 = (
    "BEGIN:VCARD\n"
    "VERSION:4.0\n"
    "FN:Grace Brewster Hopper\n"
    'item1.TEL;VALUE=uri;TYPE="home,voice":tel:+1-555-0100\n'
    "EMAIL;PREF=1:grace@exam\n"
    " ple.com\n"
    "BDAY:--1209\n"
    "END:VCARD\n"
)


def read(text: str) -> list[tuple[int, dict, str | None]]:
    return [(row.line, row.body, row.uid) for row in rows(io.BytesIO(text.encode()))]


def test_a_vcard_3_with_every_property_we_keep() -> None:
    ((number, body, uid),) = read(VCARD_3)
    assert (number, uid) == (1, "urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1")
    assert body == {
        "last_name": "Lovelace",
        "first_name": "Ada",
        "middle_name": "Augusta",
        "title": "Countess",
        "company": "Analytical Engines",
        "department": "Research",
        "job_title": "Mathematician",
        "email_address": "ada@example.com",
        "email_address_2": "ada@home.example",
        "mobile_phone": "+44 20 7946 0001",
        "business_phone": "+44 20 7946 0002",
        "business_fax": "+44 20 7946 0003",
        "business_street": "12 St James's Square",
        "business_city": "London",
        "business_postal_code": "SW1Y 4JH",
        "business_country": "United Kingdom",
        "home_street_2": "Flat 2",
        "home_street": "1 Ockham Park",
        "home_city": "Ockham",
        "home_state": "Surrey",
        "home_country": "UK",
        "birthday": "1815-12-10",
        "url": "https://example.com/ada",
        "tags": ["Pioneers", "Friends"],
        "background": "Wrote the first program, notes A to G.\nAsk about Bernoulli numbers.",
    }
    contact_changes(contact_body(body, creating=False))  # what the API takes


def test_a_vcard_4_with_folds_groups_uri_values_and_no_n() -> None:
    ((number, body, uid),) = read(VCARD_4)
    assert (number, uid) == (1, None)
    assert body == {
        "first_name": "Grace",
        "last_name": "Brewster Hopper",
        "home_phone": "+1-555-0100",
        "email_address": "grace@example.com",
    }  # a birthday without a year is left out


def test_several_cards_are_numbered_and_stray_lines_ignored() -> None:
    text = "junk before\n" + VCARD_4 + "\n" + VCARD_3 + VCARD_4.replace("Grace Brewster Hopper", "Alan Turing")
    assert [(number, body["first_name"]) for number, body, _ in read(text)] == [(1, "Grace"), (2, "Ada"), (3, "Alan")]


def test_vcard_2_1_bare_types() -> None:
    text = "BEGIN:VCARD\nVERSION:2.1\nN:Babbage;Charles\nTEL;WORK;VOICE:555-1\nTEL;HOME:555-2\nEND:VCARD\n"
    ((_, body, _),) = read(text)
    assert body == {"last_name": "Babbage", "first_name": "Charles", "business_phone": "555-1", "home_phone": "555-2"}


def test_the_properties_the_api_writes_beyond_the_common_ones() -> None:
    card = (
        "BEGIN:VCARD\r\nVERSION:4.0\r\nKIND:org\r\nFN:Globex\r\nN:;Globex;;;\r\n"
        "GENDER:;nonbinary\r\nANNIVERSARY:20050601\r\nRELATED;TYPE=spouse;VALUE=text:Ann\r\n"
        "RELATED;TYPE=child;VALUE=text:Bo\\, Cy\r\nRELATED;TYPE=agent;VALUE=text:Di\r\n"
        "RELATED;TYPE=friend:urn:uuid:1\r\nIMPP:skype:globex.hq\r\nIMPP:xmpp:hq@example.com\r\n"
        "TEL;VALUE=text;TYPE=x-assistant:+1 202 555 0101\r\nEND:VCARD\r\n"
    )
    ((_, body, _),) = read(card)
    assert body == {
        "first_name": "Globex",
        "is_company": True,
        "gender": "nonbinary",
        "anniversary": "2005-06-01",
        "spouse": "Ann",
        "children": "Bo, Cy",
        "assistant": "Di",
        "skype_name": "globex.hq",
        "assistants_phone": "+1 202 555 0101",
    }  # a friend and an XMPP address have no field
    ((_, sexed, _),) = read(card.replace("GENDER:;nonbinary", "GENDER:F"))
    assert sexed["gender"] == "female"
