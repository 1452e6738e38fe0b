"""A contact as a vCard: 4.0 (RFC 6350), or 3.0 (RFC 2426) for older address books.

Written from the contact's view (crm.http.views), so a card shows what the JSON and XML show:
every field that has a vCard property, each value escaped (``\\``, ``,``, ``;`` and line breaks)
and each line folded at 75 octets, never inside a character, as RFC 6350 section 3.2 asks. The
card's UID is the one the contact was imported with, else one derived from its account and id,
so that it is the same card every time it is exported.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

VERSIONS = ("4.0", "3.0")
LINE_OCTETS = 75  # RFC 6350 3.2: a longer line is folded
# uuid5's namespace for the UIDs this API makes: the same account and id give the same UID.
UID_NAMESPACE = uuid.UUID("0e4b3f58-8f6a-5d0e-9c1e-6a1f4c2d7b90")

# (field, TYPE) of each phone; 3.0 writes "voice" where 4.0 leaves it to the default.
PHONES = (
    ("business_phone", "work,voice"),
    ("business_phone_2", "work,voice"),
    ("business_fax", "work,fax"),
    ("home_phone", "home,voice"),
    ("home_phone_2", "home,voice"),
    ("home_fax", "home,fax"),
    ("mobile_phone", "cell"),
    ("mobile_phone_2", "cell"),
    ("other_phone", "voice"),
    ("other_fax", "fax"),
    ("assistants_phone", "x-assistant"),
)
EMAILS = ("email_address", "email_address_2", "email_address_3")
URLS = ("url", "url_2", "url_3")
ADDRESSES = (("business", "work"), ("home", "home"), ("other", None))
# ADR's components after the post office box (RFC 6350 6.3.1), as the contact's fields name them.
ADDRESS_PARTS = ("street_2", "street", "city", "state", "postal_code", "country")
# 4.0's RELATED types for the people a contact names.
RELATED = (("spouse", "spouse"), ("children", "child"), ("assistant", "agent"))


def uid_of(account_id: str, contact_id: int, source_uid: str | None) -> str:
    """The card's UID: the one it was imported with, else ``urn:uuid:`` of its account and id."""
    return source_uid or f"urn:uuid:{uuid.uuid5(UID_NAMESPACE, f'{account_id}/{contact_id}')}"


def escaped(text: str) -> str:
    """A text value as RFC 6350 3.4 writes it."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;").replace("\n", "\\n")


def _uri(text: str) -> str:
    return "".join(text.split())  # a URI holds no white space; a line break would end the property


def fold(line: str) -> str:
    """``line`` as lines of at most 75 octets, each continued by CRLF and a space."""
    data, lines, start = line.encode(), [], 0
    limit = LINE_OCTETS
    while len(data) - start > limit:
        end = start + limit
        while end > start and (data[end] & 0xC0) == 0x80:  # not inside a UTF-8 character
            end -= 1
        lines.append(data[start:end].decode())
        start, limit = end, LINE_OCTETS - 1  # a continuation's leading space is one of its octets
    lines.append(data[start:].decode())
    return "\r\n ".join(lines)


def _text(view: dict[str, Any], name: str) -> str:
    """The field's text as stored, or "" for none (a null, a blank)."""
    value = view.get(name)
    return value if isinstance(value, str) and value.strip() else ""


def _date(value: Any, version: str) -> str | None:
    if not isinstance(value, date):
        return None
    return value.strftime("%Y%m%d") if version == "4.0" else value.isoformat()


def _timestamp(value: Any, version: str) -> str | None:
    if not isinstance(value, datetime):
        return None
    utc = value.astimezone(UTC)
    return utc.strftime("%Y%m%dT%H%M%SZ" if version == "4.0" else "%Y-%m-%dT%H:%M:%SZ")


def _full_name(view: dict[str, Any]) -> str:
    parts = [_text(view, name).strip() for name in ("title", "first_name", "middle_name", "last_name", "suffix")]
    return " ".join(part for part in parts if part) or _text(view, "company").strip() or f"Contact {view['id']}"


