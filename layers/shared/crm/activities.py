"""Records kept about a contact and reached by their own id: calls and messages (crm.calls,
crm.messages). A kind is its field table, its sort-key letter, the field that orders its lists and
what splits them into states; this module stores, lists, changes and deletes any kind.

A record is written three times, as one transaction with its contact's touch and history entry:

    <K>#<id:010>                                   the record, read by id
    <K>O#<state>#<order>#<id:010>                  the account's list, in order
    D#<contact:010>#<K>#<state>#<order>#<id:010>   the contact's list, in order; it goes with the
                                                   contact, and ``refs`` names the other two for
                                                   crm.cascade

``order`` is the ordering field's value (an ISO datetime in UTC, which sorts as text) or ``~``
when it has none, so those come last. ``state`` is a letter or two (``o`` open, ``c`` completed
for a call; channel and direction for a message), so a filter on it is a key range, not a scan; a
list of several states merges one range per state. Counts per state, of the account
(``COUNT#<kind>s``, with those about private contacts apart), of each user's private contacts
(``COUNT#<kind>s#U<user>``) and of each contact (``D#<contact>#COUNT#<K>``), move in the same
transaction, so ``total_count`` costs one read.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from crm import history, times
from crm.auth import Principal
from crm.contact_reads import load_visible, visible_ids
from crm.errors import BadRequest, Conflict, NotFound, Unprocessable
from crm.fields import Field, attribute
from crm.observability import count, logger
from crm.paging import Page, PageRequest, seal
from crm.storage.db import next_id, optimistic, transact
from crm.storage.items import (
    ActivityCountItem,
    account_pk,
    contact_counts_prefix,
    count_sk,
    dependants_prefix,
    starting_with,
)
from crm.validation import query_value, validate
from crm.versions import expected_version

NO_ORDER = "~"  # sorts after every ISO datetime


@dataclass(frozen=True)
class Kind:
    name: str  # "call": the root element, the history subject, the metric's prefix
    letter: str  # its sort keys' letter
    model: type  # its item class (crm.storage.items)
    fields: tuple[Field, ...]
    required: str | None  # the text field that cannot be blank, if one
    order: str  # the datetime field lists are ordered by
    states: tuple[str, ...]  # ActivityCountItem's states it is counted in (crm.storage.items.STATES)
    state_of: Callable[[Any], str]  # a record's state
    # Hooks, named for when they run (each may be left out):
    # on_create(now): what a new record has unless sent, besides the fields' defaults;
    on_create: Callable[[str], dict[str, Any]] = lambda now: {}
    # before_validation(body): a check of a write's body before the field table's;
    before_validation: Callable[[Mapping[str, Any]], None] = lambda body: None
    # on_write(contact, old, new): update actions on the contact, in the write's transaction;
    on_write: Callable[[Any, Any, Any], list[Any]] = lambda contact, old, new: []
    # after_delete(record): what follows a committed delete (a photo's files go).
    after_delete: Callable[[Any], None] = lambda record: None
    echoed: frozenset[str] = frozenset()  # what its view adds (crm.http.views): sent back, unheeded

    @property
    def plural(self) -> str:
        return f"{self.name}s"

    @property
    def label(self) -> str:
        return self.name.capitalize()


@dataclass
class Filter:
    """What a list asks for: one contact's records, some states, an ordering field range."""

    contact_id: int | None = None
    states: tuple[str, ...] | None = None  # None: every state
    after: str | None = None  # the ordering field at or after this (ISO, UTC)
    before: str | None = None  # the ordering field before this


# --- keys ----------------------------------------------------------------------------------------


def _order(kind: Kind, record: Any) -> str:
    return getattr(record, kind.order) or NO_ORDER


def _sks(kind: Kind, record: Any) -> tuple[str, str, str]:
    """The record's three sort keys: by id, in the account's list, in its contact's list."""
    record_id, state = int(record.id), kind.state_of(record)
    tail = f"{state}#{_order(kind, record)}#{record_id:010d}"
    own = f"{kind.letter}#{record_id:010d}"
    return own, f"{kind.letter}O#{tail}", f"{dependants_prefix(int(record.contact_id))}{kind.letter}#{tail}"


