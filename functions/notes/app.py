"""Notes of a contact over HTTP: parse, authorise, call crm.notes, render."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from crm import notes
from crm.errors import BadRequest, Unprocessable
from crm.http import openapi, views
from crm.http.api import Api, Request, resource_id
from crm.http.dialects import redmine

app = Api("notes")
lambda_handler = app.lambda_handler

NOTE = {
    "type": "object",
    "properties": {
        "subject": openapi.or_null(openapi.numbers_too(openapi.line())),
        "body": openapi.numbers_too({"type": "string", "maxLength": 32000}),
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
    return request.one("note", views.note(note), status=status, version=int(note.version), location=location)


@app.operation(
    "GET",
    "/contacts/<contact_id>/notes",
    summary="A contact's notes, newest first",
    query=openapi.PAGING,
    returns=openapi.listing("notes", NOTE),
)
def list_notes(request: Request, contact_id: str) -> Response:
    page = notes.listing(request.principal, resource_id(contact_id, "Contact"), request.page())
    return request.many("notes", "note", page, [views.note(note) for note in page.items])


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


# --- Redmine CRM's notes: the same notes, found by their own id --------------------------------

REDMINE_NOTE = {
    "type": "object",
    "properties": {
        "source_type": openapi.or_null({"type": "string", "enum": [redmine.SOURCE_TYPE]}),
        "source_id": {"type": "integer", "minimum": 1},
        "subject": openapi.or_null(openapi.numbers_too(openapi.line())),
        "content": openapi.numbers_too({"type": "string", "maxLength": 32000}),
        "id": {"type": "integer", "readOnly": True},
        **{name: {"type": "string", "format": "date-time", "readOnly": True} for name in ("created_on", "updated_on")},
        **{name: {"type": "object", "readOnly": True} for name in ("source", "author")},
    },
    "required": ["source_id", "content"],
}
REDMINE_ONE = openapi.wrapped("note", REDMINE_NOTE)
# A note stays with its contact: its source sent back unchanged is ignored, changed is a 422.
REDMINE_CHANGE = {
    **REDMINE_NOTE,
    "properties": {
        **REDMINE_NOTE["properties"],
        "source_id": {**REDMINE_NOTE["properties"]["source_id"], "readOnly": True},
    },
}
SOURCE = (
    openapi.query("source_type", "Contact (the only kind of source notes have here)", {"enum": [redmine.SOURCE_TYPE]}),
    openapi.query("source_id", "The contact whose notes to list", openapi.ID_SCHEMA, required=True),
)


def _redmine(request: Request, note: object, status: int = 200) -> Response:
    location = f"/notes/{int(note.id)}" if status == 201 else None
    return request.one("note", views.redmine_note(note), status=status, version=int(note.version), location=location)


def _found(request: Request, note_id: str) -> tuple[int, int]:
    number = resource_id(note_id, "Note")
    return notes.contact_of(request.principal, number), number


@app.operation(
    "GET",
    "/notes",
    summary="A contact's notes, newest first, as Redmine CRM lists them (source_type=Contact&source_id=)",
    query=(*SOURCE, *openapi.PAGING),
    returns=openapi.listing("notes", REDMINE_NOTE),
)
def list_redmine_notes(request: Request) -> Response:
    if (request.query.get("source_type") or redmine.SOURCE_TYPE) != redmine.SOURCE_TYPE:
        raise BadRequest(f"source_type must be {redmine.SOURCE_TYPE}")
    if not request.query.get("source_id"):
        raise BadRequest("Give the contact whose notes to list: /notes?source_type=Contact&source_id=...")
    contact_id = resource_id(request.query["source_id"], "Contact")
    page = notes.listing(request.principal, contact_id, request.page())
    return request.many("notes", "note", page, [views.redmine_note(note) for note in page.items])


@app.operation(
    "POST",
    "/notes",
    summary="Add a note to a contact (Redmine CRM)",
    status=201,
    body=REDMINE_NOTE,
    returns=REDMINE_ONE,
)
def create_redmine_note(request: Request) -> Response:
    contact_id, fields = redmine.note_fields(request.body("note"))
    if contact_id is None:
        raise Unprocessable("Source id is required: the contact the note is of")
    return _redmine(request, notes.create(request.principal, contact_id, fields), status=201)


@app.operation("GET", "/notes/<note_id>", summary="Show a note (Redmine CRM)", returns=REDMINE_ONE)
def show_redmine_note(request: Request, note_id: str) -> Response:
    return _redmine(request, notes.get(request.principal, *_found(request, note_id)))


@app.operation(
    "PUT",
    "/notes/<note_id>",
    summary="Change a note's subject or content (Redmine CRM); If-Match makes it conditional",
    body=REDMINE_CHANGE,
    returns=REDMINE_ONE,
)
def update_redmine_note(request: Request, note_id: str) -> Response:
    contact_id, number = _found(request, note_id)
    moved_to, fields = redmine.note_fields(request.body("note"))
    if moved_to not in (None, contact_id):
        raise Unprocessable("A note stays with its contact: its source cannot change")
    return _redmine(request, notes.update(request.principal, contact_id, number, fields, request.if_match()))


@app.operation("DELETE", "/notes/<note_id>", summary="Delete a note (Redmine CRM)", status=204)
def delete_redmine_note(request: Request, note_id: str) -> Response:
    notes.delete(request.principal, *_found(request, note_id), request.if_match())
    return request.empty()
