"""Which contacts an export holds: those the key may see that GET /contacts with the same filters
would list, in id order, read a chunk at a time so that memory holds one chunk."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from crm import search
from crm.auth import Principal
from crm.contact_reads import visible
from crm.storage.items import CONTACT_MARK, ContactItem, account_pk, starting_with

CHUNK = 100  # BatchGetItem's limit
QUERY_PAGE = 500  # contacts a Query returns at once (fewer round trips; DynamoDB cuts a page at 1 MB)


def chunks(principal: Principal, filters: Mapping[str, str]) -> Iterator[list[Any]]:
    """The contacts, CHUNK at a time. Without a filter they are one Query of the contacts' range;
    with one, the matching ids come from the index (crm.search) and the contacts by BatchGet."""
    query = search.parse(filters, principal.account_id) if filters else None
    if query is None:
        yield from _all(principal)
        return
    ids = search.matching(principal, query).ids
    for start in range(0, len(ids), CHUNK):
        found = search.contacts(principal, ids[start : start + CHUNK])
        yield [item for item in found if visible(principal, item)]  # private since it was indexed


def _all(principal: Principal) -> Iterator[list[Any]]:
    condition = None
    if not principal.is_admin:
        condition = (ContactItem.is_private == False) | (ContactItem.user_id == principal.user_id)  # noqa: E712
    found = ContactItem.query(
        account_pk(principal.account_id),
        starting_with(ContactItem.sk, CONTACT_MARK),
        filter_condition=condition,
        consistent_read=True,
        page_size=QUERY_PAGE,
    )
    chunk: list[Any] = []
    for item in found:
        if visible(principal, item):
            chunk.append(item)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
