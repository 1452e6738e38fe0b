"""An export's record, from ``POST /exports`` to its file (crm.exports.worker writes it).

Asked for, it is ``running`` at once: its item's arrival in the table's stream starts the worker,
so no export is asked for and never begun. It ends ``completed`` (with its rows and a download URL)
or ``failed`` (with why); after ``KEPT_DAYS`` the file and the record are gone (the bucket's
lifecycle rule, the table's TTL).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm import search, times
from crm.auth import SCOPE_LEVELS, Principal
from crm.errors import BadRequest, NotFound, Unprocessable
from crm.exports import COLUMNS, COMPLETED, FAILED, FORMATS, KEPT_DAYS, RUNNING, object_key
from crm.fields import CONTROL
from crm.paging import Page, PageRequest
from crm.storage.db import next_id, query_page, update_if
from crm.storage.items import (
    EXPORT_MARK,
    ExportItem,
    account_of,
    account_pk,
    export_sk,
    starting_with,
    table_client,
)

FILTERS = tuple(name for name in search.FILTERS if name != "term")  # term is search's other name
FIELDS = ("format", "columns", *FILTERS)


def principal_of(job: Any) -> Principal:
    """Whom the file is written for: the key that asked, with its user's reach."""
    scopes = SCOPE_LEVELS if job.is_admin else SCOPE_LEVELS[:1]
    return Principal(account_of(job.pk), int(job.user_id), frozenset(scopes), job.key_id or "")


# What a body may send for each filter beside text (the query's own form).
TAKES = {"tags": (list,), "project_id": (int,), "assigned_to_id": (int,), "is_company": (bool,)}


