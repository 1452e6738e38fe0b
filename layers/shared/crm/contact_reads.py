"""Reading contacts: which of them a key may see, one with its newest notes, the account's list
and a contact's history. A contact another key may not see (another account's, or another user's
private one) is as absent as one that never was: 404."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from crm import contact_counts, history
from crm.auth import Principal
from crm.errors import NotFound
from crm.paging import Page, PageRequest
from crm.storage.db import query_page
from crm.storage.items import (
    CONTACT_MARK,
    ContactItem,
    MergedItem,
    NoteItem,
    account_pk,
    contact_sk,
    merged_sk,
    notes_prefix,
    starting_with,
)

NOTES_ON_SHOW = 25
# The second read of a show; the container's, so that no thread starts per request.
_BESIDE = ThreadPoolExecutor(max_workers=1, thread_name_prefix="notes")


@dataclass
class Contact:
    item: Any  # ContactItem
    notes: list[Any]  # NoteItem, newest first

    @property
    def version(self) -> int:
        return int(self.item.version)


def visible(principal: Principal, item: Any) -> bool:
    return not item.is_private or principal.is_admin or int(item.user_id) == principal.user_id


def visible_ids(principal: Principal, contact_ids: set[int]) -> set[int]:
    """Which of these contacts this key may see (one consistent BatchGet; admins see them all)."""
    if principal.is_admin or not contact_ids:
        return set(contact_ids)
    pk = account_pk(principal.account_id)
    found = ContactItem.batch_get([(pk, contact_sk(i)) for i in sorted(contact_ids)], consistent_read=True)
    return {int(item.id) for item in found if visible(principal, item)}


def load_visible(principal: Principal, contact_id: int) -> Any:
    """The contact if this key may see it; another account's or another user's private one is 404."""
    try:
        item = ContactItem.get(account_pk(principal.account_id), contact_sk(contact_id), consistent_read=True)
    except ContactItem.DoesNotExist:
        item = None
    if item is None:
        into = merged_into(principal, contact_id)
        if into is not None:
            raise NotFound(f"Contact {contact_id} was merged into contact {into}", beside={"merged_into": into})
    if item is None or not visible(principal, item):
        raise NotFound("Contact not found")
    return item


MERGES_FOLLOWED = 10  # a chain of merges longer than this is answered where it stops


def merged_into(principal: Principal, contact_id: int) -> int | None:
    """The contact a merged one is now part of (followed through later merges), if this key could
    see it; None for a contact never merged. One read per merge followed, on a 404's path only."""
    pk, into = account_pk(principal.account_id), None
    for _ in range(MERGES_FOLLOWED):
        try:
            gone = MergedItem.get(pk, merged_sk(into or contact_id), consistent_read=True)
        except MergedItem.DoesNotExist:
            break
        if into is None and gone.o is not None and not principal.is_admin and int(gone.o) != principal.user_id:
            return None  # it was another user's private contact: as absent as it ever was
        into = int(gone.into)
    return into


def newest_notes(account_id: str, contact_id: int, limit: int) -> list[Any]:
    prefix = notes_prefix(contact_id)
    return list(
        NoteItem.query(
            account_pk(account_id), starting_with(NoteItem.sk, prefix), scan_index_forward=False, limit=limit
        )
    )


def get(principal: Principal, contact_id: int) -> Contact:
    """The contact and its newest notes, read side by side: one round trip's wait, not two. The
    notes of a contact this key may not see are read and dropped, never shown."""
    notes = _BESIDE.submit(newest_notes, principal.account_id, contact_id, NOTES_ON_SHOW)
    try:
        item = load_visible(principal, contact_id)
    except Exception:
        wait([notes])  # no read is left running when Lambda freezes the container
        raise
    return Contact(item, notes.result())


def list_contacts(principal: Principal, page: PageRequest) -> Page:
    """Contacts in id order. Others' private contacts are filtered out, and not counted."""
    condition = None
    if not principal.is_admin:
        condition = (ContactItem.is_private == False) | (ContactItem.user_id == principal.user_id)  # noqa: E712
    total = contact_counts.visible_total(principal)
    pk = account_pk(principal.account_id)
    return query_page(
        ContactItem, pk, starting_with(ContactItem.sk, CONTACT_MARK), page, total, filter_condition=condition
    )


def history_of(principal: Principal, contact_id: int, page: PageRequest) -> Page:
    """The contact's history, newest first."""
    return history.listing(principal, load_visible(principal, contact_id), page)
