"""Photos over HTTP (crm.http.records' routes for crm.photos' kind), and S3's word that an upload
arrived: the same function takes both, as they share the bucket's permissions."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event

from crm import photos
from crm.http import openapi, records
from crm.http.api import Api
from crm.observability import logger, observed
from crm.storage import files

# Inline ``data`` is base64 (4 bytes for 3), inside JSON or XML.
app = Api("photos", max_body=photos.INLINE_MAX * 4 // 3 + 64 * 1024)

FILTERS = (
    openapi.query("contact_id", "The photos of this contact", openapi.ID_SCHEMA),
    openapi.query("status", "Only photos in this state", {"type": "string", "enum": list(photos.STATE)}),
)
URL = openapi.or_null({"type": "string", "format": "uri", "readOnly": True})
SHOWN = {
    "url": {**URL, "description": f"Downloads a ready image; valid {files.DOWNLOAD_SECONDS} s"},
    "upload_url": {**URL, "description": f"While waiting: PUT the image here; valid {files.UPLOAD_SECONDS} s"},
    "upload_method": openapi.or_null({"type": "string", "enum": ["PUT"], "readOnly": True}),
    "upload_headers": openapi.or_null(
        {"type": "object", "readOnly": True, "description": "Headers the upload must carry"}
    ),
}
CREATE_BODY = {
    "content_type": {"type": "string", "enum": list(photos.PHOTO_TYPES), "description": "Needed unless data is sent"},
    "data": {
        "type": "string",
        "format": "byte",
        "description": f"A small image as base64 (at most {photos.INLINE_MAX // photos.MB} MB): stored at once",
    },
}
SCHEMA = records.routes(
    app,
    photos.PHOTO,
    photos.list_filter,
    FILTERS,
    "created_at",
    create_with=photos.create,
    shown=SHOWN,
    create_body=CREATE_BODY,
    create_needs=("content_type", "data"),
)


def uploaded(event: dict[str, Any]) -> dict[str, Any]:
    """Check each upload an S3 event names; a failure is raised after the others are done, so
    Lambda retries the event (every step is safe to repeat) and then sends it to the queue."""
    outcomes, failed = [], 0
    for record in S3Event(event).records:
        key = unquote_plus(record.s3.get_object.key)  # S3 sends "a b" as "a+b"; Powertools leaves it so
        found = files.parse_upload_key(key)
        if record.s3.bucket.name != files.bucket() or found is None:
            outcomes.append("ignored")
            continue
        try:
            outcomes.append(photos.received(*found))
        except Exception:
            logger.exception("photo upload check failed", extra={"photo_id": found[1]})
            failed += 1
    if failed:
        raise RuntimeError(f"{failed} of {len(outcomes) + failed} uploads could not be checked")
    return {"outcomes": outcomes}


def handle(event: dict[str, Any], context: Any) -> Any:
    if "Records" in event:
        return uploaded(event)
    return app.resolve(event, context)


lambda_handler = observed(handle)