def _types(kinds: str, version: str) -> str:
    """The TYPE parameter; 4.0 leaves out what it takes by default (a phone is a voice line)."""
    if version == "4.0":
        kinds = ",".join(kind for kind in kinds.split(",") if kind not in ("voice", "internet"))
    return f";TYPE={kinds}" if kinds else ""


def _properties(view: dict[str, Any], uid: str, version: str) -> Iterator[str]:
    four = version == "4.0"
    yield f"VERSION:{version}"
    if four and view.get("is_company") is True:
        yield "KIND:org"
    yield f"FN:{escaped(_full_name(view))}"
    names = ("last_name", "first_name", "middle_name", "title", "suffix")
    yield "N:" + ";".join(escaped(_text(view, name)) for name in names)
    organisation = [escaped(_text(view, "company")), escaped(_text(view, "department"))]
    if any(organisation):
        yield "ORG:" + ";".join(organisation if organisation[1] else organisation[:1])
    if _text(view, "job_title"):
        yield f"TITLE:{escaped(_text(view, 'job_title'))}"
    for name in EMAILS:
        if _text(view, name):
            yield f"EMAIL{_types('internet', version)}:{escaped(_text(view, name))}"
    for name, kinds in PHONES:
        if _text(view, name):
            # Kept as sent, so a text: 4.0's default for TEL is a tel: URI.
            value = ";VALUE=text" if four else ""
            yield f"TEL{value}{_types(kinds, version)}:{escaped(_text(view, name))}"
    for place, kind in ADDRESSES:
        parts = [_text(view, f"{place}_{part}") for part in ADDRESS_PARTS]
        if any(parts):
            typed = f";TYPE={kind}" if kind else ""
            yield f"ADR{typed}:;" + ";".join(escaped(part) for part in parts)
    for name in URLS:
        if _text(view, name):
            yield f"URL:{_uri(_text(view, name))}"
    if _text(view, "skype_name"):
        yield f"IMPP:skype:{_uri(_text(view, 'skype_name'))}"
    birthday, anniversary = _date(view.get("birthday"), version), _date(view.get("anniversary"), version)
    if birthday:
        yield f"BDAY:{birthday}"
    if anniversary:
        yield f"{'ANNIVERSARY' if four else 'X-ANNIVERSARY'}:{anniversary}"
    if four and _text(view, "gender"):
        sex = {"m": "M", "male": "M", "f": "F", "female": "F"}.get(_text(view, "gender").lower())
        yield f"GENDER:{sex}" if sex else f"GENDER:;{escaped(_text(view, 'gender'))}"
    if four:
        for name, kind in RELATED:
            if _text(view, name):
                yield f"RELATED;TYPE={kind};VALUE=text:{escaped(_text(view, name))}"
    tags = [tag for tag in view.get("tags") or () if isinstance(tag, str) and tag.strip()]
    if tags:
        yield "CATEGORIES:" + ",".join(escaped(tag) for tag in tags)
    if _text(view, "background"):
        yield f"NOTE:{escaped(_text(view, 'background'))}"
    if view.get("photo_url"):
        yield f"PHOTO:{_uri(view['photo_url'])}" if four else f"PHOTO;VALUE=uri:{_uri(view['photo_url'])}"
    # 4.0's UID is a URI unless it says it is text, as a UID kept from an import may be.
    yield f"UID:{_uri(uid)}" if ":" in uid and four else f"UID{';VALUE=text' if four else ''}:{escaped(uid)}"
    revised = _timestamp(view.get("updated_at"), version)
    if revised:
        yield f"REV:{revised}"


def card(view: dict[str, Any], uid: str, version: str = "4.0") -> str:
    """The contact ``view`` as one vCard of ``version``, lines ending in CRLF."""
    lines = ["BEGIN:VCARD", *(fold(line) for line in _properties(view, uid, version)), "END:VCARD"]
    return "\r\n".join(lines) + "\r\n"
