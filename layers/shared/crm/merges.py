"""Merging contacts (``POST /contacts/{id}/merge``): the survivor keeps its values and takes the
merged contacts' where it has none, and everything that hangs off them; they are gone, and their
ids answer 404 naming it.

A merge is one transaction, then work that moves what it took in. The transaction (``_commit``)
writes the survivor's new values and its history entry, deletes the merged contacts, leaves a
``MERGED#`` item for each (their 404s read it), moves every count the merge changes (contacts,
tags, the survivor's counts of calls, messages and photos) and records the merge as under way
(``G#<survivor>``). What follows (``finish``) only moves items and is safe to run again and
again: the survivor's postings (on its version), the merged contacts' postings removed, their
notes, calls, messages and photos moved under the survivor, each on the condition that it is
still where it was. The request runs it; if it stops midway, the stream record of a merged
contact's removal runs it again (the cleanup function's), and so does any later merge of these
contacts, so a merge is never left half done.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from crm import cascade, contact_counts, contact_reads, history, index, tags, times
from crm.activities import Kind, moved_copies
from crm.auth import ADMIN, Principal
from crm.calls import CALL
from crm.contact_reads import NOTES_ON_SHOW, Contact, load_visible, newest_notes
from crm.contacts import current_fields, new_values
from crm.errors import Conflict, NotFound, Unprocessable
from crm.fields import CONTACT_FIELDS, LIST_MAX
from crm.messages import MESSAGE
from crm.observability import count, logger
from crm.photos import PHOTO
from crm.storage.db import RACE_ATTEMPTS, ConditionFailed, optimistic, transact
from crm.storage.items import (
    STATES,
    ActivityCountItem,
    ContactItem,
    CountItem,
    MergedItem,
    MergeItem,
    NoteItem,
    NoteRefItem,
    account_pk,
    contact_counts_prefix,
    contact_sk,
    dependants_prefix,
    merge_sk,
    merged_sk,
    note_ref_sk,
    note_sk,
    notes_prefix,
    starting_with,
)

MAX_FROM = 10
TRANSACTION_MAX = 100  # DynamoDB's items in one transaction
KINDS: tuple[Kind, ...] = (CALL, MESSAGE, PHOTO)
EMAILS = ("email_address", "email_address_2", "email_address_3")
# The survivor's own, whatever the merged contacts hold: who it is, and the indexes into its own
# emails and phones.
KEPT = frozenset({"is_private", "preferred_email_index", "preferred_phone_index"})
NOTES_A_STEP, RECORDS_A_STEP = 30, 24  # 3 and 4 writes each, and a check, within a transaction


# --- what the survivor becomes ------------------------------------------------------------------


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == ()


def _union(values: Iterable[Any], key: Any) -> list[Any]:
    seen, kept = set(), []
    for value in values:
        if key(value) not in seen:
            seen.add(key(value))
            kept.append(value)
    return kept


def combined(survivor: dict[str, Any], merged: list[dict[str, Any]]) -> dict[str, Any]:
    """The survivor's fields after the merge (those that change): each empty one takes the first
    merged contact's value; emails fill its empty slots with addresses it lacks; tags, projects and
    custom field values are the union, the survivor's first."""
    changed: dict[str, Any] = {}
    for field in CONTACT_FIELDS:
        name = field.name
        if not field.writable or name in KEPT or name in EMAILS or field.kind in ("tags", "ids", "records"):
            continue
        if _empty(survivor[name]):
            taken = next((m[name] for m in merged if not _empty(m[name])), None)
            if taken is not None:
                changed[name] = taken
    emails = [survivor[name] for name in EMAILS]
    held = {e.strip().lower() for e in emails if e}
    for address in (m[name] for m in merged for name in EMAILS if m[name]):
        if address.strip().lower() not in held and None in emails:
            emails[emails.index(None)] = address
            held.add(address.strip().lower())
    changed.update({name: e for name, e in zip(EMAILS, emails, strict=True) if e != survivor[name]})
    everyone = [survivor, *merged]
    lists = {
        "tags": _union((t for c in everyone for t in c["tags"] or ()), lambda t: index.exact("t", t)),
        "project_ids": _union((p for c in everyone for p in c["project_ids"] or ()), lambda p: index.exact("p", p)),
        "custom_fields": _union((v for c in everyone for v in c["custom_fields"] or ()), lambda v: v["id"]),
    }
    for name, value in lists.items():
        if name != "custom_fields" and len(value) > LIST_MAX:
            raise Unprocessable(f"The merged contact would have {len(value)} {name}; at most {LIST_MAX}")
        if value != list(survivor[name] or ()):
            changed[name] = value
    return changed


