"""Webhook subscriptions over HTTP (admin keys): subscribe a URL to the feed's changes, rotate its
signing secret, follow its deliveries and send one again. Deliveries themselves are queued by the
feed writer and made by the deliverer (functions/webhook_deliverer)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from crm import changes
from crm.auth import ADMIN
from crm.http import openapi, views
from crm.http.api import Api, Request, resource_id
from crm.webhooks import FAILED, MAX_FIELDS, MAX_URL, MAX_WEBHOOKS, PENDING, SUCCEEDED, deliveries, subscriptions

app = Api("webhooks")
lambda_handler = app.lambda_handler

_URL = {"type": "string", "maxLength": MAX_URL, "pattern": "^[Hh][Tt][Tt][Pp][Ss]://[^\\u0000-\\u0020\\u007f]+$"}
_EVENT = {"type": "string", "enum": list(changes.TYPES)}
_FIELD = {"type": "string", "pattern": subscriptions.FIELD_NAME.pattern}
_EVENTS = {
    "anyOf": [{"type": "array", "items": _EVENT, "minItems": 1}, {"type": "string"}, {"type": "null"}],
    "description": "The feed's types to post (a list, or comma-separated); none sent: every one",
}
_FIELDS = {
    "anyOf": [
        {"type": "array", "items": _FIELD, "minItems": 1, "maxItems": MAX_FIELDS},
        {"type": "string"},
        {"type": "null"},
    ],
    "description": "Post an update only if one of these fields changed (as the feed's changes name them)",
}
_ASKED = {
    "url": {**_URL, "description": "Where to POST: https, to a public address"},
    "events": _EVENTS,
    "fields": _FIELDS,
}
CREATED = {"type": "object", "properties": _ASKED, "required": ["url"], "additionalProperties": False}
EDITED = {
    "type": "object",
    "properties": {**_ASKED, "enabled": {"anyOf": [{"type": "boolean"}, openapi.BOOLEAN_AS_TEXT]}},
    "additionalProperties": False,
}
_WHEN = openapi.or_null({"type": "string", "format": "date-time", "readOnly": True})
WEBHOOK = {
    "type": "object",
    "properties": {
        "id": {"type": "integer", "readOnly": True},
        "url": {"type": "string", "format": "uri"},
        "events": {"type": "array", "items": _EVENT},
        "fields": openapi.or_null({"type": "array", "items": {"type": "string"}}),
        "enabled": {"type": "boolean"},
        "disabled_reason": openapi.or_null({"type": "string", "readOnly": True}),
        "failing_since": _WHEN,
        "secret": {
            "type": "string",
            "readOnly": True,
            "description": "whsec_...: signs each delivery (Standard Webhooks); shown when made and rotated only",
        },
        "created_at": {"type": "string", "format": "date-time", "readOnly": True},
        "updated_at": {"type": "string", "format": "date-time", "readOnly": True},
    },
}
ONE = openapi.wrapped("webhook", WEBHOOK)
DELIVERY = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "description": "Its change's place in the feed"},
        "webhook_id": {"type": "integer"},
        "event": _EVENT,
        "change_id": {"type": "string", "description": "The feed entry's id"},
        "contact_id": {"type": "integer"},
        "status": {"type": "string", "enum": [PENDING, SUCCEEDED, FAILED]},
        "attempts": {"type": "integer", "minimum": 0},
        "last_attempt_at": _WHEN,
        "last_status_code": openapi.or_null({"type": "integer"}),
        "last_error": openapi.or_null({"type": "string"}),
        "next_attempt_at": _WHEN,
        "created_at": {"type": "string", "format": "date-time"},
    },
}
DELIVERIES = {
    "type": "object",
    "properties": {
        "deliveries": {"type": "array", "items": DELIVERY},
        "next_cursor": openapi.or_null({"type": "string", "description": "The next page's, null on the last"}),
    },
}


def _show(request: Request, item: object, status: int = 200, secret: bool = False) -> Response:
    location = f"/webhooks/{int(item.id)}" if status == 201 else None  # type: ignore[attr-defined]
    return request.one("webhook", views.webhook(item, with_secret=secret), status=status, location=location)


@app.operation(
    "GET",
    "/webhooks",
    summary="The account's webhooks (admin keys)",
    scope=ADMIN,
    query=openapi.PAGING,
    returns=openapi.listing("webhooks", WEBHOOK),
)
def list_webhooks(request: Request) -> Response:
    page = subscriptions.listing(request.principal, request.page())
    return request.many("webhooks", "webhook", page, [views.webhook(item) for item in page.items])


@app.operation(
    "POST",
    "/webhooks",
    summary=f"Subscribe a URL to the account's changes (admin keys; at most {MAX_WEBHOOKS}); the answer "
    "shows the signing secret, once",
    scope=ADMIN,
    status=201,
    body=CREATED,
    returns=ONE,
    refusals=((409, f"The account has {MAX_WEBHOOKS} webhooks already"),),
)
def create_webhook(request: Request) -> Response:
    return _show(request, subscriptions.create(request.principal, request.body("webhook")), status=201, secret=True)


@app.operation("GET", "/webhooks/<webhook_id>", summary="Show a webhook (admin keys)", scope=ADMIN, returns=ONE)
def show_webhook(request: Request, webhook_id: str) -> Response:
    return _show(request, subscriptions.get(request.principal, resource_id(webhook_id, "Webhook")))


@app.operation(
    "PATCH",
    "/webhooks/<webhook_id>",
    summary="Change a webhook (admin keys); enabled: true sets a disabled one going again",
    scope=ADMIN,
    body=EDITED,
    returns=ONE,
)
def update_webhook(request: Request, webhook_id: str) -> Response:
    item = subscriptions.update(request.principal, resource_id(webhook_id, "Webhook"), request.body("webhook"))
    return _show(request, item)


@app.operation(
    "DELETE",
    "/webhooks/<webhook_id>",
    summary="Delete a webhook (admin keys): nothing more is posted",
    scope=ADMIN,
    status=204,
)
def delete_webhook(request: Request, webhook_id: str) -> Response:
    subscriptions.delete(request.principal, resource_id(webhook_id, "Webhook"))
    return request.empty()


@app.operation(
    "POST",
    "/webhooks/<webhook_id>/rotate_secret",
    summary="A new signing secret, shown once; the old one goes on signing beside it for 24 hours",
    scope=ADMIN,
    returns=ONE,
    refusals=((409, "The secret was rotated at the same moment"),),
)
def rotate_secret(request: Request, webhook_id: str) -> Response:
    return _show(request, subscriptions.rotate(request.principal, resource_id(webhook_id, "Webhook")), secret=True)


@app.operation(
    "GET",
    "/webhooks/<webhook_id>/deliveries",
    summary="A webhook's deliveries, newest first (admin keys): each change posted, its attempts and last answer",
    scope=ADMIN,
    query=(
        openapi.query("cursor", "A next_cursor this API answered", {"type": "string"}),
        openapi.query("limit", f"At most {deliveries.PAGE_MAX}", {"type": "integer", "minimum": 1}),
    ),
    returns=DELIVERIES,
)
def list_deliveries(request: Request, webhook_id: str) -> Response:
    found = deliveries.listing(request.principal, resource_id(webhook_id, "Webhook"), request.query)
    return request.followed("deliveries", "delivery", [views.delivery(item) for item in found.items], found.next_cursor)


@app.operation(
    "POST",
    "/webhooks/<webhook_id>/deliveries/<delivery_id>/retry",
    summary="Post a delivery again (admin keys), with another day of retries",
    scope=ADMIN,
    status=202,
    returns=openapi.wrapped("delivery", DELIVERY),
    refusals=((409, "The delivery is queued already, or the webhook is disabled"),),
)
def retry_delivery(request: Request, webhook_id: str, delivery_id: str) -> Response:
    item = deliveries.retry(request.principal, resource_id(webhook_id, "Webhook"), delivery_id)
    return request.one("delivery", views.delivery(item), status=202)
