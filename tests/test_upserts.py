"""``external_id`` (unique in an account) and the upserts by email address and by external_id,
as an integration syncing another system into this one uses them; races on DynamoDB Local."""

from __future__ import annotations

from typing import Any

import pytest

from crm import contacts, upserts
from crm.auth import Principal, granted_scopes
from crm.errors import Conflict
from crm.storage.items import CONTACT_MARK, ContactItem, account_pk
from tests.conftest import Client, Keys, all_at_once
from tests.helpers import contacts_of, counts, csv_file, errors, run_import, xml_errors

RACER = Principal("race", 1, frozenset(granted_scopes("write")), "race.test")


def history(api: Client, contact_id: int) -> list[str]:
    reply = api.get(f"/contacts/{contact_id}/history")
    assert reply.status == 200, reply.text
    return [entry["action"] for entry in reply.json()["history"]]


def test_an_external_id_belongs_to_one_contact_of_the_account(api: Client, keys: Keys) -> None:
    first = api.create(first_name="First", external_id="crm-1")
    # The spaces around it make no other id.
    twice = api.post("/contacts", {"contact": {"first_name": "Second", "external_id": " crm-1 "}})
    assert (twice.status, errors(twice)) == (409, [f"Contact {first['id']} has this external_id already"])
    second = api.create(first_name="Second", external_id="CRM-1")["id"]  # exact: case counts
    moved = api.patch(f"/contacts/{second}", {"contact": {"external_id": "crm-1"}})
    assert (moved.status, errors(moved)) == (409, [f"Contact {first['id']} has this external_id already"])
    assert [c["external_id"] for c in contacts_of(api)] == ["crm-1", "CRM-1"]  # nothing changed
    # Given up, it is free again; another account has ids of its own.
    assert api.patch(f"/contacts/{first['id']}", {"contact": {"external_id": None}}).status == 200
    assert api.patch(f"/contacts/{second}", {"contact": {"external_id": "crm-1"}}).status == 200
    found = api.get("/contacts/lookup", query={"external_id": "crm-1"}).json()
    assert [c["id"] for c in found["contacts"]] == [second]
    assert Client(keys.stranger).create(first_name="Elsewhere", external_id="crm-1")["external_id"] == "crm-1"


def test_a_private_contacts_external_id_is_taken_without_naming_it(keys: Keys) -> None:
    Client(keys.colleague).create(first_name="Hidden", external_id="secret-7", is_private=True)
    refused = Client(keys.writer).post("/contacts", {"contact": {"first_name": "Mine", "external_id": "secret-7"}})
    assert (refused.status, errors(refused)) == (409, ["A contact this key may not see has this external_id already"])


def test_upsert_by_email_creates_then_updates_the_same_contact(api: Client) -> None:
    made = api.put("/contacts/by-email/ada@example.com", {"contact": {"first_name": "Ada"}})
    assert made.status == 201
    assert made.headers["location"].endswith(f"/contacts/{made.json()['contact']['id']}")
    contact = made.json()["contact"]
    assert (contact["first_name"], contact["email_address"]) == ("Ada", "ada@example.com")
    again = api.put("/contacts/by-email/ADA@Example.com", {"contact": {"company": "Analytical"}})
    assert again.status == 200
    assert (again.json()["contact"]["id"], again.json()["contact"]["company"]) == (contact["id"], "Analytical")
    assert [c["id"] for c in contacts_of(api)] == [contact["id"]]
    assert history(api, contact["id"]) == ["updated", "created"]
    # XML in and out, by the suffix inside the value.
    body = "<contact><job_title>Countess</job_title></contact>"
    xml = api.request("PUT", "/contacts/by-email/ada@example.com.xml", body=body, content_type="application/xml")
    assert (xml.status, xml.xml().findtext("job-title")) == (200, "Countess")


def test_an_upsert_path_is_read_as_api_gateway_hands_it_on_percent_encoded(api: Client) -> None:
    made = api.put("/contacts/by-email/jos%C3%A9%2Bcrm%40example.com", {"contact": {"first_name": "José"}})
    assert (made.status, made.json()["contact"]["email_address"]) == (201, "josé+crm@example.com")
    again = api.put("/contacts/by-email/JOS%C3%89+crm@example.com", {"contact": {"company": "X"}})
    assert (again.status, again.json()["contact"]["id"]) == (200, made.json()["contact"]["id"])
    broken = api.put("/contacts/by-external-id/a%FFb", {"contact": {"first_name": "B"}})
    assert (broken.status, errors(broken)) == (400, ["Malformed path: a segment is not UTF-8 text"])
    assert len(contacts_of(api)) == 1


def test_upsert_by_email_refuses_what_it_cannot_decide(api: Client) -> None:
    one = api.create(first_name="One", email_address="shared@example.com")["id"]
    two = api.create(first_name="Two", email_address_2="shared@example.com")["id"]
    shared = api.put("/contacts/by-email/shared@example.com", {"contact": {"company": "X"}})
    assert (shared.status, errors(shared)) == (
        409,
        [f"Contacts {one}, {two} have this email address: update one by its id"],
    )
    stale = api.put("/contacts/by-email/new@example.com", {"contact": {"first_name": "N"}}, headers={"If-Match": '"3"'})
    assert (stale.status, errors(stale)) == (409, ["No contact has this email address, so none is at version 3"])
    bad = api.request("PUT", "/contacts/by-email/not-an-address.xml", body="<contact/>", content_type="application/xml")
    assert bad.status == 422
    assert xml_errors(bad) == ["Email address is not a valid email address"]
    # A create keeps the addresses its body sends, and takes the path's in the first one left empty.
    other = {"contact": {"first_name": "Other", "email_address": "first@example.com"}}
    kept = api.put("/contacts/by-email/second@example.com", other).json()["contact"]
    assert (kept["email_address"], kept["email_address_2"]) == ("first@example.com", "second@example.com")
    full = {f"email_address{n}": f"{n or 1}@example.com" for n in ("", "_2", "_3")}
    refused = api.put("/contacts/by-email/fourth@example.com", {"contact": {"first_name": "F", **full}})
    assert (refused.status, errors(refused)) == (422, ["The body fills every email address, and none is the path's"])
    api.delete(f"/contacts/{kept['id']}")
    nameless = api.put("/contacts/by-email/nameless@example.com", {"contact": {"company": "X"}})
    assert nameless.status == 422  # a new contact needs its first name, as every create
    assert [c["id"] for c in contacts_of(api)] == [one, two]


def test_upsert_by_external_id(api: Client) -> None:
    made = api.put("/contacts/by-external-id/crm-00042", {"contact": {"first_name": "Ada"}})
    assert (made.status, made.json()["contact"]["external_id"]) == (201, "crm-00042")
    contact_id = made.json()["contact"]["id"]
    again = api.put("/contacts/by-external-id/crm-00042.json", {"contact": {"last_name": "Lovelace"}})
    assert (again.status, again.json()["contact"]["id"], again.json()["contact"]["last_name"]) == (
        200,
        contact_id,
        "Lovelace",
    )
    stale = api.put("/contacts/by-external-id/crm-00042", {"contact": {"last_name": "X"}}, headers={"If-Match": '"1"'})
    assert (stale.status, errors(stale)) == (409, ["Contact is at version 2, not 1"])
    other = api.put("/contacts/by-external-id/crm-9", {"contact": {"first_name": "B", "external_id": "crm-8"}})
    assert (other.status, errors(other)) == (422, ["The body's external_id is not the path's"])


def test_an_upsert_with_an_idempotency_key_happens_once(api: Client) -> None:
    sent = {"contact": {"first_name": "Once"}}
    first = api.put("/contacts/by-email/once@example.com", sent, headers={"Idempotency-Key": "sync-1"})
    replay = api.put("/contacts/by-email/once@example.com", sent, headers={"Idempotency-Key": "sync-1"})
    assert (first.status, replay.status, replay.headers.get("idempotent-replayed")) == (201, 201, "true")
    assert replay.json() == first.json()
    assert len(contacts_of(api)) == 1


def test_imports_keep_external_ids_unique(api: Client) -> None:
    api.create(first_name="Stored", external_id="ext-1")
    data = csv_file(["first_name", "external_id"], ["Again", "ext-1"], ["New", "ext-2"], ["Twice", "ext-2"])
    job = run_import(api, data, format="csv", on_duplicate="create")
    assert counts(job) == (3, 1, 0, 0, 2)
    assert [e["messages"] for e in job["errors"]] == [
        ["Contact 1 has this external_id already"],
        [f"Contact {job['rows_imported'] + 1} has this external_id already"],
    ]
    updated = run_import(
        api, csv_file(["first_name", "external_id"], ["Renamed", "ext-1"]), format="csv", on_duplicate="update"
    )
    assert counts(updated) == (1, 0, 1, 0, 0)
    assert [(c["first_name"], c["external_id"]) for c in contacts_of(api)] == [("Renamed", "ext-1"), ("New", "ext-2")]


def _stored() -> list[Any]:
    return list(ContactItem.query(account_pk("race"), ContactItem.sk.startswith(CONTACT_MARK), consistent_read=True))


@pytest.mark.usefixtures("race_table")
def test_concurrent_upserts_of_one_new_email_make_one_contact() -> None:
    done = all_at_once(8, lambda n: upserts.upsert(RACER, "email", "race@example.com", {"first_name": f"R{n}"}, None))
    assert not [d for d in done if isinstance(d, Exception)]
    assert sorted(created for _, created in done) == [False] * 7 + [True]
    (stored,) = _stored()
    assert {int(contact.item.id) for contact, _ in done} == {int(stored.id)}
    assert int(stored.version) == 8  # the create, then each update on what came before


@pytest.mark.usefixtures("race_table")
def test_concurrent_creates_with_one_external_id_give_it_to_one() -> None:
    done = all_at_once(8, lambda n: contacts.create(RACER, {"first_name": f"R{n}", "external_id": "one"}))
    made = [d for d in done if not isinstance(d, Exception)]
    assert len(made) == 1
    assert all(isinstance(d, Conflict) for d in done if d not in made)
    assert [s.external_id for s in _stored()] == ["one"]