def _values(kind: Kind, record: Any) -> dict[str, Any]:
    """The record's attributes but its keys (and the cascade's ``refs``)."""
    return {name: getattr(record, name) for name in kind.model.get_attributes() if name not in ("pk", "sk", "refs")}


def _copies(kind: Kind, record: Any) -> list[Any]:
    own, listed, under_contact = _sks(kind, record)
    values = _values(kind, record)
    return [
        kind.model(record.pk, own, **values),
        kind.model(record.pk, listed, **values),
        kind.model(record.pk, under_contact, refs=[own, listed], **values),
    ]


def moved_copies(kind: Kind, record: Any, contact_id: int) -> list[Any]:
    """The record's three copies once it is another contact's (a merge moves it): by id, in the
    account's list, and in that contact's list."""
    return _copies(kind, kind.model(record.pk, record.sk, **{**_values(kind, record), "contact_id": contact_id}))


def _counter(principal: Principal, kind: Kind, contact_id: int | None = None, owner: int | None = None) -> Any:
    """The account's count (or a contact's, or that of the calls about a user's private contacts)."""
    pk = account_pk(principal.account_id)
    if contact_id is not None:
        return ActivityCountItem(pk, f"{contact_counts_prefix(contact_id)}{kind.letter}")
    return ActivityCountItem(pk, count_sk(kind.plural, owner))


# --- reading -------------------------------------------------------------------------------------


def get(principal: Principal, kind: Kind, record_id: int) -> Any:
    """The record, if this key may see its contact; otherwise (or if there is none) 404."""
    try:
        record = kind.model.get(
            account_pk(principal.account_id), f"{kind.letter}#{record_id:010d}", consistent_read=True
        )
    except kind.model.DoesNotExist:
        raise NotFound(f"{kind.label} not found") from None
    try:
        load_visible(principal, int(record.contact_id))
    except NotFound:
        raise NotFound(f"{kind.label} not found") from None
    return record


def _total(principal: Principal, kind: Kind, wanted: Filter) -> int:
    """What the kept counts say the list holds, for this key: a key that is not an admin's does not
    count the records about other users' private contacts (one BatchGet of at most two counts)."""
    states = wanted.states or kind.states
    if wanted.contact_id is not None:  # a contact the key may see: all of its records
        keys = [_counter(principal, kind, wanted.contact_id)]
    else:
        keys = [_counter(principal, kind)]
        if not principal.is_admin:
            keys.append(_counter(principal, kind, owner=principal.user_id))
    found = {item.sk: item for item in ActivityCountItem.batch_get([(k.pk, k.sk) for k in keys], consistent_read=True)}
    counts = [found.get(key.sk) for key in keys]
    total = sum(int(getattr(counts[0], state) or 0) for state in states) if counts[0] else 0
    if len(counts) == 2:  # less every private contact's, plus the key's user's own
        total -= sum(int(getattr(counts[0], f"p{state}") or 0) for state in states) if counts[0] else 0
        total += sum(int(getattr(counts[1], state) or 0) for state in states) if counts[1] else 0
    return total


def _bounds(prefix: str, wanted: Filter, after_key: str | None) -> tuple[str, str]:
    """The key range of one state's list: the ordering field's range, then past the cursor."""
    low = prefix + (wanted.after or "")
    high = prefix + (wanted.before or (NO_ORDER if wanted.after else NO_ORDER * 2))
    if after_key is not None:
        low = max(low, prefix + after_key + "!")  # no key extends another: "!" is just past it
    return low, high


def _range(principal: Principal, kind: Kind, prefix: str, wanted: Filter, after: str | None, limit: int) -> list:
    low, high = _bounds(prefix, wanted, after)
    if low > high:
        return []
    condition = kind.model.sk.between(low, high)
    found = kind.model.query(account_pk(principal.account_id), condition, limit=limit, page_size=limit)
    return [(item.sk[len(prefix) :], item) for item in found if item.sk < high]


