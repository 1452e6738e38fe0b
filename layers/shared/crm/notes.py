"""Notes of a contact: ContactHero's ``body`` (Redmine CRM's ``content``), a ``subject``, who and when.

A note lives under its contact (``D#<contact>#N#<note>``), so a contact's notes are one Query and
go with it when it is deleted; ``N#<note>`` names its contact, so a note is also found by its id
alone. Every change to a note is one transaction with the contact (its ``last_action_at``, note
count and history number) and the contact's history entry.
"""

from __future__ import annotations

from typing import Any

from crm import history, times
from crm.auth import Principal
from crm.contact_reads import load_visible
from crm.errors import Conflict, NotFound
from crm.fields import NOTE_FIELDS
from crm.observability import count, logger
from crm.paging import Page, PageRequest
from crm.storage.db import next_id, optimistic, query_page, transact
from crm.storage.items import (
    ContactItem,
    NoteItem,
    NoteRefItem,
    account_pk,
    note_ref_sk,
    note_sk,
    notes_prefix,
    starting_with,
    with_ref,
)
from crm.validation import note_changes
from crm.versions import expected_version


def _load(principal: Principal, contact_id: int, note_id: int) -> tuple[Any, Any]:
    contact = load_visible(principal, contact_id)
    try:
        note = NoteItem.get(account_pk(principal.account_id), note_sk(contact_id, note_id), consistent_read=True)
    except NoteItem.DoesNotExist:
        raise NotFound("Note not found") from None
    return contact, note


def get(principal: Principal, contact_id: int, note_id: int) -> Any:
    return _load(principal, contact_id, note_id)[1]


def contact_of(principal: Principal, note_id: int) -> int:
    """The id of the contact a note is of (Redmine's ``/notes/{id}`` names no contact)."""
    try:
        ref = NoteRefItem.get(account_pk(principal.account_id), note_ref_sk(note_id), consistent_read=True)
    except NoteRefItem.DoesNotExist:
        raise NotFound("Note not found") from None
    return int(ref.contact_id)


def listing(principal: Principal, contact_id: int, page: PageRequest) -> Page:
    """The contact's notes, newest first (as the contact shows its newest 25)."""
    contact = load_visible(principal, contact_id)
    prefix = notes_prefix(contact_id)
    pk = account_pk(principal.account_id)
    total = int(contact.notes_count or 0)
    return query_page(NoteItem, pk, starting_with(NoteItem.sk, prefix), page, total, scan_index_forward=False)


def _write(
    principal: Principal, contact: Any, note: Any, action: str, changes: dict, notes_delta: int, now: str
) -> None:
    """Commit a change to ``note`` with the contact's touch and history entry, as one transaction.

    ``now`` is the change's one time: the note's, the contact's last action's and the entry's.
    """
    counted = (ContactItem.notes_count.add(notes_delta),) if notes_delta else ()
    touch = history.touch(principal, contact, action, changes, now, ("note", note), counted)

    def stage(tx: Any) -> None:
        touch(tx)
        if action == "created":
            for written in with_ref(note):
                tx.save(written, condition=NoteItem.sk.does_not_exist())
        elif action == "updated":
            condition = NoteItem.version == int(note.version) - 1
            subject = NoteItem.subject.set(note.subject) if note.subject is not None else NoteItem.subject.remove()
            tx.update(
                note,
                actions=[
                    NoteItem.body.set(note.body),
                    subject,
                    NoteItem.updated_at.set(note.updated_at),
                    NoteItem.version.set(int(note.version)),
                ],
                condition=condition,
            )
        else:
            tx.delete(note, condition=NoteItem.version == int(note.version))
            tx.delete(NoteRefItem(note.pk, note_ref_sk(int(note.id))))

    transact(stage)


def create(principal: Principal, contact_id: int, body: dict[str, Any]) -> Any:
    fields = note_changes(body)
    note_id = next_id(principal.account_id, "note")

    def attempt() -> Any:
        contact, now = load_visible(principal, contact_id), times.now()
        note = NoteItem(
            account_pk(principal.account_id),
            note_sk(contact_id, note_id),
            id=note_id,
            contact_id=contact_id,
            user_id=principal.user_id,
            subject=fields.get("subject"),
            body=fields["body"],
            created_at=now,
            updated_at=now,
            version=1,
        )
        created = {"body": (None, note.body), **({"subject": (None, note.subject)} if note.subject else {})}
        _write(principal, contact, note, "created", created, 1, now)
        return note

    note = optimistic(attempt, "Contact")  # another change to the contact took the history number
    count("NoteCreated")
    logger.info("note created", extra={"contact_id": contact_id, "note_id": note_id})
    return note


def update(principal: Principal, contact_id: int, note_id: int, body: dict[str, Any], if_match: int | None) -> Any:
    wanted_version = expected_version(body, if_match)

    def attempt() -> tuple[Any, bool]:
        contact, note = _load(principal, contact_id, note_id)
        if wanted_version is not None and int(note.version) != wanted_version:
            raise Conflict(f"Note is at version {int(note.version)}, not {wanted_version}")
        current = {field.name: getattr(note, field.name) for field in NOTE_FIELDS}
        fields = note_changes(body, current)
        changes = {name: (current[name], new) for name, new in fields.items() if new != current[name]}
        if not changes:
            return note, False
        now = times.now()
        note.body, note.subject = fields.get("body", note.body), fields.get("subject", note.subject)
        note.updated_at, note.version = now, int(note.version) + 1
        _write(principal, contact, note, "updated", changes, 0, now)
        return note, True

    note, changed = optimistic(attempt, "Note")  # the note or its contact changed since we read them
    if changed:
        count("NoteUpdated")
        logger.info("note updated", extra={"contact_id": contact_id, "note_id": note_id})
    return note


def delete(principal: Principal, contact_id: int, note_id: int, if_match: int | None) -> None:
    def attempt() -> None:
        contact, note = _load(principal, contact_id, note_id)
        if if_match is not None and int(note.version) != if_match:
            raise Conflict(f"Note is at version {int(note.version)}, not {if_match}")
        _write(principal, contact, note, "deleted", {"body": (note.body, None)}, -1, times.now())

    optimistic(attempt, "Note")
    count("NoteDeleted")
    logger.info("note deleted", extra={"contact_id": contact_id, "note_id": note_id})
