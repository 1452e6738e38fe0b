"""Concurrent writers on AWS's DynamoDB Local (moto does not serialise conditional writes).

Each thread stands for one Lambda container: it calls the domain code the handlers call, so
what is exercised is the storage's atomicity, not the test's scheduling.
"""

from __future__ import annotations

from typing import Any

from crm import contact_reads, contacts, notes
from crm.auth import Principal, granted_scopes
from crm.errors import Conflict
from crm.paging import PageRequest
from crm.storage.items import CONTACT_MARK, ContactItem, HistoryItem, NoteItem, account_pk, dependants_prefix
from tests.conftest import all_at_once

WRITER = Principal("race", 1, frozenset(granted_scopes("write")), "race.test")


def _stored_ids() -> list[int]:
    pk = account_pk(WRITER.account_id)
    items = ContactItem.query(pk, ContactItem.sk.startswith(CONTACT_MARK), consistent_read=True)
    return [int(item.id) for item in items]


def test_fifty_concurrent_creates_give_fifty_distinct_contacts(race_table: None) -> None:
    created = all_at_once(50, lambda n: contacts.create(WRITER, {"first_name": f"Racer {n}"}))
    ids = [int(contact.item.id) for contact in created]
    assert sorted(ids) == list(range(1, 51))
    assert sorted(_stored_ids()) == list(range(1, 51))
    page = contact_reads.list_contacts(WRITER, PageRequest(limit=100))
    assert page.total_count == 50
    assert [int(item.id) for item in page.items] == list(range(1, 51))


def test_concurrent_conditional_updates_have_one_winner_per_version(race_table: None) -> None:
    contact_id = int(contacts.create(WRITER, {"first_name": "Contested"}).item.id)
    winners = []
    for version in (1, 2, 3):
        results = all_at_once(
            20,
            lambda n, v=version: contacts.update(WRITER, contact_id, {"job_title": f"v{v} writer {n}"}, if_match=v),
        )
        won = [r for r in results if not isinstance(r, Conflict)]
        assert len(won) == 1, f"version {version}: {len(won)} winners"
        assert sum(isinstance(r, Conflict) for r in results) == 19
        winners.append(won[0].item.job_title)

    stored = contact_reads.get(WRITER, contact_id).item
    assert int(stored.version) == 4
    assert stored.job_title == winners[-1]
    history = list(
        HistoryItem.query(
            account_pk(WRITER.account_id), HistoryItem.sk.startswith(f"D#{contact_id:010d}#H#"), consistent_read=True
        )
    )
    assert [entry.action for entry in history] == ["created", "updated", "updated", "updated"]
    assert [entry.changes[0]["new_value"] for entry in history[1:]] == winners
    # Each entry's old value is the previous winner's: no update was applied on a stale read.
    assert [entry.changes[0]["old_value"] for entry in history[1:]] == [None, *winners[:-1]]
    assert int(stored.history_count) == len(history)


def test_concurrent_updates_without_a_version_all_land(race_table: None) -> None:
    """No If-Match: writers that collide re-read and re-apply, so no change is lost."""
    contact_id = int(contacts.create(WRITER, {"first_name": "Shared"}).item.id)
    fields = ["title", "middle_name", "suffix", "company", "department"]
    all_at_once(len(fields), lambda n: contacts.update(WRITER, contact_id, {fields[n]: f"set by {n}"}))
    stored = contact_reads.get(WRITER, contact_id).item
    assert {name: getattr(stored, name) for name in fields} == {name: f"set by {n}" for n, name in enumerate(fields)}
    assert int(stored.version) == 1 + len(fields)


# --- notes: every note write takes the contact's next history number, not its version ------------


def _history_of(contact_id: int) -> list[Any]:
    prefix = f"{dependants_prefix(contact_id)}H#"
    return list(
        HistoryItem.query(account_pk(WRITER.account_id), HistoryItem.sk.startswith(prefix), consistent_read=True)
    )


def _notes_of(contact_id: int) -> list[Any]:
    prefix = f"{dependants_prefix(contact_id)}N#"
    return list(NoteItem.query(account_pk(WRITER.account_id), NoteItem.sk.startswith(prefix), consistent_read=True))


def test_twenty_concurrent_note_creates_give_twenty_notes_and_contiguous_history(race_table: None) -> None:
    contact_id = int(contacts.create(WRITER, {"first_name": "Popular"}).item.id)
    created = all_at_once(20, lambda n: notes.create(WRITER, contact_id, {"body": f"note {n}"}))
    assert [r for r in created if isinstance(r, Exception)] == [], "a note create failed under contention"
    assert sorted(int(note.id) for note in created) == list(range(1, 21))

    stored_notes = _notes_of(contact_id)
    assert sorted(note.body for note in stored_notes) == sorted(f"note {n}" for n in range(20))
    assert sorted(int(note.id) for note in stored_notes) == list(range(1, 21))
    item = contact_reads.get(WRITER, contact_id).item
    assert int(item.notes_count) == 20
    assert int(item.version) == 1  # notes never move the contact's version
    assert item.last_action_at is not None

    entries = _history_of(contact_id)
    assert [int(entry.number) for entry in entries] == list(range(1, 22))  # no gap, no duplicate
    assert int(item.history_count) == 21
    assert [(entry.subject, entry.action) for entry in entries] == [("contact", "created")] + [("note", "created")] * 20
    # Each note is recorded exactly once, with its own body.
    recorded = {int(entry.note_id): entry.changes for entry in entries[1:]}
    assert recorded == {
        int(note.id): [{"field": "body", "old_value": None, "new_value": note.body}] for note in stored_notes
    }
    page = notes.listing(WRITER, contact_id, PageRequest(limit=100))
    assert page.total_count == 20
    assert [int(note.id) for note in page.items] == list(range(20, 0, -1))


def test_note_creates_racing_a_conditional_contact_update_all_land(race_table: None) -> None:
    """A client holding the contact's ETag can still update it while notes are being added."""
    contact_id = int(contacts.create(WRITER, {"first_name": "Busy"}).item.id)

    def work(n: int) -> Any:
        if n == 0:
            return contacts.update(WRITER, contact_id, {"job_title": "Engineer"}, if_match=1)
        return notes.create(WRITER, contact_id, {"body": f"note {n}"})

    results = all_at_once(21, work)
    assert [r for r in results if isinstance(r, Exception)] == []
    updated = results[0]
    assert int(updated.item.version) == 2
    item = contact_reads.get(WRITER, contact_id).item
    assert (item.job_title, int(item.version)) == ("Engineer", 2)
    assert int(item.notes_count) == 20
    assert sorted(note.body for note in _notes_of(contact_id)) == sorted(f"note {n}" for n in range(1, 21))
    entries = _history_of(contact_id)
    assert [int(entry.number) for entry in entries] == list(range(1, 23))
    contact_entries = [entry for entry in entries if entry.subject == "contact"]
    assert [(entry.action, int(entry.version)) for entry in contact_entries] == [("created", 1), ("updated", 2)]
    assert contact_entries[1].changes == [{"field": "job_title", "old_value": None, "new_value": "Engineer"}]
    assert sum(entry.subject == "note" for entry in entries) == 20
