"""Contacts: what can be done to them, and what each change writes (crm.contact_reads reads them;
crm.contact_counts holds the counts their writes move).

Every change is one DynamoDB transaction holding the contact, its history entry and the
account's counters, so there is no change without history and no count that drifts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from crm import accounts, contact_counts, custom_fields, custom_values, history, index, phones, tags, times
from crm.auth import Principal
from crm.contact_reads import NOTES_ON_SHOW, Contact, load_visible, newest_notes
from crm.errors import Conflict, NotFound, Unprocessable
from crm.fields import CONTACT_FIELDS, FIELDS_BY_NAME, defaults
from crm.observability import count, logger
from crm.storage.db import ConditionFailed, next_id, optimistic, transact
from crm.storage.items import (
    ContactItem,
    HistoryItem,
    NoteItem,
    account_pk,
    contact_sk,
    note_sk,
    with_ref,
)
from crm.validation import Sent, coerce, contact_changes, sent
from crm.versions import expected_version

# --- writing -----------------------------------------------------------------------------


@dataclass
class Draft:
    """A new contact's checked values and first note, before it has an id."""

    values: dict[str, Any]
    first_note: str | None
    uid: str | None = None  # the id its source gave it (an import's vCard UID)


def draft(
    principal: Principal, body: Mapping[str, Any] | Sent, defs: Mapping[int, Any] | None = None, uid: str | None = None
) -> Draft:
    """Check a create's body as ``POST /contacts`` does (422 if it is no contact); ``defs``: the
    account's custom fields, when the caller checks many bodies against them."""
    given = sent(body)
    first_note = given.first_note
    fields = contact_changes(given)
    # Every create is checked against the definitions: a required field needs a value.
    defs = custom_fields.definitions(principal.account_id) if defs is None else defs
    fields["custom_fields"] = custom_values.check_values(defs, fields.get("custom_fields") or [], None)
    values = {**defaults(), **fields}
    return Draft(values, first_note if first_note and first_note.strip() else None, uid)


def check_findable(principal: Principal, new: Draft) -> None:
    """422 if the contact would have too many search terms, which ``new_items`` finds otherwise
    (an import checks a row before planning its writes; a single create need not look twice)."""
    item = ContactItem(**new.values, updated_at="", source_uid=new.uid)
    index.terms(item, region_of(principal, item))


def derive(item: Any, region: str) -> None:
    """Set what the contact's values give it, read in ``region``: the terms it is found by (422
    past MAX_TERMS), and its phone numbers in E.164."""
    item.search_terms = index.terms(item, region)
    item.phones_e164 = phones.in_e164({name: getattr(item, name) for name in index.PHONE_FIELDS}, region) or None


def region_of(principal: Principal, item: Any) -> str:
    """The region the contact's phone numbers are read in: its account's, read only for a contact
    that has one (the account's item is one more read, once a minute per container)."""
    if any(getattr(item, name) for name in index.PHONE_FIELDS):
        return accounts.default_region(principal.account_id)
    return phones.DEFAULT_REGION


@dataclass
class NewContact:
    """Every item a new contact is written as (its postings are ``item.search_terms``)."""

    item: Any
    notes: list[Any]
    entry: Any


def new_items(principal: Principal, new: Draft, contact_id: int, note_id: int | None, now: str) -> NewContact:
    """The items of the contact ``new`` with this id (and its first note with ``note_id``)."""
    pk = account_pk(principal.account_id)
    item = ContactItem(
        pk,
        contact_sk(contact_id),
        id=contact_id,
        user_id=principal.user_id,
        created_at=now,
        updated_at=now,
        version=1,
        history_count=1,
        notes_count=0,
        source_uid=new.uid,
        **new.values,
    )
    notes = []
    if new.first_note is not None and note_id is not None:
        notes.append(
            NoteItem(
                pk,
                note_sk(contact_id, note_id),
                id=note_id,
                contact_id=contact_id,
                user_id=principal.user_id,
                body=new.first_note,
                created_at=now,
                updated_at=now,
            )
        )
        item.last_action_at, item.notes_count = now, 1
    changes = {name: (None, value) for name, value in new.values.items() if value not in (None, "", [])}
    entry = history.entry(principal, item, "created", changes, now)
    derive(item, region_of(principal, item))
    return NewContact(item, notes, entry)


