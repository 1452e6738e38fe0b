"""A contact as a vCard (``GET /contacts/{id}.vcf``, or ``Accept: text/vcard``), read back with
vobject, a vCard parser that is not this API's, as an address book would read it."""

from __future__ import annotations

import re
from typing import Any

import pytest
import vobject

from tests.conftest import Client, Keys
from tests.helpers import counts, download, errors, run_import, upload_to

TRICKY = 'Zoë, O\'Brien; "the" \\ first 🎉'  # what a card escapes, and a character of 4 octets
LINES = f"{TRICKY}\nline two\r\nline three" + " and more" * 10  # line breaks (CRLF kept as LF); long
VCARD_TYPE = "text/vcard; charset=utf-8"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"


def card_of(api: Client, contact_id: int, **kwargs: Any) -> Any:
    reply = api.get(f"/contacts/{contact_id}.vcf", **kwargs)
    assert (reply.status, reply.headers["content-type"]) == (200, VCARD_TYPE), reply.text
    return vobject.readOne(reply.text)


def values(card: Any, name: str) -> list[Any]:
    return [line.value for line in card.contents.get(name, [])]


def types(card: Any, name: str) -> list[set[str]]:
    return [{t.lower() for t in line.params.get("TYPE", [])} for line in card.contents.get(name, [])]


@pytest.fixture
def full(api: Client) -> dict[str, Any]:
    return api.create(
        title="Dr",
        first_name="Zoë",
        middle_name="Q",
        last_name=TRICKY,
        suffix="PhD",
        company="Acme, Inc.",
        department="R&D; labs",
        job_title="Head of things",
        email_address="zoe@example.com",
        email_address_2="zq@example.org",
        business_phone="+1 (202) 456-1414",
        business_fax="+1 202 456 1415",
        home_phone="020 7946 0958",
        mobile_phone="+44 7700 900123",
        business_street="1 Main St",
        business_street_2="Suite 5",
        business_city="Springfield",
        business_state="IL",
        business_postal_code="62701",
        business_country="USA",
        home_city="Paris",
        home_country="France",
        url="https://example.com/zoe",
        birthday="1980-02-29",
        anniversary="2005-06-01",
        background=LINES,
        tags=["vip", "a,b; c"],
        gender="female",
        spouse="Ann",
        skype_name="zoe.q",
    )


def test_a_contact_is_a_vcard_4_with_every_field_that_has_a_property(api: Client, full: dict[str, Any]) -> None:
    card = card_of(api, full["id"])
    assert values(card, "version") == ["4.0"]
    name = card.n.value
    assert (name.family, name.given, name.additional, name.prefix, name.suffix) == (TRICKY, "Zoë", "Q", "Dr", "PhD")
    assert card.fn.value == f"Dr Zoë Q {TRICKY} PhD"
    assert values(card, "org") == [["Acme, Inc.", "R&D; labs"]]
    assert values(card, "title") == ["Head of things"]
    assert values(card, "email") == ["zoe@example.com", "zq@example.org"]
    phones = list(zip(values(card, "tel"), types(card, "tel"), strict=True))
    assert phones == [
        ("+1 (202) 456-1414", {"work"}),
        ("+1 202 456 1415", {"work", "fax"}),
        ("020 7946 0958", {"home"}),
        ("+44 7700 900123", {"cell"}),
    ]
    addresses = {frozenset(t): a for t, a in zip(types(card, "adr"), values(card, "adr"), strict=True)}
    work, home = addresses[frozenset({"work"})], addresses[frozenset({"home"})]
    assert (work.extended, work.street, work.city, work.region, work.code, work.country) == (
        "Suite 5",
        "1 Main St",
        "Springfield",
        "IL",
        "62701",
        "USA",
    )
    assert (home.street, home.city, home.country) == ("", "Paris", "France")
    assert values(card, "url") == ["https://example.com/zoe"]
    assert values(card, "bday") == ["19800229"]
    assert values(card, "anniversary") == ["20050601"]
    assert values(card, "categories") == [["vip", "a,b; c"]]
    assert values(card, "note") == [LINES.replace("\r\n", "\n")]
    assert values(card, "gender") == ["F"]
    assert values(card, "related") == ["Ann"]
    assert values(card, "impp") == ["skype:zoe.q"]
    assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", card.uid.value)
    stamp = full["updated_at"].replace("-", "").replace(":", "").replace("+0000", "Z")
    assert values(card, "rev") == [stamp]


def test_every_line_is_folded_at_75_octets_and_ends_in_crlf(api: Client, full: dict[str, Any]) -> None:
    reply = api.get(f"/contacts/{full['id']}.vcf")
    assert reply.text.endswith("END:VCARD\r\n")
    lines = reply.raw.body.split(b"\r\n")
    assert all(len(line) <= 75 for line in lines), max(lines, key=len)
    assert b"\n" not in b"".join(lines)  # no bare line break: each is escaped or a fold
    assert any(line.startswith(b" ") for line in lines)  # the long NOTE and N were folded
    for line in lines:
        line.decode()  # no fold splits a character


