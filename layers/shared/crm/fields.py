"""The contact's fields, declared once: storage, validation, JSON, XML and OpenAPI follow this table.

Input goes through ``contact_changes``: every value is coerced to its kind, and anything unknown
or invalid is a 422 naming it. This is the one model: what the documented dialects call the
fields differently is read at the edge (``crm.http.dialects``) into a ``Sent``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crm import times
from crm.errors import BadRequest, Unprocessable
from crm.numbers import integer

STRING_MAX = 255
TEXT_MAX = 32_000
LIST_MAX = 50
RECORDS_MAX = 100
INT_MAX = 2**53  # what JSON clients can hold exactly

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
# XML 1.0 cannot carry these (U+FFFE and U+FFFF are no characters to it), nor UTF-8 a lone
# surrogate; refusing them keeps every stored value representable in both formats.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Field:
    name: str
    kind: str = "string"  # string, text, email, choice, integer, boolean, date, datetime, tags, ids, records
    writable: bool = True
    default: Any = None  # what a new contact has, and what null sets the field back to
    choices: tuple[str, ...] = ()  # a choice's values (matched whatever their case)
    max_length: int | None = None  # a text's, when not the kind's

    @property
    def label(self) -> str:
        """The name in messages: ``email_address_2`` -> ``Email address 2``."""
        return self.name.replace("_", " ").capitalize()


def _fields(kind: str, *names: str) -> list[Field]:
    return [Field(name, kind) for name in names]


READ_ONLY = [
    Field("id", "integer", writable=False),
    Field("user_id", "integer", writable=False),
    Field("created_at", "datetime", writable=False),
    Field("updated_at", "datetime", writable=False),
    Field("last_action_at", "datetime", writable=False),
    Field("version", "integer", writable=False),
]
ADDRESS_PARTS = ("street", "street_2", "city", "state", "postal_code", "country")

CONTACT_FIELDS: tuple[Field, ...] = tuple(
    READ_ONLY
    + _fields("string", "title", "first_name", "middle_name", "last_name", "suffix", "company")
    + _fields("string", "job_title", "department", "gender", "spouse", "children", "assistant")
    + [Field("is_company", "boolean"), Field("assistants_phone")]
    + _fields("date", "birthday", "anniversary")
    + [Field("background", "text")]
    + _fields("email", "email_address", "email_address_2", "email_address_3")
    + [Field("preferred_email_index", "integer")]
    + _fields("string", "business_phone", "business_phone_2", "business_fax", "home_phone")
    + _fields("string", "home_phone_2", "home_fax", "mobile_phone", "mobile_phone_2", "other_phone")
    + _fields("string", "other_fax", "skype_name")
    + [Field("preferred_phone_index", "integer")]
    + [Field(f"{place}_{part}") for place in ("business", "home", "other") for part in ADDRESS_PARTS]
    + _fields("string", "url", "url_2", "url_3", "user_1", "user_2", "user_3", "user_4")
    + [Field("tags", "tags", default=()), Field("project_ids", "ids", default=()), Field("assigned_to_id", "integer")]
    + [Field("is_private", "boolean", default=False), Field("custom_fields", "records", default=())]
)
FIELDS_BY_NAME = {field.name: field for field in CONTACT_FIELDS}


def defaults() -> dict[str, Any]:
    """The values a new contact starts with (lists are empty, not missing; it is not private)."""
    return {f.name: coerce(f, None, []) for f in CONTACT_FIELDS if f.default is not None}


WRITABLE = tuple(field.name for field in CONTACT_FIELDS if field.writable)

# Associations a client may send back, as a list, from a representation it read; they are not
# changed through the contact (notes have their own routes).
ECHOED = {"notes"}
# What a contact's representation shows but no client sets: sent back, it is ignored (photo_url
# changes with the contact's photos).
CONTACT_SHOWN = frozenset({"photo_url"})


def _text(field: Field, value: Any, errors: list[str]) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        errors.append(f"{field.label} must be text")
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
    if isinstance(value, float) and value.is_integer() and abs(value) <= INT_MAX:  # JSON's 5.0 is 5
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= INT_MAX:
        errors.append(f"{field.label} must be a whole number from 0")
        return None
    return value


def _boolean(field: Field, value: Any, errors: list[str]) -> bool | None:
    if isinstance(value, bool):
        return value
    truth = {"true": True, "1": True, "false": False, "0": False}.get(str(value).strip().lower())
    if truth is None:
        errors.append(f"{field.label} must be true or false")
    return truth


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
    if isinstance(value, list):  # JSON's 5.0 is 5
        value = [int(v) if isinstance(v, float) and v.is_integer() else v for v in value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value):
        errors.append(f"{field.label} must be a list of text values")
        return None
    items = [str(v).strip() for v in value if str(v).strip()]
    items = list(dict.fromkeys(items))  # keep order, drop repeats
    if len(items) > LIST_MAX or any(len(v) > 64 or CONTROL.search(v) for v in items):
        errors.append(f"{field.label} takes at most {LIST_MAX} values of at most 64 characters")
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


NOTE_FIELDS: tuple[Field, ...] = (
    Field("id", "integer", writable=False),
    Field("contact_id", "integer", writable=False),
    Field("user_id", "integer", writable=False),
    Field("created_at", "datetime", writable=False),
    Field("updated_at", "datetime", writable=False),
    Field("version", "integer", writable=False),
    Field("subject"),  # Redmine CRM's
    Field("body", "text"),
)


CALL_FIELDS: tuple[Field, ...] = (
    Field("id", "integer", writable=False),
    Field("contact_id", "integer"),  # required on create, fixed after
    Field("user_id", "integer", writable=False),
    Field("subject"),
    Field("body", "text"),
    Field("due_at", "datetime"),
    Field("duration_seconds", "integer"),
    Field("outcome"),
    Field("completed_at", "datetime"),
    Field("assigned_to_id", "integer"),
    Field("created_at", "datetime", writable=False),
    Field("updated_at", "datetime", writable=False),
    Field("version", "integer", writable=False),
)


MESSAGE_BODY_MAX = 256 * 1024  # bytes of UTF-8 (crm.messages answers 413 beyond)

MESSAGE_FIELDS: tuple[Field, ...] = (
    Field("id", "integer", writable=False),
    Field("contact_id", "integer"),  # required on create, fixed after
    Field("user_id", "integer", writable=False),
    Field("channel", "choice", default="email", choices=("email", "sms", "other")),
    Field("direction", "choice", default="outbound", choices=("inbound", "outbound")),
    Field("subject"),
    Field("body", "text", max_length=MESSAGE_BODY_MAX),
    Field("sent_at", "datetime"),  # now, unless sent
    Field("from"),
    Field("to"),
    Field("created_at", "datetime", writable=False),
    Field("updated_at", "datetime", writable=False),
    Field("version", "integer", writable=False),
)


PHOTO_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
PHOTO_STATUSES = ("waiting_for_upload", "ready", "rejected")

PHOTO_FIELDS: tuple[Field, ...] = (
    Field("id", "integer", writable=False),
    Field("contact_id", "integer"),  # required on create, fixed after
    Field("user_id", "integer", writable=False),
    Field("caption"),
    # Declared on create (it signs the upload); then what the image's first bytes say it is.
    Field("content_type", "choice", writable=False, choices=PHOTO_TYPES),
    Field("status", "choice", writable=False, choices=PHOTO_STATUSES),
    Field("size", "integer", writable=False),  # bytes, once checked
    Field("error", writable=False),  # why an upload was refused
    Field("created_at", "datetime", writable=False),
    Field("updated_at", "datetime", writable=False),
    Field("version", "integer", writable=False),
)


def note_changes(body: Mapping[str, Any], current: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return validate(NOTE_FIELDS, body, current, "body")
