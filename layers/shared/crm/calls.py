"""Calls: a call to make (``due_at``) or made (``completed_at``, ``outcome``), about one contact.

Stored, listed and changed by crm.activities; lists are in ``due_at`` order, open and completed
calls apart, so ``completed=`` is a key range.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm import activities, times
from crm.activities import Filter, Kind
from crm.auth import Principal
from crm.errors import Unprocessable
from crm.fields import CALL_FIELDS, Field
from crm.storage.items import CallItem
from crm.validation import query_value

CALL = Kind(
    name="call",
    letter="L",
    model=CallItem,
    fields=CALL_FIELDS,
    required="subject",
    order="due_at",
    states=("o", "c"),
    state_of=lambda call: "c" if call.completed_at else "o",
)


def list_filter(query: Mapping[str, str]) -> Filter:
    """``GET /calls``'s filters: contact_id, completed (true/false), due_before and due_after."""
    after, before = activities.time_param(query, "due_after"), activities.time_param(query, "due_before")
    wanted = activities.contact_filter(query)
    wanted.after, wanted.before = after, before
    if (query.get("completed") or "").strip():
        wanted.states = ("c",) if query_value(query, "completed", Field("completed", "boolean")) else ("o",)
    return wanted


def complete(principal: Principal, call_id: int, body: Mapping[str, Any]) -> Any:
    """Set ``completed_at`` (now, or as sent) and an optional ``outcome``; completing a completed
    call changes nothing unless another outcome is sent."""
    unknown = sorted(set(body) - {"outcome", "completed_at"})
    if unknown:
        raise Unprocessable(f"Unknown fields: {', '.join(unknown)}")

    def edit(current: dict[str, Any]) -> dict[str, Any]:
        sent = activities.checked(CALL, body, current)
        done = {"completed_at": current["completed_at"] or sent.get("completed_at") or times.now()}
        if "outcome" in sent:
            done["outcome"] = sent["outcome"]
        return done

    return activities.change(principal, CALL, call_id, edit)
