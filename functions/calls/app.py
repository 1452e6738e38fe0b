"""Calls over HTTP: crm.http.records' routes for crm.calls' kind, and completing a call."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from crm import calls
from crm.calls import CALL
from crm.http import openapi, records
from crm.http.api import Api, Request, resource_id

app = Api("calls")
lambda_handler = app.lambda_handler

FILTERS = (
    openapi.query("contact_id", "The calls about this contact", openapi.ID_SCHEMA),
    openapi.query("completed", "Completed calls (true) or calls still to make (false)", {"type": "boolean"}),
    openapi.query("due_after", "Due at or after this time", {"type": "string", "format": "date-time"}),
    openapi.query("due_before", "Due before this time", {"type": "string", "format": "date-time"}),
)
SCHEMA = records.routes(app, CALL, calls.list_filter, FILTERS, "due_at (those without one last)")
COMPLETION = {
    "type": "object",
    "properties": {
        "outcome": openapi.line(),
        "completed_at": {"type": "string", "format": "date-time", "description": "Default: now"},
    },
}


@app.operation(
    "POST",
    "/calls/<call_id>/complete",
    summary="Mark a call made (now, unless completed_at is sent), with an optional outcome; idempotent",
    body=COMPLETION,
    returns=openapi.wrapped("call", SCHEMA),
)
def complete_call(request: Request, call_id: str) -> Response:
    body = request.body("call") if request.event.get("body") else {}
    return records.show(request, CALL, calls.complete(request.principal, resource_id(call_id, "Call"), body))
