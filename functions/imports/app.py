"""Imports over HTTP: ask for one (its upload URL comes back), follow it. The file itself goes
straight to S3, whose event starts the import worker (functions/import_worker)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from crm.http import openapi, views
from crm.http.api import Api, Request, resource_id
from crm.imports import jobs
from crm.storage import files

app = Api("imports")
lambda_handler = app.lambda_handler

COUNT = {"type": "integer", "minimum": 0, "readOnly": True}
URL = openapi.or_null({"type": "string", "format": "uri", "readOnly": True})
ASKED = {
    "format": {"type": "string", "enum": list(jobs.FORMATS), "description": "Guessed from filename if not sent"},
    "filename": {"type": "string", "maxLength": jobs.FILENAME_MAX},
    "on_duplicate": {
        "type": "string",
        "enum": [*jobs.ON_DUPLICATE, ""],  # blank: the default
        "default": "skip",
        "description": "What a row does when a contact has its email address (or its vCard UID)",
    },
}
_PRINTABLE = "[^\\u0000-\\u001f]"
ASKED["filename"] = {**ASKED["filename"], "pattern": f"^{_PRINTABLE}*$"}
# Without a format, the filename's extension (whatever its case) must tell it.
_EXTENSIONS = "|".join("".join(f"[{c}{c.upper()}]" for c in extension) for extension in jobs.EXTENSIONS)
# A request: null is as if not sent (a blank format is guessed, on_duplicate is its default).
NAMED_BY_FORMAT = {
    "type": "object",
    "properties": {**ASKED, **{name: openapi.or_null(ASKED[name]) for name in ("filename", "on_duplicate")}},
    "required": ["format"],
}
NAMED_BY_FILE = {
    "type": "object",
    "properties": {
        **NAMED_BY_FORMAT["properties"],
        "format": openapi.or_null({**ASKED["format"], "enum": [*jobs.FORMATS, ""]}),  # blank: guessed
        "filename": {**ASKED["filename"], "pattern": f"^{_PRINTABLE}*\\.({_EXTENSIONS})$"},
    },
    "required": ["filename"],
}
IMPORT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer", "readOnly": True},
        "status": {"type": "string", "enum": list(jobs.STATUSES), "readOnly": True},
        **ASKED,
        "user_id": {"type": "integer", "readOnly": True},
        "size": openapi.or_null({"type": "integer", "readOnly": True}),
        **{name: COUNT for name in ("rows_total", "rows_imported", "rows_updated", "rows_skipped", "rows_failed")},
        "errors": {
            "type": "array",
            "readOnly": True,
            "description": f"The first {jobs.ERRORS_SHOWN} failed rows; report_url has them all",
            "items": {
                "type": "object",
                "properties": {"line": {"type": "integer"}, "messages": {"type": "array", "items": {"type": "string"}}},
            },
        },
        "warnings": {"type": "array", "items": {"type": "string"}, "readOnly": True},
        "error": openapi.or_null({"type": "string", "readOnly": True, "description": "Why the import failed"}),
        "report_url": {**URL, "description": f"Every failed row as CSV; valid {files.DOWNLOAD_SECONDS} s"},
        "upload_url": {**URL, "description": f"While waiting: PUT the file here; valid {files.UPLOAD_SECONDS} s"},
        "upload_method": openapi.or_null({"type": "string", "enum": ["PUT"], "readOnly": True}),
        "upload_headers": openapi.or_null({"type": "object", "readOnly": True}),
        **{
            name: openapi.or_null({"type": "string", "format": "date-time", "readOnly": True})
            for name in ("created_at", "updated_at", "started_at", "finished_at")
        },
    },
}
ONE = openapi.wrapped("import", IMPORT)


def _show(request: Request, item: object, status: int = 200) -> Response:
    location = f"/imports/{int(item.id)}" if status == 201 else None  # type: ignore[attr-defined]
    return request.one("import", views.import_job(request.principal, item), status=status, location=location)


@app.operation(
    "GET",
    "/imports",
    summary="Imports, newest first (an admin's key sees every user's)",
    query=openapi.PAGING,
    returns=openapi.listing("imports", IMPORT),
)
def list_imports(request: Request) -> Response:
    page = jobs.listing(request.principal, request.page())
    return request.many("imports", "import", page, [views.import_job(request.principal, item) for item in page.items])


@app.operation(
    "POST",
    "/imports",
    summary="Ask for an import: PUT the file to upload_url, then follow GET /imports/{id}",
    status=201,
    body={"anyOf": [NAMED_BY_FORMAT, NAMED_BY_FILE]},
    returns=ONE,
)
def create_import(request: Request) -> Response:
    return _show(request, jobs.create(request.principal, request.body("import")), status=201)


@app.operation("GET", "/imports/<import_id>", summary="Show an import: its status, counts and errors", returns=ONE)
def show_import(request: Request, import_id: str) -> Response:
    return _show(request, jobs.get(request.principal, resource_id(import_id, "Import")))
