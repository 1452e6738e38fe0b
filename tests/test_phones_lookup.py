"""Phone numbers found however they are written, and ``GET /contacts/lookup``: contacts by an
email address or a phone number exactly, as a caller-id or an integration asks for them."""

from __future__ import annotations

from typing import Any

import pytest

from crm import accounts
from crm.upgrade import reindex
from tests.conftest import Client, Keys
from tests.helpers import contacts_of, errors, xml_errors


def found(reply: Any) -> list[int]:
    assert reply.status == 200, reply.text
    return [contact["id"] for contact in reply.json()["contacts"]]


def searched(api: Client, text: str) -> list[int]:
    return found(api.get("/contacts", query={"search": text}))


def looked_up(api: Client, **query: str) -> list[int]:
    reply = api.get("/contacts/lookup", query=query)
    body = reply.json()
    assert body["total_count"] == len(body["contacts"]), body
    return found(reply)


def test_a_number_is_found_by_search_however_it_is_written(api: Client) -> None:
    white = api.create(first_name="White", business_phone="+1 (202) 456-1414")
    local = api.create(first_name="Local", mobile_phone="212-555-0100")
    assert white["business_phone"] == "+1 (202) 456-1414"  # kept as sent
    for text in ("2024561414", "12024561414", "+12024561414", "(202) 456-1414", "+1 202 456 1414", "202456"):
        assert searched(api, text) == [white["id"]], text
    # Written without its country code, it is read in the account's region (US).
    for text in ("+1 212 555 0100", "12125550100", "(212) 555-0100"):
        assert searched(api, text) == [local["id"]], text
    assert searched(api, "(202) 555-0100") == []


def test_a_number_that_does_not_parse_is_kept_and_found_by_its_digits(api: Client) -> None:
    odd = api.create(first_name="Odd", home_phone="ext. 4471 (ask for Bo)")
    assert odd["home_phone"] == "ext. 4471 (ask for Bo)"
    assert searched(api, "4471") == [odd["id"]]


def test_each_number_that_parses_is_shown_in_e164_beside_it(api: Client) -> None:
    sent = {"business_phone": "+1 (202) 456-1414", "mobile_phone": "212-555-0100", "home_phone": "ext. 4471"}
    made = api.create(first_name="Shown", **sent)
    assert {name: made[name] for name in sent} == sent  # kept as sent
    assert made["phones_e164"] == {"business_phone": "+12024561414", "mobile_phone": "+12125550100"}
    path = f"/contacts/{made['id']}"
    assert api.get(path).json()["contact"]["phones_e164"] == made["phones_e164"]
    shown = api.get(f"{path}.xml").xml().find("phones-e164")  # XML dasherizes, as Rails does
    assert shown is not None
    assert [(e.tag, e.text) for e in shown] == [("business-phone", "+12024561414"), ("mobile-phone", "+12125550100")]
    # Sent back as read, it changes nothing; the numbers alone say what it shows.
    changed = api.patch(path, {"contact": {"mobile_phone": None, "phones_e164": {"mobile_phone": "+1999"}}})
    assert changed.status == 200, changed.text
    assert changed.json()["contact"]["phones_e164"] == {"business_phone": "+12024561414"}
    gone = api.patch(path, {"contact": {"business_phone": ""}}).json()["contact"]
    assert "phones_e164" not in gone  # absent without a number that parses, as photo_url is
    assert "phones_e164" not in api.create(first_name="Nobody")


