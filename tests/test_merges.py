"""``POST /contacts/{id}/merge``: the survivor keeps its values and takes the merged contacts' where
it has none, and everything that hangs off them; their ids answer 404 naming it; a merge stopped
midway is finished by a retry; races on DynamoDB Local."""

from __future__ import annotations

import time
from typing import Any

import pytest

from crm import contact_reads, contacts, merges, notes
from crm.auth import Principal, granted_scopes
from crm.errors import NotFound
from crm.storage.items import ContactItem, account_pk, contact_sk, dependants_prefix
from tests.conftest import Client, Keys, all_at_once
from tests.helpers import contacts_of, errors, upload_to, xml_errors

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
RACER = Principal("race", 1, frozenset(granted_scopes("write")), "race.test")


def merge(api: Client, survivor: int, *merged: int, **body: Any) -> Any:
    return api.post(f"/contacts/{survivor}/merge", {"from": list(merged), **body})


def total(api: Client, path: str, **query: Any) -> int:
    reply = api.get(path, query=query)
    assert reply.status == 200, reply.text
    return reply.json()["total_count"]


def add(api: Client, path: str, root: str, **fields: Any) -> dict[str, Any]:
    reply = api.post(path, {root: fields})
    assert reply.status == 201, reply.text
    return reply.json()[root]


@pytest.fixture
def three(api: Client) -> tuple[int, int, int]:
    """Ada (the survivor), a second Ada with more of her, a third with a call and a photo."""
    ada = api.create(first_name="Ada", email_address="ada@example.com", tags=["vip"], custom_fields=[])["id"]
    again = api.create(
        first_name="Augusta",
        last_name="King",
        company="Analytical Engines",
        email_address="ADA@example.com",
        email_address_2="countess@example.com",
        business_phone="+1 (202) 456-1414",
        tags=["VIP", "lead"],
        project_ids=["support"],
        external_id="crm-7",
        background="Wrote the first program",
    )["id"]
    third = api.create(first_name="A.", job_title="Mathematician", tags=["lead"], is_company=False)["id"]
    return ada, again, third


def test_the_survivor_keeps_its_values_and_takes_theirs_where_it_has_none(
    api: Client, three: tuple[int, int, int]
) -> None:
    ada, again, third = three
    reply = merge(api, ada, again, third)
    assert reply.status == 200, reply.text
    assert reply.headers["etag"] == '"2"'
    shown = reply.json()["contact"]
    assert (shown["id"], shown["first_name"], shown["last_name"]) == (ada, "Ada", "King")
    assert (shown["company"], shown["job_title"], shown["is_company"]) == ("Analytical Engines", "Mathematician", False)
    # Emails fill the survivor's empty slots with the addresses it lacks, whatever their case.
    assert shown["emails"] == ["ada@example.com", "countess@example.com"]
    assert (shown["tags"], shown["project_ids"]) == (["vip", "lead"], ["support"])
    assert (shown["external_id"], shown["business_phone"]) == ("crm-7", "+1 (202) 456-1414")
    assert shown["version"] == 2
    assert [c["id"] for c in contacts_of(api)] == [ada]
    assert total(api, "/contacts") == 1
    # Found by what it took, and only it; the tags' counts count it once.
    for query in ({"search": "engines"}, {"search": "2024561414"}, {"tags": "lead"}):
        assert [c["id"] for c in api.get("/contacts", query=query).json()["contacts"]] == [ada], query
    for query in ({"email": "countess@example.com"}, {"phone": "202-456-1414"}, {"external_id": "crm-7"}):
        assert [c["id"] for c in api.get("/contacts/lookup", query=query).json()["contacts"]] == [ada], query
    assert api.get("/contacts_tags").json()["tags"] == [{"name": "lead", "count": 1}, {"name": "vip", "count": 1}]
    # The external_id is the survivor's now: another contact cannot take it.
    taken = api.post("/contacts", {"contact": {"first_name": "Copy", "external_id": "crm-7"}})
    assert (taken.status, errors(taken)) == (409, [f"Contact {ada} has this external_id already"])
    # The history records the merge, field by field.
    entry = api.get(f"/contacts/{ada}/history").json()["history"][0]
    assert (entry["action"], entry["version"]) == ("merged", 2)
    changes = {change["field"]: (change["old_value"], change["new_value"]) for change in entry["changes"]}
    assert changes["last_name"] == (None, "King")
    assert changes["email_address_2"] == (None, "countess@example.com")
    assert changes["tags"] == (["vip"], ["vip", "lead"])
    assert changes["merged_from"] == (None, [again, third])
    assert "first_name" not in changes


