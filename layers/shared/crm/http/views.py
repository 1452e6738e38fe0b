"""What each resource shows: the one place a stored item becomes the representation a handler
renders, in JSON or XML.

The domain returns items; a view orders their fields as ContactHero's XML has them, types them
(dates as dates; an unset value as a typed ``Nil``, which XML writes as ``nil="true"``), marks
what XML writes as attributes (``Attributed``), and signs the links a client may follow for a few
minutes (photos, import files and reports). The dialects reshape a contact's view afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from crm import custom_fields, exports, times
from crm.activities import Kind
from crm.auth import Principal
from crm.fields import CONTACT_FIELDS
from crm.http.dialects import redmine
from crm.http.xml import Attributed, Nil
from crm.imports import jobs
from crm.photos import READY
from crm.photos import WAITING as PHOTO_WAITING
from crm.storage import files
from crm.storage.items import account_of

XML_TYPES = {"integer": "integer", "boolean": "boolean", "date": "date", "datetime": "datetime"}


def typed(kind: str, value: Any) -> Any:
    """A stored value as a representation shows it (dates as dates, typed nils for XML)."""
    if value is None:
        return Nil(XML_TYPES.get(kind)) if kind not in ("tags", "ids", "records") else []
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "integer":
        return int(value)
    if kind in ("tags", "ids"):
        return list(value)
    return value


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value)


# --- contacts --------------------------------------------------------------------------------


def custom_values(defs: Mapping[int, Any], stored: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The custom field values a contact shows: ``{"id", "name", "value"}`` for each whose
    definition exists, as an ``Attributed`` record: a plain object in JSON, and in XML the Redmine
    CRM shape ``<custom-field id="1" name="License"><value>abc</value></custom-field>``."""
    shown = []
    for entry in sorted(stored or (), key=lambda e: int(e["id"])):
        definition = defs.get(int(entry["id"]))
        if definition is not None and entry.get("value") not in (None, ""):
            record = {"id": int(entry["id"]), "name": definition.name, "value": entry["value"]}
            shown.append(Attributed(record, ("id", "name")))
    return shown


def _contact(item: Any, defs: Mapping[int, Any], notes: list[Any] | None = None) -> dict[str, Any]:
    """Fields in alphabetical order, as ContactHero's XML has them; the notes' views last."""
    view = {field.name: typed(field.kind, getattr(item, field.attribute)) for field in CONTACT_FIELDS}
    view["custom_fields"] = custom_values(defs, item.custom_fields)
    if item.photo_id:
        # The current photo (crm.photos), signed for minutes: fetch it, do not keep it. Only a contact
        # with a photo has one, so one without comes back element for element as ContactHero's.
        view["photo_url"] = files.download_url(files.photo_key(account_of(item.pk), int(item.photo_id)))
    if item.phones_e164:
        # Read-only, and only for a contact with a number that parses: as photo_url, absent otherwise.
        view["phones_e164"] = dict(sorted(item.phones_e164.items()))
    ordered = dict(sorted(view.items()))
    if notes is not None:
        ordered["notes"] = [note(each) for each in notes]
    return ordered


def _definitions(principal: Principal, items: list[Any]) -> Mapping[int, Any]:
    """The definitions that name the items' custom field values; read only if some item has one."""
    return custom_fields.definitions(principal.account_id) if any(item.custom_fields for item in items) else {}


def contacts(principal: Principal, items: list[Any]) -> list[dict[str, Any]]:
    """What a list shows of each contact (no notes); at most one read of the definitions."""
    defs = _definitions(principal, items)
    return [_contact(item, defs) for item in items]


def contact(principal: Principal, item: Any, notes: list[Any]) -> dict[str, Any]:
    """What a contact shows, with its newest notes."""
    return _contact(item, _definitions(principal, [item]), notes)


