"""OpenAPI fragments for an operation: parameters, request body and responses.

Handlers parse their own input (Powertools' validation reads only JSON bodies), so the document
is built from the same tables the code validates with, and handed to Powertools per route.
"""

from __future__ import annotations

from typing import Any

from crm.fields import CONTACT_FIELDS, Field
from crm.http.dialects.redmine import ARRAYS
from crm.paging import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET

KIND_SCHEMAS: dict[str, dict[str, Any]] = {
    "integer": {"type": "integer", "minimum": 0},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
    "email": {"type": "string", "maxLength": 255},
    "text": {"type": "string", "maxLength": 32000},
    "tags": {"type": "array", "items": {"type": "string", "maxLength": 64}},
    "ids": {"type": "array", "items": {"type": "string", "maxLength": 64}},
    "records": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "value": {"type": "string"}},
        },
    },
}


def _schema(field: Field, nullable: bool) -> dict[str, Any]:
    """A field's schema; ``nullable``: it may be null (OpenAPI 3.1 says so with its type)."""
    schema = dict(KIND_SCHEMAS.get(field.kind, {"type": "string", "maxLength": 255}))
    if field.choices:
        schema = {"type": "string", "enum": list(field.choices)}
    if field.max_length:
        schema["maxLength"] = field.max_length
    if field.default is not None and not isinstance(field.default, tuple):
        schema["default"] = field.default
    if not field.writable:
        schema["readOnly"] = True
    return or_null(schema) if nullable else schema


def or_null(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema``, or null. OpenAPI 3.1 has no ``nullable``; Powertools' models take no list of
    types, so null is the second of ``anyOf`` (the annotations stay at the top)."""
    notes = {k: schema[k] for k in ("readOnly", "description", "default") if k in schema}
    kept = {k: v for k, v in schema.items() if k not in notes}
    return {"anyOf": [kept, {"type": "null"}], **notes}


# Fields every stored resource has a value for; any other with no default may be null (sent so,
# it is emptied; shown so, it has none).
NEVER_NULL = frozenset({"id", "user_id", "contact_id", "created_at", "updated_at", "version", "status", "content_type"})


def record(fields: tuple[Field, ...], *required: str) -> dict[str, Any]:
    """The schema of a resource from its field table."""
    properties = {
        field.name: _schema(field, field.default is None and field.name not in {*required, *NEVER_NULL})
        for field in fields
    }
    return {"type": "object", "properties": properties, "required": list(required)}


CONTACT = record(CONTACT_FIELDS, "first_name")
_CONTACT_ID = {"oneOf": [{"type": "string"}, {"type": "integer"}], "description": "The contact's id"}
# The minimal JSON API's edit and delete bodies.
MINIMAL_EDIT = {
    "type": "object",
    "properties": {
        "contact_id": _CONTACT_ID,
        "contactID": _CONTACT_ID,
        "update_fields": {"type": "object", "description": "The fields to change (name, email, phone or any other)"},
        "updateFields": {"type": "object", "description": "The same as update_fields"},
    },
}
MINIMAL_DELETE = {"type": "object", "properties": {"contact_id": _CONTACT_ID, "contactID": _CONTACT_ID}}
CONTACT["properties"]["photo_url"] = {
    "type": "string",
    "format": "uri",
    "readOnly": True,
    "description": "Downloads the current photo for a few minutes; absent without one",
}
for _name, (_slots, _key) in ARRAYS.items():
    CONTACT["properties"][_name] = {
        "type": "array",
        "items": {"type": "string"},
        "maxItems": len(_slots),
        "description": f"Redmine CRM's list of {_name}: {', '.join(_slots)} in that order. Sent, it fills"
        " them and empties the rest, unless the body names one of them itself.",
    }
ERRORS = {"type": "object", "properties": {"errors": {"type": "array", "items": {"type": "string"}}}}
ERROR_STATUSES = (
    (400, "Malformed request or parameters"),
    (401, "No key, or an unknown or revoked one"),
    (403, "The key's scope does not allow this"),
    (404, "No such resource in this account"),
    (406, "Neither JSON nor XML is acceptable"),
    (503, "Storage is busy; retry after Retry-After seconds"),
)
BODY_ERROR_STATUSES = (
    (409, "A stale If-Match or version"),
    (413, "Body too large"),
    (415, "Unsupported Content-Type"),
    (422, "Invalid, unknown or read-only fields"),
)


ID_SCHEMA = {"type": "integer", "minimum": 1}
# Path parameters that are not our integer ids: a project is an id or an identifier such as "support".
PATH_SCHEMAS = {"project_id": {"type": "string", "maxLength": 64}}


def query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


PAGING = (
    query(
        "limit",
        f"Items per page (default {DEFAULT_LIMIT}); above {MAX_LIMIT} is served as {MAX_LIMIT}, as Redmine does.",
        {"type": "integer", "minimum": 1},
    ),
    query("offset", "Items to skip (read and skipped).", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET}),
    query("page", "Page number from 1; offset = (page - 1) * limit.", {"type": "integer", "minimum": 1}),
    query("cursor", "next_cursor of the previous page: seeks, so deep pages cost no more."),
)
FORMAT = query("format", "json or xml; a .json or .xml suffix on the path does the same.", {"enum": ["json", "xml"]})


def _content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}, "application/xml": {"schema": schema}}


def operation(
    path: str,
    method: str,
    summary: str,
    path_params: list[str],
    query_params: tuple[dict[str, Any], ...],
    body: dict[str, Any] | None,
    returns: dict[str, Any] | None,
    status: int,
    public: bool = False,
) -> tuple[dict[str, Any], dict[int, Any]]:
    """(operation fields for Powertools' openapi_extensions, responses for its ``responses``).

    ``public``: no API key (the web form, whose form key is a field of its form body)."""
    params = [
        {"name": name, "in": "path", "required": True, "schema": PATH_SCHEMAS.get(name, ID_SCHEMA)}
        for name in path_params
    ]
    doc: dict[str, Any] = {"parameters": [*params, FORMAT, *query_params]}
    if public:
        doc["security"] = []
    if body is not None:
        forms = {"application/x-www-form-urlencoded": {"schema": body}}
        if public:
            forms["multipart/form-data"] = {"schema": body}
        doc["requestBody"] = {"required": True, "content": forms if public else {**_content(body), **forms}}
    errors = ERROR_STATUSES + (BODY_ERROR_STATUSES if body is not None or method != "GET" else ())
    responses: dict[int, Any] = {
        status: {"description": summary, **({"content": _content(returns)} if returns else {})}
    }
    responses.update({code: {"description": reason, "content": _content(ERRORS)} for code, reason in errors})
    return doc, responses


def wrapped(root: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {root: schema}}


def listing(root: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            root: {"type": "array", "items": schema},
            "offset": {"type": "integer"},
            "limit": {"type": "integer"},
            "total_count": {"type": "integer"},
            "next_cursor": {"type": ["string", "null"]},
        },
    }