def _counted(principal: Principal, kind: Kind, prefixes: list[str], wanted: Filter) -> int:
    """How many records the ordering field's range holds, for a list with a range: read, so its
    cost follows the size of the answer (the counts kept hold whole states only)."""
    total = 0
    for prefix in prefixes:
        low, high = _bounds(prefix, wanted, None)
        if low <= high:
            keys = kind.model.query(
                account_pk(principal.account_id), kind.model.sk.between(low, high), attributes_to_get=["sk"]
            )
            total += sum(1 for item in keys if item.sk < high)
    return total


def listing(principal: Principal, kind: Kind, wanted: Filter, page: PageRequest) -> Page:
    """Records in the order of ``kind.order`` (then id), those without one last."""
    if wanted.contact_id is not None:
        load_visible(principal, wanted.contact_id)
        base = f"{dependants_prefix(wanted.contact_id)}{kind.letter}#"
    else:
        base = f"{kind.letter}O#"
    states = wanted.states or tuple(kind.states)
    prefixes = [f"{base}{state}#" for state in states]
    ranged = wanted.after is not None or wanted.before is not None
    total = _counted(principal, kind, prefixes, wanted) if ranged else _total(principal, kind, wanted)
    skip = 0 if page.after is not None else page.offset
    merged = _visible_merge(principal, kind, prefixes, wanted, page.after, skip + page.limit)[skip:]
    items = [item for _, item in merged]
    next_cursor = None
    if len(merged) == page.limit and page.offset + len(merged) < total:
        next_cursor = seal(page.fingerprint, page.offset + len(merged), merged[-1][0])
    return Page(items=items, offset=page.offset, limit=page.limit, total_count=total, next_cursor=next_cursor)


def _visible_merge(
    principal: Principal, kind: Kind, prefixes: list[str], wanted: Filter, after: str | None, size: int
) -> list[tuple[str, Any]]:
    """The first ``size`` records of the merged ranges (one per state) that this key may see.

    The copies do not know whether their contact is private (that can change), so the contacts of
    what was read are checked; if some are hidden, the ranges are read again, twice as far.
    """
    seen: dict[int, bool] = {}
    reach = size
    while True:
        ranges = [_range(principal, kind, prefix, wanted, after, reach) for prefix in prefixes]
        merged = list(heapq.merge(*ranges, key=lambda pair: pair[0]))
        if wanted.contact_id is not None:  # its visibility is checked already
            return merged[:size]
        unknown = {int(item.contact_id) for _, item in merged} - set(seen)
        visible = visible_ids(principal, unknown)
        seen.update({contact_id: contact_id in visible for contact_id in unknown})
        shown = [(key, item) for key, item in merged if seen[int(item.contact_id)]]
        if len(shown) >= size or all(len(found) < reach for found in ranges):
            return shown[:size]
        reach *= 2


def of_contact(principal: Principal, kind: Kind, contact_id: int, limit: int) -> list[Any]:
    """The contact's first ``limit`` records in list order (for ``include=``); its visibility is the caller's."""
    prefix = f"{dependants_prefix(contact_id)}{kind.letter}#"
    ranges = [_range(principal, kind, f"{prefix}{state}#", Filter(), None, limit) for state in kind.states]
    return [item for _, item in list(heapq.merge(*ranges, key=lambda pair: pair[0]))[:limit]]


def latest(kind: Kind, pk: str, contact_id: int, state: str, limit: int) -> list[Any]:
    """The contact's last ``limit`` records in one state, last first (a photo's predecessor)."""
    prefix = f"{dependants_prefix(contact_id)}{kind.letter}#{state}#"
    return list(kind.model.query(pk, starting_with(kind.model.sk, prefix), scan_index_forward=False, limit=limit))


# --- writing -------------------------------------------------------------------------------------