def history_entry(item: Any) -> dict[str, Any]:
    shown = {
        "id": int(item.number),
        "contact_id": int(item.contact_id),
        "action": item.action,
        "subject": item.subject,
        "user_id": int(item.user_id),
        "key_id": item.key_id,
        "version": None if item.version is None else int(item.version),
        "created_at": _when(item.created_at),
        "changes": item.changes,
    }
    if item.note_id is not None:
        shown["note_id"] = int(item.note_id)
    if item.record_id is not None:
        shown[f"{item.subject}_id"] = int(item.record_id)
    return shown


def custom_field(item: Any) -> dict[str, Any]:
    """Redmine's custom field: id, name, field_format, possible_values, is_required; then when, and version."""
    return {**custom_fields.current(item), "created_at": _when(item.created_at), "updated_at": _when(item.updated_at)}


# --- what hangs off a contact ----------------------------------------------------------------


def note(item: Any) -> dict[str, Any]:
    """ContactHero's note: body, contact-id, created-at, id, updated-at, user-id (its version is the
    ETag); a subject only if it has one, so a ContactHero note is element for element the document's."""
    view = {
        "body": item.body,
        "contact_id": int(item.contact_id),
        "created_at": _when(item.created_at),
        "id": int(item.id),
        "updated_at": _when(item.updated_at),
        "user_id": int(item.user_id),
    }
    if item.subject:
        view["subject"] = item.subject
    return dict(sorted(view.items()))


def redmine_note(item: Any) -> dict[str, Any]:
    """A note as Redmine CRM's plugin shows it (``/notes/{id}``); its version is the ETag."""
    contact_id = int(item.contact_id)
    return {
        "id": int(item.id),
        "subject": item.subject or "",
        "content": item.body,
        "source_type": redmine.SOURCE_TYPE,
        "source_id": contact_id,
        "source": Attributed({"id": contact_id, "type": redmine.SOURCE_TYPE}, ("id", "type")),
        "author": Attributed({"id": int(item.user_id)}, ("id",)),
        "created_on": _when(item.created_at),
        "updated_on": _when(item.updated_at),
    }


def _photo_links(photo: Any, own: bool) -> dict[str, Any]:
    """The URLs a photo carries: to download a ready image, or to upload the awaited one (only the
    photos function signs uploads: a contact's ``include=photos`` shows none)."""
    account_id, photo_id = account_of(photo.pk), int(photo.id)
    waiting, ready = photo.status == PHOTO_WAITING and own, photo.status == READY
    return {
        "url": files.download_url(files.photo_key(account_id, photo_id)) if ready else None,
        "upload_url": files.upload_url(files.upload_key(account_id, photo_id), photo.content_type) if waiting else None,
        "upload_method": "PUT" if waiting else None,
        "upload_headers": {"Content-Type": photo.content_type} if waiting else None,
    }


# What a record shows beside its fields, by kind (a client may send these back: Kind.echoed).
_LINKS = {"photo": _photo_links}


def record(kind: Kind, item: Any, own: bool = True) -> dict[str, Any]:
    """A call, message or photo: every field in alphabetical order, as ContactHero's XML has them
    (typed, nil when unset). ``own``: the kind's own function shows it (not a contact's ``include=``)."""
    fields = {field.name: typed(field.kind, getattr(item, field.attribute)) for field in kind.fields}
    links = _LINKS[kind.name](item, own) if kind.name in _LINKS else {}
    return dict(sorted({**fields, **links}.items()))


# --- imports ---------------------------------------------------------------------------------