def create(
    principal: Principal,
    body: Mapping[str, Any] | Sent,
    checked: Draft | None = None,
    exclusive: Mapping[str, index.Named] | None = None,
) -> Contact:
    """Create a contact; ``checked``: the body's draft, when the caller checked it already;
    ``exclusive``: lookup terms that must name what they named when read (an upsert's: no contact
    it may see), else ConditionFailed."""
    new = checked or draft(principal, body)
    contact_id = next_id(principal.account_id, "contact")
    note_id = next_id(principal.account_id, "note") if new.first_note is not None else None
    made = new_items(principal, new, contact_id, note_id, times.now())
    item = made.item
    index.check_shared(principal, {}, item.search_terms)

    def stage(tx: Any) -> None:
        tx.save(item, condition=ContactItem.sk.does_not_exist())
        terms, owner = item.search_terms, index.owner(item)
        index.stage(tx, principal.account_id, contact_id, {}, terms, None, owner, exclusive)
        tags.stage(tx, principal.account_id, None, None, item.tags, owner)
        tx.save(made.entry, condition=HistoryItem.sk.does_not_exist())
        for written in (item for note in made.notes for item in with_ref(note)):
            tx.save(written, condition=NoteItem.sk.does_not_exist())
        contact_counts.stage_counts(tx, principal, principal.user_id, 1, 1 if item.is_private else 0)

    try:
        transact(stage)
    except ConditionFailed:
        # Only a lookup term can fail (the ids are new): taken meanwhile by another writer.
        if exclusive:
            raise
        index.check_shared(principal, {}, item.search_terms)  # 409 naming the contact that took it
        raise Conflict("Contact is changing too often; retry") from None
    count("ContactCreated")
    logger.info("contact created", extra={"contact_id": contact_id})
    return Contact(item, made.notes)


def current_fields(item: Any) -> dict[str, Any]:
    return {field.name: getattr(item, field.name) for field in CONTACT_FIELDS}


def new_values(principal: Principal, item: Any, changes: dict[str, tuple[Any, Any]], now: str) -> list[Any]:
    """Set ``changes`` ({attribute: (old, new)}) on ``item`` as read, with its next version, ``now``
    and what its values then give it (``derive``); returns the update actions writing them."""
    actions = [set_or_remove(getattr(ContactItem, name), new) for name, (_, new) in changes.items()]
    for name, (_, new) in changes.items():
        setattr(item, name, new)
    item.version, item.updated_at = int(item.version) + 1, now
    derive(item, region_of(principal, item))
    return [
        *actions,
        ContactItem.version.set(int(item.version)),
        ContactItem.updated_at.set(now),
        ContactItem.search_terms.set(item.search_terms),
        set_or_remove(ContactItem.phones_e164, item.phones_e164),
    ]


def set_or_remove(attribute: Any, value: Any) -> Any:
    """The update action that writes ``value``, or removes the attribute for None."""
    return attribute.set(value) if value is not None else attribute.remove()


def _write_update(principal: Principal, item: Any, changes: dict[str, tuple[Any, Any]]) -> None:
    """Stage and commit one update of ``item`` as read; ConditionFailed if its version moved on."""
    read_version, now = int(item.version), times.now()
    was_private, old_owner, old_terms = bool(item.is_private), index.owner(item), dict(item.search_terms or {})
    old_tags = list(item.tags or ())
    actions = new_values(principal, item, changes, now)
    index.check_shared(principal, old_terms, item.search_terms)
    # A note written meanwhile moves history_count but not the version: retried, not a 409.
    as_read = ContactItem.version == read_version
    touch = history.touch(principal, item, "updated", changes, now, None, tuple(actions), as_read, last_action=False)
    private_delta = int(bool(item.is_private)) - int(was_private)
    # Its calls (...) move between the account's counts of private contacts' and everyone's.
    counts = contact_counts.activity_counts(principal, int(item.id)) if private_delta else []

    def stage(tx: Any) -> None:
        touch(tx)
        contact_counts.stage_counts(tx, principal, int(item.user_id), 0, private_delta)
        index.stage(tx, principal.account_id, int(item.id), old_terms, item.search_terms, old_owner, index.owner(item))
        tags.stage(tx, principal.account_id, old_tags, old_owner, item.tags, index.owner(item))
        owner = int(item.user_id)
        contact_counts.stage_activity_counts(
            tx, account_pk(principal.account_id), counts, owner, private_delta, everyone=False
        )

    transact(stage)


def update(
    principal: Principal, contact_id: int, body: Mapping[str, Any] | Sent, if_match: int | None = None
) -> Contact:
    """Apply the fields of ``body`` to the stored contact (PUT and PATCH alike: fields not sent stay).

    With a version (If-Match, or ``version`` in the body) the write happens only on that
    version; a stale one is 409. Without one, a concurrent change makes us re-read and re-apply,
    so neither write is lost.
    """
    asked = sent(body)
    wanted_version = expected_version(asked.fields, if_match)
    defs: dict[int, Any] | None = None  # read once, and only if the body sends values

    def edit(current: dict[str, Any]) -> dict[str, Any]:
        nonlocal defs
        wanted = contact_changes(asked, current)
        if "custom_fields" in wanted:
            defs = custom_fields.definitions(principal.account_id) if defs is None else defs
            given, stored = wanted["custom_fields"], current["custom_fields"]
            wanted["custom_fields"] = custom_values.check_values(defs, given, stored)
        return wanted

    return change(principal, contact_id, edit, wanted_version)


