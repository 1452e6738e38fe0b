"""A batch's body, ``{"operations": [...]}`` or ``<operations type="array">``, as crm.batch's
operations: each contact in any dialect, each operation's own mistakes kept for its own 422."""

from __future__ import annotations

from typing import Any

from crm import upserts
from crm.batch import MAX_OPERATIONS, OPS, Operation
from crm.errors import PayloadTooLarge, Unprocessable
from crm.http import dialects
from crm.numbers import sent_id

FIELDS = ("op", "contact", "id", "match")
NEEDS = {"create": ("contact",), "update": ("id", "contact"), "upsert": ("match", "contact"), "delete": ("id",)}


def read(fields: dict[str, Any]) -> list[Operation]:
    """The operations of a batch's body; 413 past MAX_OPERATIONS, 422 if it has none."""
    if set(fields) == {"operation"}:  # XML without type="array": <operations> held <operation>s
        fields = {"operations": fields["operation"] if isinstance(fields["operation"], list) else [fields["operation"]]}
    beside = sorted(set(fields) - {"operations"})
    if beside:
        raise Unprocessable(f"Unknown fields beside operations: {', '.join(beside)}")
    sent = fields.get("operations")
    if not isinstance(sent, list) or not sent:
        raise Unprocessable("operations must be a list of at least one operation")
    if len(sent) > MAX_OPERATIONS:
        raise PayloadTooLarge(f"A batch takes at most {MAX_OPERATIONS} operations; this one has {len(sent)}")
    return [_operation(entry) for entry in sent]


def _operation(entry: Any) -> Operation:
    if not isinstance(entry, dict):
        return Operation("", refused=("An operation must be an object with op",))
    op = entry.get("op")
    if op not in OPS:
        return Operation("", refused=(f"op must be one of {', '.join(OPS)}",))
    given = {name for name, value in entry.items() if value not in (None, "")}
    refused = []
    if unknown := sorted(set(entry) - set(FIELDS)):
        refused.append(f"Unknown fields in the operation: {', '.join(unknown)}")
    if missing := [name for name in NEEDS[op] if name not in given]:
        refused.append(f"{op.capitalize()} needs {', '.join(missing)}")
    if extra := [name for name in FIELDS[1:] if name in given and name not in NEEDS[op]]:
        refused.append(f"{op.capitalize()} takes no {', '.join(extra)}")
    contact_id = sent_id(entry.get("id"))
    if "id" in given and "id" in NEEDS[op] and contact_id is None:
        refused.append("id must be a contact id")
    match = entry.get("match")
    if "match" in given and op == "upsert" and match not in upserts.BY:
        refused.append(f"match must be one of {', '.join(upserts.BY)}")
    contact = entry.get("contact")
    if "contact" in given and not isinstance(contact, dict):
        refused.append("contact must be an object")
    if refused:
        return Operation(op, refused=tuple(refused))
    body = dialects.contact_body(contact, creating=op == "create") if isinstance(contact, dict) else None
    return Operation(op, body, contact_id, match)
