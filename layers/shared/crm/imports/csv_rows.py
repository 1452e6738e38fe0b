"""CSV files as contact bodies, row by row, never read whole.

The header row names the columns: our field names (``first_name`` or ``first-name``, in any case),
the aliases the API accepts (``email``, ``phone``, ``website``, ``tag_list``), Outlook's export
(``First Name``, ``E-mail Address``, ``Business Phone``, ``Home Street``, ``Categories`` ...) or
Google's (``Given Name``, ``E-mail 1 - Value``, ``Phone 1 - Type``/``Phone 1 - Value``,
``Organization 1 - Name``, ``Group Membership`` ...). UTF-8 with or without a BOM; comma or
semicolon. Each row becomes the body ``POST /contacts`` would take (so it is validated the same
way); a column nobody knows is reported once, in ``Columns.unknown``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from crm.fields import CONTACT_SHOWN, READ_ONLY, WRITABLE
from crm.http.dialects import NAMES
from crm.imports import ADDRESS_PLACES, OTHER_PHONE, PHONES, Row, place

# Outlook's "Export to a file" columns that are not our names once lower-cased and underscored.
OUTLOOK = {
    "e-mail address": "email_address",
    "e-mail 2 address": "email_address_2",
    "e-mail 3 address": "email_address_3",
    "business country/region": "business_country",
    "home country/region": "home_country",
    "other country/region": "other_country",
    "assistant's name": "assistant",
    "assistant's phone": "assistants_phone",
    "web page": "url",
    "categories": "tags",
    "user 1": "user_1",
    "user 2": "user_2",
    "user 3": "user_3",
    "user 4": "user_4",
}
GOOGLE = {
    "given name": "first_name",
    "additional name": "middle_name",
    "family name": "last_name",
    "name prefix": "title",
    "name suffix": "suffix",
    "organization 1 - name": "company",
    "organization 1 - title": "job_title",
    "organization 1 - department": "department",
    "website 1 - value": "url",
    "website 2 - value": "url_2",
    "website 3 - value": "url_3",
    "e-mail 1 - value": "email_address",
    "e-mail 2 - value": "email_address_2",
    "e-mail 3 - value": "email_address_3",
    "group membership": "tags",
}
# Google's numbered phones and addresses take their place from their "- Type" column.
GOOGLE_SLOT = re.compile(r"^(phone|address) (\d+) - (.+)$")
ADDRESS_PARTS = {
    "street": "street",
    "extended address": "street_2",
    "city": "city",
    "region": "state",
    "postal code": "postal_code",
    "country": "country",
}
# Columns of the exports that hold nothing we keep (Google's derived "Name", the types themselves).
IGNORED = {"name", "nickname", "initials", "priority", "sensitivity", "mileage", "billing information"}
# "name" is the minimal API's whole name, but an export's Name column repeats the given and family
# names it also has: it stays ignored. So do the read-only fields our own export writes (id,
# created_at, version...): a file exported here imports as it is. Outlook's and Google's "Notes"
# is what they know of the contact: its background.
OWN = {name: name for name in (*WRITABLE, *(NAMES - {"name"}))} | {"notes": "background"}
IGNORED |= {field.name for field in READ_ONLY} | CONTACT_SHOWN
# A cell our export guarded against a spreadsheet's formulas (crm.exports.writers): the ' it put
# before a leading =, +, -, @, tab or CR comes off.
GUARDED = re.compile(r"^'(?=[=+\-@\t\r])")


def _key(header: str) -> str:
    return " ".join(header.strip().lower().split())


def _ours(header: str) -> str:
    """A header spelled our way: ``First_Name``, ``first-name``, ``first name`` are ``first_name``."""
    return re.sub(r"[\s-]+", "_", _key(header))


def _own(header: str) -> str | None:
    return OWN.get(_ours(header))


@dataclass
class Columns:
    """What each column of the header holds, and the columns that hold nothing we know."""

    plain: dict[int, str] = field(default_factory=dict)  # column -> field
    slots: dict[tuple[str, int], dict[str, int]] = field(default_factory=dict)  # ("phone", 1) -> {part: column}
    unknown: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, header: list[str]) -> Columns:
        columns = cls()
        for index, name in enumerate(header):
            key = _key(name)
            target = _own(name) or OUTLOOK.get(key) or GOOGLE.get(key)
            slot = GOOGLE_SLOT.match(key)
            if target is not None:
                columns.plain[index] = target
            elif slot is not None:
                columns.slots.setdefault((slot[1], int(slot[2])), {})[slot[3]] = index
            # (the types of what we keep untyped are ignored too)
            elif key and not {key, _ours(name)} & IGNORED and not key.endswith(" - type"):
                columns.unknown.append(name.strip())
        return columns

    def body(self, cells: list[str]) -> dict[str, Any]:
        """The contact body a row holds (empty cells are left out)."""

        def cell(index: int) -> str:
            return GUARDED.sub("", cells[index].strip()) if index < len(cells) else ""

        body: dict[str, Any] = {}
        for index, name in self.plain.items():
            value = cell(index)
            if not value:
                continue
            if name == "tags":
                value = _tags(value)
            body.setdefault(name, value)
        for (kind, _), parts in sorted(self.slots.items(), key=lambda item: item[0][1]):
            kind_of = _key(cell(parts["type"])).lstrip("* ") if "type" in parts else ""
            if kind == "phone" and "value" in parts and cell(parts["value"]):
                place(PHONES.get(kind_of.removeprefix("other "), OTHER_PHONE), body, cell(parts["value"]))
            elif kind == "address":
                where = ADDRESS_PLACES.get(kind_of, "other")
                for part, column in parts.items():
                    ours = ADDRESS_PARTS.get(part)
                    if ours:
                        place((f"{where}_{ours}",), body, cell(column))
        return body


def _tags(value: str) -> list[str]:
    """Outlook's ``A;B`` or ``A,B``, Google's ``* myContacts ::: Friends`` (system groups dropped)."""
    parts = re.split(r":::|;|,", value)
    return [p.strip() for p in parts if p.strip() and not p.strip().startswith("*")]


def _delimiter(header_line: str) -> str:
    """Comma or semicolon: whichever separates more of the header outside quotes."""
    outside = re.sub(r'"[^"]*"', "", header_line)
    return ";" if outside.count(";") > outside.count(",") else ","


def rows(stream: IO[bytes], columns_seen: list[Columns] | None = None) -> Iterator[Row]:
    """The file's rows as contact bodies, read as they come; blank lines are skipped.

    ``columns_seen`` receives the header's Columns (for the unknown columns, reported once).
    """
    # newline="": the csv module's own line handling (quoted fields may span lines).
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
    lines = iter(text)
    first = next(lines, "")
    if not first.strip():
        return
    delimiter = _delimiter(first)
    reader = csv.reader(_chain(first, lines), delimiter=delimiter)
    columns = Columns.of(next(reader))
    if columns_seen is not None:
        columns_seen.append(columns)
    start = reader.line_num + 1
    for cells in reader:
        line, start = start, reader.line_num + 1
        if any(cell.strip() for cell in cells):
            yield Row(line, columns.body(cells))


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest
