"""``GET /contacts/{id}/duplicates``: the contacts that share an email address, a phone number
(however written) or a name at a company with one, strongest reasons first."""

from __future__ import annotations

from typing import Any

from tests.conftest import Client, Keys
from tests.helpers import errors


def duplicates(api: Client, contact_id: int) -> list[tuple[int, list[str]]]:
    reply = api.get(f"/contacts/{contact_id}/duplicates")
    assert reply.status == 200, reply.text
    return [(d["contact"]["id"], d["reasons"]) for d in reply.json()["duplicates"]]


def test_duplicates_come_with_their_reasons_strongest_first(api: Client) -> None:
    ada = api.create(
        first_name="Ada",
        last_name="Lovelace",
        company="Engines",
        email_address="ada@example.com",
        business_phone="+44 20 7946 0958",
    )["id"]
    by_name = api.create(first_name="ADA ", last_name="Lovelace", company="engines")["id"]
    by_phone = api.create(first_name="Augusta", mobile_phone="+442079460958")["id"]
    by_both = api.create(first_name="A.", email_address_2="Ada@Example.com", other_phone="+44 (20) 7946-0958")["id"]
    by_email = api.create(first_name="Countess", email_address="ADA@example.com")["id"]
    api.create(first_name="Charles", last_name="Babbage", company="Engines")  # the company alone is no reason
    assert duplicates(api, ada) == [
        (by_both, ["email", "phone"]),
        (by_email, ["email"]),
        (by_phone, ["phone"]),
        (by_name, ["name_and_company"]),
    ]
    assert duplicates(api, by_name) == [(ada, ["name_and_company"])]
    # Kept with every write: a changed address is no longer a reason.
    assert api.patch(f"/contacts/{by_email}", {"contact": {"email_address": "countess@example.com"}}).status == 200
    assert [i for i, _ in duplicates(api, ada)] == [by_both, by_phone, by_name]


def test_duplicates_in_xml_and_of_what_the_key_may_see(keys: Keys) -> None:
    writer, colleague = Client(keys.writer), Client(keys.colleague)
    mine = writer.create(first_name="Shared", email_address="s@example.com")["id"]
    colleague.create(first_name="Hidden", email_address="s@example.com", is_private=True)
    seen = writer.create(first_name="Seen", email_address="s@example.com")["id"]
    assert duplicates(writer, mine) == [(seen, ["email"])]
    assert len(duplicates(colleague, mine)) == 2
    root = writer.get(f"/contacts/{mine}/duplicates.xml").xml()
    assert (root.tag, root.get("type")) == ("duplicates", "array")
    (found,) = root.findall("duplicate")
    assert (found.find("contact").findtext("id"), [r.text for r in found.findall("reasons/reason")]) == (
        str(seen),
        ["email"],
    )
    assert duplicates(writer, seen) == [(mine, ["email"])]


def test_the_duplicates_of_a_contact_the_key_cannot_see_are_404(keys: Keys) -> None:
    hidden = Client(keys.colleague).create(first_name="Hidden", is_private=True)["id"]
    reply: Any = Client(keys.writer).get(f"/contacts/{hidden}/duplicates")
    assert (reply.status, errors(reply)) == (404, ["Contact not found"])
    assert Client(keys.stranger).get(f"/contacts/{hidden}/duplicates").status == 404