def change(
    principal: Principal,
    contact_id: int,
    edit: Callable[[dict[str, Any]], dict[str, Any]],
    wanted_version: int | None = None,
) -> Contact:
    """Apply ``edit(current fields) -> {field: new stored value}`` to the contact, re-reading and
    re-applying it when another change got in first (see ``update``)."""

    def attempt() -> Contact:
        item = load_visible(principal, contact_id)
        if wanted_version is not None and int(item.version) != wanted_version:
            raise Conflict(f"Contact is at version {int(item.version)}, not {wanted_version}")
        current = current_fields(item)
        wanted = edit(current)
        changes = {name: (current[name], value) for name, value in wanted.items() if current[name] != value}
        if changes:
            _write_update(principal, item, changes)
            count("ContactUpdated")
            logger.info("contact updated", extra={"contact_id": contact_id, "version": int(item.version)})
        return Contact(item, newest_notes(principal.account_id, contact_id, NOTES_ON_SHOW))

    return optimistic(attempt, "Contact")


def _project_key(project: str) -> str:
    return index.exact("p", project)


def add_project(principal: Principal, contact_id: int, project: Any) -> tuple[Contact, bool]:
    """Put the contact in ``project`` (an id or an identifier such as ``support``); True if it was not in it."""
    errors: list[str] = []
    wanted = coerce(FIELDS_BY_NAME["project_ids"], [project], errors)
    if errors or not wanted:
        raise Unprocessable("Project id must be a number or an identifier of at most 64 characters")
    added = False

    def edit(current: dict[str, Any]) -> dict[str, Any]:
        nonlocal added
        projects = list(current["project_ids"] or [])
        added = _project_key(wanted[0]) not in {_project_key(p) for p in projects}
        return contact_changes({"project_ids": [*projects, wanted[0]]}, current) if added else {}

    return change(principal, contact_id, edit), added


def remove_project(principal: Principal, contact_id: int, project: str) -> Contact:
    """Take the contact out of ``project``; 404 if it is not in it."""
    key = _project_key(project)

    def edit(current: dict[str, Any]) -> dict[str, Any]:
        projects = list(current["project_ids"] or [])
        kept = [p for p in projects if _project_key(p) != key]
        if len(kept) == len(projects):
            raise NotFound(f"Contact is not in project {project}")
        return contact_changes({"project_ids": kept}, current)

    return change(principal, contact_id, edit)


def delete(principal: Principal, contact_id: int, expected_version: int | None = None) -> None:
    """Delete the contact and its counts in one transaction; the stream then removes what hangs off it.

    The account's counts of calls (...) lose the contact's in the same transaction, which holds only
    if nothing was added to the contact meanwhile (its history number): if something was, read again.
    """

    def attempt() -> None:
        item = load_visible(principal, contact_id)
        if expected_version is not None and int(item.version) != expected_version:
            raise Conflict(f"Contact is at version {int(item.version)}, not {expected_version}")
        _write_delete(principal, item, contact_counts.activity_counts(principal, contact_id))

    optimistic(attempt, "Contact")
    count("ContactDeleted")
    logger.info("contact deleted", extra={"contact_id": contact_id})
    # its notes, calls and history go next, through the table's stream (crm.cascade)


def _write_delete(principal: Principal, item: Any, counts: list[Any]) -> None:
    read_version, read_count, contact_id = int(item.version), int(item.history_count or 0), int(item.id)
    pk = account_pk(principal.account_id)
    # The deletion's own entry, after the others: the change feed reads it from the stream (who
    # deleted it, and when) before the cleanup takes the contact's history away with it.
    item.history_count = read_count + 1
    deleted = history.entry(principal, item, "deleted", {}, times.now())

    def stage(tx: Any) -> None:
        tx.delete(item, condition=(ContactItem.version == read_version) & (ContactItem.history_count == read_count))
        tx.save(deleted, condition=HistoryItem.sk.does_not_exist())
        contact_counts.stage_counts(tx, principal, int(item.user_id), -1, -1 if item.is_private else 0)
        index.stage(tx, principal.account_id, contact_id, item.search_terms or {}, {}, index.owner(item), None)
        tags.stage(tx, principal.account_id, item.tags, index.owner(item), None, None)
        owner = int(item.user_id) if item.is_private else None
        contact_counts.stage_activity_counts(tx, pk, counts, owner, -1, everyone=True)

    transact(stage)
