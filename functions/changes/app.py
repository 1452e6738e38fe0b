"""The change feed over HTTP: ``GET /changes`` from ``since`` or a cursor, oldest first. The feed
itself is written from the table's stream (functions/feed_writer)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from crm import changes, config
from crm.http import openapi, views
from crm.http.api import Api, Request

app = Api("changes")
lambda_handler = app.lambda_handler

_VALUE = {"description": "The field's value: text, a number, a boolean, a list, or null"}
CHANGE = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "description": "Unique and stable: the contact's id and its history entry's number"},
        "type": {"type": "string", "enum": list(changes.TYPES)},
        "resource": {"type": "string", "enum": list(changes.RESOURCES)},
        "resource_id": {"type": "integer"},
        "contact_id": {"type": "integer"},
        "user_id": {"type": "integer"},
        "key_id": openapi.or_null({"type": "string"}),
        "at": {"type": "string", "format": "date-time"},
        "changes": {
            "type": "array",
            "description": "An update's or a merge's: each field's value before and after",
            "items": {"type": "object", "properties": {"field": {"type": "string"}, "old": _VALUE, "new": _VALUE}},
        },
    },
}
FEED = {
    "type": "object",
    "properties": {
        "changes": {"type": "array", "items": CHANGE},
        "next_cursor": {"type": "string", "description": "Where to read on from, even when nothing came"},
    },
}


@app.operation(
    "GET",
    "/changes",
    summary=f"What changed, oldest first: from since, then each answer's next_cursor (kept "
    f"{config.settings.feed_retention_days} days; an older point is 410)",
    query=(
        openapi.query("since", "The first call's start (ISO 8601)", {"type": "string", "format": "date-time"}),
        openapi.query("cursor", "A next_cursor this API answered", {"type": "string"}),
        openapi.query("limit", f"At most {changes.PAGE_MAX}", {"type": "integer", "minimum": 1}),
    ),
    returns=FEED,
    refusals=((410, "The point asked for is older than what the feed keeps: start again from GET /contacts"),),
)
def list_changes(request: Request) -> Response:
    feed = changes.read(request.principal, request.query)
    return request.followed("changes", "change", [views.change(entry) for entry in feed.entries], feed.next_cursor)
