"""Search and filters over the index of crm.index: read the postings of the terms, intersect, page.

A query reads the postings of the contacts its terms match (a prefix range for a search word,
one key range for a filter) and nothing else: no Scan, no filter over the account. A narrow
term beside a broad one is read to its end first, and its few contacts are checked on their own
items rather than reading the broad term's postings (``matching``). Contacts match when every
term does; they come in id order, so a cursor (the last id of its page) walks them without
repeats or gaps while contacts are added, and ``total_count`` is the exact number of matches.
Then only the page's contacts are read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crm import accounts, index, phones
from crm.auth import Principal
from crm.errors import BadRequest, Unprocessable
from crm.fields import FIELDS_BY_NAME
from crm.paging import Page, PageRequest, seal
from crm.storage.items import (
    PREFIXED,
    ContactItem,
    account_pk,
    contact_sk,
    posting_prefix,
    prefix_values,
    table_client,
)
from crm.times import parse_datetime
from crm.validation import query_value

FILTERS = ("search", "searchby", "term", "tags", "project_id", "assigned_to_id", "is_company", "updated_since")
MAX_WORDS = 10
MAX_SEARCH = 200


@dataclass(frozen=True)
class Query:
    """What the contacts must match: every word as a prefix (in ``fields``, if given), every exact term,
    and an update at or after ``since``."""

    words: tuple[str, ...] = ()
    fields: frozenset[str] | None = None  # field codes (crm.index) the words must be found in
    exact: tuple[str, ...] = ()
    since: str | None = None
    empty: bool = False  # a search of punctuation alone: nothing matches it


# What searchby takes: a searched field, or one of the minimal API's groups of them.
SEARCHBY = (*index.FIELD_GROUPS, *index.SEARCHED)


def _search_fields(name: str) -> frozenset[str]:
    fields = index.FIELD_GROUPS.get(name, (name,))
    if not all(field in index.SEARCHED for field in fields):
        raise Unprocessable(f"searchby must be a searched contact field: one of {', '.join(SEARCHBY)}")
    return frozenset(index.SEARCHED[field] for field in fields)


def parse(params: Mapping[str, str], account_id: str) -> Query | None:
    """The query of a list's parameters, or None when it asks for no search and no filter; a phone
    number in it is read in the account's region."""
    given = {name: params[name] for name in FILTERS if (params.get(name) or "").strip()}
    if not given and "searchby" not in params:
        return None
    text = given.get("search", given.get("term", ""))
    if len(text) > MAX_SEARCH:
        raise BadRequest(f"search is at most {MAX_SEARCH} characters")
    if phones.looks_like_number(text):
        # A number written whole, ``(202) 456-1414``, is one number to find, not three words: by its
        # national number if it is one (``06 12 34 56 78`` in France), else by its digits.
        number = phones.number(text, accounts.default_region(account_id))
        words: tuple[str, ...] = ((number.national or number.digits)[: index.WORD_MAX],)
    else:
        words = tuple(index.query_words(text))
    if len(words) > MAX_WORDS:
        raise BadRequest(f"search takes at most {MAX_WORDS} words")
    fields = None
    if "searchby" in params:
        named = _search_fields((params.get("searchby") or "").strip())
        fields = named if words else None  # without words it narrows nothing: checked, no more
    exact: list[str] = []
    if "tags" in given:
        tags = [tag for tag in given["tags"].split(",") if tag.strip()]
        exact += [index.exact("t", tag) for tag in tags]
    if "project_id" in given:
        exact.append(index.exact("p", given["project_id"].strip()))
    if "assigned_to_id" in given:
        exact.append(f"a:{query_value(given, 'assigned_to_id', FIELDS_BY_NAME['assigned_to_id'])}")
    if "is_company" in given:
        exact.append("c:1" if query_value(given, "is_company", FIELDS_BY_NAME["is_company"]) else "c:0")
    since = None
    if "updated_since" in given:
        try:
            since = parse_datetime(given["updated_since"])
        except ValueError:
            raise BadRequest("updated_since must be an ISO 8601 datetime, such as 2026-01-31T09:00:00Z") from None
    if not (words or exact or since) and not text.strip():
        raise BadRequest("Give a search term or a filter value")
    return Query(words, fields, tuple(dict.fromkeys(exact)), since, empty=not (words or exact or since))


# --- reading the postings ------------------------------------------------------------------------

# A contact read by key costs one unit (it is under 4 KB); a unit of a Query reads about 150
# postings of some 26 bytes. Checking a candidate on its contact item is the dearer read.
POSTINGS_PER_GET = 150
FIRST_CHUNK = 200  # postings read of each term in the first round
GROWTH = 2  # each round reads this many times the last


@dataclass
class _Range:
    """The postings of one term: a key range read a chunk at a time, and the contacts seen so far."""

    expression: str
    values: dict[str, Any]
    fields: frozenset[str] | None = None  # a word's: the fields it must be found in
    start: dict[str, Any] | None = None
    read: int = 0
    done: bool = False

    def __post_init__(self) -> None:
        self.ids: set[int] = set()

    def read_more(self, principal: Principal, limit: int | None) -> None:
        """Read up to ``limit`` more postings (all of them for None), strongly consistently, so that a
        client syncing with updated_since never misses a change it was just told about."""
        client, table = table_client()
        while not self.done:
            page = client.query(
                TableName=table,
                KeyConditionExpression=f"pk = :pk AND {self.expression}",
                ExpressionAttributeValues={":pk": {"S": account_pk(principal.account_id)}, **self.values},
                ConsistentRead=True,
                ReturnConsumedCapacity="TOTAL",
                **({"Limit": limit} if limit else {}),
                **({"ExclusiveStartKey": self.start} if self.start else {}),
            )
            self.ids |= _matches(principal, page["Items"], self.fields)
            self.read += len(page["Items"])
            self.start = page.get("LastEvaluatedKey")
            self.done = self.start is None
            if limit:
                return


