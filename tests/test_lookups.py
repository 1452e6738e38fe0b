"""The lookup items (crm.index): each email address and vCard UID names, by an exact key, the
contacts that have it, kept with every write of a contact; on moto and on DynamoDB Local.

An import reads its duplicates through them (tests/test_imports_api.py shows what a user sees);
here, what is stored: the ids each item names, whose private contacts they are, and the cap on
contacts that share one address.
"""

from __future__ import annotations

import hashlib

from crm import index
from crm.auth import Principal, granted_scopes
from crm.storage.items import ContactItem, Item, LookupItem, PostingItem, account_pk, contact_sk, lookup_sk, posting_sk
from crm.upgrade import upgrade
from tests.conftest import Client, Keys
from tests.helpers import contacts_of, counts, csv_file, errors, run_import

WRITER = Principal("acme", 1, frozenset(granted_scopes("write")), "k1")
COLLEAGUE = Principal("acme", 2, frozenset(granted_scopes("write")), "k2")
ADMIN = Principal("acme", 9, frozenset(granted_scopes("admin")), "k9")


def named(address: str) -> tuple[set[int], set[str]]:
    """What the lookup item of an address holds: everyone's ids, and private ones as owner:id."""
    try:
        item = LookupItem.get(account_pk("acme"), lookup_sk(index.email_key(address)), consistent_read=True)
    except LookupItem.DoesNotExist:
        return set(), set()
    return {int(i) for i in item.p or ()}, set(item.q or ())


def visible(principal: Principal, address: str) -> set[int]:
    found = index.named(principal, [index.email_key(address)])
    return set(found[index.email_key(address)].visible) if found else set()


def test_each_address_names_its_contacts_whatever_its_case(api: Client) -> None:
    ada = api.create(first_name="Ada", email_address="Ada@Example.com", email_address_2="ada@home.example")["id"]
    other = api.create(first_name="Other Ada", email_address_3=" ADA@example.COM ")["id"]
    assert named("ada@example.com") == ({ada, other}, set())
    assert named("ADA@HOME.EXAMPLE") == ({ada}, set())
    assert api.patch(f"/contacts/{ada}", {"email_address": "countess@example.com"}).status == 200
    assert named("ada@example.com") == ({other}, set())
    assert named("countess@example.com") == ({ada}, set())
    assert api.delete(f"/contacts/{other}").status == 204
    assert named("ada@example.com") == (set(), set())
    assert visible(WRITER, "ada@example.com") == set()


def test_a_private_contact_is_named_for_its_owner_and_admins_alone(keys: Keys) -> None:
    writer, colleague = Client(keys.writer), Client(keys.colleague)
    hidden = colleague.create(first_name="Hid", email_address="hid@example.com", is_private=True)["id"]
    shown = writer.create(first_name="Shown", email_address="hid@example.com")["id"]
    assert named("hid@example.com") == ({shown}, {f"2:{hidden}"})
    assert visible(WRITER, "hid@example.com") == {shown}
    assert visible(COLLEAGUE, "hid@example.com") == {shown, hidden}
    assert visible(ADMIN, "hid@example.com") == {shown, hidden}
    assert index.named(WRITER, [index.email_key("hid@example.com")])[index.email_key("hid@example.com")].total == 2
    assert colleague.patch(f"/contacts/{hidden}", {"is_private": False}).status == 200
    assert named("hid@example.com") == ({shown, hidden}, set())
    assert visible(WRITER, "hid@example.com") == {shown, hidden}


def test_past_the_cap_an_address_is_refused_and_nothing_is_written(api: Client) -> None:
    pk, sk = account_pk("acme"), lookup_sk(index.email_key("crowd@example.com"))
    LookupItem(pk, sk, p=set(range(1_000_000, 1_000_000 + index.MAX_SHARED))).save()
    before = api.get("/contacts").json()["total_count"]
    reply = api.post("/contacts", {"contact": {"first_name": "One", "email_address": "Crowd@example.com"}})
    assert reply.status == 422, reply.text
    assert errors(reply) == [index.SHARED_TOO_OFTEN]
    assert api.get("/contacts").json()["total_count"] == before
    mine = api.create(first_name="Mine")["id"]
    reply = api.patch(f"/contacts/{mine}", {"email_address_2": "crowd@example.com"})
    assert reply.status == 422, reply.text
    assert api.get(f"/contacts/{mine}").json()["contact"]["email_address_2"] is None
    assert len(named("crowd@example.com")[0]) == index.MAX_SHARED
    # An import's row with it fails, and the rows beside it go in.
    data = csv_file(["first_name", "email"], ["Crowded", "crowd@example.com"], ["Free", "free@example.com"])
    job = run_import(api, data, format="csv", on_duplicate="create")
    assert counts(job) == (2, 1, 0, 0, 1)
    assert job["errors"] == [{"line": 2, "messages": [index.SHARED_TOO_OFTEN]}]
    assert sorted(c["first_name"] for c in contacts_of(api)) == ["Free", "Mine"]


def test_an_import_names_its_new_contacts_and_finds_them_again(api: Client) -> None:
    data = csv_file(["first_name", "email", "email_address_2"], ["Ina", "ina@example.com", "ina@home.example"])
    assert counts(run_import(api, data, format="csv")) == (1, 1, 0, 0, 0)
    (ina,) = contacts_of(api)
    assert named("ina@example.com") == ({ina["id"]}, set())
    assert named("ina@home.example") == ({ina["id"]}, set())
    again = csv_file(["first_name", "email"], ["Ina", "INA@HOME.example"])  # her second address, as a first
    assert counts(run_import(api, again, format="csv")) == (1, 0, 0, 1, 0)


def test_an_upgrade_gives_older_contacts_their_lookups(api: Client) -> None:
    card = "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:1\r\nFN:Old Card\r\nEMAIL:old@example.com\r\nEND:VCARD\r\n"
    assert counts(run_import(api, card.encode(), format="vcard")) == (1, 1, 0, 0, 0)
    (old,) = contacts_of(api)
    pk, uid = account_pk("acme"), index.uid_key("urn:uuid:1")
    # As an earlier version stored it: the UID as a posting of its own term, no lookup items.
    earlier_term = "i:" + hashlib.sha256(b"urn:uuid:1").hexdigest()[:32]
    for item in Item.query(pk, Item.sk.startswith("E#"), consistent_read=True):
        item.delete()
    PostingItem(pk, posting_sk(earlier_term, old["id"])).save()
    stored = ContactItem.get(pk, contact_sk(old["id"]))
    terms = {t: c for t, c in stored.search_terms.items() if not index.is_lookup(t)} | {earlier_term: ""}
    stored.update(actions=[ContactItem.search_terms.set(terms)])
    assert named("old@example.com") == (set(), set())

    assert upgrade("acme").reindexed == 1
    assert named("old@example.com") == ({old["id"]}, set())
    assert index.named(WRITER, [uid])[uid].visible == {old["id"]}
    assert posting_sk(earlier_term, old["id"]) not in {item.sk for item in Item.query(pk, Item.sk.startswith("X#i:"))}
    assert upgrade("acme").reindexed == 0  # run again, it changes nothing
    card_again = card.replace("Old Card", "Old Card Again")
    assert counts(run_import(api, card_again.encode(), format="vcard", on_duplicate="skip")) == (1, 0, 0, 1, 0)
