"""The validation engine: a body checked against a field table (crm.fields).

Input goes through ``validate`` (``contact_changes`` and ``note_changes`` for their tables):
every value is coerced to its kind, and anything unknown or invalid is a 422 naming it. What the
dialects read at the edge arrives as a ``Sent``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crm import times
from crm.errors import BadRequest, Unprocessable
from crm.fields import (
    CONTACT_FIELDS,
    CONTACT_SHOWN,
    CONTROL,
    DIGITS_MAX,
    ECHOED,
    EMAIL,
    INT_MAX,
    LIST_ITEM_MAX,
    LIST_MAX,
    NOTE_FIELDS,
    RECORDS_MAX,
    STRING_MAX,
    TEXT_MAX,
    Field,
)
from crm.numbers import integer


def _whole(value: Any) -> Any:
    """JSON's 5.0 as 5; any other value as it is."""
    return int(value) if isinstance(value, float) and value.is_integer() and abs(value) <= INT_MAX else value


def _digits(value: Any) -> bool:
    """A whole number a text may be sent as (crm.fields.DIGITS_MAX)."""
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= DIGITS_MAX


def _text(field: Field, value: Any, errors: list[str]) -> str | None:
    value = _whole(value)
    if not isinstance(value, str) and not _digits(value):
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        errors.append(f"{field.label} must be text" + (", or a whole number of at most 15 digits" if number else ""))
        return None
    text = value if isinstance(value, str) else str(value)  # the minimal API sends phones as numbers
    limit = field.max_length or (TEXT_MAX if field.kind == "text" else STRING_MAX)
    if len(text) > limit:
        errors.append(f"{field.label} is too long (at most {limit} characters)")
    elif CONTROL.search(text):
        errors.append(f"{field.label} contains control characters or non-characters (U+FFFE, U+FFFF)")
    elif field.kind != "text" and ("\n" in text or "\r" in text):  # a name or a number is one line
        errors.append(f"{field.label} must be one line")
    elif field.kind == "email" and text.strip() and not EMAIL.match(text.strip()):
        errors.append(f"{field.label} is not a valid email address")
    return text


def _integer(field: Field, value: Any, errors: list[str]) -> int | None:
    if isinstance(value, str) and integer(value) is not None:
        value = integer(value)
    value = _whole(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= INT_MAX:
        errors.append(f"{field.label} must be a whole number from 0")
        return None
    return value


def truth(value: Any) -> bool | None:
    """A boolean, or its text as a form or XML sends it (true, false, 1 or 0, any case); None else."""
    if isinstance(value, bool):
        return value
    return {"true": True, "1": True, "false": False, "0": False}.get(str(value).strip().lower())


def _boolean(field: Field, value: Any, errors: list[str]) -> bool | None:
    found = truth(value)
    if found is None:
        errors.append(f"{field.label} must be true or false")
    return found


def _date(field: Field, value: Any, errors: list[str]) -> str | None:
    parse = times.parse_date if field.kind == "date" else times.parse_datetime
    try:
        if isinstance(value, str):
            return parse(value)
    except ValueError:
        pass
    shape = "YYYY-MM-DD" if field.kind == "date" else "ISO 8601"
    errors.append(f"{field.label} is not a valid {field.kind} ({shape})")
    return None


def _list(field: Field, value: Any, errors: list[str]) -> list[str] | None:
    # Lists arrive as JSON arrays, XML arrays, or comma-separated text ("vip, cold call").
    if isinstance(value, str):
        value = value.split(",")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value]
    if isinstance(value, list):
        value = [_whole(v) for v in value]
    if not isinstance(value, list) or not all(isinstance(v, str) or _digits(v) for v in value):
        errors.append(f"{field.label} must be a list of text values")
        return None
    items = [str(v).strip() for v in value if str(v).strip()]
    items = list(dict.fromkeys(items))  # keep order, drop repeats
    if len(items) > LIST_MAX or any(len(v) > LIST_ITEM_MAX or CONTROL.search(v) for v in items):
        errors.append(f"{field.label} takes at most {LIST_MAX} values of at most {LIST_ITEM_MAX} characters")
        return None
    return items


