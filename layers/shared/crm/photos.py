"""Photos: a contact's pictures. The record is crm.activities'; the image is in S3 (crm.storage.files).

A photo is created in one of two ways:

- with ``content_type`` only: the record waits for its upload, and carries a URL that PUTs the
  image straight to S3 (it never passes through Lambda). S3's event brings the function back
  (``received``): the image's size and first bytes are checked, then it is kept or refused;
- with ``data``, a small image as base64: checked and stored before the record is written.

Only JPEG, PNG, GIF and WebP are kept, recognised by their first bytes (never by a name or a
declared type). The last photo to become ready is the contact's ``photo_url``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from crm import activities
from crm.activities import Filter, Kind
from crm.auth import SCOPE_LEVELS, Principal
from crm.errors import NotFound, PayloadTooLarge, Unprocessable
from crm.fields import PHOTO_FIELDS, PHOTO_TYPES
from crm.observability import count, logger
from crm.storage import files
from crm.storage.items import PHOTO_LETTER, ContactItem, PhotoItem, account_of
from crm.validation import query_value

MB = 1024 * 1024
INLINE_MAX = 4 * MB  # decoded ``data``; larger images are uploaded
UPLOAD_MAX = 10 * MB
WAITING, READY, REJECTED = "waiting_for_upload", "ready", "rejected"
STATE = {WAITING: "w", READY: "r", REJECTED: "x"}
NOT_AN_IMAGE = "The file is not a JPEG, PNG, GIF or WebP image"
FIELDS_BY_NAME = {field.name: field for field in PHOTO_FIELDS}
SNIFFED = 12  # bytes that tell the four formats apart


def sniff(head: bytes) -> str | None:
    """The image type its first bytes announce, if one of those kept."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


# --- the kind --------------------------------------------------------------------------------


def _on_write(contact: Any, old: Any, new: Any) -> list[Any]:
    """A photo that becomes ready is the contact's; when the contact's goes, the last ready one is."""
    if new is not None and new.status == READY and (old is None or old.status != READY):
        return [ContactItem.photo_id.set(int(new.id))]
    if new is None and contact.photo_id is not None and int(contact.photo_id) == int(old.id):
        ready = activities.latest(PHOTO, old.pk, int(old.contact_id), STATE[READY], 2)
        others = [int(photo.id) for photo in ready if int(photo.id) != int(old.id)]
        return [ContactItem.photo_id.set(others[0])] if others else [ContactItem.photo_id.remove()]
    return []


def _after_delete(photo: Any) -> None:
    account_id, photo_id = account_of(photo.pk), int(photo.id)
    files.delete(files.upload_key(account_id, photo_id), files.photo_key(account_id, photo_id))


PHOTO = Kind(
    name="photo",
    letter=PHOTO_LETTER,
    model=PhotoItem,
    fields=PHOTO_FIELDS,
    required=None,
    order="created_at",
    states=tuple(STATE.values()),
    state_of=lambda photo: STATE[photo.status],
    on_write=_on_write,
    after_delete=_after_delete,
    echoed=frozenset({"url", "upload_url", "upload_method", "upload_headers"}),
)


# --- creating ----------------------------------------------------------------------------------


def _content_type(declared: Any) -> str | None:
    if declared is None or declared == "":
        return None
    if not isinstance(declared, str) or declared.strip().lower() not in PHOTO_TYPES:
        raise Unprocessable(f"Content type must be one of {', '.join(PHOTO_TYPES)}")
    return declared.strip().lower()


def _image(data: Any) -> tuple[bytes, str]:
    """Inline ``data``: the decoded image and its type; 413 beyond INLINE_MAX, 422 if not an image."""
    if not isinstance(data, str):
        raise Unprocessable("Data must be the image as base64 text")
    if len(data) > (INLINE_MAX + 2) // 3 * 4 + len(data) // 76 * 2:  # base64 of 4 MB, with line breaks
        raise PayloadTooLarge(f"Inline data is at most {INLINE_MAX // MB} MB; upload larger images")
    try:
        image = base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        raise Unprocessable("Data must be the image as base64 text") from None
    if len(image) > INLINE_MAX:
        raise PayloadTooLarge(f"Inline data is at most {INLINE_MAX // MB} MB; upload larger images")
    sniffed = sniff(image[:SNIFFED])
    if not image or sniffed is None:
        raise Unprocessable(NOT_AN_IMAGE)
    return image, sniffed


def create(principal: Principal, body: Mapping[str, Any]) -> Any:
    """A photo waiting for its upload, or (with ``data``) one stored and ready."""
    body = dict(body)
    data, declared = body.pop("data", None), _content_type(body.pop("content_type", None))
    image = _image(data) if data not in (None, "") else None
    if image is None and declared is None:
        raise Unprocessable(f"Content type cannot be blank: one of {', '.join(PHOTO_TYPES)}")
    stored: list[str] = []

    def prepare(photo_id: int) -> dict[str, Any]:
        if image is None:
            return {"status": WAITING, "content_type": declared}
        key = files.photo_key(principal.account_id, photo_id)
        files.put(key, image[0], image[1])
        stored.append(key)
        return {"status": READY, "content_type": image[1], "size": len(image[0])}

    try:
        return activities.create(principal, PHOTO, body, prepare)
    except Exception:
        if stored:  # the record was not written: its image must not stay behind
            files.delete(*stored)
        raise


# --- an upload arrives -------------------------------------------------------------------------


def received(account_id: str, photo_id: int) -> str:
    """Check the upload of a waiting photo: keep it (ready) or refuse it (rejected, deleted).

    S3 may deliver an event twice, and a retry may follow a crash at any step; each step is safe
    to repeat, and a photo no longer waiting only has its upload removed. Returns the outcome.
    """
    upload, kept = files.upload_key(account_id, photo_id), files.photo_key(account_id, photo_id)
    system = Principal(account_id, 0, frozenset(SCOPE_LEVELS), "upload")
    try:
        photo = activities.get(system, PHOTO, photo_id)
    except NotFound:
        files.delete(upload)  # its record (or its contact) is gone
        return "orphan"
    if photo.status != WAITING:
        files.delete(upload)
        return "done"
    found = files.head(upload, SNIFFED)
    if found is None:
        return "missing"
    first, size = found
    sniffed = sniff(first) if size <= UPLOAD_MAX else None
    if size > UPLOAD_MAX:
        outcome: dict[str, Any] = {"status": REJECTED, "error": f"The file is larger than {UPLOAD_MAX // MB} MB"}
    elif sniffed is None:
        outcome = {"status": REJECTED, "error": NOT_AN_IMAGE}
    else:
        files.copy(upload, kept, sniffed)
        outcome = {"status": READY, "content_type": sniffed, "error": None}
    outcome["size"] = size
    uploader = Principal(account_id, int(photo.user_id), frozenset(SCOPE_LEVELS), "upload")
    try:
        activities.change(uploader, PHOTO, photo_id, lambda now: outcome if now["status"] == WAITING else {})
    except NotFound:  # deleted meanwhile
        files.delete(upload, kept)
        return "orphan"
    files.delete(upload)
    count("PhotoReady" if outcome["status"] == READY else "PhotoRejected")
    logger.info("photo upload checked", extra={"photo_id": photo_id, "status": outcome["status"], "size": size})
    return outcome["status"]


def list_filter(query: Mapping[str, str]) -> Filter:
    """``GET /photos``'s filters: contact_id and status."""
    wanted = activities.contact_filter(query)
    if (query.get("status") or "").strip():
        wanted.states = (STATE[query_value(query, "status", FIELDS_BY_NAME["status"])],)
    return wanted
