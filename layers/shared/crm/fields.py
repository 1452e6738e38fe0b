"""The field tables, each field declared once: storage, validation (crm.validation), JSON, XML and
OpenAPI follow them. This is the one model: what the documented dialects call the fields
differently is read at the edge (``crm.http.dialects``).
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from typing import Any

STRING_MAX = 255
TEXT_MAX = 32_000
LIST_MAX = 50
LIST_ITEM_MAX = 64  # characters of a tag or a project id
RECORDS_MAX = 100
INT_MAX = 2**53  # what JSON clients can hold exactly
# A whole number sent for a text (the minimal API sends phones as numbers) is taken as its digits,
# up to 15 of them, which every JSON client holds exactly.
DIGITS_MAX = 10**15 - 1

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

    @property
    def attribute(self) -> str:
        """Its item's attribute (crm.storage.items): the name, or ``from_`` for ``from``."""
        return attribute(self.name)


def attribute(name: str) -> str:
    """The item attribute that holds the field ``name``: a Python keyword gets a trailing ``_``."""
    return f"{name}_" if keyword.iskeyword(name) else name


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
    + [Field("external_id")]  # another system's id for the contact: unique in the account (crm.index)
)
FIELDS_BY_NAME = {field.name: field for field in CONTACT_FIELDS}


def defaults() -> dict[str, Any]:
    """The values a new contact starts with (lists are empty, not missing; it is not private)."""
    kept = [f for f in CONTACT_FIELDS if f.default is not None]
    return {f.name: list(f.default) if isinstance(f.default, tuple) else f.default for f in kept}


WRITABLE = tuple(field.name for field in CONTACT_FIELDS if field.writable)

# Associations a client may send back, as a list, from a representation it read; they are not
# changed through the contact (notes have their own routes).
ECHOED = {"notes"}
# What a contact's representation shows but no client sets: sent back, it is ignored (photo_url
# changes with the contact's photos, phones_e164 with its numbers).
CONTACT_SHOWN = frozenset({"photo_url", "phones_e164"})


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
