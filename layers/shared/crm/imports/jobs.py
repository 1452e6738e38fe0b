"""Imports: the record of a file of contacts, from ``POST /imports`` (or a file dropped in the
bucket) to its outcome. The worker that imports the rows is crm.imports.worker.

The imports bucket's keys name the account, as every table key does:

    imports/<account>/<import id:010>   the file of an import made with POST /imports, PUT with
                                        its upload URL; its creation triggers the worker
    imports/<account>/<any other name>  a file an admin dropped: it gets an import of its own
                                        (on_duplicate=skip, format from the name's extension)
    reports/<account>/<import id:010>.csv
                                        the error report of an import (outside the trigger)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from crm import config, times
from crm.auth import SCOPE_LEVELS, Principal
from crm.errors import NotFound, Unprocessable
from crm.paging import Page, PageRequest
from crm.storage.db import ConditionFailed, next_id, query_page, transact
from crm.storage.items import (
    ACCOUNT_SK,
    ID_WIDTH,
    IMPORT_MARK,
    AccountItem,
    CountItem,
    ImportItem,
    ImportKeyItem,
    account_of,
    account_pk,
    count_sk,
    import_marker_sk,
    import_sk,
    starting_with,
)

WAITING, RUNNING, COMPLETED, FAILED = "waiting_for_upload", "running", "completed", "failed"
STATUSES = (WAITING, RUNNING, COMPLETED, FAILED)
# The Content-Type an upload is signed with, per format.
FORMATS = {"csv": "text/csv", "json": "application/json", "xml": "application/xml", "vcard": "text/vcard"}
EXTENSIONS = {"csv": "csv", "txt": "csv", "json": "json", "xml": "xml", "vcf": "vcard", "vcard": "vcard"}
ON_DUPLICATE = ("skip", "update", "create")
FIELDS = ("format", "filename", "on_duplicate")
FILENAME_MAX = 255
ERRORS_SHOWN = 100  # failed rows an import shows; its report has them all
IMPORTS, REPORTS = "imports/", "reports/"
BUCKET_KEY_ID = "bucket"  # the key_id of an import of a dropped file (nobody's key made it)


def bucket() -> str:
    return config.settings.imports_bucket


def object_key(account_id: str, import_id: int) -> str:
    return f"{IMPORTS}{account_id}/{import_id:0{ID_WIDTH}d}"


def report_key(account_id: str, import_id: int) -> str:
    return f"{REPORTS}{account_id}/{import_id:0{ID_WIDTH}d}.csv"


def parse_key(key: str) -> tuple[str, str] | None:
    """(account, name) of a file under ``imports/`` (the key already URL-decoded); None otherwise."""
    if not key.startswith(IMPORTS):
        return None
    account_id, _, name = key[len(IMPORTS) :].partition("/")
    return (account_id, name) if account_id and name and not name.endswith("/") else None


def guess_format(filename: str) -> str | None:
    extension = filename.rpartition(".")[2].lower() if "." in filename else ""
    return EXTENSIONS.get(extension)


def principal_of(job: Any) -> Principal:
    """Whom the rows are imported as: the key that asked (its user, and its reach), or for a dropped
    file the account itself (user 0, seeing everything)."""
    scopes = SCOPE_LEVELS if job.is_admin else SCOPE_LEVELS[:2]  # a dropped file's import is an admin's
    return Principal(account_of(job.pk), int(job.user_id), frozenset(scopes), job.key_id or "")


def _counts(tx: Any, account_id: str, user_id: int) -> None:
    pk = account_pk(account_id)
    for sk in (count_sk("imports"), count_sk("imports", user_id)):
        tx.update(CountItem(pk, sk), actions=[CountItem.imports.add(1)])


def _new(account_id: str, user_id: int, key_id: str, is_admin: bool, fields: Mapping[str, str], key: str) -> Any:
    import_id, now = next_id(account_id, "import"), times.now()
    return ImportItem(
        account_pk(account_id),
        import_sk(import_id),
        id=import_id,
        user_id=user_id,
        key_id=key_id,
        is_admin=is_admin,
        status=WAITING,
        object_key=key or object_key(account_id, import_id),
        created_at=now,
        updated_at=now,
        **fields,
    )


# --- asking for one ----------------------------------------------------------------------------


def _checked(body: Mapping[str, Any]) -> dict[str, str]:
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise Unprocessable(f"Unknown fields: {', '.join(unknown)}; an import takes {', '.join(FIELDS)}")
    errors, fields = [], {}
    for name in FIELDS:
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            errors.append(f"{name.capitalize().replace('_', ' ')} must be text")
        fields[name] = value if isinstance(value, str) else ""
    # A format and a choice are taken as the document spells them; blank is as if not sent.
    sent, fmt, on_duplicate = fields["filename"], fields["format"], fields["on_duplicate"]
    filename = sent.strip()  # checked as sent, kept trimmed
    if len(sent) > FILENAME_MAX or any(ord(c) < 32 for c in sent):
        errors.append(f"Filename must be at most {FILENAME_MAX} printable characters")
    if fmt and fmt not in FORMATS:
        errors.append(f"Format must be one of {', '.join(FORMATS)}")
    if not fmt:
        fmt = guess_format(sent) or ""
        if not fmt:
            errors.append(f"Format cannot be blank unless the filename tells it: one of {', '.join(FORMATS)}")
    if on_duplicate and on_duplicate not in ON_DUPLICATE:
        errors.append(f"On duplicate must be one of {', '.join(ON_DUPLICATE)}")
    if errors:
        raise Unprocessable(*errors)
    extension = {"vcard": "vcf"}.get(fmt, fmt)
    return {"format": fmt, "filename": filename or f"contacts.{extension}", "on_duplicate": on_duplicate or "skip"}


def create(principal: Principal, body: Mapping[str, Any]) -> Any:
    """An import waiting for its file (the caller shows it with its upload URL)."""
    item = _new(principal.account_id, principal.user_id, principal.key_id, principal.is_admin, _checked(body), "")

    def stage(tx: Any) -> None:
        tx.save(item, condition=ImportItem.sk.does_not_exist())
        _counts(tx, principal.account_id, principal.user_id)

    transact(stage)
    return item


def dropped(account_id: str, key: str, version: str) -> Any | None:
    """The import of a file dropped under the account's prefix with no import asked for: made once
    per object (a repeated event finds it); None if no such account exists."""
    pk = account_pk(account_id)
    object_id = json.dumps([key, version]).encode()  # unambiguous whatever characters the key has
    marker_sk = import_marker_sk(hashlib.sha256(object_id).hexdigest())
    try:
        marker = ImportKeyItem.get(pk, marker_sk, consistent_read=True)
        return ImportItem.get(pk, import_sk(int(marker.import_id)), consistent_read=True)
    except (ImportKeyItem.DoesNotExist, ImportItem.DoesNotExist):
        pass
    try:
        AccountItem.get(pk, ACCOUNT_SK)
    except AccountItem.DoesNotExist:
        return None
    name = key.rpartition("/")[2][:FILENAME_MAX]
    fields = {"format": guess_format(name) or "", "filename": name, "on_duplicate": "skip"}
    item = _new(account_id, 0, BUCKET_KEY_ID, True, fields, key)

    def stage(tx: Any) -> None:
        tx.save(ImportKeyItem(pk, marker_sk, import_id=int(item.id)), condition=ImportKeyItem.sk.does_not_exist())
        tx.save(item, condition=ImportItem.sk.does_not_exist())
        _counts(tx, account_id, 0)

    try:
        transact(stage)
    except ConditionFailed:  # the same event, delivered twice at once: the other made it
        return dropped(account_id, key, version)
    return item


# --- reading -----------------------------------------------------------------------------------


def load(account_id: str, import_id: int) -> Any | None:
    try:
        return ImportItem.get(account_pk(account_id), import_sk(import_id), consistent_read=True)
    except ImportItem.DoesNotExist:
        return None


def get(principal: Principal, import_id: int) -> Any:
    """An import this key may see: its own user's, or any for an admin."""
    item = load(principal.account_id, import_id)
    if item is None or not (principal.is_admin or int(item.user_id) == principal.user_id):
        raise NotFound("Import not found")
    return item


def listing(principal: Principal, page: PageRequest) -> Page:
    """Imports newest first (a key sees its user's; an admin, every one)."""
    pk = account_pk(principal.account_id)
    counted = count_sk("imports", None if principal.is_admin else principal.user_id)
    try:
        total = int(CountItem.get(pk, counted).imports)
    except CountItem.DoesNotExist:
        total = 0
    condition = None if principal.is_admin else ImportItem.user_id == principal.user_id
    imports = starting_with(ImportItem.sk, IMPORT_MARK)
    return query_page(ImportItem, pk, imports, page, total, filter_condition=condition, scan_index_forward=False)
