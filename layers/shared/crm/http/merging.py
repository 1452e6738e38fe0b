"""A merge's body, ``{"from": [ids], "dry_run": false}``, as JSON, XML or a form sends it."""

from __future__ import annotations

from typing import Any

from crm import merges
from crm.errors import Unprocessable
from crm.numbers import sent_id

TRUTHS = {"true": True, "1": True, "false": False, "0": False}


def read(body: dict[str, Any]) -> tuple[list[int], bool]:
    """The contacts a merge's body names and its ``dry_run``; 422 for anything else."""
    unknown = sorted(set(body) - {"from", "dry_run"})
    if unknown:
        raise Unprocessable(f"Unknown fields: {', '.join(unknown)}")
    sent = body.get("from")
    if isinstance(sent, dict) and set(sent) in ({"id"}, {"from"}):  # XML: <from><id>3</id></from>
        sent = next(iter(sent.values()))
    if isinstance(sent, str):  # a form's, or XML's without type="array": comma-separated
        sent = [part for part in sent.split(",") if part.strip()]
    sent = [sent] if isinstance(sent, int) else sent
    if not isinstance(sent, list) or not sent:
        raise Unprocessable("from must be a list of the ids of the contacts to merge into this one")
    ids = [sent_id(value) for value in sent]
    if None in ids:
        raise Unprocessable("from must hold contact ids")
    if len(ids) > merges.MAX_FROM:
        raise Unprocessable(f"A merge takes at most {merges.MAX_FROM} contacts at once; this one names {len(ids)}")
    if len(set(ids)) != len(ids):
        raise Unprocessable("from names a contact twice")
    dry_run = body.get("dry_run", False)
    if isinstance(dry_run, str) and dry_run.strip().lower() in TRUTHS:  # a form's and XML's text
        dry_run = TRUTHS[dry_run.strip().lower()]
    if not isinstance(dry_run, bool):
        raise Unprocessable("dry_run must be true or false")
    return [int(i) for i in ids if i is not None], dry_run
