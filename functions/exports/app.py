"""Exports over HTTP: ask for one, follow it to its file. The file is written by the export worker
(functions/export_worker), which the new export's arrival in the table's stream starts."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from crm import exports, search
from crm.auth import READ
from crm.exports import jobs
from crm.fields import INT_MAX
from crm.http import openapi, views
from crm.http.api import Api, Request, resource_id

app = Api("exports")
lambda_handler = app.lambda_handler

# GET /contacts' filters, as a body sends them: text as the query has them, or JSON's own types;
# one sent blank or null is as if not sent, as in the query.
FILTERS = {
    "search": {
        "type": "string",
        "maxLength": search.MAX_SEARCH,
        "pattern": openapi.TEXT,
        "description": "As GET /contacts' search",
    },
    "searchby": {"anyOf": [{"type": "string", "enum": list(search.SEARCHBY)}, openapi.BLANK]},
    "tags": {
        "anyOf": [
            {"type": "string", "pattern": openapi.TEXT},
            {"type": "array", "items": {"type": "string", "pattern": openapi.TEXT}},
        ],
        "description": "Comma-separated, or a list: contacts with every one of them",
    },
    "project_id": {"anyOf": [{"type": "string", "pattern": openapi.TEXT}, {"type": "integer"}]},  # an identifier
    "assigned_to_id": {
        "anyOf": [
            {"type": "integer", "minimum": 0, "maximum": INT_MAX},
            {"type": "string", "pattern": "^[0-9]+$"},
            openapi.BLANK,
        ]
    },
    "is_company": {"anyOf": [{"type": "boolean"}, openapi.BOOLEAN_AS_TEXT]},
    "updated_since": {"anyOf": [{"type": "string", "format": "date-time"}, openapi.BLANK]},
}
FILTERS = {name: openapi.or_null(schema) for name, schema in FILTERS.items()}  # null: as if not sent
COLUMNS = {
    "type": "string",
    "enum": list(exports.COLUMNS),
    "default": "ours",
    "description": "A CSV's layout: this API's field names, Outlook's columns or Google Contacts'",
}


def _asked(formats: list[str], columns: dict) -> dict:
    return {
        "type": "object",
        "properties": {"format": {"type": "string", "enum": formats}, "columns": columns, **FILTERS},
        "required": ["format"],
        "additionalProperties": False,
    }


# Columns are a CSV's alone.
ASKED = {
    "anyOf": [
        # Blank or null: as if not sent.
        _asked(["csv"], openapi.or_null({**COLUMNS, "enum": [*exports.COLUMNS, ""]})),
        _asked(
            [f for f in exports.FORMATS if f != "csv"], openapi.or_null({**openapi.NO_VALUE, "description": "CSV only"})
        ),
    ]
}
_WHEN = openapi.or_null({"type": "string", "format": "date-time", "readOnly": True})
EXPORT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer", "readOnly": True},
        "status": {"type": "string", "enum": list(exports.STATUSES), "readOnly": True},
        "format": {"type": "string", "enum": list(exports.FORMATS), "readOnly": True},
        "columns": openapi.or_null({**COLUMNS, "readOnly": True}),
        "filters": {"type": "object", "readOnly": True, "description": "The filters asked for, as text"},
        "user_id": {"type": "integer", "readOnly": True},
        "rows_exported": {"type": "integer", "minimum": 0, "readOnly": True},
        "size": openapi.or_null({"type": "integer", "readOnly": True, "description": "The file's bytes"}),
        "error": openapi.or_null({"type": "string", "readOnly": True, "description": "Why the export failed"}),
        "download_url": openapi.or_null(
            {
                "type": "string",
                "format": "uri",
                "readOnly": True,
                "description": f"Once completed: GET the file here; valid {exports.DOWNLOAD_SECONDS} s",
            }
        ),
        "created_at": {"type": "string", "format": "date-time", "readOnly": True},
        "updated_at": {"type": "string", "format": "date-time", "readOnly": True},
        "started_at": _WHEN,
        "finished_at": _WHEN,
        "expires_at": {
            "type": "string",
            "format": "date-time",
            "readOnly": True,
            "description": f"When the file and this record are gone ({exports.KEPT_DAYS} days after asking)",
        },
    },
}
ONE = openapi.wrapped("export", EXPORT)


def _show(request: Request, item: object, status: int = 200) -> Response:
    location = f"/exports/{int(item.id)}" if status == 201 else None  # type: ignore[attr-defined]
    return request.one("export", views.export_job(item), status=status, location=location)


@app.operation(
    "GET",
    "/exports",
    summary="Exports, newest first (an admin's key sees every user's); each is kept 7 days",
    query=openapi.PAGING,
    returns=openapi.listing("exports", EXPORT),
)
def list_exports(request: Request) -> Response:
    page = jobs.listing(request.principal, request.page())
    return request.many("exports", "export", page, [views.export_job(item) for item in page.items])


@app.operation(
    "POST",
    "/exports",
    summary="Export the contacts this key may see (GET /contacts' filters) as vCard, CSV, JSON or XML; "
    "follow GET /exports/{id} to its download_url",
    scope=READ,
    status=201,
    body=ASKED,
    returns=ONE,
)
def create_export(request: Request) -> Response:
    return _show(request, jobs.create(request.principal, request.body("export")), status=201)


@app.operation("GET", "/exports/<export_id>", summary="Show an export: its status, rows and file", returns=ONE)
def show_export(request: Request, export_id: str) -> Response:
    return _show(request, jobs.get(request.principal, resource_id(export_id, "Export")))
