"""Many contacts, loaded fast: the items ``crm.contacts.create`` writes, put with BatchWriteItem.

Creating contacts through the API costs a transaction each; a scale test needs tens of thousands.
This builds each contact's items with the domain's own code (field validation and defaults, its
history entry, ``crm.index.terms`` and the postings and lookups ``crm.index.stage`` writes for a new contact),
allocates the ids and moves the account's counts as ``crm.contacts`` does, and writes the items
with BatchWriteItem on several threads. The items are the ones the API would have written for the
same contact at the same time (``tests/test_search_scale.py`` checks this).

It also makes the data set of the search scale test: deterministic contacts drawn from shared
lists, among which exactly ``MATCHES`` contacts answer each query of ``QUERIES``, whatever the size.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from crm import index, tags
from crm.auth import Principal, granted_scopes
from crm.contact_counts import counts_sk
from crm.contacts import Draft, new_items
from crm.fields import defaults
from crm.storage.items import (
    CountItem,
    Item,
    SequenceItem,
    account_pk,
    lookup_sk,
    tag_sk,
)
from crm.validation import contact_changes
from local_api.store import table_spec

BATCH = 25  # BatchWriteItem's limit
WRITE_ATTEMPTS = 10

# --- the items of one contact --------------------------------------------------------------------


@dataclass(frozen=True)
class NewContact:
    """A contact to load: what a client would POST, who created it and when."""

    body: dict[str, Any]
    user_id: int
    at: str  # created_at = updated_at, as times.now() writes them
    group: str | None = None  # the query of QUERIES it was made to answer, if any


def contact_items(account_id: str, contact_id: int, new: NewContact, key_id: str) -> list[Any]:
    """What ``crm.contacts.create`` writes for ``new`` (without a first note) but its counts: the
    contact, its history entry and its postings (``load`` moves the counts, the tags' too).
    ``key_id`` is the public id of the key that created it."""
    principal = Principal(account_id, new.user_id, frozenset(granted_scopes("write")), key_id)
    draft = Draft({**defaults(), **contact_changes(new.body)}, None)
    made = new_items(principal, draft, contact_id, None, new.at)
    return [made.item, made.entry, *index.postings(made.item)]


# --- writing -------------------------------------------------------------------------------------


def create_table(client: Any, properties: dict[str, Any], name: str) -> None:
    """The template's table (``properties``) under ``name``, without its stream: the stream feeds the
    cleanup of deleted contacts, which no read touches, and DynamoDB Local writes several times
    slower with one."""
    spec = table_spec(properties, name)
    spec.pop("StreamSpecification", None)
    client.create_table(**spec)
    client.get_waiter("table_exists").wait(TableName=name)


def _add(client: Any, table: str, pk: str, sk: str, amounts: dict[str, int]) -> dict[str, Any]:
    """ADD ``amounts`` to the attributes of one item (as the domain's counters do); the new values."""
    names = {f"#a{i}": name for i, name in enumerate(amounts)}
    values = {f":v{i}": {"N": str(amount)} for i, amount in enumerate(amounts.values())}
    reply = client.update_item(
        TableName=table,
        Key={"pk": {"S": pk}, "sk": {"S": sk}},
        UpdateExpression="ADD " + ", ".join(f"{n} {v}" for n, v in zip(names, values, strict=True)),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
        ReturnValues="UPDATED_NEW",
    )
    return reply["Attributes"]


def _name(client: Any, table: str, pk: str, term: str, public: set[int], hidden: set[str]) -> None:
    """ADD the ids to the lookup item of ``term``, as crm.index does."""
    sets = {"p": {"NS": [str(i) for i in sorted(public)]}, "q": {"SS": sorted(hidden)}}
    sets = {name: value for name, value in sets.items() if next(iter(value.values()))}
    client.update_item(
        TableName=table,
        Key={"pk": {"S": pk}, "sk": {"S": lookup_sk(term)}},
        UpdateExpression="ADD " + ", ".join(f"{name} :{name}" for name in sets),
        ExpressionAttributeValues={f":{name}": value for name, value in sets.items()},
    )


def _write(client: Any, table: str, items: list[dict[str, Any]]) -> None:
    """One BatchWriteItem of up to 25 items, retrying what DynamoDB left unprocessed."""
    requests = [{"PutRequest": {"Item": item}} for item in items]
    for attempt in range(WRITE_ATTEMPTS):
        reply = client.batch_write_item(RequestItems={table: requests})
        requests = reply.get("UnprocessedItems", {}).get(table, [])
        if not requests:
            return
        time.sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))  # full jitter
    raise RuntimeError(f"{len(requests)} items still unprocessed after {WRITE_ATTEMPTS} attempts")