def test_version_3_0_writes_its_own_forms(api: Client, full: dict[str, Any]) -> None:
    card = card_of(api, full["id"], query={"version": "3.0"})
    assert values(card, "version") == ["3.0"]
    assert values(card, "bday") == ["1980-02-29"]
    assert values(card, "x-anniversary") == ["2005-06-01"]
    assert types(card, "tel")[0] == {"work", "voice"}
    assert types(card, "email")[0] == {"internet"}
    assert card.n.value.family == TRICKY
    assert values(card, "note") == [LINES.replace("\r\n", "\n")]


def test_the_uid_is_stable_and_the_one_an_import_gave(api: Client, full: dict[str, Any]) -> None:
    first = card_of(api, full["id"]).uid.value
    assert api.patch(f"/contacts/{full['id']}", {"contact": {"job_title": "Boss"}}).status == 200
    again = card_of(api, full["id"])
    assert (again.uid.value, values(again, "title")) == (first, ["Boss"])
    other = api.create(first_name="Other")
    assert card_of(api, other["id"]).uid.value != first


def test_accept_text_vcard_on_the_contact_and_its_etag(api: Client, full: dict[str, Any]) -> None:
    reply = api.get(f"/contacts/{full['id']}", headers={"Accept": "text/vcard"})
    assert (reply.status, reply.headers["content-type"]) == (200, VCARD_TYPE)
    assert reply.headers["etag"] == f'"{full["version"]}"'
    assert vobject.readOne(reply.text).fn.value.startswith("Dr Zoë")
    head = api.request("HEAD", f"/contacts/{full['id']}.vcf")
    assert (head.status, head.headers["content-type"], head.raw.body) == (200, VCARD_TYPE, b"")


def test_a_contact_with_a_photo_shows_it_by_url(api: Client) -> None:
    contact = api.create(first_name="Pic")
    made = api.post("/photos", {"photo": {"contact_id": contact["id"], "content_type": "image/png"}})
    assert made.status == 201, made.text
    assert upload_to(made.json()["photo"], PNG) == 200
    (url,) = values(card_of(api, contact["id"]), "photo")
    assert download(url) == PNG  # the signed URL the JSON shows as photo_url
    assert values(card_of(api, api.create(first_name="NoPic")["id"]), "photo") == []


def test_a_company_is_a_kind_org_card(api: Client) -> None:
    made = api.create(first_name="Globex", company="Globex", is_company=True)
    card = card_of(api, made["id"])
    assert values(card, "kind") == ["org"]
    assert values(card, "org") == [["Globex"]]
    assert values(card_of(api, api.create(first_name="Person")["id"]), "kind") == []


def test_what_is_no_contact_is_no_card(api: Client, keys: Keys) -> None:
    assert api.get("/contacts/999.vcf").status == 404
    contact = api.create(first_name="Hidden", is_private=True)
    assert Client(keys.colleague).get(f"/contacts/{contact['id']}.vcf").status == 404
    assert Client(keys.stranger).get(f"/contacts/{contact['id']}.vcf").status == 404
    listed = api.get("/contacts", headers={"Accept": "text/vcard"})
    assert (listed.status, errors(listed)) == (
        406,
        ["Only a contact is shown as a vCard (.vcf, or Accept: text/vcard)"],
    )
    bad = api.get(f"/contacts/{contact['id']}.vcf", query={"version": "2.1"})
    assert (bad.status, errors(bad)) == (400, ["version must be one of 4.0, 3.0"])


# What a card carries and an import of it reads back (the background travels as NOTE; a photo by
# a URL that expires is not fetched).
CARRIED = [
    "title",
    "first_name",
    "middle_name",
    "last_name",
    "suffix",
    "company",
    "department",
    "job_title",
    "email_address",
    "email_address_2",
    "business_phone",
    "business_fax",
    "home_phone",
    "mobile_phone",
    "business_street",
    "business_street_2",
    "business_city",
    "business_state",
    "business_postal_code",
    "business_country",
    "home_city",
    "home_country",
    "url",
    "birthday",
    "anniversary",
    "tags",
    "gender",
    "spouse",
    "skype_name",
    "is_company",
]


@pytest.mark.parametrize("version", ["4.0", "3.0"])
def test_a_card_imported_into_an_empty_account_gives_the_contact_back(
    api: Client, full: dict[str, Any], keys: Keys, version: str
) -> None:
    card = api.get(f"/contacts/{full['id']}.vcf", query={"version": version})
    other = Client(keys.stranger)  # another account, empty
    done = run_import(other, card.raw.body, format="vcard")
    assert counts(done) == (1, 1, 0, 0, 0), done
    (back,) = other.get("/contacts").json()["contacts"]
    carried = [name for name in CARRIED if version == "4.0" or name not in ("gender", "spouse")]  # 4.0's alone
    assert {name: back[name] for name in carried} == {name: full[name] for name in carried}
    assert back["background"] == full["background"].replace("\r\n", "\n")  # a card's line breaks are LF
    assert other.get(f"/contacts/{back['id']}/notes").json()["notes"] == []
    # Its UID came with it: the card of the copy is the card of the contact.
    assert card_of(other, back["id"]).uid.value == vobject.readOne(card.text).uid.value