def test_merged_contacts_answer_404_naming_the_survivor(api: Client, three: tuple[int, int, int]) -> None:
    ada, again, third = three
    assert merge(api, ada, again).status == 200
    for path in (f"/contacts/{again}", f"/contacts/{again}/notes", f"/contacts/{again}/history"):
        gone = api.get(path)
        assert (gone.status, gone.json()) == (
            404,
            {"errors": [f"Contact {again} was merged into contact {ada}"], "merged_into": ada},
        ), path
    xml = api.get(f"/contacts/{again}.xml")
    assert (xml.status, xml.xml().get("merged_into"), xml_errors(xml)) == (
        404,
        str(ada),
        [f"Contact {again} was merged into contact {ada}"],
    )
    # Merged on, it names where it is now; a contact never merged is a plain 404.
    assert merge(api, third, ada).status == 200
    assert api.get(f"/contacts/{again}").json()["merged_into"] == third
    assert api.get("/contacts/99").json() == {"errors": ["Contact not found"]}
    # Updates and deletes of a merged contact are 404s too, and change nothing.
    assert api.patch(f"/contacts/{again}", {"contact": {"company": "X"}}).status == 404
    assert api.delete(f"/contacts/{again}").status == 404
    assert [c["id"] for c in contacts_of(api)] == [third]


def test_the_survivor_takes_their_notes_calls_messages_and_photos(api: Client, three: tuple[int, int, int]) -> None:
    ada, again, third = three
    own = add(api, f"/contacts/{ada}/notes", "note", body="Met at the Society")
    theirs = [add(api, f"/contacts/{again}/notes", "note", body=f"Note {n}") for n in range(35)]  # two steps
    call = add(api, "/calls", "call", contact_id=again, subject="Call back")
    done = add(api, "/calls", "call", contact_id=third, subject="Called", completed_at="2026-01-02T10:00:00Z")
    message = add(api, "/messages", "message", contact_id=third, body="Hello", to="a@example.com")
    photo = add(api, "/photos", "photo", contact_id=third, content_type="image/png")
    assert upload_to(photo, PNG) == 200
    calls_before, messages_before = total(api, "/calls"), total(api, "/messages")

    assert merge(api, ada, again, third).status == 200
    listed = api.get(f"/contacts/{ada}/notes", query={"limit": 100}).json()
    assert listed["total_count"] == 36
    assert {n["id"] for n in listed["notes"]} == {own["id"], *(n["id"] for n in theirs)}
    assert {n["contact_id"] for n in listed["notes"]} == {ada}
    # Redmine's /notes/{id} finds a moved note by its id, under the survivor.
    moved = api.get(f"/notes/{theirs[0]['id']}").json()["note"]
    assert (moved["source_id"], moved["content"]) == (ada, "Note 0")
    assert api.get(f"/contacts/{ada}/notes/{theirs[0]['id']}").status == 200
    # Calls, messages and photos are the survivor's, in its lists and the account's, counted once.
    assert {c["id"] for c in api.get("/calls", query={"contact_id": ada}).json()["calls"]} == {call["id"], done["id"]}
    assert total(api, "/calls", contact_id=ada) == 2
    assert total(api, "/calls", completed="true", contact_id=ada) == 1
    assert (total(api, "/calls"), total(api, "/messages")) == (calls_before, messages_before)
    assert api.get(f"/calls/{call['id']}").json()["call"]["contact_id"] == ada
    assert api.get(f"/messages/{message['id']}").json()["message"]["contact_id"] == ada
    assert api.get(f"/photos/{photo['id']}").json()["photo"]["contact_id"] == ada
    shown = api.get(f"/contacts/{ada}", query={"include": "calls,messages,photos"}).json()["contact"]
    assert [m["id"] for m in shown["messages"]] == [message["id"]]
    assert shown["photo_url"] is not None  # the survivor had none: it took the merged contact's
    assert len(shown["notes"]) == 25
    # Nothing is left under the merged contacts.
    for gone in (again, third):
        left = ContactItem.query(account_pk("acme"), ContactItem.sk.startswith(dependants_prefix(gone)))
        assert list(left) == []