def _records(field: Field, value: Any, errors: list[str]) -> list[dict] | None:
    if isinstance(value, dict):  # XML or form input of a single record
        value = [value]
    if not isinstance(value, list) or len(value) > RECORDS_MAX:
        errors.append(f"{field.label} must be a list of at most {RECORDS_MAX} entries")
        return None
    records = []
    for entry in value:
        if not isinstance(entry, dict) or "id" not in entry:
            errors.append(f"{field.label} entries need an id")
            return None
        entry_id = _integer(Field(f"{field.name} id", "integer"), entry.get("id"), errors)
        name = entry.get("name")
        raw = entry.get("value")
        if isinstance(raw, (int, float, bool)):
            raw = str(raw).lower() if isinstance(raw, bool) else str(raw)
        if raw is not None and not isinstance(raw, str):
            errors.append(f"{field.label} values must be text")
            return None
        texts = [raw or "", "" if name is None else str(name)]
        if any(len(text) > STRING_MAX or CONTROL.search(text) for text in texts):
            errors.append(f"{field.label} names and values are text of at most {STRING_MAX} characters")
            return None
        records.append({"id": entry_id, "name": None if name is None else str(name), "value": raw})
    return records


def _choice(field: Field, value: Any, errors: list[str]) -> str | None:
    chosen = value.strip().lower() if isinstance(value, str) else None
    if chosen not in field.choices:
        errors.append(f"{field.label} must be one of: {', '.join(field.choices)}")
        return None
    return chosen


COERCE = {
    "string": _text,
    "choice": _choice,
    "text": _text,
    "email": _text,
    "integer": _integer,
    "boolean": _boolean,
    "date": _date,
    "datetime": _date,
    "tags": _list,
    "ids": _list,
    "records": _records,
}


def coerce(field: Field, value: Any, errors: list[str]) -> Any:
    """The stored form of ``value`` for ``field``, appending a message to ``errors`` if it has none."""
    # Forms and XML send an empty element for "no value" where text is not the field's kind.
    if value is None or (value == "" and field.kind in ("integer", "boolean", "date", "datetime")):
        return list(field.default) if isinstance(field.default, tuple) else field.default
    return COERCE[field.kind](field, value, errors)


def query_value(params: Mapping[str, str], name: str, field: Field) -> Any:
    """A query parameter as ``field`` stores it; 400 (a parameter, not a body) if it is not one."""
    errors: list[str] = []
    value = coerce(field, params[name], errors)
    if errors:
        raise BadRequest(f"{name}: {errors[0]}")
    return value


def validate(
    table: tuple[Field, ...],
    fields: Mapping[str, Any],
    current: Mapping[str, Any] | None,
    required: str | None,
    errors: list[str] | None = None,
    shown: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Check a body against a field table: returns {field: stored value} for the writable fields it sets.

    ``current`` is the stored resource on an update (None on create). Read-only fields may be
    sent back with their current value, as a client that edits what it read would; ``version``
    on an update makes the write conditional instead (the caller reads it). Unknown fields and
    invalid values are a 422 that names every one of them. ``shown``: what the resource's
    representation adds to its fields (URLs): a client may send it back, and it is ignored.
    """
    errors = [] if errors is None else errors
    by_name = {field.name: field for field in table}
    unknown = sorted(name for name in fields if name not in by_name and name not in ECHOED and name not in shown)
    if unknown:
        errors.append(f"Unknown fields: {', '.join(unknown)}")
    changes: dict[str, Any] = {}
    for name, value in fields.items():
        field = by_name.get(name)
        if name in ECHOED and not isinstance(value, list):
            errors.append("Notes are added with POST /contacts/{id}/notes")
        if field is None:
            continue
        stored = coerce(field, value, errors)
        if not field.writable:
            if name == "version" and current is not None:
                continue
            if stored is not None and (current is None or stored != current.get(name)):
                errors.append(f"{field.label} is read-only")
            continue
        changes[name] = stored
    if required and (current is None or required in changes) and not (changes.get(required) or "").strip():
        errors.append(f"{by_name[required].label} cannot be blank")
    if errors:
        raise Unprocessable(*errors)
    return changes


@dataclass
class Sent:
    """A contact body in the one model, as the edge read what a client sent: its fields, the
    first note a create asks for, and what the edge could not read (422 messages, answered with
    those of the fields)."""

    fields: dict[str, Any]
    first_note: str | None = None
    refused: list[str] = field(default_factory=list)


def sent(body: Mapping[str, Any] | Sent) -> Sent:
    """``body`` as a ``Sent``: a plain mapping is the one model's fields already."""
    return body if isinstance(body, Sent) else Sent(dict(body))


def contact_changes(body: Mapping[str, Any] | Sent, current: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A contact body as {field: stored value} (see ``validate``)."""
    given = sent(body)
    return validate(CONTACT_FIELDS, given.fields, current, "first_name", list(given.refused), CONTACT_SHOWN)


def note_changes(body: Mapping[str, Any], current: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return validate(NOTE_FIELDS, body, current, "body")
