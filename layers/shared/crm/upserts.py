"""Create or update a contact by a value another system knows it by (``PUT
/contacts/by-email/{email}``, ``PUT /contacts/by-external-id/{external_id}``): the contact that
has it is updated, else one is made with it.

The value's lookup item (crm.index) is read by its key. A create commits only if that item still
names as many contacts as it did when read, so of two upserts of one new value at once one
creates and the other, failing that condition, reads again and updates what the first made.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from crm import contacts, index
from crm.auth import Principal
from crm.contact_reads import Contact
from crm.errors import Conflict, Unprocessable
from crm.fields import FIELDS_BY_NAME
from crm.storage.db import RACE_ATTEMPTS, ConditionFailed, backoff
from crm.validation import Sent, coerce, sent


@dataclass(frozen=True)
class Match:
    field: str  # the contact field that holds the value
    term: Callable[[str], str]  # its lookup term
    what: str  # its name in messages


BY = {
    "email": Match("email_address", index.email_key, "email address"),
    "external_id": Match("external_id", index.external_key, "external_id"),
}


def _checked(match: Match, value: str) -> str:
    errors: list[str] = []
    checked = coerce(FIELDS_BY_NAME[match.field], value, errors)
    if errors or not checked:
        raise Unprocessable(*(errors or [f"The {match.what} in the path is empty"]))
    return str(checked).strip()


def _with_value(match: Match, value: str, body: Sent) -> Sent:
    """The create's body: the value in its field, unless the body already carries it (an email
    address may be in any of the three: else it takes the first the body leaves empty)."""
    fields = dict(body.fields)
    if match.field == "email_address":
        sent = {name: str(fields.get(name) or "").strip() for name in index.EMAIL_FIELDS}
        if value.lower() not in (address.lower() for address in sent.values()):
            free = [name for name, address in sent.items() if not address]
            if not free:
                raise Unprocessable("The body fills every email address, and none is the path's")
            fields[free[0]] = value
    else:
        given = str(fields.get(match.field) or "").strip()
        if given and given != value:
            raise Unprocessable(f"The body's {match.what} is not the path's")
        fields[match.field] = value
    return replace(body, fields=fields)


def upsert(principal: Principal, by: str, value: str, body: Any, if_match: int | None) -> tuple[Contact, bool]:
    """The contact with ``value`` updated with ``body``, or a new one with both; True if new."""
    match = BY[by]
    value = _checked(match, value)
    term, asked = match.term(value), sent(body)
    for round_ in range(RACE_ATTEMPTS):
        found = index.named(principal, [term]).get(term, index.NOBODY)
        if len(found.visible) > 1:
            ids = ", ".join(str(i) for i in sorted(found.visible))
            raise Conflict(f"Contacts {ids} have this {match.what}: update one by its id")
        if found.visible:
            (contact_id,) = found.visible
            return contacts.update(principal, contact_id, asked, if_match), False
        if by == "external_id" and found.total:
            raise index.taken(found)  # another user's private contact has it
        if if_match is not None:
            raise Conflict(f"No contact has this {match.what}, so none is at version {if_match}")
        try:
            return contacts.create(principal, _with_value(match, value, asked), exclusive={term: found}), True
        except ConditionFailed:
            backoff(round_)  # another writer gave it to a contact meanwhile: read again
    raise Conflict(f"Contacts with this {match.what} are changing too often; retry")
