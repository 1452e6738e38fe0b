"""Calls over HTTP: parse, authorise, call crm.activities with crm.calls' kind, render."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from crm import activities, calls
from crm.calls import CALL
from crm.http import openapi
from crm.http.api import Api, Request, resource_id

app = Api("calls")
lambda_handler = app.lambda_handler

SCHEMA = openapi.record(CALL.fields, "contact_id", "subject")
ONE = openapi.wrapped("call", SCHEMA)
FILTERS = (
    openapi.query("contact_id", "The calls about this contact", openapi.ID_SCHEMA),
    openapi.query("completed", "Completed calls (true) or calls still to make (false)", {"type": "boolean"}),
    openapi.query("due_after", "Due at or after this time", {"type": "string", "format": "date-time"}),
    openapi.query("due_before", "Due before this time", {"type": "string", "format": "date-time"}),
)
COMPLETION = {
    "type": "object",
    "properties": {
        "outcome": {"type": "string", "maxLength": 255},
        "completed_at": {"type": "string", "format": "date-time", "description": "Default: now"},
    },
}


def _show(request: Request, call: object, status: int = 200) -> Response:
    location = f"/calls/{int(call.id)}" if status == 201 else None
    view = activities.view(CALL, call)
    return request.one("call", view, status=status, version=int(call.version), location=location)


@app.operation(
    "GET",
    "/calls",
    summary="Calls in due_at order (those without one last)",
    query=(*FILTERS, *openapi.PAGING),
    returns=openapi.listing("calls", SCHEMA),
)
def list_calls(request: Request) -> Response:
    page = activities.listing(request.principal, CALL, calls.list_filter(request.query), request.page())
    return request.many("calls", "call", page, [activities.view(CALL, call) for call in page.items])


@app.operation("POST", "/calls", summary="Record a call to make or made", status=201, body=SCHEMA, returns=ONE)
def create_call(request: Request) -> Response:
    return _show(request, activities.create(request.principal, CALL, request.body("call")), status=201)


@app.operation("GET", "/calls/<call_id>", summary="Show a call", returns=ONE)
def show_call(request: Request, call_id: str) -> Response:
    return _show(request, activities.get(request.principal, CALL, resource_id(call_id, "Call")))


@app.operation(
    ("PUT", "PATCH"),
    "/calls/<call_id>",
    summary="Change a call (PUT and PATCH alike); If-Match makes it conditional",
    body=SCHEMA,
    returns=ONE,
)
def update_call(request: Request, call_id: str) -> Response:
    number, body = resource_id(call_id, "Call"), request.body("call")
    return _show(request, activities.update(request.principal, CALL, number, body, request.if_match()))


@app.operation("DELETE", "/calls/<call_id>", summary="Delete a call", status=204)
def delete_call(request: Request, call_id: str) -> Response:
    activities.delete(request.principal, CALL, resource_id(call_id, "Call"), request.if_match())
    return request.empty()


@app.operation(
    "POST",
    "/calls/<call_id>/complete",
    summary="Mark a call made (now, unless completed_at is sent), with an optional outcome; idempotent",
    body=COMPLETION,
    returns=ONE,
)
def complete_call(request: Request, call_id: str) -> Response:
    body = request.body("call") if request.event.get("body") else {}
    return _show(request, calls.complete(request.principal, resource_id(call_id, "Call"), body))
