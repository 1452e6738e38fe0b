"""The custom field values a contact carries, checked against the account's definitions
(crm.custom_fields) and kept as ``custom_fields: [{"id": 1, "value": "abc"}]`` in these stored
forms, whatever form they were sent in:

    string   the text as sent (at most 255 characters)
    integer  the whole number in decimal: " 007" -> "7", "-12" -> "-12"
    date     YYYY-MM-DD
    boolean  "1" or "0" (as Redmine stores them); true/false/1/0 are accepted
    list     the possible value as the definition spells it (matched case-insensitively)

A contact shows the values whose definition still exists (crm.http.views.custom_values).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from crm.custom_fields import folded
from crm.errors import Unprocessable
from crm.fields import CONTROL, STRING_MAX
from crm.numbers import integer

DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
BOOLEANS = {"true": "1", "1": "1", "false": "0", "0": "0"}


def _stored_value(definition: Any, text: str, errors: list[str]) -> str | None:
    """``text`` in the stored form of the definition's format; None (and a message) if it has none."""
    name, kind = definition.name, definition.field_format
    if kind == "integer":
        number = integer(text)
        if number is None:
            errors.append(f"{name} must be a whole number")
            return None
        return str(number)
    if kind == "date":
        try:
            if DATE.fullmatch(text.strip()):
                return date.fromisoformat(text.strip()).isoformat()
        except ValueError:
            pass
        errors.append(f"{name} is not a valid date (YYYY-MM-DD)")
        return None
    if kind == "boolean":
        truth = BOOLEANS.get(text.strip().lower())
        if truth is None:
            errors.append(f"{name} must be true or false")
        return truth
    if kind == "list":
        choices = list(definition.possible_values or [])
        wanted = text.strip()
        if wanted in choices:
            return wanted
        matches = [choice for choice in choices if folded(choice) == folded(wanted)]
        if not matches:
            errors.append(f"{name} is not one of its possible values")
            return None
        return matches[0]
    if len(text) > STRING_MAX or CONTROL.search(text):  # string
        errors.append(f"{name} must be text of at most {STRING_MAX} characters")
        return None
    return text


def check_values(
    defs: Mapping[int, Any], given: list[dict[str, Any]], current: list[dict[str, Any]] | None
) -> list[dict[str, Any]]:
    """A contact's custom field values after ``given`` is applied to ``current``, as stored.

    ``given`` is the body's ``custom_fields`` as crm.validation coerced it (``[{"id", "name",
    "value"}]``; ``name`` is ignored); ``current`` is what the contact stores (None on create).
    Each value is merged by id onto ``current``; a null or blank value removes the field's value.
    Values are checked against their definition's format and stored in its canonical form (see the
    module's docstring). An unknown id and a required field left without a value are 422, with
    every message at once. Returns ``[{"id": int, "value": str}]`` sorted by id; values of
    definitions since deleted stay as they were stored. An entry of ``current`` may carry a ``name``
    (ignored); one without a value counts as none.
    """
    merged = {int(e["id"]): str(e["value"]) for e in current or () if e.get("value") not in (None, "")}
    errors: list[str] = []
    for entry in given:
        field_id, raw = int(entry["id"]), entry.get("value")
        definition = defs.get(field_id)
        if definition is None:
            errors.append(f"Custom field {field_id} does not exist")
            continue
        text = raw if isinstance(raw, str) or raw is None else str(raw)
        if text is None or not text.strip():
            merged.pop(field_id, None)
            continue
        stored = _stored_value(definition, text, errors)
        if stored is not None:
            merged[field_id] = stored
    for field_id in sorted(defs):
        definition = defs[field_id]
        if definition.is_required and not merged.get(field_id):
            errors.append(f"{definition.name} cannot be blank")
    if errors:
        raise Unprocessable(*list(dict.fromkeys(errors)))
    return [{"id": field_id, "value": merged[field_id]} for field_id in sorted(merged)]
