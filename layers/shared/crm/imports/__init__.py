"""Files that become contacts (imports from S3): each format is read as a stream of rows, each row
the body ``POST /contacts`` takes, so a row is validated as the API validates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Where a phone goes by its type (Google's "Mobile", a vCard's CELL): the first of its fields still
# free; a type not listed is an other phone.
PHONES = {
    "mobile": ("mobile_phone", "mobile_phone_2"),
    "work": ("business_phone", "business_phone_2"),
    "home": ("home_phone", "home_phone_2"),
    "work fax": ("business_fax",),
    "home fax": ("home_fax",),
    "fax": ("other_fax",),
    "assistant": ("assistants_phone",),
}
OTHER_PHONE = ("other_phone",)
# Where an address goes by its type; any other is the other address.
ADDRESS_PLACES = {"work": "business", "home": "home"}


def place(fields: tuple[str, ...], body: dict[str, Any], value: str) -> None:
    """Put ``value`` in the first of ``fields`` the body does not have yet (none free: dropped)."""
    free = [name for name in fields if name not in body]
    if free and value:
        body[free[0]] = value


@dataclass
class Row:
    line: int  # where the row starts: a line of a CSV file (1 is its header), a vCard's number
    body: dict[str, Any]
    uid: str | None = None  # the source's own id of the contact (a vCard's UID), for re-imports
    error: str | None = None  # why the row is no contact at all (a JSON number where one was due)