def _batches(items: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for item in items:
        batch.append(item)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class Loaded:
    ids: list[int]  # of the contacts, in the order given
    items: int  # written, counters aside


def _count_tag(client: Any, table: str, pk: str, sk: str, name: str, n: int, p: int) -> None:
    """Move one tag count as crm.tags does: ADD the contacts, SET the name as last written."""
    client.update_item(
        TableName=table,
        Key={"pk": {"S": pk}, "sk": {"S": sk}},
        UpdateExpression="SET #name = :name ADD n :n, p :p",
        ExpressionAttributeNames={"#name": "name"},
        ExpressionAttributeValues={":name": {"S": name}, ":n": {"N": str(n)}, ":p": {"N": str(p)}},
    )


def load(
    client: Any,
    table: str,
    account_id: str,
    contacts: Sequence[NewContact],
    key_id: str | None = None,
    threads: int = 8,
) -> Loaded:
    """Write ``contacts`` into the account after the ones it has.

    The ids come from the account's ``SEQ#contact`` (one ADD for the whole block, so contacts the
    API creates later carry on after them) and ``COUNT#contacts`` moves as one create per contact
    would move it. ``client`` is a botocore DynamoDB client (give it ``max_pool_connections`` of at
    least ``threads``); ``key_id`` is the public id of the key the history entries name.
    """
    if not contacts:
        return Loaded([], 0)
    pk, key_id = account_pk(account_id), key_id or f"{account_id}.loader"
    sequence = _add(client, table, pk, "SEQ#contact", {SequenceItem.value.attr_name: len(contacts)})
    last = int(sequence[SequenceItem.value.attr_name]["N"])
    ids = list(range(last - len(contacts) + 1, last + 1))
    private: dict[int, int] = {}  # owner: private contacts
    tagged: tags.Moves = {}  # the tag counts, as the creates would move them
    named: dict[str, tuple[set[int], set[str]]] = {}  # lookup term: the ids it names (crm.index)
    written = 0

    def serialized() -> Iterator[dict[str, Any]]:
        nonlocal written
        for contact_id, new in zip(ids, contacts, strict=True):
            items = contact_items(account_id, contact_id, new, key_id)
            tags.moves(None, None, items[0].tags, index.owner(items[0]), tagged)
            owner = index.owner(items[0])
            for term in filter(index.is_lookup, items[0].search_terms):
                public, hidden = named.setdefault(term, (set(), set()))
                public.add(contact_id) if owner is None else hidden.add(f"{owner}:{contact_id}")
            if items[0].is_private:
                private[new.user_id] = private.get(new.user_id, 0) + 1
            written += len(items)
            yield from (item.serialize() for item in items)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        # Bounded: at most a few batches per thread are built ahead of the writers.
        pending: list[Any] = []
        for batch in _batches(serialized()):
            pending.append(pool.submit(_write, client, table, batch))
            if len(pending) >= 4 * threads:
                pending.pop(0).result()
        for future in pending:
            future.result()
        # A lookup item is added to, as the API adds to it: other contacts may share its value.
        list(pool.map(lambda term: _name(client, table, pk, term, *named[term]), named))
    everyone = {CountItem.contacts.attr_name: len(contacts)}
    if private:
        everyone[CountItem.private.attr_name] = sum(private.values())
    _add(client, table, pk, counts_sk(), everyone)
    for owner, count in private.items():
        _add(client, table, pk, counts_sk(owner), {CountItem.private.attr_name: count})
    for term, move in tagged.items():
        _count_tag(client, table, pk, tag_sk(term), move.name, move.everyone, move.private)
        for owner, count in move.owners.items():
            _count_tag(client, table, pk, tag_sk(term, owner), move.name, count, 0)
    return Loaded(ids, written)


# --- the data set --------------------------------------------------------------------------------

MATCHES = 10  # contacts that answer each query of QUERIES, at every size
CUTOFF = "2025-07-01T00:00:00+00:00"  # only the "recent" contacts are updated at or after it
_HISTORY_START = datetime(2021, 1, 1, tzinfo=UTC)
_CUTOFF = datetime.fromisoformat(CUTOFF)

# What each group of MATCHES contacts has that no other contact has (see _person).
GROUPS = ("surname", "tag", "project", "assignee", "company", "recent", "quillon")
# The measured queries: each returns the MATCHES contacts of its group, at every size.
QUERIES: dict[str, tuple[dict[str, str], str]] = {
    "search=zephyrine": ({"search": "zephyrine"}, "surname"),
    "tags=vip-gold": ({"tags": "vip-gold"}, "tag"),
    "project_id=apollo": ({"project_id": "apollo"}, "project"),
    "assigned_to_id=777": ({"assigned_to_id": "777"}, "assignee"),
    "is_company=true": ({"is_company": "true"}, "company"),
    f"updated_since={CUTOFF[:10]}": ({"updated_since": CUTOFF[:10] + "T00:00:00Z"}, "recent"),
    # "quillon" is also the start of the email domain of the apollo contacts: 20 postings, 10 in company.
    "search=quillon&searchby=company": ({"search": "quillon", "searchby": "company"}, "quillon"),
    # 20 contacts match the word, 10 the project: the intersection is the apollo group.
    "search=quillon&project_id=apollo": ({"search": "quillon", "project_id": "apollo"}, "project"),
    # A narrow term beside one that matches nearly every contact: the narrow one's contacts are
    # checked on their items, and the broad one is read no further than its first chunk.
    "search=zephyrine&is_company=false": ({"search": "zephyrine", "is_company": "false"}, "surname"),
    "tags=vip-gold&updated_since=2021-01-01": ({"tags": "vip-gold", "updated_since": "2021-01-01T00:00:00Z"}, "tag"),
}
# For contrast: a page of the plain list (no index: it reads one page, whatever the size), and a
# broad term alone, whose postings are all read to count and order them: its cost grows with what
# it matches, which here is nearly the whole account.
CONTRAST: dict[str, dict[str, str]] = {
    "list, no filter (one page)": {},
    "is_company=false (broad)": {"is_company": "false"},
}


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _words(
    "James Mary John Patricia Robert Jennifer Michael Linda David Elizabeth William Barbara Richard Susan "
    "Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Sandra "
    "Mark Margaret Donald Ashley Steven Kimberly Andrew Emily Paul Donna Joshua Michelle Kenneth Carol "
    "Kevin Amanda Brian Melissa George Deborah Timothy Stephanie José María Zoë Søren Zephyr Maria Marianne "
    "Jean-Pierre Anne-Marie Siobhán Björn Quinn Chloé"
)
LAST_NAMES = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez "
    "Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark "
    "Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams "
    "Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Müller Schmidt Schneider Fischer Dupont "
    "Moreau Rossi Russo Bianchi Kowalski Nowak O'Brien O'Connor McCarthy Murphy Kelly Smithson Johansson "
    "Andersen Larsen Zeller Quill Marsh Marshall"
)
COMPANIES = (
    "Northwind Traders",
    "Contoso Ltd",
    "Fabrikam Inc",
    "Adventure Works",
    "Wide World Importers",
    "Tailspin Toys",
    "Litware Inc",
    "Proseware",
    "Woodgrove Bank",
    "Coho Winery",
    "Blue Yonder Airlines",
    "Alpine Ski House",
    "Margie's Travel",
    "Humongous Insurance",
    "Lucerne Publishing",
    "Graphic Design Institute",
    "Southridge Video",
    "Trey Research",
    "Consolidated Messenger",
    "Fourth Coffee",
    "Northwind Logistics",
    "Contoso Pharmaceuticals",
    "Acme Corp",
    "Acme Robotics",
    "Initech",
    "Globex Corporation",
    "Umbrella Systems",
    "Stark Industries",
    "Wayne Enterprises",
    "Quill & Ink",
    "Zephyr Air",
    "Marsh Marketing",
)
JOB_TITLES = (
    "Sales Manager",
    "Sales Representative",
    "Account Manager",
    "Account Executive",
    "Marketing Manager",
    "Marketing Coordinator",
    "Software Engineer",
    "Senior Software Engineer",
    "Engineering Manager",
    "Product Manager",
    "Project Manager",
    "Office Manager",
    "Chief Executive Officer",
    "Chief Financial Officer",
    "Chief Technology Officer",
    "Operations Director",
    "Purchasing Agent",
    "Customer Success Manager",
    "Support Engineer",
    "Consultant",
    "Analyst",
    "Director",
)
FREE_MAIL = ("gmail.com", "outlook.com", "yahoo.com", "proton.me", "icloud.com")
AREA_CODES = ("212", "312", "415", "617", "646", "718", "202", "305")
TAGS = ("customer", "lead", "prospect", "partner", "vip", "gold", "newsletter", "supplier", "cold", "warm", "hot")
PROJECTS = ("1", "2", "3", "12", "support", "onboarding", "sales", "website", "apollo-legacy", "gemini")
ASSIGNEES = (None, None, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 77, 7777)
USERS = (1, 2, 3, 4, 5)


