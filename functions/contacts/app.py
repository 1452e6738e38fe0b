"""Contacts over HTTP: parse, authorise, call crm.contacts, render."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from crm import contacts, history, notes
from crm.errors import BadRequest
from crm.fields import minimal_edit
from crm.http import openapi
from crm.http.api import Api, Request, resource_id

app = Api("contacts")
lambda_handler = app.lambda_handler

CONTACT = openapi.CONTACT
ONE = openapi.wrapped("contact", CONTACT)
# Show accepts Redmine's include list; this system keeps no deals or tickets, so those are empty.
INCLUDES = {"notes": None, "deals": [], "tickets": []}
# Filters that arrive with search (issue 5); until then they are refused rather than ignored.
FILTERS = ("search", "searchby", "tags", "project_id", "assigned_to_id", "updated_since", "is_company")
HISTORY_ENTRY = {"type": "object", "properties": {"id": {"type": "integer"}, "changes": {"type": "array"}}}


def _show(request: Request, contact: contacts.Contact, status: int = 200) -> Response:
    location = f"/contacts/{int(contact.item.id)}" if status == 201 else None
    view = contacts.contact_view(contact.item, [notes.view(note) for note in contact.notes])
    return request.one("contact", view, status=status, version=contact.version, location=location)


@app.operation(
    "GET",
    "/contacts",
    summary="List contacts in id order",
    query=openapi.PAGING,
    returns=openapi.listing("contacts", CONTACT),
)
def list_contacts(request: Request) -> Response:
    refused = [name for name in FILTERS if name in request.query]
    if refused:
        raise BadRequest(f"Filtering by {', '.join(refused)} is not available yet")
    page = contacts.list_contacts(request.principal, request.page())
    return request.many("contacts", "contact", page, [contacts.contact_view(item) for item in page.items])


@app.operation("POST", "/contacts", summary="Create a contact", status=201, body=CONTACT, returns=ONE)
def create_contact(request: Request) -> Response:
    body = request.body("contact")
    edit = minimal_edit(body)
    if edit:  # the minimal JSON API edits through POST /contacts
        contact_id, fields = edit
        return _show(request, contacts.update(request.principal, resource_id(contact_id, "Contact"), fields))
    return _show(request, contacts.create(request.principal, body), status=201)


@app.operation("GET", "/contacts/search", summary="Search contacts", query=(openapi.query("term", "Words to find"),))
def search_contacts(request: Request) -> Response:
    raise BadRequest("Search is not available yet")


@app.operation(
    "GET",
    "/contacts/<contact_id>",
    summary="Show a contact with its newest 25 notes",
    query=(openapi.query("include", "Comma-separated: notes, deals, tickets"),),
    returns=ONE,
)
def show_contact(request: Request, contact_id: str) -> Response:
    wanted = [name.strip() for name in (request.query.get("include") or "").split(",") if name.strip()]
    unknown = sorted(set(wanted) - set(INCLUDES))
    if unknown:
        raise BadRequest(f"Unknown include: {', '.join(unknown)}; choose from {', '.join(INCLUDES)}")
    contact = contacts.get(request.principal, resource_id(contact_id, "Contact"))
    view = contacts.contact_view(contact.item, [notes.view(note) for note in contact.notes])
    view.update({name: INCLUDES[name] for name in wanted if INCLUDES[name] is not None})
    return request.one("contact", view, version=contact.version)


@app.operation(
    ("PUT", "PATCH"),
    "/contacts/<contact_id>",
    summary="Change some fields of a contact (PUT and PATCH alike); If-Match makes it conditional",
    body=CONTACT,
    returns=ONE,
)
def update_contact(request: Request, contact_id: str) -> Response:
    body = request.body("contact")
    contact = contacts.update(request.principal, resource_id(contact_id, "Contact"), body, request.if_match())
    return _show(request, contact)


@app.operation("DELETE", "/contacts/<contact_id>", summary="Delete a contact with its notes", status=204)
def delete_contact(request: Request, contact_id: str) -> Response:
    contacts.delete(request.principal, resource_id(contact_id, "Contact"), request.if_match())
    return request.empty()


@app.operation(
    "GET",
    "/contacts/<contact_id>/history",
    summary="Changes to a contact, newest first",
    query=openapi.PAGING,
    returns=openapi.listing("history", HISTORY_ENTRY),
)
def contact_history(request: Request, contact_id: str) -> Response:
    page = contacts.history_of(request.principal, resource_id(contact_id, "Contact"), request.page())
    return request.many("history", "entry", page, [history.view(entry) for entry in page.items])