def test_lookup_finds_exact_matches_by_email_or_phone(api: Client) -> None:
    ada = api.create(first_name="Ada", email_address="Ada@Example.com", business_phone="+1 (202) 456-1414")["id"]
    twin = api.create(first_name="Twin", email_address_2="ada@example.COM", mobile_phone="202.456.1414")["id"]
    other = api.create(first_name="Other", email_address="adam@example.com", other_phone="+1 202 456 1415")["id"]
    assert looked_up(api, email=" ADA@example.com ") == [ada, twin]
    for number in ("2024561414", "+12024561414", "(202) 456-1414", "1 202 456 1414"):
        assert looked_up(api, phone=number) == [ada, twin], number
    assert looked_up(api, phone="+1 202 456 1415") == [other]
    assert looked_up(api, email="ada@example.com", phone="202 456 1414") == [ada, twin]  # both must match
    assert looked_up(api, email="adam@example.com", phone="202 456 1414") == []
    assert looked_up(api, email="ada@example") == []  # exactly, never a prefix
    # Kept with every write: a number changed or a contact deleted is no longer found.
    assert api.patch(f"/contacts/{twin}", {"contact": {"mobile_phone": "+44 20 7946 0958"}}).status == 200
    assert looked_up(api, phone="2024561414") == [ada]
    assert looked_up(api, phone="+442079460958") == [twin]
    assert api.delete(f"/contacts/{ada}").status == 204
    assert looked_up(api, email="ada@example.com") == [twin]
    assert looked_up(api, phone="2024561414") == []


def test_lookup_pages_and_answers_xml(api: Client) -> None:
    made = [api.create(first_name=f"Shared {n}", business_phone="+1 202 456 1414")["id"] for n in range(3)]
    page = api.get("/contacts/lookup.json", query={"phone": "2024561414", "limit": 2})
    assert page.status == 200
    assert (found(page), page.json()["total_count"]) == (made[:2], 3)
    rest = api.get("/contacts/lookup.json", query={"phone": "2024561414", "cursor": page.json()["next_cursor"]})
    assert found(rest) == made[2:]
    root = api.get("/contacts/lookup.xml", query={"phone": "(202) 456-1414"}).xml()
    assert (root.tag, root.get("type"), root.get("total_count")) == ("contacts", "array", "3")
    assert [int(c.findtext("id")) for c in root.findall("contact")] == made


def test_lookup_without_a_value_is_a_400_in_the_request_format(api: Client) -> None:
    api.create(first_name="Anyone", business_phone="+1 202 456 1414")
    none = api.get("/contacts/lookup")
    assert (none.status, errors(none)) == (400, ["Give a value to look up: email, phone or external_id"])
    short = api.get("/contacts/lookup.xml", query={"phone": "123"})
    assert (short.status, xml_errors(short)) == (400, ["phone must have at least 7 digits"])
    long = api.get("/contacts/lookup", query={"email": "a" * 256})
    assert (long.status, errors(long)) == (400, ["email is at most 255 characters"])


def test_lookup_shows_a_private_contact_to_its_owner_and_admins_alone(keys: Keys) -> None:
    writer, colleague, admin, stranger = (Client(k) for k in (keys.writer, keys.colleague, keys.admin, keys.stranger))
    hidden = colleague.create(first_name="Hid", email_address="hid@example.com", is_private=True)["id"]
    shown = writer.create(first_name="Shown", email_address="hid@example.com")["id"]
    assert looked_up(writer, email="hid@example.com") == [shown]
    assert looked_up(colleague, email="hid@example.com") == [hidden, shown]  # in id order
    assert looked_up(admin, email="hid@example.com") == [hidden, shown]
    assert looked_up(stranger, email="hid@example.com") == []  # another account's


@pytest.mark.parametrize("store", ["dynamodb_local"], indirect=True)
def test_an_accounts_region_reads_its_numbers_and_a_change_reindexes_them(api: Client) -> None:
    made = api.create(first_name="London", business_phone="020 7946 0958")
    london = made["id"]
    assert "phones_e164" not in made  # no US number
    assert looked_up(api, phone="+44 20 7946 0958") == []  # read in the US, it is another number
    assert accounts.set_default_region("acme", "gb") == "GB"
    assert reindex("acme") == 1
    assert api.get(f"/contacts/{london}").json()["contact"]["phones_e164"] == {"business_phone": "+442079460958"}
    assert looked_up(api, phone="+44 20 7946 0958") == [london]
    assert looked_up(api, phone="020 7946 0958") == [london]  # a lookup reads it in GB too
    assert searched(api, "020 7946 0958") == [london]
    assert api.create(first_name="Paris", mobile_phone="+33 6 12 34 56 78")["mobile_phone"] == "+33 6 12 34 56 78"
    assert [c["first_name"] for c in contacts_of(api)] == ["London", "Paris"]
    with pytest.raises(ValueError, match="not a region"):
        accounts.set_default_region("acme", "XX")