def _filter_text(name: str, value: Any, errors: list[str]) -> str | None:
    """A filter as GET /contacts takes it: text; a JSON body may also send a list of tags, a
    number or a boolean where the filter is one."""
    if isinstance(value, float) and value.is_integer():  # JSON's 3.0 is 3
        value = int(value)
    taken = (str, *TAKES.get(name, ()))
    if value is None:
        return None
    if not isinstance(value, taken) or (isinstance(value, bool) and bool not in taken):
        errors.append(f"{name} must be {'a list of tags or ' if name == 'tags' else ''}text, as GET /contacts takes it")
        return None
    if isinstance(value, list):
        if not all(isinstance(tag, str) for tag in value):
            errors.append("tags must be a list of tags or text, as GET /contacts takes it")
            return None
        value = ",".join(value)
    if isinstance(value, str) and CONTROL.search(value):
        errors.append(f"{name} must not hold control characters")
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _checked(principal: Principal, body: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise Unprocessable(f"Unknown fields: {', '.join(unknown)}; an export takes {', '.join(FIELDS)}")
    errors: list[str] = []
    fmt, columns = body.get("format"), body.get("columns")
    if not isinstance(fmt, str) or fmt not in FORMATS:  # a list or an object is no format (nor hashable)
        errors.append(f"Format must be one of {', '.join(FORMATS)}")
    if columns not in (None, "") and (fmt != "csv" or columns not in COLUMNS):
        errors.append(f"Columns is a CSV export's layout: one of {', '.join(COLUMNS)}")
    filters = {name: _filter_text(name, body.get(name), errors) for name in FILTERS}
    filters = {name: value for name, value in filters.items() if value is not None and value.strip()}  # blank: none
    if errors:
        raise Unprocessable(*errors)
    try:
        search.parse(filters, principal.account_id)  # as the list would take them: refused now, not later
    except BadRequest as exc:
        raise Unprocessable(*exc.messages) from None
    return {"format": fmt, "columns": (columns or COLUMNS[0]) if fmt == "csv" else None, "filters": filters}


def create(principal: Principal, body: Mapping[str, Any]) -> Any:
    """A new export, running: the table's stream hands it to the worker."""
    asked = _checked(principal, body)
    export_id, now = next_id(principal.account_id, "export"), times.now()
    item = ExportItem(
        account_pk(principal.account_id),
        export_sk(export_id),
        id=export_id,
        user_id=principal.user_id,
        key_id=principal.key_id,
        is_admin=principal.is_admin,
        status=RUNNING,
        format=asked["format"],
        columns=asked["columns"],
        filters=asked["filters"],
        object_key=object_key(principal.account_id, export_id, asked["format"]),
        created_at=now,
        updated_at=now,
        expires_at=times.epoch() + KEPT_DAYS * 86400,
    )
    item.save(condition=ExportItem.sk.does_not_exist())
    return item


# --- reading -----------------------------------------------------------------------------------


def load(account_id: str, export_id: int) -> Any | None:
    """The export, if it has not expired (the TTL removes an expired item within days, not at once)."""
    try:
        item = ExportItem.get(account_pk(account_id), export_sk(export_id), consistent_read=True)
    except ExportItem.DoesNotExist:
        return None
    return item if int(item.expires_at) > times.epoch() else None


def get(principal: Principal, export_id: int) -> Any:
    """An export this key may see: its own user's, or any for an admin."""
    item = load(principal.account_id, export_id)
    if item is None or not (principal.is_admin or int(item.user_id) == principal.user_id):
        raise NotFound("Export not found")
    return item


def _seen(principal: Principal) -> tuple[str, dict[str, Any]]:
    """The filter of the exports a key sees (unexpired; its user's, unless an admin's), raw and as
    the values it names."""
    expression, values = "expires_at > :now", {":now": {"N": str(times.epoch())}}
    if not principal.is_admin:
        expression, values = f"{expression} AND user_id = :user", {**values, ":user": {"N": str(principal.user_id)}}
    return expression, values


def _total(principal: Principal) -> int:
    """How many exports the key sees: a count of the exports' range (they live a week)."""
    client, table = table_client()
    expression, values = _seen(principal)
    values = {
        **values,
        ":pk": {"S": account_pk(principal.account_id)},
        ":low": {"S": EXPORT_MARK},
        ":high": {"S": EXPORT_MARK + "\U0010ffff"},
    }
    total, start = 0, None
    while True:
        page = client.query(
            TableName=table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :low AND :high",
            FilterExpression=expression,
            ExpressionAttributeValues=values,
            Select="COUNT",
            ConsistentRead=True,
            **({"ExclusiveStartKey": start} if start else {}),
        )
        total += int(page["Count"])
        start = page.get("LastEvaluatedKey")
        if start is None:
            return total


def listing(principal: Principal, page: PageRequest) -> Page:
    """Exports newest first (a key sees its user's; an admin, every one)."""
    pk = account_pk(principal.account_id)
    condition = ExportItem.expires_at > times.epoch()
    if not principal.is_admin:
        condition = condition & (ExportItem.user_id == principal.user_id)
    exports = starting_with(ExportItem.sk, EXPORT_MARK)
    total = _total(principal)
    return query_page(ExportItem, pk, exports, page, total, filter_condition=condition, scan_index_forward=False)


# --- the worker's steps ------------------------------------------------------------------------


def begin(item: Any, attempt: int) -> bool:
    """Count this attempt at a running export; False if it is no longer running (done already)."""
    now = times.now()
    actions = [ExportItem.attempts.set(attempt), ExportItem.started_at.set(now), ExportItem.updated_at.set(now)]
    return update_if(item, actions, ExportItem.status == RUNNING)


def progress(item: Any, rows: int) -> None:
    update_if(
        item, [ExportItem.rows_exported.set(rows), ExportItem.updated_at.set(times.now())], ExportItem.status == RUNNING
    )


def finish(item: Any, rows: int, size: int) -> bool:
    now = times.now()
    actions = [
        ExportItem.status.set(COMPLETED),
        ExportItem.rows_exported.set(rows),
        ExportItem.size.set(size),
        ExportItem.updated_at.set(now),
        ExportItem.finished_at.set(now),
    ]
    return update_if(item, actions, ExportItem.status == RUNNING)


def fail(item: Any, message: str) -> bool:
    now = times.now()
    actions = [
        ExportItem.status.set(FAILED),
        ExportItem.error.set(message),
        ExportItem.updated_at.set(now),
        ExportItem.finished_at.set(now),
    ]
    return update_if(item, actions, ExportItem.status == RUNNING)
