"""Redmine CRM's notes: its names for ContactHero's notes, which are the same notes.

The plugin keeps notes of several kinds of source; here every note is a contact's, so its
``source_type`` is ``Contact`` and its ``source_id`` the contact's id. Its ``content`` is the
note's ``body``; its ``subject`` is the note's own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crm.errors import Unprocessable
from crm.http.xml import Attributed
from crm.numbers import whole

SOURCE_TYPE = "Contact"
NOTE_NAMES = {"source_type", "source_id", "subject", "content"}
# What a client may send back from a note it read: not changed through it.
NOTE_SHOWN = {"id", "source", "author", "created_on", "updated_on"}


def source_id(value: Any) -> int:
    number = whole(str(value).strip()) if value is not None and not isinstance(value, bool | dict | list) else None
    if number is None:
        raise Unprocessable("Source id must be a contact's id")
    return number


def note_fields(body: dict[str, Any]) -> tuple[int | None, dict[str, Any]]:
    """A Redmine note body as (its contact's id, if it names one; our note's fields)."""
    unknown = sorted(set(body) - NOTE_NAMES - NOTE_SHOWN)
    if unknown:
        raise Unprocessable(f"Unknown fields: {', '.join(unknown)}")
    if body.get("source_type") not in (None, SOURCE_TYPE):
        raise Unprocessable(f"Source type must be {SOURCE_TYPE}: notes here are kept for contacts")
    contact_id = source_id(body["source_id"]) if body.get("source_id") is not None else None
    fields = {name: body[name] for name in ("subject",) if name in body}
    if "content" in body:
        fields["body"] = body["content"]
    return contact_id, fields


def note_view(note: Any) -> dict[str, Any]:
    """A note as the plugin shows it; its version is the ETag."""
    contact_id = int(note.contact_id)
    return {
        "id": int(note.id),
        "subject": note.subject or "",
        "content": note.body,
        "source_type": SOURCE_TYPE,
        "source_id": contact_id,
        "source": Attributed({"id": contact_id, "type": SOURCE_TYPE}, ("id", "type")),
        "author": Attributed({"id": int(note.user_id)}, ("id",)),
        "created_on": datetime.fromisoformat(note.created_at),
        "updated_on": datetime.fromisoformat(note.updated_at),
    }
