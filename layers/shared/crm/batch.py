"""Many contact writes in one request (``POST /contacts/batch``): each operation runs, in order,
as its single call would and answers as it would; one that fails fails alone.

Operations run one after another, so that two of one contact apply in the order sent; each is
its own transaction, as its single call's is, so a batch cut short (a timeout) leaves the
operations before the cut done and none half done.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crm import contacts, upserts
from crm.auth import Principal
from crm.contact_reads import Contact
from crm.errors import ApiError, Unprocessable
from crm.validation import Sent

MAX_OPERATIONS = 100
OPS = ("create", "update", "upsert", "delete")


@dataclass(frozen=True)
class Operation:
    """One operation as read: ``refused`` holds what was wrong with it (its 422)."""

    op: str
    contact: Sent | None = None
    id: int | None = None
    match: str | None = None
    refused: tuple[str, ...] = ()


@dataclass
class Result:
    status: int
    contact: Contact | None = None
    errors: list[str] = field(default_factory=list)


def run(principal: Principal, operations: list[Operation]) -> list[Result]:
    return [_one(principal, operation) for operation in operations]


def _one(principal: Principal, operation: Operation) -> Result:
    try:
        if operation.refused:
            raise Unprocessable(*operation.refused)
        if operation.op == "create":
            return Result(201, contacts.create(principal, operation.contact or Sent({})))
        if operation.op == "update":
            return Result(200, contacts.update(principal, operation.id or 0, operation.contact or Sent({})))
        if operation.op == "upsert":
            return _upsert(principal, operation)
        contacts.delete(principal, operation.id or 0)
        return Result(204)
    except ApiError as exc:
        return Result(exc.status, errors=exc.messages)


def _upsert(principal: Principal, operation: Operation) -> Result:
    by = upserts.BY[operation.match or ""]
    body = operation.contact or Sent({})
    value = body.fields.get(by.field)
    if not isinstance(value, str) or not value.strip():
        raise Unprocessable(f"An upsert by {operation.match} needs the contact's {by.field}")
    contact, created = upserts.upsert(principal, operation.match or "", value, body, None)
    return Result(201 if created else 200, contact)
