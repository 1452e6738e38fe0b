"""Which contacts an export holds: those the key may see that GET /contacts with the same filters
would list, in id order, read a chunk at a time so that memory holds one chunk."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from crm import search
from crm.auth import Principal
from crm.contact_reads import visible
from crm.storage.items import CONTACT_MARK, ContactItem, account_pk, starting_with

CHUNK = 100  # BatchGetItem's limit
# What a file shows of a contact: every attribute but the index's terms and the counts, which are
# most of an item's bytes and none of its fields (read, they would be parsed for nothing).
SHOWN = [
    name
    for name, attribute in ContactItem.get_attributes().items()
    if not attribute.is_hash_key
    and not attribute.is_range_key
    and name not in ("search_terms", "history_count", "notes_count")
]
QUERY_PAGE = 500  # contacts a Query returns at once (fewer round trips; DynamoDB cuts a page at 1 MB)


def read_ahead(chunks: Iterator[list[Any]], depth: int = 2) -> Iterator[list[Any]]:
    """``chunks`` as they come, the next ones read on a thread meanwhile: the wait for DynamoDB
    overlaps the writing of the chunk before. A fault in the reading is raised here, in order."""
    done = object()
    ready: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def read() -> None:
        try:
            for chunk in chunks:
                ready.put(chunk)
                if stop.is_set():
                    return
            ready.put(done)
        except BaseException as exc:  # handed to the consumer, which raises it
            ready.put(exc)

    reader = threading.Thread(target=read, name="export-read", daemon=True)
    reader.start()
    try:
        while (chunk := ready.get()) is not done:
            if isinstance(chunk, BaseException):
                raise chunk
            yield chunk
    finally:
        stop.set()
        while reader.is_alive():  # let a blocked put go, so the thread ends before the container freezes
            try:
                ready.get_nowait()
            except queue.Empty:
                reader.join(0.05)


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
        attributes_to_get=["pk", "sk", *SHOWN],
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