def import_job(principal: Principal, item: Any) -> dict[str, Any]:
    """What a client sees; the upload URL only while the file is awaited, and only to its asker."""
    own = int(item.user_id) == principal.user_id and item.key_id != jobs.BUCKET_KEY_ID
    waiting = item.status == jobs.WAITING and own
    content_type = jobs.FORMATS.get(item.format, "application/octet-stream")
    return {
        "id": int(item.id),
        "status": item.status,
        "format": item.format,
        "filename": item.filename,
        "on_duplicate": item.on_duplicate,
        "user_id": int(item.user_id),
        "size": int(item.size) if item.size is not None else None,
        "rows_total": int(item.rows_total),
        "rows_imported": int(item.rows_imported),
        "rows_updated": int(item.rows_updated),
        "rows_skipped": int(item.rows_skipped),
        "rows_failed": int(item.rows_failed),
        "errors": list(item.errors or []),
        "warnings": list(item.warnings or []),
        "error": item.error,
        "report_url": files.download_url(item.report_key, jobs.bucket()) if item.report_key else None,
        "upload_url": files.upload_url(item.object_key, content_type, jobs.bucket()) if waiting else None,
        "upload_method": "PUT" if waiting else None,
        "upload_headers": {"Content-Type": content_type} if waiting else None,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
        "started_at": item.started_at,
        "finished_at": item.finished_at,
    }


# --- exports ---------------------------------------------------------------------------------


def export_job(item: Any) -> dict[str, Any]:
    """What a client sees of an export; once completed, its file's URL, signed for 15 minutes."""
    done = item.status == exports.COMPLETED
    name = f"contacts-{int(item.id)}.{exports.FORMATS[item.format][1]}"
    url = files.download_url(item.object_key, exports.bucket(), exports.DOWNLOAD_SECONDS, name) if done else None
    return {
        "id": int(item.id),
        "status": item.status,
        "format": item.format,
        "columns": item.columns,
        "filters": dict(item.filters or {}),
        "user_id": int(item.user_id),
        "rows_exported": int(item.rows_exported),
        "size": int(item.size) if item.size is not None else None,
        "error": item.error,
        "download_url": url,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
        "started_at": item.started_at,
        "finished_at": item.finished_at,
        "expires_at": times.iso(int(item.expires_at)),
    }


# --- the change feed -------------------------------------------------------------------------


def change(item: Any) -> dict[str, Any]:
    """An entry of the feed; ``changes`` only for an update or a merge (what each field was and is)."""
    shown = {
        "id": item.entry_id,
        "type": item.type,
        "resource": item.resource,
        "resource_id": int(item.resource_id),
        "contact_id": int(item.contact_id),
        "user_id": int(item.user_id),
        "key_id": item.key_id,
        "at": item.at,
    }
    if item.changes is not None:
        shown["changes"] = [
            {"field": c["field"], "old": _untyped(c.get("old")), "new": _untyped(c.get("new"))} for c in item.changes
        ]
    return shown


def _untyped(value: Any) -> Any:
    """A recorded value as it was: text, a number, a list of texts; None as no value."""
    return Nil(None) if value is None else value


# --- webhooks --------------------------------------------------------------------------------------


def webhook(item: Any, with_secret: bool = False) -> dict[str, Any]:
    """A subscription; its secret only when it was just made or rotated."""
    shown: dict[str, Any] = {
        "id": int(item.id),
        "url": item.url,
        "events": list(item.events),
        "fields": list(item.fields) if item.fields else Nil(None),
        "enabled": bool(item.enabled),
        "disabled_reason": item.disabled_reason if item.disabled_reason else Nil(None),
        "failing_since": times.iso(int(item.failing_since)) if item.failing_since is not None else Nil("datetime"),
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }
    if with_secret:
        shown["secret"] = item.secret
    return shown


def delivery(item: Any) -> dict[str, Any]:
    """A delivery of a feed entry to a webhook: how its attempts went."""
    return {
        "id": item.delivery_id,
        "webhook_id": int(item.webhook_id),
        "event": item.event,
        "change_id": item.entry_id,
        "contact_id": int(item.contact_id),
        "status": item.status,
        "attempts": int(item.attempts),
        "last_attempt_at": item.last_attempt_at or Nil("datetime"),
        "last_status_code": int(item.last_status_code) if item.last_status_code is not None else Nil("integer"),
        "last_error": item.last_error or Nil(None),
        "next_attempt_at": item.next_attempt_at or Nil("datetime"),
        "created_at": item.created_at,
    }