def test_a_dry_run_answers_the_survivor_as_it_would_be_and_changes_nothing(
    api: Client, three: tuple[int, int, int]
) -> None:
    ada, again, third = three
    add(api, f"/contacts/{again}/notes", "note", body="Theirs")
    before = [api.get(f"/contacts/{c}").json() for c in three]
    reply = merge(api, ada, again, third, dry_run=True)
    assert reply.status == 200, reply.text
    assert "etag" not in reply.headers  # no version of it exists yet
    shown = reply.json()["contact"]
    assert (shown["company"], shown["tags"], shown["version"]) == ("Analytical Engines", ["vip", "lead"], 2)
    assert [(n["body"], n["contact_id"]) for n in shown["notes"]] == [("Theirs", ada)]
    assert [api.get(f"/contacts/{c}").json() for c in three] == before
    assert len(contacts_of(api)) == 3
    assert api.get("/contacts_tags").json()["tags"] == [{"name": "lead", "count": 2}, {"name": "VIP", "count": 2}]


def test_a_merge_in_xml(api: Client, three: tuple[int, int, int]) -> None:
    ada, again, third = three
    body = f'<merge><from type="array"><id>{again}</id><id>{third}</id></from><dry_run>false</dry_run></merge>'
    reply = api.request("POST", f"/contacts/{ada}/merge.xml", body=body, content_type="application/xml")
    assert reply.status == 200, reply.text
    assert (reply.xml().findtext("company"), reply.xml().findtext("job-title")) == (
        "Analytical Engines",
        "Mathematician",
    )
    assert [c["id"] for c in contacts_of(api)] == [ada]


def test_a_merge_from_a_form(api: Client, three: tuple[int, int, int]) -> None:
    ada, again, third = three
    body = f"from={again}%2C{third}&dry_run=1"
    reply = api.request("POST", f"/contacts/{ada}/merge", body=body, content_type="application/x-www-form-urlencoded")
    assert (reply.status, reply.json()["contact"]["company"]) == (200, "Analytical Engines")
    assert len(contacts_of(api)) == 3  # a dry run


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "from must be a list of the ids of the contacts to merge into this one"),
        ({"from": []}, "from must be a list of the ids of the contacts to merge into this one"),
        ({"from": ["x"]}, "from must hold contact ids"),
        ({"from": "2,x"}, "from must hold contact ids"),
        ({"from": [2.5]}, "from must hold contact ids"),
        ({"from": [2, 2]}, "from names a contact twice"),
        ({"from": list(range(2, 13))}, "A merge takes at most 10 contacts at once; this one names 11"),
        ({"from": [2], "dry_run": "maybe"}, "dry_run must be true or false"),
        ({"from": [2], "into": 1}, "Unknown fields: into"),
        ({"from": [1]}, "A contact cannot be merged into itself"),
        ({"from": [2, 99]}, "Contact 99 does not exist"),
    ],
)
def test_a_merge_it_cannot_make_is_a_422_that_changes_nothing(
    api: Client, three: tuple[int, int, int], body: dict[str, Any], message: str
) -> None:
    before = contacts_of(api)
    reply = api.post("/contacts/1/merge", body)
    assert (reply.status, errors(reply)) == (422, [message])
    assert contacts_of(api) == before


def test_if_match_names_the_survivors_version(api: Client, three: tuple[int, int, int]) -> None:
    ada, again, _ = three
    stale = api.post(f"/contacts/{ada}/merge", {"from": [again]}, headers={"If-Match": '"7"'})
    assert (stale.status, errors(stale)) == (409, ["Contact is at version 1, not 7"])
    assert api.post(f"/contacts/{ada}/merge", {"from": [again]}, headers={"If-Match": '"1"'}).status == 200


def test_a_key_merges_only_contacts_it_may_see(keys: Keys) -> None:
    mine, colleague, admin = Client(keys.writer), Client(keys.colleague), Client(keys.admin)
    survivor = mine.create(first_name="Mine")["id"]
    hidden = colleague.create(first_name="Hidden", is_private=True)["id"]
    refused = merge(mine, survivor, hidden)
    assert (refused.status, errors(refused)) == (422, [f"Contact {hidden} does not exist"])
    assert merge(admin, survivor, hidden).status == 200
    # Where a private contact went is for those who could see it.
    assert colleague.get(f"/contacts/{hidden}").json()["merged_into"] == survivor
    assert mine.get(f"/contacts/{hidden}").json() == {"errors": ["Contact not found"]}
    assert admin.get("/contacts").json()["total_count"] == 1
    assert colleague.get("/contacts").json()["total_count"] == 1


