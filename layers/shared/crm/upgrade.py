"""Bringing an account stored by an earlier version up to this one (``contacts-admin upgrade``).

Versions before Redmine CRM's notes and tags APIs kept no ``N#`` item naming a note's contact
and no tag counts. This reads the account's contacts once and writes both: the tag counts as
they are (so it may be run again at any time, best while no one writes), and the ``N#`` item of
every note without one. It is maintenance, run by hand: no request ever reads a whole account.
"""

from __future__ import annotations

from dataclasses import dataclass

from crm import index, tags
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


def upgrade(account_id: str) -> Upgraded:
    pk, done, counted = account_pk(account_id), Upgraded(), {}
    for contact in ContactItem.query(pk, starting_with(ContactItem.sk, CONTACT_MARK), consistent_read=True):
        done.contacts += 1
        tags.moves(None, None, contact.tags, index.owner(contact), counted)
        if int(contact.notes_count or 0):
            done.notes_linked += _link_notes(pk, int(contact.id))
    _set_tag_counts(pk, counted)
    done.tags = len(counted)
    return done


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
