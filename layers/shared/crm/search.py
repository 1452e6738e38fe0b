"""Search and filters over the index of crm.index: read the postings of each term, intersect, page.

A query reads, for each of its terms, the postings of the contacts that term matches (a prefix
range for a search word, one key range for a filter) and nothing else: no Scan, no filter over the
account. Contacts match when every term does; they come in id order, so a cursor (the last id
of its page) walks them without repeats or gaps while contacts are added, and ``total_count`` is
the exact number of matches. Then only the page's contacts are read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crm import index
from crm.auth import Principal
from crm.errors import BadRequest, Unprocessable
from crm.fields import FIELDS_BY_NAME, Field, coerce
from crm.paging import Page, PageRequest, seal
from crm.storage.items import ContactItem, Item, account_pk, contact_sk, posting_sk
from crm.times import parse_datetime

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


def _one(params: Mapping[str, str], name: str, field: Field) -> Any:
    errors: list[str] = []
    value = coerce(field, params[name], errors)
    if errors:
        raise BadRequest(f"{name}: {errors[0]}")
    return value


def _search_fields(name: str) -> frozenset[str]:
    fields = index.FIELD_GROUPS.get(name, (name,))
    if not all(field in index.SEARCHED for field in fields):
        choices = ", ".join([*index.FIELD_GROUPS, *index.SEARCHED])
        raise Unprocessable(f"searchby must be a searched contact field: one of {choices}")
    return frozenset(index.SEARCHED[field] for field in fields)


def parse(params: Mapping[str, str]) -> Query | None:
    """The query of a list's parameters, or None when it asks for no search and no filter."""
    given = {name: params[name] for name in FILTERS if (params.get(name) or "").strip()}
    if not given and "searchby" not in params:
        return None
    text = given.get("search", given.get("term", ""))
    if len(text) > MAX_SEARCH:
        raise BadRequest(f"search is at most {MAX_SEARCH} characters")
    words = tuple(index.query_words(text))
    if len(words) > MAX_WORDS:
        raise BadRequest(f"search takes at most {MAX_WORDS} words")
    fields = None
    if "searchby" in params:
        fields = _search_fields((params.get("searchby") or "").strip())
        if not words:
            raise BadRequest("searchby needs a search term")
    exact: list[str] = []
    if "tags" in given:
        tags = [tag for tag in given["tags"].split(",") if tag.strip()]
        exact += [index.exact("t", tag) for tag in tags]
    if "project_id" in given:
        exact.append(index.exact("p", given["project_id"].strip()))
    if "assigned_to_id" in given:
        exact.append(f"a:{_one(given, 'assigned_to_id', FIELDS_BY_NAME['assigned_to_id'])}")
    if "is_company" in given:
        exact.append("c:1" if _one(given, "is_company", FIELDS_BY_NAME["is_company"]) else "c:0")
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


def _postings(pk: str, condition: tuple[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every posting in a key range (one Query, followed over its pages), consistently read so that
    a client syncing with updated_since never misses a change it was just told about."""
    expression, values = condition
    table = Item._get_connection()
    found: list[dict[str, Any]] = []
    start = None
    while True:
        page = table.connection.client.query(
            TableName=Item.Meta.table_name,
            KeyConditionExpression=f"pk = :pk AND {expression}",
            ExpressionAttributeValues={":pk": {"S": pk}, **values},
            ConsistentRead=True,
            ReturnConsumedCapacity="TOTAL",
            **({"ExclusiveStartKey": start} if start else {}),
        )
        found.extend(page["Items"])
        start = page.get("LastEvaluatedKey")
        if not start:
            return found


def _prefix(prefix: str) -> tuple[str, dict[str, Any]]:
    return "begins_with(sk, :p)", {":p": {"S": prefix}}


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


def matching_ids(principal: Principal, query: Query) -> list[int]:
    """Ids of the contacts that match every term of ``query``, in id order."""
    pk = account_pk(principal.account_id)
    ranges: list[tuple[tuple[str, dict[str, Any]], frozenset[str] | None]] = []
    # Exact terms first: usually the narrowest, and an empty one ends the query before any word.
    ranges += [(_prefix(posting_sk(term, 0)[:-10]), None) for term in query.exact]
    if query.since is not None:
        low, high = posting_sk(f"u:{query.since}", 0)[:-10], "X#u;"  # ";" sorts right after ":"
        ranges.append((("sk BETWEEN :low AND :high", {":low": {"S": low}, ":high": {"S": high}}), None))
    ranges += [(_prefix(f"X#w:{word}"), query.fields) for word in query.words]
    if query.empty:
        return []
    result: set[int] | None = None
    for condition, fields in ranges:
        found = _matches(principal, _postings(pk, condition), fields)
        result = found if result is None else result & found
        if not result:
            return []
    return sorted(result or ())


def contacts(principal: Principal, ids: list[int]) -> list[Any]:
    """The contacts of ``ids`` in that order (one BatchGet); any deleted meanwhile are left out."""
    if not ids:
        return []
    pk = account_pk(principal.account_id)
    keys = [(pk, contact_sk(i)) for i in ids]
    found = {int(item.id): item for item in ContactItem.batch_get(keys, consistent_read=True)}
    return [found[i] for i in ids if i in found]


def run(principal: Principal, query: Query, page: PageRequest) -> Page:
    """A page of the contacts matching ``query``, in id order."""
    ids = matching_ids(principal, query)
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
    items = contacts(principal, chosen)
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
        ids.update(matching_ids(principal, Query(exact=(index.exact("k", name),))))
    ids.discard(int(company.id))
    return contacts(principal, sorted(ids)[:MEMBERS_SHOWN])