def _prefix(prefix: str, fields: frozenset[str] | None = None) -> _Range:
    return _Range(PREFIXED, prefix_values(prefix), fields)


def _matches(principal: Principal, postings: list[dict[str, Any]], fields: frozenset[str] | None) -> set[int]:
    """Contact ids of the postings this key may see (and, for a field search, found in those fields)."""
    found = set()
    for posting in postings:
        owner = posting.get("o")
        if owner is not None and not principal.is_admin and int(owner["N"]) != principal.user_id:
            continue  # another user's private contact
        if fields is not None and not fields & set(posting.get("f", {}).get("S", "")):
            continue
        found.add(int(posting["sk"]["S"].rsplit("#", 1)[1]))
    return found


def _may_see(principal: Principal, item: Any) -> bool:
    return principal.is_admin or index.owner(item) in (None, principal.user_id)


def _ranges(query: Query) -> list[_Range]:
    ranges = [_prefix(posting_prefix(term)) for term in query.exact]
    if query.since is not None:
        low, high = posting_prefix(f"u:{query.since}"), posting_prefix("u;", whole=False)  # ";" sorts after ":"
        ranges.append(_Range("sk BETWEEN :low AND :high", {":low": {"S": low}, ":high": {"S": high}}))
    return ranges + [_prefix(posting_prefix(f"w:{word}", whole=False), query.fields) for word in query.words]


def indexed_under(item: Any, query: Query) -> bool:
    """Whether the contact, as its item stands, matches every term of ``query`` (by its ``search_terms``)."""
    terms = item.search_terms or {}
    for word in query.words:
        prefix = f"w:{word}"
        if not any(t.startswith(prefix) and (query.fields is None or query.fields & set(c)) for t, c in terms.items()):
            return False
    if any(term not in terms for term in query.exact):
        return False
    return query.since is None or any(t.startswith("u:") and t >= f"u:{query.since}" for t in terms)


@dataclass
class Matches:
    ids: list[int]  # in id order
    items: dict[int, Any] | None = None  # the contacts, when checking them was how they were found


def matching(principal: Principal, query: Query, shown: int = 0) -> Matches:
    """The contacts that match every term of ``query``, reading as little as the terms allow.

    Every term's postings are read a chunk at a time, side by side, until one term has none left.
    Its contacts are then the candidates: if they are few beside what the open terms have already
    shown (a contact read by key costs what ~150 postings do; the first ``shown`` are read for the
    page anyway), they are read and checked against the other terms on their own item (its
    ``search_terms``); else the terms read on, each round ``GROWTH`` times the last. A query
    costs about what its narrowest term matches, however broad the others.
    """
    ranges = [] if query.empty else _ranges(query)
    if not ranges:
        return Matches([])
    chunk: int | None = None if len(ranges) == 1 else FIRST_CHUNK
    while True:
        for postings in ranges:
            if not postings.done:
                postings.read_more(principal, chunk)
        finished = [r for r in ranges if r.done]
        if not finished:
            chunk = GROWTH * (chunk or FIRST_CHUNK)
            continue
        candidates = set.intersection(*(r.ids for r in finished))
        still_open = [r for r in ranges if not r.done]
        if not candidates or not still_open:
            return Matches(sorted(candidates))
        if (len(candidates) - shown) * POSTINGS_PER_GET <= min(r.read for r in still_open):
            items = contacts(principal, sorted(candidates))
            kept = {int(i.id): i for i in items if indexed_under(i, query) and _may_see(principal, i)}
            return Matches(sorted(kept), kept)
        chunk = GROWTH * (chunk or FIRST_CHUNK)


def contacts(principal: Principal, ids: list[int]) -> list[Any]:
    """The contacts of ``ids`` in that order (BatchGet); any deleted meanwhile are left out."""
    if not ids:
        return []
    pk = account_pk(principal.account_id)
    keys = [(pk, contact_sk(i)) for i in ids]
    found = {int(item.id): item for item in ContactItem.batch_get(keys, consistent_read=True)}
    return [found[i] for i in ids if i in found]


def run(principal: Principal, query: Query, page: PageRequest) -> Page:
    """A page of the contacts matching ``query``, in id order."""
    found = matching(principal, query, shown=page.limit)
    ids = found.ids
    if page.after is not None:
        after = int(page.after.rsplit("#", 1)[1])
        remaining = [i for i in ids if i > after]
        position = page.offset
    else:
        remaining, position = ids[page.offset :], page.offset
    chosen = remaining[: page.limit]
    next_cursor = None
    if len(remaining) > page.limit:
        next_cursor = seal(page.fingerprint, position + len(chosen), contact_sk(chosen[-1]))
    items = [found.items[i] for i in chosen] if found.items is not None else contacts(principal, chosen)
    return Page(items=items, offset=position, limit=page.limit, total_count=len(ids), next_cursor=next_cursor)


MEMBERS_SHOWN = 100


def company_members(principal: Principal, company: Any) -> list[Any]:
    """The contacts whose ``company`` is this company's name (its first name, as Redmine CRM names
    companies, or its own company field), in id order; the first 100 of them."""
    if not company.is_company:
        return []
    names = {name for name in (company.first_name, company.company) if (name or "").strip()}
    ids: set[int] = set()
    for name in names:
        ids.update(matching(principal, Query(exact=(index.exact("k", name),))).ids)
    ids.discard(int(company.id))
    return contacts(principal, sorted(ids)[:MEMBERS_SHOWN])