def _ascii(text: str) -> str:
    return "".join(c for c in index.fold(text) if c.isalnum())


def _domain(company: str) -> str:
    return _ascii(company.split()[0]) + ".com"


def _phone(rng: random.Random) -> str:
    return f"+1 {rng.choice(AREA_CODES)} 555 {rng.randrange(10_000):04d}"


def _at(rng: random.Random, start: datetime, end: datetime) -> str:
    seconds = rng.randrange(int((end - start).total_seconds()))
    return (start + timedelta(seconds=seconds)).isoformat()


def _person(rng: random.Random, group: str | None) -> NewContact:
    """A contact drawn from the lists; ``group`` gives it the one rare trait of that group."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    company = rng.choice(COMPANIES) if rng.random() < 0.8 else None
    if group == "quillon":
        company = "Quillon Labs"
    if group == "surname":
        last = "Zephyrine"
    domain = _domain(company) if company else rng.choice(FREE_MAIL)
    if group == "project":
        domain = "quillon.io"
    body: dict[str, Any] = {
        "first_name": first,
        "last_name": last,
        "email_address": f"{_ascii(first)}.{_ascii(last)}@{domain}",
        "business_phone": _phone(rng),
        "tags": rng.sample(TAGS, rng.choice((0, 1, 1, 2, 2, 3))),
        "project_ids": rng.sample(PROJECTS, rng.choice((0, 0, 1, 1, 2))),
        "assigned_to_id": rng.choice(ASSIGNEES),
    }
    if company:
        body["company"] = company
        body["job_title"] = rng.choice(JOB_TITLES)
    if rng.random() < 0.4:
        body["mobile_phone"] = _phone(rng)
    if rng.random() < 0.3:
        body["is_company"] = False
    if group is None and rng.random() < 0.05:
        body["is_private"] = True
    if group == "tag":
        body["tags"].append("vip-gold")
    elif group == "project":
        body["project_ids"].append("apollo")
    elif group == "assignee":
        body["assigned_to_id"] = 777
    elif group == "company":
        name = f"{rng.choice(LAST_NAMES)} {rng.choice(('Holdings', 'Partners', 'Group', 'Labs'))}"
        body = {"first_name": name, "is_company": True, "email_address": f"info@{_domain(name)}"}
        body["business_phone"] = _phone(rng)
    recent = group == "recent"
    at = _at(rng, _CUTOFF, _CUTOFF + timedelta(days=10)) if recent else _at(rng, _HISTORY_START, _CUTOFF)
    return NewContact(body, rng.choice(USERS), at, group)


def people(count: int, seed: int, groups: Sequence[str] = GROUPS) -> list[NewContact]:
    """``count`` contacts; ``MATCHES`` of them, at random places, in each of ``groups``."""
    rng = random.Random(seed)
    places = rng.sample(range(count), MATCHES * len(groups))
    group_at = {place: groups[i // MATCHES] for i, place in enumerate(places)}
    return [_person(rng, group_at.get(i)) for i in range(count)]


def expected(ids: Sequence[int], contacts: Sequence[NewContact]) -> dict[str, list[int]]:
    """The ids of each group's contacts, in id order."""
    found: dict[str, list[int]] = {}
    for contact_id, new in zip(ids, contacts, strict=True):
        if new.group:
            found.setdefault(new.group, []).append(contact_id)
    return found


# --- measuring ------------------------------------------------------------------------------------


@dataclass
class Answer:
    """What one GET /contacts answered, and the read capacity the whole request consumed."""

    status: int
    ids: list[int] = field(default_factory=list)
    total_count: int | None = None
    rcu: float = 0.0


def search(gateway: Any, capacity: Any, key: str, params: dict[str, str], limit: int = 25) -> Answer:
    """GET /contacts with ``params`` through the gateway (authorizer and handler), summing its RCU
    with ``capacity`` (bench/billing.py's ``Meter``, on the client the handlers share)."""
    replies: list[Any] = []
    query = urlencode({**params, "limit": str(limit)})
    read, _ = capacity.measure(lambda: replies.append(gateway.handle("GET", "/contacts", {"x-api-key": key}, query)))
    reply = replies[0]
    if reply.status != 200:
        return Answer(reply.status, rcu=read)
    body = json.loads(reply.body)
    return Answer(reply.status, [c["id"] for c in body["contacts"]], body["total_count"], read)


def shared_client() -> Any:
    """The botocore client every item class (and so every handler in this process) uses."""
    return Item._get_connection().connection.client
