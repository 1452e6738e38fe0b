"""Bringing an account stored by an earlier version up to this one (``contacts-admin upgrade``).

Versions before Redmine CRM's notes and tags APIs kept no ``N#`` item naming a note's contact
and no tag counts; versions before the lookup items (crm.index) found an email address or a UID
by a posting. This reads the account's contacts once and writes what they lack: the tag counts
as they are (so it may be run again at any time, best while no one writes), the ``N#`` item of
every note without one, and the index of every contact whose terms are not this version's. It
is maintenance, run by hand: no request ever reads a whole account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm import accounts, contacts, index, tags
from crm.storage.db import ConditionFailed, transact
from crm.storage.items import (
    CONTACT_MARK,
    TAG_MARKS,
    ContactItem,
    NoteItem,
    NoteRefItem,
    TagCountItem,
    account_pk,
    note_ref_sk,
    notes_prefix,
    starting_with,
    tag_sk,
)


@dataclass
class Upgraded:
    contacts: int = 0
    tags: int = 0
    notes_linked: int = 0
    reindexed: int = 0


def upgrade(account_id: str) -> Upgraded:
    pk, done, counted = account_pk(account_id), Upgraded(), {}
    for contact in ContactItem.query(pk, starting_with(ContactItem.sk, CONTACT_MARK), consistent_read=True):
        done.contacts += 1
        tags.moves(None, None, contact.tags, index.owner(contact), counted)
        if int(contact.notes_count or 0):
            done.notes_linked += _link_notes(pk, int(contact.id))
        done.reindexed += _reindex(account_id, contact)
    _set_tag_counts(pk, counted)
    done.tags = len(counted)
    return done


def reindex(account_id: str) -> int:
    """Move every contact of the account whose terms are not this version's to its terms (after a
    change of its phone numbers' region); how many it moved."""
    pk = account_pk(account_id)
    every = ContactItem.query(pk, starting_with(ContactItem.sk, CONTACT_MARK), consistent_read=True)
    return sum(_reindex(account_id, contact) for contact in every)


def _set_tag_counts(pk: str, counted: tags.Moves) -> None:
    """Write the counts as counted; a tag counted before but carried by no contact now goes to 0."""
    wanted: dict[str, tuple[str, int, int]] = {}
    for term, move in counted.items():
        wanted[tag_sk(term)] = (move.name, move.everyone, move.private)
        for owner, n in move.owners.items():
            wanted[tag_sk(term, owner)] = (move.name, n, 0)
    for prefix in TAG_MARKS:  # every tag's counts, and every owner's
        for stale in TagCountItem.query(pk, starting_with(TagCountItem.sk, prefix), consistent_read=True):
            wanted.setdefault(stale.sk, (stale.name, 0, 0))
    for sk, (name, n, p) in wanted.items():
        TagCountItem(pk, sk, name=name, n=n, p=p).save()


def _reindex(account_id: str, contact: ContactItem) -> int:
    """Move the contact's index to the terms this version gives it, and its numbers in E.164, as
    an update of it would; 1 if it did. A contact changed meanwhile was reindexed by that change."""
    old, old_e164 = dict(contact.search_terms or {}), contact.phones_e164
    contacts.derive(contact, accounts.default_region(account_id))
    new, e164 = contact.search_terms, contact.phones_e164
    if (old, old_e164) == (new, e164):
        return 0
    owner = index.owner(contact)
    shown = contacts.set_or_remove(ContactItem.phones_e164, e164)

    def stage(tx: Any) -> None:
        condition = ContactItem.version == int(contact.version)
        tx.update(contact, actions=[ContactItem.search_terms.set(new), shown], condition=condition)
        index.stage(tx, account_id, int(contact.id), old, new, owner, owner)

    try:
        transact(stage)
    except ConditionFailed:
        return 0
    return 1


def _link_notes(pk: str, contact_id: int) -> int:
    """Write the ``N#`` item of each note of the contact that has none; how many it wrote."""
    linked = 0
    for note in NoteItem.query(pk, starting_with(NoteItem.sk, notes_prefix(contact_id))):
        if note.refs:
            continue
        ref = note_ref_sk(int(note.id))
        NoteRefItem(pk, ref, contact_id=contact_id).save()  # first: a note never names a missing item
        note.update(actions=[NoteItem.refs.set([ref])])
        linked += 1
    return linked
