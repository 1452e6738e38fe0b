"""The minimal JSON contacts API: flat bodies, ``name`` for the whole name, ``notes`` text for a
new contact's first note, edits and deletes that name the contact in the body, a search sent as
a GET's body, and the contact's ``id`` at the top of a flat body's answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm.errors import Unprocessable
from crm.fields import TEXT_MAX, Field
from crm.validation import Sent, coerce

NOTES = Field("notes", "text")  # a new contact's first note: a note's body, held to its rules
NAME = Field("name")  # one line, as the names it fills are, checked even where they are also sent

NAMES = frozenset({"name", "notes"})
CONTACT_ID = ("contact_id", "contactID")
UPDATE_FIELDS = ("update_fields", "updateFields")


def read(sent: Sent, creating: bool) -> None:
    """``name``: the first word is the first name, the rest the last (a given ``first_name`` or
    ``last_name`` wins). ``notes`` text on a create is its first note; a list is a representation
    sent back, and goes; anything else on a create is refused (on an update the model says why)."""
    fields = sent.fields
    if "name" in fields:
        value, errors = fields.pop("name"), []
        value = coerce(NAME, value, errors)
        sent.refused += errors
        first, _, last = value.strip().partition(" ") if isinstance(value, str) else (value, "", "")
        if not errors:  # a refused name says so once, not again as the names it would fill
            fields.setdefault("first_name", first)
            fields.setdefault("last_name", last.strip() or None)
    if creating and "notes" in fields:
        notes = fields.pop("notes")
        if isinstance(notes, str) and len(notes) <= TEXT_MAX:
            errors: list[str] = []
            coerce(NOTES, notes, errors)
            sent.refused += errors
            sent.first_note = notes if notes.strip() and not errors else None
        elif notes is not None and not isinstance(notes, list):
            sent.refused.append(f"Notes must be text of at most {TEXT_MAX} characters")


def flat(wrapped: bool, contact_id: int) -> dict[str, Any] | None:
    """What a JSON answer carries beside its root: the id, as a string, for a flat body."""
    return None if wrapped else {"id": str(contact_id)}


def named_contact_id(body: Mapping[str, Any]) -> str | None:
    """The ``contact_id`` (or ``contactID``) a body names, trimmed; None if it names none."""
    named = [body[name] for name in CONTACT_ID if body.get(name) is not None]
    if not named:
        return None
    if len(named) > 1:
        raise Unprocessable("Send contact_id or contactID, not both")
    if isinstance(named[0], (bool, dict, list)):
        raise Unprocessable("contact_id must be one contact's id")
    return str(named[0]).strip()


def edit(body: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """An edit: ``{"contact_id": .., "update_fields": {..}}`` (or camelCase), as (id, fields)."""
    given = [name for name in UPDATE_FIELDS if name in body]
    if len(given) > 1:
        raise Unprocessable("Send update_fields or updateFields, not both")
    fields = body[given[0]] if given else None
    contact_id = named_contact_id(body) if fields is not None else None
    if contact_id is None or fields is None:
        return None
    if not isinstance(fields, dict):
        raise Unprocessable("update_fields must be an object")
    others = sorted(set(body) - {*CONTACT_ID, *UPDATE_FIELDS})
    if others:
        raise Unprocessable(f"Unknown fields beside update_fields: {', '.join(others)}")
    return contact_id, fields


def edit_of(body: Mapping[str, Any], path_id: str | None = None) -> tuple[str, dict[str, Any]]:
    """The edit a body asks for; on ``/contacts/{id}`` it may leave contact_id out, or be a plain
    body of fields (as PATCH /contacts/{id} takes)."""
    if path_id is not None and not any(name in body for name in UPDATE_FIELDS):
        if set(body) & set(CONTACT_ID):
            raise Unprocessable("update_fields is required beside contact_id")
        return path_id, dict(body)
    named = path_id is None or set(body) & set(CONTACT_ID)
    found = edit(body if named else {"contact_id": path_id, **body})
    if found is None:
        raise Unprocessable("Send contact_id and update_fields (or contactID and updateFields)")
    if path_id is not None and found[0] != path_id:
        raise Unprocessable(f"contact_id {found[0]} is not the contact of this URL ({path_id})")
    return found


def deleted_contact_id(body: Mapping[str, Any]) -> str:
    """The contact a delete's body names."""
    unknown = sorted(set(body) - set(CONTACT_ID))
    if unknown:
        raise Unprocessable(f"Unknown fields: {', '.join(unknown)}")
    contact_id = named_contact_id(body)
    if contact_id is None:
        raise Unprocessable("contact_id is required")
    return contact_id


def search_query(body: Mapping[str, Any], query: Mapping[str, str], filters: tuple[str, ...]) -> dict[str, str]:
    """The query of a search sent as a GET's JSON body (``searchby`` and ``search``); parameters
    in the URL win, and the cursor is sealed to all of them."""
    unknown = sorted(set(body) - set(filters))
    if unknown:
        raise Unprocessable(f"Unknown search fields: {', '.join(unknown)}")
    return {**{name: str(value) for name, value in body.items() if value is not None}, **query}