def _write(
    principal: Principal,
    kind: Kind,
    contact: Any,
    old: Any,
    new: Any,
    action: str,
    changes: dict[str, tuple[Any, Any]],
    now: str,
) -> None:
    """One transaction: the record's copies replaced (``old`` -> ``new``; None for none), the contact
    touched and its history entry numbered, and the counts moved."""
    old_copies = _copies(kind, old) if old is not None else []
    new_copies = _copies(kind, new) if new is not None else []
    moves = {}
    if old is not None:
        moves[kind.state_of(old)] = -1
    if new is not None:
        moves[kind.state_of(new)] = moves.get(kind.state_of(new), 0) + 1
    moves = {state: delta for state, delta in moves.items() if delta}
    contact_id = int((new or old).contact_id)
    owner = int(contact.user_id) if contact.is_private else None  # its records count as private
    own_actions = tuple(kind.on_write(contact, old, new))
    touch = history.touch(principal, contact, action, changes, now, (kind.name, new or old), own_actions)

    def stage(tx: Any) -> None:
        touch(tx)
        # The record by id carries the version every write is conditioned on.
        as_read = kind.model.sk.does_not_exist() if old is None else kind.model.version == int(old.version)
        if new is None:
            tx.delete(old_copies[0], condition=as_read)
        else:
            tx.save(new_copies[0], condition=as_read)
        kept = {copy.sk for copy in new_copies}
        for copy in old_copies[1:]:
            if copy.sk not in kept:
                tx.delete(copy)
        for copy in new_copies[1:]:
            tx.save(copy)
        if moves:
            actions = [getattr(ActivityCountItem, state).add(delta) for state, delta in moves.items()]
            private = [getattr(ActivityCountItem, f"p{state}").add(delta) for state, delta in moves.items()]
            tx.update(_counter(principal, kind), actions=actions + (private if owner is not None else []))
            if owner is not None:
                tx.update(_counter(principal, kind, owner=owner), actions=actions)
            # The contact's names the account's, which loses the contact's counts when it goes.
            account = ActivityCountItem.account_count.set(count_sk(kind.plural))
            tx.update(_counter(principal, kind, contact_id), actions=[*actions, account])

    transact(stage)


def checked(kind: Kind, body: Mapping[str, Any], current: Mapping[str, Any] | None) -> dict[str, Any]:
    kind.before_validation(body)  # first: a body too large is a 413 whatever else is wrong with it
    fields = validate(kind.fields, body, current, kind.required, shown=kind.echoed)
    if current is None and fields.get("contact_id") is None:
        raise Unprocessable("Contact id cannot be blank")
    if current is not None and fields.get("contact_id", current["contact_id"]) != current["contact_id"]:
        raise Unprocessable(f"Contact id cannot be changed: create a new {kind.name}")
    return fields


def _load_contact(principal: Principal, contact_id: int) -> Any:
    try:
        return load_visible(principal, contact_id)
    except NotFound:
        raise Unprocessable(f"Contact {contact_id} does not exist") from None


def create(
    principal: Principal, kind: Kind, body: Mapping[str, Any], prepare: Callable[[int], dict[str, Any]] | None = None
) -> Any:
    """Record what ``body`` sends. ``prepare(new id)``, called once before the write, returns values
    that are not the client's to send (a photo's status once its image is stored)."""
    fields = checked(kind, body, None)
    contact_id = int(fields["contact_id"])
    _load_contact(principal, contact_id)  # before an id is taken
    record_id = next_id(principal.account_id, kind.name)
    prepared = prepare(record_id) if prepare else {}
    defaults = {field.name: field.default for field in kind.fields if field.writable and field.default is not None}
    sent = {name: v for name, v in fields.items() if v is not None}

    def attempt() -> Any:
        contact, now = _load_contact(principal, contact_id), times.now()
        values = {**defaults, **kind.on_create(now), **sent, **prepared}
        record = kind.model(
            account_pk(principal.account_id),
            f"{kind.letter}#{record_id:010d}",
            id=record_id,
            user_id=principal.user_id,
            created_at=now,
            updated_at=now,
            version=1,
            **{attribute(name): value for name, value in values.items()},
        )
        changes = {name: (None, value) for name, value in values.items() if value not in (None, "")}
        _write(principal, kind, contact, None, record, "created", changes, now)
        return record

    record = optimistic(attempt, "Contact")  # another change to the contact took the history number
    count(f"{kind.label}Created")
    logger.info(f"{kind.name} created", extra={"contact_id": contact_id, f"{kind.name}_id": record_id})
    return record