@dataclass
class Plan:
    """A merge as read: the survivor and the merged contacts, what changes, and their counts."""

    survivor: Any
    merged: list[Any]
    changes: dict[str, tuple[Any, Any]]
    old_terms: dict[str, str]
    counts: list[Any]  # the merged contacts' counts of their calls, messages and photos


def _plan(principal: Principal, survivor_id: int, ids: list[int], wanted_version: int | None) -> Plan | None:
    """The merge as read; None if these contacts are merged into the survivor already."""
    survivor = load_visible(principal, survivor_id)
    if survivor_id in ids:
        raise Unprocessable("A contact cannot be merged into itself")
    merged, done = [], []
    for contact_id in ids:
        try:
            merged.append(load_visible(principal, contact_id))
        except NotFound as exc:
            if exc.beside.get("merged_into") == survivor_id:
                done.append(contact_id)
                continue
            message = exc.messages[0].replace("Contact not found", f"Contact {contact_id} does not exist")
            raise Unprocessable(message) from None
    if done and not merged:
        return None  # a retry of this merge, which is done: answered as it was the first time
    if done:
        raise Unprocessable(f"Contact {done[0]} was merged into contact {survivor_id} already")
    if wanted_version is not None and int(survivor.version) != wanted_version:
        raise Conflict(f"Contact is at version {int(survivor.version)}, not {wanted_version}")
    now_fields = current_fields(survivor)
    new = combined(now_fields, [current_fields(m) for m in merged])
    changes = {name: (now_fields[name], value) for name, value in new.items()}
    old_terms = dict(survivor.search_terms or {})
    counts = [c for contact_id in ids for c in contact_counts.activity_counts(principal, contact_id)]
    return Plan(survivor, merged, changes, old_terms, counts)


def _apply(principal: Principal, plan: Plan, now: str) -> list[Any]:
    """Set the plan's values on the survivor (as read); the update actions that write them."""
    item, merged = plan.survivor, plan.merged
    written = dict(plan.changes)
    uid = next((m.source_uid for m in merged if m.source_uid), None)
    if item.source_uid is None and uid is not None:  # a re-import of its vCard finds the survivor
        written["source_uid"] = (None, uid)
    actions = new_values(principal, item, written, now)
    notes = sum(int(m.notes_count or 0) for m in merged)
    if notes:
        item.notes_count = int(item.notes_count or 0) + notes
        actions.append(ContactItem.notes_count.add(notes))
    photo = next((int(m.photo_id) for m in merged if m.photo_id), None)
    if item.photo_id is None and photo is not None:
        item.photo_id = photo
        actions.append(ContactItem.photo_id.set(photo))
    last = max([a for a in (item.last_action_at, *(m.last_action_at for m in merged)) if a], default=None)
    if last and last != item.last_action_at:
        item.last_action_at = last
        actions.append(ContactItem.last_action_at.set(last))
    return actions


# --- the commit ----------------------------------------------------------------------------------


