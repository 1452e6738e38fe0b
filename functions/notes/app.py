"""Notes of a contact over HTTP: parse, authorise, call crm.notes, render."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from crm import notes
from crm.http import openapi
from crm.http.api import Api, Request, resource_id

app = Api("notes")
lambda_handler = app.lambda_handler

NOTE = {
    "type": "object",
    "properties": {
        "body": {"type": "string", "maxLength": 32000},
        **{name: {"type": "integer", "readOnly": True} for name in ("id", "contact_id", "user_id")},
        **{name: {"type": "string", "format": "date-time", "readOnly": True} for name in ("created_at", "updated_at")},
    },
    "required": ["body"],
}
ONE = openapi.wrapped("note", NOTE)


def _ids(contact_id: str, note_id: str) -> tuple[int, int]:
    return resource_id(contact_id, "Contact"), resource_id(note_id, "Note")


def _show(request: Request, note: object, status: int = 200) -> Response:
    location = f"/contacts/{int(note.contact_id)}/notes/{int(note.id)}" if status == 201 else None
    return request.one("note", notes.view(note), status=status, version=int(note.version), location=location)


@app.operation(
    "GET",
    "/contacts/<contact_id>/notes",
    summary="A contact's notes, newest first",
    query=openapi.PAGING,
    returns=openapi.listing("notes", NOTE),
)
def list_notes(request: Request, contact_id: str) -> Response:
    page = notes.listing(request.principal, resource_id(contact_id, "Contact"), request.page())
    return request.many("notes", "note", page, [notes.view(note) for note in page.items])


@app.operation("POST", "/contacts/<contact_id>/notes", summary="Add a note", status=201, body=NOTE, returns=ONE)
def create_note(request: Request, contact_id: str) -> Response:
    note = notes.create(request.principal, resource_id(contact_id, "Contact"), request.body("note"))
    return _show(request, note, status=201)


@app.operation("GET", "/contacts/<contact_id>/notes/<note_id>", summary="Show a note", returns=ONE)
def show_note(request: Request, contact_id: str, note_id: str) -> Response:
    return _show(request, notes.get(request.principal, *_ids(contact_id, note_id)))


@app.operation(
    ("PUT", "PATCH"),
    "/contacts/<contact_id>/notes/<note_id>",
    summary="Change a note's body; If-Match makes it conditional",
    body=NOTE,
    returns=ONE,
)
def update_note(request: Request, contact_id: str, note_id: str) -> Response:
    note = notes.update(request.principal, *_ids(contact_id, note_id), request.body("note"), request.if_match())
    return _show(request, note)


@app.operation("DELETE", "/contacts/<contact_id>/notes/<note_id>", summary="Delete a note", status=204)
def delete_note(request: Request, contact_id: str, note_id: str) -> Response:
    notes.delete(request.principal, *_ids(contact_id, note_id), request.if_match())
    return request.empty()
