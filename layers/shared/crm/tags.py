"""Redmine CRM's ``/contacts_tags``: the account's tags, each with how many contacts carry it.

The counts are kept by the writes, never by reading the contacts: a contact's create, update and
delete move its tags' counts in the transaction that writes it (``stage``), and an import's chunk
in the transaction of its checkpoint. ``TAG#<term>`` counts every contact with the tag and the
private ones; ``TAGU#<owner>#<term>`` one owner's private ones, so a key that may not see other
users' private contacts gets exactly the tags and counts of the contacts it may see.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from crm import index
from crm.auth import Principal
from crm.storage.items import TagCountItem, account_pk, starting_with, tag_sk


@dataclass
class Move:
    """How a tag's counts move: every contact's, private contacts', each owner's private ones."""

    name: str
    everyone: int = 0
    private: int = 0
    owners: dict[int, int] = field(default_factory=dict)


Moves = dict[str, Move]  # by the tag's term (case and accents folded, as its filter matches it)


def moves(
    old: Iterable[str] | None, old_owner: int | None, new: Iterable[str] | None, new_owner: int | None, into: Moves
) -> Moves:
    """Add to ``into`` what a contact going from tags ``old`` to ``new`` moves; an owner is the
    owner of a private contact (None for a contact anyone may see)."""
    for tags, owner, sign in ((old, old_owner, -1), (new, new_owner, 1)):
        for name in tags or ():
            move = into.setdefault(index.exact("t", name), Move(name))
            if sign > 0:
                move.name = name  # shown as it was last written
            move.everyone += sign
            if owner is not None:
                move.private += sign
                move.owners[owner] = move.owners.get(owner, 0) + sign
    return into


Update = tuple[TagCountItem, list[Any]]  # an item and the actions of its UpdateItem


def updates(account_id: str, moved: Moves) -> list[Update]:
    """The count updates ``moved`` makes (none for what nets to 0), in a stable order."""
    pk, out = account_pk(account_id), []
    for term in sorted(moved):
        move = moved[term]
        if move.everyone or move.private:
            actions = [TagCountItem.n.add(move.everyone), TagCountItem.p.add(move.private)]
            out.append((TagCountItem(pk, tag_sk(term)), [*actions, TagCountItem.name.set(move.name)]))
        for owner in sorted(move.owners):
            if move.owners[owner]:
                actions = [TagCountItem.n.add(move.owners[owner]), TagCountItem.name.set(move.name)]
                out.append((TagCountItem(pk, tag_sk(term, owner)), actions))
    return out


def apply(tx: Any, staged: list[Update]) -> None:
    """Stage these count updates in the transaction ``tx``."""
    for item, actions in staged:
        tx.update(item, actions=actions)


def stage(
    tx: Any,
    account_id: str,
    old: Iterable[str] | None,
    old_owner: int | None,
    new: Iterable[str] | None,
    new_owner: int | None,
) -> None:
    """Stage in ``tx`` what one contact going from tags ``old`` to ``new`` moves (see ``moves``)."""
    apply(tx, updates(account_id, moves(old, old_owner, new, new_owner, {})))


def listing(principal: Principal) -> list[dict[str, Any]]:
    """The tags of the contacts this key may see, by name, with how many carry each."""
    pk = account_pk(principal.account_id)
    everyone = tag_sk("")
    counted = list(TagCountItem.query(pk, starting_with(TagCountItem.sk, everyone), consistent_read=True))
    own: dict[str, int] = {}
    if not principal.is_admin:
        prefix = tag_sk("", principal.user_id)
        for item in TagCountItem.query(pk, starting_with(TagCountItem.sk, prefix), consistent_read=True):
            own[item.sk.removeprefix(prefix)] = int(item.n)
    shown = []
    for item in counted:
        term = item.sk.removeprefix(everyone)
        seen = int(item.n) if principal.is_admin else int(item.n) - int(item.p) + own.get(term, 0)
        if seen > 0:
            shown.append({"name": item.name, "count": seen})
    return sorted(shown, key=lambda tag: (tag["name"].casefold(), tag["name"]))