def _count_moves(principal: Principal, plan: Plan) -> list[tuple[Any, list[Any]]]:
    """The count updates of the merge: contacts (and private ones) gone; the merged contacts'
    counts of calls (...) added to the survivor's, and moved between the account's counts of
    private contacts' and everyone's, and their owners', where their privacy differs."""
    pk, merged = account_pk(principal.account_id), plan.merged
    updates: list[tuple[Any, list[Any]]] = []
    private = Counter(int(m.user_id) for m in merged if m.is_private)
    gone = [CountItem.contacts.add(-len(merged))]
    if private:
        gone.append(CountItem.private.add(-sum(private.values())))
    updates.append((CountItem(pk, contact_counts.counts_sk()), gone))
    updates += [(CountItem(pk, contact_counts.counts_sk(o)), [CountItem.private.add(-n)]) for o, n in private.items()]
    owners = {int(m.id): int(m.user_id) if m.is_private else None for m in merged}
    survivor_owner = index.owner(plan.survivor)
    totals: dict[str, Counter] = defaultdict(Counter)  # by the account's count it is part of
    shifts: dict[tuple[str, int | None], Counter] = defaultdict(Counter)  # (account's count, owner)
    letters: dict[str, str] = {}
    for counted in plan.counts:
        moved = Counter({state: int(getattr(counted, state) or 0) for state in STATES})
        moved = +moved  # no zeros
        if not counted.account_count or not moved:
            continue
        letters[counted.account_count] = counted.sk.rsplit("#", 1)[1]
        totals[counted.account_count].update(moved)
        contact_id = int(counted.sk[len("D#") :].split("#", 1)[0])
        if owners.get(contact_id) != survivor_owner:
            if owners.get(contact_id) is not None:
                shifts[(counted.account_count, owners[contact_id])].subtract(moved)
            if survivor_owner is not None:
                shifts[(counted.account_count, survivor_owner)].update(moved)
    survivor_id = int(plan.survivor.id)
    for account_count, moved in totals.items():
        own = ActivityCountItem(pk, f"{contact_counts_prefix(survivor_id)}{letters[account_count]}")
        adds = [getattr(ActivityCountItem, s).add(n) for s, n in moved.items()]
        updates.append((own, [*adds, ActivityCountItem.account_count.set(account_count)]))
    everyone: dict[str, Counter] = defaultdict(Counter)
    for (account_count, owner), moved in shifts.items():
        moved = Counter({s: n for s, n in moved.items() if n})
        if moved and owner is not None:
            everyone[account_count].update(moved)
            actions = [getattr(ActivityCountItem, s).add(n) for s, n in moved.items()]
            updates.append((ActivityCountItem(pk, f"{account_count}#U{owner}"), actions))
    for account_count, moved in everyone.items():
        actions = [getattr(ActivityCountItem, f"p{s}").add(n) for s, n in moved.items() if n]
        if actions:
            updates.append((ActivityCountItem(pk, account_count), actions))
    return updates


def _tag_moves(principal: Principal, plan: Plan, old_tags: list[str]) -> list[tuple[Any, list[Any]]]:
    owner = index.owner(plan.survivor)
    moved = tags.moves(old_tags, owner, plan.survivor.tags, owner, {})
    for m in plan.merged:
        tags.moves(m.tags, index.owner(m), None, None, moved)
    return tags.updates(principal.account_id, moved)


@dataclass
class Writes:
    """What a merge's transaction writes beside the merged contacts' deletions."""

    touch: Any  # the survivor's update and its history entry (crm.history.touch)
    moves: list[tuple[Any, list[Any]]]  # count updates
    journal: Any  # the merge under way


def _writes(principal: Principal, plan: Plan) -> Writes:
    """Apply the plan to the survivor as read and build the transaction's writes: 422 if the
    survivor would have too many search terms or the writes do not fit one transaction, 409 if it
    would take an external_id another contact has."""
    item, merged, now = plan.survivor, plan.merged, times.now()
    read_version, old_tags = int(item.version), list(item.tags or ())
    actions = _apply(principal, plan, now)
    ids = [int(m.id) for m in merged]
    index.check_shared(principal, plan.old_terms, item.search_terms, frozenset(ids))
    changes = {**plan.changes, "merged_from": (None, ids)}
    touch = history.touch(
        principal, item, "merged", changes, now, None, tuple(actions), ContactItem.version == read_version, False
    )
    moves = _count_moves(principal, plan) + _tag_moves(principal, plan, old_tags)
    size = 3 + 2 * len(merged) + len(moves)  # the survivor, its entry, the journal; each merged twice
    if size > TRANSACTION_MAX:
        raise Unprocessable(
            f"Merging these {len(merged)} contacts at once writes {size} items, more than one transaction"
            f" holds ({TRANSACTION_MAX}); merge fewer at a time"
        )
    pk = account_pk(principal.account_id)
    journal = MergeItem(pk, merge_sk(int(item.id)), merged=ids, old_terms=plan.old_terms, merged_at=now)
    return Writes(touch, moves, journal)


