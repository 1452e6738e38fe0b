"""vCard files (3.0 and 4.0, and the 2.1 that old phones still write) as contact bodies, card by card.

Properties kept: ``FN``, ``N``, ``ORG``, ``TITLE``, ``EMAIL``, ``TEL`` and ``ADR`` placed by their
type (work, home, cell, fax, and the assistant's), ``BDAY``, ``ANNIVERSARY`` (3.0's
``X-ANNIVERSARY``), ``NOTE`` (the background), ``URL``, ``CATEGORIES`` (tags), ``KIND:org``
(a company), ``GENDER``, ``RELATED`` (spouse, child, agent: spouse, children, assistant), ``IMPP``
of Skype, and ``UID`` (the row's ``uid``, so that a re-import finds the contact): all that
``GET /contacts/{id}.vcf`` writes (crm.http.vcard).
Lines are unfolded and values unescaped as RFC 6350 says; the file is read as it comes.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import IO, Any

from crm.imports import ADDRESS_PLACES, OTHER_PHONE, PHONES, Row, place

EMAILS = ("email_address", "email_address_2", "email_address_3")
URLS = ("url", "url_2", "url_3")
ADDRESS_PARTS = (None, "street_2", "street", "city", "state", "postal_code", "country")  # ADR's order
ESCAPED = re.compile(r"\\(.)", re.DOTALL)


def _unescape(text: str) -> str:
    return ESCAPED.sub(lambda m: "\n" if m[1] in "nN" else m[1], text)


def _split(value: str, separator: str) -> list[str]:
    """Split on unescaped separators, then unescape each part."""
    parts, current, escaped = [], "", False
    for char in value:
        if escaped:
            current += "\\" + char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == separator:
            parts.append(_unescape(current))
            current = ""
        else:
            current += char
    parts.append(_unescape(current))
    return parts


def _parse(line: str) -> tuple[str, set[str], str]:
    """(property name, its types, raw value) of an unfolded content line (a group prefix dropped)."""
    head, _, value = line.partition(":")
    name, *params = head.split(";")
    types: set[str] = set()
    for param in params:
        key, has_value, given = param.partition("=")
        if not has_value:  # vCard 2.1: ;WORK;VOICE
            types.add(key.lower())
        elif key.lower() == "type":
            types |= {t.strip().strip('"').lower() for t in given.split(",")}
    return name.rsplit(".", 1)[-1].upper(), types, value


GENDERS = {"m": "male", "f": "female", "o": "other", "n": "none", "u": "unknown"}  # 4.0's sex
RELATED = {"spouse": "spouse", "child": "children", "agent": "assistant"}


def _phone_slots(types: set[str]) -> tuple[str, ...]:
    if "x-assistant" in types:
        return ("assistants_phone",)
    if "fax" in types:
        key = "work fax" if "work" in types else "home fax" if "home" in types else "fax"
    else:
        key = "mobile" if "cell" in types else next((t for t in ("work", "home") if t in types), "")
    return PHONES.get(key, OTHER_PHONE)


def _birthday(value: str) -> str:
    """``19061209`` or ``1906-12-09`` as ISO; a date without a year (``--1209``) is dropped."""
    digits = value.strip().split("T")[0].replace("-", "")
    if len(digits) == 8 and digits.isdigit() and not value.startswith("--"):
        return f"{digits[:4]}-{digits[4:6]}-{digits[6:]}"
    return "" if value.startswith("--") else value.strip()  # anything else: the API says what is wrong


def _card(lines: list[str]) -> tuple[dict[str, Any], str | None]:
    body: dict[str, Any] = {}
    uid, full_name = None, ""
    for line in lines:
        name, types, value = _parse(line)
        if name == "N":
            parts = _split(value, ";") + [""] * 5
            for field, part in zip(("last_name", "first_name", "middle_name", "title", "suffix"), parts, strict=False):
                if part.strip():
                    body[field] = part.strip()
        elif name == "FN":
            full_name = _unescape(value).strip()
        elif name == "ORG":
            company, *units = _split(value, ";")
            body.setdefault("company", company.strip())
            if units and units[0].strip():
                body.setdefault("department", units[0].strip())
        elif name == "TITLE":
            body.setdefault("job_title", _unescape(value).strip())
        elif name == "EMAIL":
            place(EMAILS, body, _unescape(value).strip())
        elif name == "TEL":
            place(_phone_slots(types), body, _unescape(value).strip().removeprefix("tel:"))
        elif name == "ADR":
            where = next((ADDRESS_PLACES[t] for t in types if t in ADDRESS_PLACES), "other")
            for part, text in zip(ADDRESS_PARTS, _split(value, ";"), strict=False):
                if part:
                    place((f"{where}_{part}",), body, text.strip())
        elif name == "BDAY" and _birthday(value):
            body["birthday"] = _birthday(value)
        elif name in ("ANNIVERSARY", "X-ANNIVERSARY") and _birthday(value):
            body["anniversary"] = _birthday(value)
        elif name == "KIND" and value.strip().lower() == "org":
            body["is_company"] = True
        elif name == "GENDER":  # sex;identity: the identity as written, else the sex's name
            parts = [part.strip() for part in _split(value, ";")]
            sex, identity = parts[0], parts[1] if len(parts) > 1 else ""
            if sex or identity:
                body.setdefault("gender", identity or GENDERS.get(sex.lower(), sex))
        elif name == "RELATED":
            kind = next((RELATED[t] for t in types if t in RELATED), None)
            if kind:
                place((kind,), body, _unescape(value).strip())
        elif name == "IMPP" and value.strip().lower().startswith("skype:"):
            place(("skype_name",), body, value.strip()[len("skype:") :])
        elif name == "NOTE" and _unescape(value).strip():
            body.setdefault("background", _unescape(value).strip())
        elif name == "URL":
            place(URLS, body, _unescape(value).strip())
        elif name == "CATEGORIES":
            body.setdefault("tags", [])
            body["tags"] += [t.strip() for t in _split(value, ",") if t.strip()]
        elif name == "UID":
            uid = _unescape(value).strip() or None
    if "first_name" not in body and full_name:  # FN alone (4.0 makes N optional): first word, rest
        first, _, last = full_name.partition(" ")
        body["first_name"] = first
        if last:
            body.setdefault("last_name", last)
    return body, uid


def _unfolded(text: IO[str]) -> Iterator[str]:
    """Content lines with their folds joined (a line starting with a space or tab continues)."""
    current: str | None = None
    for raw in text:
        line = raw.rstrip("\r\n")
        if line[:1] in (" ", "\t") and current is not None:
            current += line[1:]
            continue
        if current is not None:
            yield current
        current = line
    if current is not None:
        yield current


def rows(stream: IO[bytes]) -> Iterator[Row]:
    """Each card as a Row numbered from 1; lines outside BEGIN/END are ignored."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline=None)
    number, lines, inside = 0, [], False
    for line in _unfolded(text):
        marker = line.strip().upper()
        if marker == "BEGIN:VCARD":
            number, lines, inside = number + 1, [], True
        elif marker == "END:VCARD" and inside:
            body, uid = _card(lines)
            inside = False
            yield Row(number, body, uid)
        elif inside and line.strip():
            lines.append(line)