def current(kind: Kind, record: Any) -> dict[str, Any]:
    return {field.name: getattr(record, field.attribute) for field in kind.fields}


def change(
    principal: Principal,
    kind: Kind,
    record_id: int,
    edit: Callable[[dict[str, Any]], dict[str, Any]],
    wanted_version: int | None = None,
) -> Any:
    """Apply ``edit(current fields) -> {field: new value}``, re-reading when another writer got in first."""

    def attempt() -> tuple[Any, bool]:
        old = get(principal, kind, record_id)
        if wanted_version is not None and int(old.version) != wanted_version:
            raise Conflict(f"{kind.label} is at version {int(old.version)}, not {wanted_version}")
        fields_now = current(kind, old)
        changes = {name: (fields_now[name], value) for name, value in edit(fields_now).items()}
        changes = {name: pair for name, pair in changes.items() if pair[0] != pair[1]}
        if not changes:
            return old, False
        now = times.now()
        new = kind.model(old.pk, old.sk, **_values(kind, old))
        for name, (_, value) in changes.items():
            setattr(new, attribute(name), value)
        new.updated_at, new.version = now, int(old.version) + 1
        contact = load_visible(principal, int(old.contact_id))
        _write(principal, kind, contact, old, new, "updated", changes, now)
        return new, True

    record, changed = optimistic(attempt, kind.label)  # the record or its contact changed meanwhile
    if changed:
        count(f"{kind.label}Updated")
        logger.info(f"{kind.name} updated", extra={f"{kind.name}_id": record_id, "version": int(record.version)})
    return record


def update(
    principal: Principal, kind: Kind, record_id: int, body: Mapping[str, Any], if_match: int | None = None
) -> Any:
    """Change what ``body`` sends (PUT and PATCH alike); If-Match or ``version`` make it conditional."""
    wanted_version = expected_version(dict(body), if_match)
    return change(principal, kind, record_id, lambda now: checked(kind, body, now), wanted_version)


def delete(principal: Principal, kind: Kind, record_id: int, if_match: int | None = None) -> None:
    def attempt() -> Any:
        old = get(principal, kind, record_id)
        if if_match is not None and int(old.version) != if_match:
            raise Conflict(f"{kind.label} is at version {int(old.version)}, not {if_match}")
        changes = {name: (value, None) for name, value in current(kind, old).items() if value not in (None, "")}
        contact = load_visible(principal, int(old.contact_id))
        _write(principal, kind, contact, old, None, "deleted", changes, times.now())
        return old

    kind.after_delete(optimistic(attempt, kind.label))
    count(f"{kind.label}Deleted")
    logger.info(f"{kind.name} deleted", extra={f"{kind.name}_id": record_id})


def contact_filter(query: Mapping[str, str]) -> Filter:
    """The filter every kind's list has: ``contact_id``, one contact's records."""
    wanted = Filter()
    if (query.get("contact_id") or "").strip():
        wanted.contact_id = query_value(query, "contact_id", Field("contact_id", "integer"))
    return wanted


def time_param(query: Mapping[str, str], name: str) -> str | None:
    """A datetime query parameter in the stored form (UTC), or None; 400 if it is not one."""
    value = (query.get(name) or "").strip()
    if not value:
        return None
    try:
        return times.parse_datetime(value)
    except ValueError:
        raise BadRequest(f"{name} must be an ISO 8601 datetime, such as 2026-01-31T09:00:00Z") from None