def _commit(principal: Principal, plan: Plan, writes: Writes) -> None:
    """The merge's one transaction (see the module's docstring); ConditionFailed if any contact
    changed since it was read, or another merge into the survivor is under way."""
    pk, survivor_id, now = account_pk(principal.account_id), int(plan.survivor.id), writes.journal.merged_at

    def stage(tx: Any) -> None:
        writes.touch(tx)
        tx.save(writes.journal, condition=MergeItem.sk.does_not_exist())
        for m in plan.merged:
            as_read = (ContactItem.version == int(m.version)) & (ContactItem.history_count == int(m.history_count))
            tx.delete(m, condition=as_read)
            gone = MergedItem(pk, merged_sk(int(m.id)), into=survivor_id, o=index.owner(m), merged_at=now)
            gone.terms = dict(m.search_terms or {})
            tx.save(gone)
        for counter, counted in writes.moves:
            tx.update(counter, actions=counted)

    transact(stage)


def merge(
    principal: Principal, survivor_id: int, ids: list[int], dry_run: bool = False, if_match: int | None = None
) -> Contact:
    """Merge the contacts ``ids`` into ``survivor_id``; ``dry_run``: the survivor as it would be,
    with every check the merge makes, and nothing written. A merge done already (a retry of a
    request that stopped) answers the survivor as it is."""

    def attempt() -> Contact | None:
        for contact_id in (survivor_id, *ids):  # one left unfinished by a stopped request goes first
            finish(principal.account_id, contact_id)
        plan = _plan(principal, survivor_id, ids, if_match)
        if plan is None:
            return None
        writes = _writes(principal, plan)
        if dry_run:
            return Contact(plan.survivor, _newest_notes(principal, plan))
        _commit(principal, plan, writes)
        count("ContactsMerged", len(ids))
        logger.info("contacts merged", extra={"contact_id": survivor_id, "merged": ids})
        return Contact(plan.survivor, [])

    merged = optimistic(attempt, "Contact")
    if merged is None:
        return contact_reads.get(principal, survivor_id)
    if dry_run:
        return merged
    finish(principal.account_id, survivor_id)
    return Contact(merged.item, newest_notes(principal.account_id, survivor_id, NOTES_ON_SHOW))


def _newest_notes(principal: Principal, plan: Plan) -> list[Any]:
    """The newest notes the survivor would show: its own and the merged contacts', as its."""
    survivor_id = int(plan.survivor.id)
    found = [n for c in (plan.survivor, *plan.merged) for n in newest_notes(principal.account_id, int(c.id), 25)]
    found.sort(key=lambda note: int(note.id), reverse=True)
    for note in found:
        note.contact_id = survivor_id
    return found[:NOTES_ON_SHOW]


# --- finishing -----------------------------------------------------------------------------------


def finish(account_id: str, survivor_id: int, may_delete_files: bool = False) -> bool:
    """Finish the merge into ``survivor_id`` under way, if one is; True if there was one. Safe to
    run again at any point, and alongside another run. If the survivor was deleted meanwhile, what
    the merged contacts left goes as a deleted contact's does, photos' images too, which only the
    stream's function may delete (``may_delete_files``): a request leaves that to it."""
    pk = account_pk(account_id)
    try:
        journal = MergeItem.get(pk, merge_sk(survivor_id), consistent_read=True)
    except MergeItem.DoesNotExist:
        return False
    alive = _index_survivor(account_id, survivor_id, dict(journal.old_terms or {}))
    for contact_id in journal.merged:
        try:
            gone = MergedItem.get(pk, merged_sk(int(contact_id)), consistent_read=True)
        except MergedItem.DoesNotExist:
            continue
        if gone.terms:  # after the survivor's: a unique value is never free between the two
            transact(lambda tx, gone=gone: _drop_postings(tx, account_id, gone))
            gone.update(actions=[MergedItem.terms.remove()])
        moved = alive and _move_dependants(account_id, int(contact_id), survivor_id)
        if not moved and not may_delete_files:
            return True  # the survivor is gone: the stream's record of a merged one's removal ends it
        # What is left (history, counts) goes; all of it, if the survivor went meanwhile.
        cascade.delete_dependants(account_id, int(contact_id))
        logger.info("merge finished", extra={"contact_id": survivor_id, "merged": int(contact_id), "moved": moved})
    journal.delete()
    return True


def removed_by_merge(account_id: str, contact_id: int) -> bool:
    """For the stream's record of a contact's removal: True if a merge removed it, whose finishing
    is then run (again); False for a contact deleted, whose dependants go (crm.cascade)."""
    try:
        gone = MergedItem.get(account_pk(account_id), merged_sk(contact_id), consistent_read=True)
    except MergedItem.DoesNotExist:
        return False
    finish(account_id, int(gone.into), may_delete_files=True)
    return True


