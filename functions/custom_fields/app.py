"""Custom field definitions over HTTP: parse, authorise, call crm.custom_fields, render.

Reading them needs a key's ``read`` scope; they are the account's configuration, so changing
them needs ``admin``.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from crm import custom_fields
from crm.auth import ADMIN
from crm.fields import STRING_MAX
from crm.http import openapi, views
from crm.http.api import Api, Request, resource_id

app = Api("custom_fields")
lambda_handler = app.lambda_handler

# From the definition's field table (what crm.validation takes of each), with the two fields
# crm.custom_fields checks itself.
_DEFINED = openapi.record(custom_fields.FIELDS, "name", "field_format")["properties"]
CUSTOM_FIELD = {
    "type": "object",
    "properties": {
        "id": _DEFINED["id"],
        "name": {**_DEFINED["name"], "description": "Unique in the account, whatever its case"},
        "field_format": {
            "type": "string",
            "enum": list(custom_fields.FORMATS),
            "description": "Set on create; it cannot be changed afterwards",
        },
        "possible_values": {
            "type": "array",
            "items": {"type": "string", "maxLength": 255},
            "maxItems": custom_fields.MAX_VALUES,
            "description": "The values a list field takes (distinct); only for list fields",
        },
        "is_required": {**_DEFINED["is_required"], "description": "Every contact must have a value (null: false)"},
        "created_at": _DEFINED["created_at"],
        "updated_at": _DEFINED["updated_at"],
        "version": {**_DEFINED["version"], "description": "The ETag (sent back: a conditional write)"},
    },
    "required": ["name", "field_format"],
}
ONE = openapi.wrapped("custom_field", CUSTOM_FIELD)
# What a write takes as possible values (crm.custom_fields reads them): a list of texts, numbers or
# Redmine's {"value": ...}, each trimmed and not blank; a text of one value a line; null for none.
# That they are distinct once trimmed is checked too (422), which a schema cannot say.
_ENTRY = {"anyOf": [openapi.filled(STRING_MAX), openapi.NUMBER_AS_TEXT]}
_POSSIBLE_VALUES = {
    "anyOf": [
        {
            "type": "array",
            "items": {
                "anyOf": [*_ENTRY["anyOf"], {"type": "object", "properties": {"value": _ENTRY}, "required": ["value"]}]
            },
            "maxItems": custom_fields.MAX_VALUES,
            "uniqueItems": True,
        },
        {**openapi.lines(STRING_MAX, custom_fields.MAX_VALUES), "description": "One value a line"},
        {"type": "null"},
    ],
    "description": "The values a list field takes (distinct once trimmed); only for list fields",
}
SENT = {**CUSTOM_FIELD, "properties": {**CUSTOM_FIELD["properties"], "possible_values": _POSSIBLE_VALUES}}


def _show(request: Request, item: object, status: int = 200) -> Response:
    location = f"/custom_fields/{int(item.id)}" if status == 201 else None
    view = views.custom_field(item)
    return request.one("custom_field", view, status=status, version=view["version"], location=location)


@app.operation(
    "GET",
    "/custom_fields",
    summary="The account's custom fields, in id order",
    query=openapi.PAGING,
    returns=openapi.listing("custom_fields", CUSTOM_FIELD),
)
def list_custom_fields(request: Request) -> Response:
    page = custom_fields.listing(request.principal, request.page())
    return request.many("custom_fields", "custom_field", page, [views.custom_field(item) for item in page.items])


@app.operation(
    "POST",
    "/custom_fields",
    summary="Define a custom field (admin keys)",
    scope=ADMIN,
    status=201,
    body=SENT,
    returns=ONE,
)
def create_custom_field(request: Request) -> Response:
    return _show(request, custom_fields.create(request.principal, request.body("custom_field")), status=201)


@app.operation("GET", "/custom_fields/<custom_field_id>", summary="Show a custom field", returns=ONE)
def show_custom_field(request: Request, custom_field_id: str) -> Response:
    return _show(request, custom_fields.get(request.principal, resource_id(custom_field_id, "Custom field")))


@app.operation(
    ("PUT", "PATCH"),
    "/custom_fields/<custom_field_id>",
    summary="Change a custom field (admin keys); If-Match makes it conditional",
    scope=ADMIN,
    body=SENT,
    returns=ONE,
)
def update_custom_field(request: Request, custom_field_id: str) -> Response:
    field_id = resource_id(custom_field_id, "Custom field")
    item = custom_fields.update(request.principal, field_id, request.body("custom_field"), request.if_match())
    return _show(request, item)


@app.operation(
    "DELETE",
    "/custom_fields/<custom_field_id>",
    summary="Delete a custom field (admin keys); contacts stop showing its values",
    scope=ADMIN,
    status=204,
)
def delete_custom_field(request: Request, custom_field_id: str) -> Response:
    custom_fields.delete(request.principal, resource_id(custom_field_id, "Custom field"), request.if_match())
    return request.empty()
