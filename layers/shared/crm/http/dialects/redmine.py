"""Redmine CRM: its names for a contact's fields, its ``phones`` and ``emails`` arrays, its
projects, and its notes (the same notes as ContactHero's).

The plugin keeps notes of several kinds of source; here every note is a contact's, so its
``source_type`` is ``Contact`` and its ``source_id`` the contact's id. Its ``content`` is the
note's ``body``; its ``subject`` is the note's own.
"""

from __future__ import annotations

from typing import Any

from crm.errors import Unprocessable
from crm.fields import FIELDS_BY_NAME
from crm.numbers import whole
from crm.validation import Sent, coerce

# Its address block fills our business address.
ADDRESS = {
    "street1": "business_street",
    "street2": "business_street_2",
    "city": "business_city",
    "region": "business_state",
    "postcode": "business_postal_code",
    "country_code": "business_country",
}
# Its ``phones`` and ``emails``, in the order its ``phone`` and ``email`` (comma-separated) fill us.
PHONE_SLOTS = (
    "business_phone",
    "mobile_phone",
    "home_phone",
    "business_phone_2",
    "mobile_phone_2",
    "home_phone_2",
    "other_phone",
)
EMAIL_SLOTS = ("email_address", "email_address_2", "email_address_3")
ARRAYS = {"phones": (PHONE_SLOTS, "number"), "emails": (EMAIL_SLOTS, "address")}
LISTS = {"phone": PHONE_SLOTS[:3], "email": EMAIL_SLOTS}  # the minimal API sends these too
RENAMED = {"website": "url", "tag_list": "tags"}
VISIBILITY = ("0", "1", "2")  # project, public, private
NAMES = frozenset({*LISTS, *ARRAYS, *RENAMED, "project_id", "visibility", "address_attributes"})


def _split(value: Any) -> list[Any]:
    return [part.strip() for part in value.split(",")] if isinstance(value, str) else [value]


def _from_array(name: str, value: Any, body: dict[str, Any], refused: list[str]) -> dict[str, Any]:
    """The fields a ``phones`` or ``emails`` array sets: its entries fill the slots in order and
    empty the rest. A body that names a slot itself keeps it and the array is ignored: that is a
    client sending back all it read (ActiveResource's save) beside the fields it changed."""
    slots, key = ARRAYS[name]
    entries = value if isinstance(value, list) else _split(value) if isinstance(value, str) else None
    if entries is None:
        refused.append(f"{name.capitalize()} must be a list")
        return {}
    # The plugin prints {"number": ...} and {"address": ...}; its document, plain text.
    if any(isinstance(entry, dict) and set(entry) - {key} for entry in entries):
        refused.append(f'{name.capitalize()} are texts or {{"{key}": ...}}')
        return {}
    entries = [entry.get(key) if isinstance(entry, dict) else entry for entry in entries]
    if len(entries) > len(slots):  # counted as sent, blanks too, as the document's maxItems counts
        refused.append(f"{name.capitalize()} takes at most {len(slots)} entries")
        return {}
    entries = [entry for entry in entries if entry not in (None, "")]
    if any(slot in body for slot in slots):
        # Ignored, but held to the slots' rules all the same: what is refused does not depend on it.
        errors: list[str] = []
        for entry in entries:
            coerce(FIELDS_BY_NAME[slots[0]], entry, errors)
        label = FIELDS_BY_NAME[slots[0]].label
        refused.extend(dict.fromkeys(error.replace(label, name.capitalize()) for error in errors))
        return {}
    return dict(zip(slots, [*entries, *[None] * (len(slots) - len(entries))], strict=True))


def _address(value: Any, refused: list[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        refused.append("Address attributes must be an object")
        return {}
    unknown = sorted(set(value) - set(ADDRESS))
    if unknown:
        refused.append(f"Unknown address attributes: {', '.join(unknown)}")
    return {ADDRESS[k]: v for k, v in value.items() if k in ADDRESS}


def read(sent: Sent) -> None:
    """Its names into the model's; a field also given under the model's own name keeps that.
    ``project_id`` adds to ``project_ids`` rather than replacing them."""
    body, aliased, projects = sent.fields, {}, []
    for name in [name for name in body if name in NAMES]:
        value = body.pop(name)
        if name in LISTS:
            parts = _split(value)
            if len(parts) > len(LISTS[name]):  # refused rather than cut: nothing sent is lost
                sent.refused.append(f"{name.capitalize()} takes at most {len(LISTS[name])} comma-separated values")
            aliased.update(zip(LISTS[name], parts, strict=False))
        elif name in ARRAYS:
            aliased.update(_from_array(name, value, body, sent.refused))
        elif name in RENAMED:
            aliased[RENAMED[name]] = value
        elif name == "project_id":
            projects.extend(value if isinstance(value, list) else [value])
        elif name == "visibility":
            level = value.strip() if isinstance(value, str) else str(value) if type(value) is int else None
            if level not in VISIBILITY:  # its digit, or the number (True is not 1)
                sent.refused.append("Visibility must be 0 (project), 1 (public) or 2 (private)")
            aliased["is_private"] = level == "2"
        else:
            aliased.update(_address(value, sent.refused))
    for name, value in aliased.items():
        if name in body and name in FIELDS_BY_NAME:  # overridden, and held to its rules all the same
            coerce(FIELDS_BY_NAME[name], value, sent.refused)
    sent.fields = {**aliased, **body}
    given = sent.fields.get("project_ids")
    if projects and (given is None or isinstance(given, (list, str))):  # any other is refused as sent
        sent.fields["project_ids"] = (given if isinstance(given, list) else _split(given or "")) + projects


def in_project(body: dict[str, Any], project_id: str) -> dict[str, Any]:
    """A create posted to ``/projects/{project_id}/contacts``: the contact is in that project too."""
    sent = body.get("project_id")
    projects = sent if isinstance(sent, list) else [] if sent is None else [sent]
    return {**body, "project_id": projects if project_id in projects else [*projects, project_id]}


def show(view: dict[str, Any]) -> dict[str, Any]:
    """A contact's representation with its ``phones`` and ``emails``, in the model's order (the
    fields by name, then its notes)."""
    for name, (slots, _) in ARRAYS.items():
        view[name] = [value for value in (view.get(slot) for slot in slots) if isinstance(value, str) and value]
    notes = view.pop("notes", None)
    shown = dict(sorted(view.items()))
    if notes is not None:
        shown["notes"] = notes
    return shown


def projects(project_ids: list[str]) -> list[dict[str, Any]]:
    """Its ``projects`` of a contact: numeric ids as integers, identifiers as text."""
    return [{"id": int(p) if p.isdigit() else p} for p in project_ids]


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