def _system(account_id: str) -> Principal:
    """The merge's own reach, when it reads what the survivor's lookup items name: every contact."""
    return Principal(account_id, 0, frozenset({ADMIN}), "merge")


def _index_survivor(account_id: str, survivor_id: int, old_terms: dict[str, str]) -> bool:
    """Write the survivor's postings from the terms it had before the merge to those it has now,
    on the condition that it has not changed meanwhile (else again); False if it is gone."""
    pk = account_pk(account_id)

    def attempt() -> bool:
        try:
            item = ContactItem.get(pk, contact_sk(survivor_id), consistent_read=True)
        except ContactItem.DoesNotExist:
            return False
        terms, owner = dict(item.search_terms or {}), index.owner(item)
        gained = [t for t in terms.keys() - old_terms.keys() if index.is_unique(t)]
        as_read = index.named(_system(account_id), gained) if gained else {}

        def stage(tx: Any) -> None:
            tx.condition_check(
                ContactItem, pk, contact_sk(survivor_id), condition=ContactItem.version == int(item.version)
            )
            index.stage(tx, account_id, survivor_id, old_terms, terms, owner, owner, as_read)

        transact(stage)
        return True

    return optimistic(attempt, "Contact")


def _drop_postings(tx: Any, account_id: str, gone: Any) -> None:
    contact_id = int(gone.sk.rsplit("#", 1)[1])
    index.stage(tx, account_id, contact_id, dict(gone.terms), {}, None if gone.o is None else int(gone.o), None)


def _move_dependants(account_id: str, contact_id: int, survivor_id: int) -> bool:
    """Move the merged contact's notes, calls, messages and photos under the survivor; False if
    the survivor went meanwhile (what is left is then deleted as its own would be)."""
    for _ in range(RACE_ATTEMPTS):
        moved = _move_pass(account_id, contact_id, survivor_id)
        if moved is not None:
            return moved
    raise Conflict("Contacts are being merged by another request; retry")


def _move_pass(account_id: str, contact_id: int, survivor_id: int) -> bool | None:
    """One pass over what is left to move, a transaction a step, each on the condition that the
    survivor is there and every item is still where it was read; None if another run moved some
    of them meanwhile (read again), False if the survivor is gone."""
    pk = account_pk(account_id)
    notes = list(NoteItem.query(pk, starting_with(NoteItem.sk, notes_prefix(contact_id)), consistent_read=True))
    steps = [
        lambda tx, batch=notes[s : s + NOTES_A_STEP]: _move_notes(tx, batch, survivor_id)
        for s in range(0, len(notes), NOTES_A_STEP)
    ]
    for kind in KINDS:
        prefix = f"{dependants_prefix(contact_id)}{kind.letter}#"
        found = list(kind.model.query(pk, starting_with(kind.model.sk, prefix), consistent_read=True))
        steps += [
            lambda tx, kind=kind, batch=found[s : s + RECORDS_A_STEP]: _move_records(tx, kind, batch, survivor_id)
            for s in range(0, len(found), RECORDS_A_STEP)
        ]
    for step in steps:

        def stage(tx: Any, step: Any = step) -> None:
            tx.condition_check(ContactItem, pk, contact_sk(survivor_id), condition=ContactItem.sk.exists())
            step(tx)

        try:
            transact(stage)
        except ConditionFailed as exc:
            return False if exc.reasons[0] == "ConditionalCheckFailed" else None
    return True


def _move_records(tx: Any, kind: Kind, records: list[Any], survivor_id: int) -> None:
    for record in records:
        for copy in moved_copies(kind, record, survivor_id):
            tx.save(copy)
        tx.delete(record, condition=kind.model.sk.exists())


def _move_notes(tx: Any, notes: list[Any], survivor_id: int) -> None:
    for note in notes:
        _move_note(tx, note, survivor_id)


def _move_note(tx: Any, note: Any, survivor_id: int) -> None:
    note_id = int(note.id)
    values = {name: getattr(note, name) for name in NoteItem.get_attributes() if name not in ("pk", "sk")}
    moved = NoteItem(note.pk, note_sk(survivor_id, note_id), **{**values, "contact_id": survivor_id})
    tx.save(moved)
    tx.delete(note, condition=NoteItem.sk.exists())
    tx.update(NoteRefItem(note.pk, note_ref_sk(note_id)), actions=[NoteRefItem.contact_id.set(survivor_id)])
