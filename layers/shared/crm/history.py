"""A contact's history: one entry per change to the contact or to its notes, calls, ..., newest first.

Entries are numbered per contact (``history_count`` on the contact is the last number), and each
is written in the same transaction as the change it records, conditioned on that number, so two
changes can never claim the same entry and no change goes unrecorded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crm.auth import Principal
from crm.paging import Page, PageRequest
from crm.storage.db import query_page
from crm.storage.items import (
    ContactItem,
    HistoryItem,
    account_pk,
    history_prefix,
    history_sk,
    starting_with,
)

# Characters of a text value an entry keeps: a long body (a message may hold 256 KB) is recorded by
# its start and ``truncated``, so that an entry stays far below DynamoDB's 400 KB an item, even
# with both values, every field of a contact, and JSON's escapes of non-ASCII text.
VALUE_MAX = 4_000


def _change(name: str, old: Any, new: Any) -> dict[str, Any]:
    long = [isinstance(value, str) and len(value) > VALUE_MAX for value in (old, new)]
    change = {
        "field": name,
        "old_value": old[:VALUE_MAX] if long[0] else old,
        "new_value": new[:VALUE_MAX] if long[1] else new,
    }
    if any(long):
        change["truncated"] = True
    return change


def entry(
    principal: Principal,
    contact: Any,
    action: str,
    changes: dict[str, tuple[Any, Any]],
    now: str,
    subject: tuple[str, Any] | None = None,
) -> Any:
    """The entry numbered ``contact.history_count``, which the caller has just advanced; it is saved
    in the change's transaction with ``HistoryItem.sk.does_not_exist()``, so that two changes can
    never take the same number. ``subject`` is (kind, record) when a note or a call changed."""
    name, record = subject if subject is not None else ("contact", contact)
    return HistoryItem(
        account_pk(principal.account_id),
        history_sk(int(contact.id), int(contact.history_count)),
        number=int(contact.history_count),
        contact_id=int(contact.id),
        action=action,
        subject=name,
        note_id=int(record.id) if name == "note" else None,
        record_id=int(record.id) if name not in ("note", "contact") else None,
        user_id=principal.user_id,
        key_id=principal.key_id,
        created_at=now,
        version=int(record.version),
        changes=[_change(name, old, new) for name, (old, new) in changes.items()],
        owner=int(contact.user_id) if contact.is_private else None,
    )


def touch(
    principal: Principal,
    contact: Any,
    action: str,
    changes: dict[str, tuple[Any, Any]],
    now: str,
    subject: tuple[str, Any] | None = None,
    actions: tuple[Any, ...] = (),
    condition: Any = None,
    last_action: bool = True,
) -> Callable[[Any], None]:
    """A change's mark on its contact, to stage in the change's transaction: the contact's history
    number advanced (on the number read, so that two changes cannot take one), ``last_action_at``
    set to ``now`` unless not ``last_action``, ``actions`` of the change's own on the contact (on
    ``condition`` too, if one), and the entry numbered. ``contact`` is updated to match; ``subject``
    as for ``entry``."""
    read_count = int(contact.history_count or 0)
    contact.history_count = read_count + 1
    updates = [ContactItem.history_count.set(read_count + 1), *actions]
    if last_action:
        contact.last_action_at = now
        updates.append(ContactItem.last_action_at.set(now))
    numbered = entry(principal, contact, action, changes, now, subject)
    guard = ContactItem.history_count == read_count
    guard = guard if condition is None else condition & guard

    def stage(tx: Any) -> None:
        tx.update(contact, actions=updates, condition=guard)
        tx.save(numbered, condition=HistoryItem.sk.does_not_exist())

    return stage


def listing(principal: Principal, contact: Any, page: PageRequest) -> Page:
    prefix = history_prefix(int(contact.id))
    total = int(contact.history_count or 0)
    pk = account_pk(principal.account_id)
    return query_page(HistoryItem, pk, starting_with(HistoryItem.sk, prefix), page, total, scan_index_forward=False)
