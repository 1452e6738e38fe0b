"""Contacts spelled as each export format, a chunk at a time: ``Writer.head``, then ``rows`` for
each chunk, then ``tail``. Each format is one crm.imports reads back as the same contacts:

- ``json``: ``{"contacts": [...], "total_count": n}``, each contact as GET /contacts shows it;
- ``xml``: ``<contacts type="array">``, likewise;
- ``vcard``: one vCard 4.0 per contact (crm.http.vcard), as GET /contacts/{id}.vcf answers it;
- ``csv``: a header, then a row per contact, in one of three layouts: ``ours`` (the fields by
  name, as the JSON has them), ``outlook`` (Outlook's export's columns) or ``google`` (Google
  Contacts').

A photo's URL is left out: it is signed for minutes, and the file is kept for days.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from crm.auth import Principal
from crm.fields import ADDRESS_PARTS, CONTACT_FIELDS
from crm.http import dialects, render, vcard, views, xml
from crm.http.xml import Nil
from crm.storage.items import account_of

# A cell a spreadsheet would run as a formula (=, +, -, @ first; a tab or CR first); a phone
# number written with + is a number, not a formula. Such a cell is written after a ', as OWASP
# advises; crm.imports.csv_rows takes the ' off again.
FORMULA = re.compile(r"^[=+\-@\t\r]")
NUMBER = re.compile(r"^[+\-]?[0-9 ().\-]*$")


def cell(value: Any) -> str:
    """A stored value as a CSV cell: lists comma-separated, booleans as true/false, None as blank."""
    if value is None or isinstance(value, Nil):
        text = ""
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (list, tuple)):
        text = ", ".join(str(each) for each in value)
    elif isinstance(value, (date, datetime)):
        text = value.isoformat()
    else:
        text = str(value)
    return f"'{text}" if FORMULA.match(text) and not NUMBER.match(text) else text


# --- CSV layouts: (header, the row of a contact's view) -------------------------------------------

OURS = tuple(field.name for field in CONTACT_FIELDS if field.name != "custom_fields")

# Outlook's columns, in its export's order, for the fields it has.
OUTLOOK = (
    ("Title", "title"),
    ("First Name", "first_name"),
    ("Middle Name", "middle_name"),
    ("Last Name", "last_name"),
    ("Suffix", "suffix"),
    ("Company", "company"),
    ("Department", "department"),
    ("Job Title", "job_title"),
    *(
        (f"{place.capitalize()} {label}", f"{place}_{part}")
        for place in ("business", "home", "other")
        for label, part in (
            ("Street", "street"),
            ("Street 2", "street_2"),
            ("City", "city"),
            ("State", "state"),
            ("Postal Code", "postal_code"),
            ("Country/Region", "country"),
        )
    ),
    ("Assistant's Phone", "assistants_phone"),
    ("Business Fax", "business_fax"),
    ("Business Phone", "business_phone"),
    ("Business Phone 2", "business_phone_2"),
    ("Home Fax", "home_fax"),
    ("Home Phone", "home_phone"),
    ("Home Phone 2", "home_phone_2"),
    ("Mobile Phone", "mobile_phone"),
    ("Other Fax", "other_fax"),
    ("Other Phone", "other_phone"),
    ("Anniversary", "anniversary"),
    ("Assistant's Name", "assistant"),
    ("Birthday", "birthday"),
    ("Categories", "tags"),
    ("Children", "children"),
    ("E-mail Address", "email_address"),
    ("E-mail 2 Address", "email_address_2"),
    ("E-mail 3 Address", "email_address_3"),
    ("Gender", "gender"),
    ("Notes", "background"),
    ("Spouse", "spouse"),
    ("User 1", "user_1"),
    ("User 2", "user_2"),
    ("User 3", "user_3"),
    ("User 4", "user_4"),
    ("Web Page", "url"),
)

# Google's: its named columns, then numbered phones and addresses, each with its type.
GOOGLE_NAMED = (
    ("Given Name", "first_name"),
    ("Additional Name", "middle_name"),
    ("Family Name", "last_name"),
    ("Name Prefix", "title"),
    ("Name Suffix", "suffix"),
    ("Birthday", "birthday"),
    ("Gender", "gender"),
    ("Notes", "background"),
    ("Group Membership", "tags"),
    ("E-mail 1 - Value", "email_address"),
    ("E-mail 2 - Value", "email_address_2"),
    ("E-mail 3 - Value", "email_address_3"),
    ("Organization 1 - Name", "company"),
    ("Organization 1 - Title", "job_title"),
    ("Organization 1 - Department", "department"),
    ("Website 1 - Value", "url"),
    ("Website 2 - Value", "url_2"),
    ("Website 3 - Value", "url_3"),
)
GOOGLE_PHONES = (
    ("business_phone", "Work"),
    ("business_phone_2", "Work"),
    ("business_fax", "Work Fax"),
    ("home_phone", "Home"),
    ("home_phone_2", "Home"),
    ("home_fax", "Home Fax"),
    ("mobile_phone", "Mobile"),
    ("mobile_phone_2", "Mobile"),
    ("other_phone", "Other"),
    ("other_fax", "Other Fax"),
    ("assistants_phone", "Assistant"),
)
GOOGLE_ADDRESSES = (("business", "Work"), ("home", "Home"), ("other", "Other"))
GOOGLE_ADDRESS_PARTS = (
    ("Street", "street"),
    ("Extended Address", "street_2"),
    ("City", "city"),
    ("Region", "state"),
    ("Postal Code", "postal_code"),
    ("Country", "country"),
)
assert tuple(part for _, part in GOOGLE_ADDRESS_PARTS) == ADDRESS_PARTS


def _google_header() -> list[str]:
    header = [name for name, _ in GOOGLE_NAMED]
    for number in range(1, len(GOOGLE_PHONES) + 1):
        header += [f"Phone {number} - Type", f"Phone {number} - Value"]
    for number in range(1, len(GOOGLE_ADDRESSES) + 1):
        header += [f"Address {number} - Type", *(f"Address {number} - {label}" for label, _ in GOOGLE_ADDRESS_PARTS)]
    return header


def _given(view: dict[str, Any], name: str) -> bool:
    value = view.get(name)
    return not (value is None or isinstance(value, Nil) or value == "")


def _google_row(view: dict[str, Any]) -> list[Any]:
    row: list[Any] = [
        " ::: ".join(view.get("tags") or ()) if name == "tags" else view.get(name) for _, name in GOOGLE_NAMED
    ]
    phones = [(kind, view[name]) for name, kind in GOOGLE_PHONES if _given(view, name)]
    for number in range(len(GOOGLE_PHONES)):
        row += list(phones[number]) if number < len(phones) else ["", ""]
    for place, kind in GOOGLE_ADDRESSES:
        given = any(_given(view, f"{place}_{part}") for _, part in GOOGLE_ADDRESS_PARTS)
        row += [kind if given else "", *(view.get(f"{place}_{part}") for _, part in GOOGLE_ADDRESS_PARTS)]
    return row


LAYOUTS: dict[str, tuple[list[str], Callable[[dict[str, Any]], list[Any]]]] = {
    "ours": (list(OURS), lambda view: [view.get(name) for name in OURS]),
    "outlook": (
        [name for name, _ in OUTLOOK],
        lambda view: ["; ".join(view.get("tags") or ()) if f == "tags" else view.get(f) for _, f in OUTLOOK],
    ),
    "google": (_google_header(), _google_row),
}


class Writer:
    """A format's pieces: ``head()``, ``rows(items)`` for each chunk of contacts, ``tail(count)``."""

    def __init__(self, principal: Principal, fmt: str, columns: str | None = None) -> None:
        self.principal, self.format, self.columns = principal, fmt, columns or "ours"
        self.written = 0

    def _views(self, items: list[Any]) -> list[dict[str, Any]]:
        shown = [dialects.contact_view(view) for view in views.contacts(self.principal, items)]
        for view in shown:
            view.pop("photo_url", None)
        return shown

    def head(self) -> str:
        if self.format == "json":
            return '{"contacts": [\n'
        if self.format == "xml":
            return xml.DECLARATION + '<contacts type="array">\n'
        if self.format == "csv":  # with a BOM, by which a spreadsheet knows it is UTF-8
            return "\ufeff" + self._csv([LAYOUTS[self.columns][0]])
        return ""

    def rows(self, items: list[Any]) -> str:
        shown, first = self._views(items), self.written == 0
        self.written += len(shown)
        if self.format == "json":
            return ("" if first or not shown else ",\n") + ",\n".join(render.to_json(view) for view in shown)
        if self.format == "xml":
            return "".join(xml.element("contact", view) for view in shown)
        if self.format == "csv":
            return self._csv([LAYOUTS[self.columns][1](view) for view in shown])
        account = account_of(items[0].pk) if items else ""
        by_id = {int(item.id): item for item in items}
        return "".join(
            vcard.card(view, vcard.uid_of(account, view["id"], by_id[view["id"]].source_uid)) for view in shown
        )

    def tail(self) -> str:
        if self.format == "json":
            return f'\n], "total_count": {self.written}}}\n'
        if self.format == "xml":
            return "</contacts>\n"
        return ""

    @staticmethod
    def _csv(rows: list[list[Any]]) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180's line ends
        writer.writerows([[cell(value) for value in row] for row in rows])
        return out.getvalue()