def test_an_external_id_another_contact_has_stops_the_merge(api: Client) -> None:
    survivor = api.create(first_name="S")["id"]
    merged = api.create(first_name="M", external_id="x-1")["id"]
    assert merge(api, survivor, merged).status == 200
    assert [c["id"] for c in api.get("/contacts/lookup", query={"external_id": "x-1"}).json()["contacts"]] == [survivor]


def test_a_merge_stopped_midway_is_finished_by_its_retry(
    api: Client, three: tuple[int, int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    ada, again, third = three
    for n in range(3):
        add(api, f"/contacts/{again}/notes", "note", body=f"Note {n}")
    add(api, "/calls", "call", contact_id=third, subject="Call")
    real = merges._move_pass

    def stopped(*args: Any) -> Any:
        raise TimeoutError("the Lambda's time ran out")

    # The request stops after the merge's transaction, before anything moved; and so does the
    # stream's function, which the test's gateway runs right after the request.
    monkeypatch.setattr(merges, "_move_pass", stopped)
    assert merge(api, ada, again, third).status == 500
    assert api.get(f"/contacts/{again}").json()["merged_into"] == ada
    assert total(api, f"/contacts/{ada}/notes") == 3  # counted already, not moved yet
    assert api.get(f"/contacts/{ada}/notes").json()["notes"] == []
    monkeypatch.setattr(merges, "_move_pass", real)
    # The client retries: the merge is finished, and answered as it would have been.
    retried = merge(api, ada, again, third)
    assert retried.status == 200, retried.text
    assert len(retried.json()["contact"]["notes"]) == 3
    assert total(api, "/calls", contact_id=ada) == 1
    assert [c["id"] for c in api.get("/contacts", query={"search": "engines"}).json()["contacts"]] == [ada]


def test_the_stream_finishes_a_merge_its_request_left(
    api: Client, three: tuple[int, int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    ada, again, _ = three
    note = add(api, f"/contacts/{again}/notes", "note", body="Kept")
    calls = {"n": 0}
    real = merges._move_pass

    def once(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise TimeoutError("the Lambda's time ran out")
        return real(*args)

    monkeypatch.setattr(merges, "_move_pass", once)
    assert merge(api, ada, again).status == 500
    # The cleanup function got the stream's record of the merged contact's removal and finished it.
    assert [n["id"] for n in api.get(f"/contacts/{ada}/notes").json()["notes"]] == [note["id"]]


# --- races on DynamoDB Local ---------------------------------------------------------------------


@pytest.mark.usefixtures("race_table")
def test_a_merge_racing_updates_and_notes_loses_none_of_them() -> None:
    survivor = int(contacts.create(RACER, {"first_name": "Survivor"}).item.id)
    merged = int(contacts.create(RACER, {"first_name": "Merged"}).item.id)

    def work(n: int) -> list[tuple[str, Any]]:
        if n == 0:
            time.sleep(0.1)  # into the middle of the others' writes
            return [("merge", merges.merge(RACER, survivor, [merged]))]
        done: list[tuple[str, Any]] = []
        for round_ in range(12):  # or until the merge has taken the contact: then it is a 404
            time.sleep(0.03)
            try:
                if n % 2:
                    done.append(("update", contacts.update(RACER, merged, {"job_title": f"J{n}.{round_}"})))
                else:
                    done.append(("note", notes.create(RACER, merged, {"body": f"N{n}.{round_}"})))
            except NotFound:
                done.append(("gone", None))
                break
        return done

    done = [outcome for outcomes in all_at_once(9, work) for outcome in outcomes]
    updated = [c for kind, c in done if kind == "update"]
    noted = [n for kind, n in done if kind == "note"]
    kept = contact_reads.get(RACER, survivor)
    if updated:  # the last update before the merge is what the survivor took
        last = max(updated, key=lambda contact: contact.version)
        assert kept.item.job_title == last.item.job_title
    shown = notes.listing(RACER, survivor, contact_reads.PageRequest(offset=0, limit=100, after=None, fingerprint=""))
    assert {int(n.id) for n in shown.items} == {int(n.id) for n in noted}
    assert int(kept.item.notes_count) == len(noted)
    with pytest.raises(NotFound):
        contact_reads.load_visible(RACER, merged)
    assert ContactItem.count(account_pk("race"), ContactItem.sk == contact_sk(merged)) == 0
