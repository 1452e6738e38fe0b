"""Custom fields: the account's definitions (crm.custom_values checks the values contacts carry).

A definition (``CF#<id>``) has a ``name`` unique in its account (case-insensitively), a
``field_format`` fixed at creation (string, integer, date, boolean or list), the
``possible_values`` of a list, and ``is_required``. An account has at most 100 of them.

Every write is one transaction over the definition, the name it holds
(``CFNAME#<sha256 of the folded name>``, put only if no other definition holds it) and the
account's count (``COUNT#custom_fields``, added to only below the cap), so two writers can never
take one name, pass the cap together, or lose one another's change. Deleting a definition does
not touch contacts: its values stay stored but are never shown again (ids are never reused).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from crm import times
from crm.auth import Principal
from crm.errors import Conflict, NotFound, Unprocessable
from crm.fields import CONTROL, DIGITS_MAX, STRING_MAX, Field
from crm.observability import count, logger
from crm.paging import Page, PageRequest
from crm.storage.db import ConditionFailed, next_id, optimistic, query_page, transact
from crm.storage.items import (
    CUSTOM_FIELD_MARK,
    CustomFieldCountItem,
    CustomFieldItem,
    CustomFieldNameItem,
    account_pk,
    count_sk,
    custom_field_name_sk,
    custom_field_sk,
    starting_with,
)
from crm.validation import validate
from crm.versions import expected_version

FORMATS = ("string", "integer", "date", "boolean", "list")
MAX_FIELDS = 100  # per account
MAX_VALUES = 100  # possible values of a list
COUNT_SK = count_sk("custom_fields")
CONDITION_FAILED = "ConditionalCheckFailed"

# What crm.validation checks of a body. field_format and possible_values are checked here: the format
# is one of FORMATS and fixed once set, and possible values may hold commas and run to 255
# characters, unlike a contact's tags.
FIELDS: tuple[Field, ...] = (
    Field("id", "integer", writable=False),
    Field("name"),
    Field("is_required", "boolean", default=False),
    Field("created_at", "datetime", writable=False),
    Field("updated_at", "datetime", writable=False),
    Field("version", "integer", writable=False),
)
FIELDS_BY_NAME = {field.name: field for field in FIELDS}
POSSIBLE_VALUES = "possible_values"
KNOWN = {*FIELDS_BY_NAME, "field_format", POSSIBLE_VALUES}
# A text area's lines: what a browser sends (CRLF) or a client writes (LF, CR). Other characters
# str.splitlines() breaks at (vertical tab, form feed, ...) are controls, refused in a value.
LINE_BREAK = re.compile(r"\r\n|\r|\n")


# --- keys ----------------------------------------------------------------------------------------


def folded(name: str) -> str:
    """The form two names share when they differ only in case (Unicode caseless: Straße = STRASSE)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name.strip()).casefold())


def _name_item(account_id: str, name: str, field_id: int) -> Any:
    # Hashed: a name of 255 characters may take more than the 1,024 bytes a sort key can hold.
    digest = hashlib.sha256(folded(name).encode()).hexdigest()
    return CustomFieldNameItem(account_pk(account_id), custom_field_name_sk(digest), field_id=field_id)


def _count_item(account_id: str) -> Any:
    return CustomFieldCountItem(account_pk(account_id), COUNT_SK)


# --- reading -------------------------------------------------------------------------------------


# The definitions a container has read, per account, with the generation they were read at: most
# requests of an account find them here, for one small GetItem instead of a Query of every one.
_READ: OrderedDict[str, tuple[int, dict[int, CustomFieldItem]]] = OrderedDict()
ACCOUNTS_KEPT = 64


def _generation(account_id: str) -> int:
    try:
        counter = CustomFieldCountItem.get(
            account_pk(account_id), COUNT_SK, consistent_read=True, attributes_to_get=["generation"]
        )
    except CustomFieldCountItem.DoesNotExist:
        return 0
    return int(counter.generation or 0)


def definitions(account_id: str) -> dict[int, CustomFieldItem]:
    """The account's definitions by id, for checking and showing values: as current as a consistent
    read. The generation is read first, so a copy is never kept under a generation older than it."""
    generation = _generation(account_id)
    kept = _READ.get(account_id)
    if kept is not None and kept[0] == generation:
        _READ.move_to_end(account_id)
        return kept[1]
    items = CustomFieldItem.query(
        account_pk(account_id), starting_with(CustomFieldItem.sk, CUSTOM_FIELD_MARK), consistent_read=True
    )
    found = {int(item.id): item for item in items}
    _READ[account_id] = (generation, found)
    while len(_READ) > ACCOUNTS_KEPT:
        _READ.popitem(last=False)
    return found


def get(principal: Principal, field_id: int) -> CustomFieldItem:
    try:
        return CustomFieldItem.get(account_pk(principal.account_id), custom_field_sk(field_id), consistent_read=True)
    except CustomFieldItem.DoesNotExist:
        raise NotFound("Custom field not found") from None


def _total(account_id: str) -> int:
    try:
        counter = CustomFieldCountItem.get(account_pk(account_id), COUNT_SK, consistent_read=True)
    except CustomFieldCountItem.DoesNotExist:
        return 0
    return int(counter.custom_fields or 0)


def listing(principal: Principal, page: PageRequest) -> Page:
    """The definitions in id order; total_count is the account's count, kept with every write."""
    pk = account_pk(principal.account_id)
    total = _total(principal.account_id)
    condition = starting_with(CustomFieldItem.sk, CUSTOM_FIELD_MARK)
    return query_page(CustomFieldItem, pk, condition, page, total, consistent_read=True)


# --- checking a body -----------------------------------------------------------------------------


def _possible_values(value: Any, errors: list[str]) -> list[str] | None:
    """A list of distinct, non-blank texts: a JSON or XML array (of texts, or of numbers of up to 15
    digits), Redmine's ``[{"value": ..}]``, or lines (blank ones left out)."""
    if value is None:
        return []
    if isinstance(value, dict) and set(value) == {"possible_value"}:  # XML without type="array"
        value = value["possible_value"]
        value = value if isinstance(value, list) else [value]
    if isinstance(value, str):  # one value a line, as a form's text area sends them
        value = [line for line in LINE_BREAK.split(value) if line.strip()]
    if not isinstance(value, list):
        errors.append("Possible values must be a list of text values")
        return None
    texts = []
    for entry in value:
        if isinstance(entry, dict) and "value" in entry:
            entry = entry["value"]
        if (
            isinstance(entry, bool)
            or not isinstance(entry, (str, int))
            or (isinstance(entry, int) and abs(entry) > DIGITS_MAX)
        ):
            errors.append("Possible values must be a list of text values")
            return None
        texts.append(str(entry).strip())
    if len(texts) > MAX_VALUES:
        errors.append(f"Possible values take at most {MAX_VALUES} values")
    elif any(not text for text in texts):
        errors.append("Possible values cannot contain a blank value")
    elif any(len(text) > STRING_MAX or CONTROL.search(text) for text in texts):
        errors.append(f"Possible values are text of at most {STRING_MAX} characters")
    else:
        repeated = sorted({text for text in texts if texts.count(text) > 1})
        if repeated:
            errors.append(f"Possible values must be distinct: {', '.join(repeated)} repeated")
        else:
            return texts
    return None


def current(item: Any) -> dict[str, Any]:
    """The definition's fields as stored (the view shows its times as datetimes)."""
    return {
        "id": int(item.id),
        "name": item.name,
        "field_format": item.field_format,
        "possible_values": list(item.possible_values or []),
        "is_required": bool(item.is_required),
        "created_at": item.created_at,
        "updated_at": item.updated_at,
        "version": int(item.version),
    }


def _format(body: Mapping[str, Any], current: Mapping[str, Any] | None, errors: list[str]) -> str | None:
    """The format a body asks for (None: not sent, or refused); it is required on create, then fixed."""
    raw = body.get("field_format")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if current is None or "field_format" in body:
            errors.append("Field format cannot be blank")
        return None
    field_format = raw.strip().lower() if isinstance(raw, str) else None
    if field_format not in FORMATS:
        errors.append(f"Field format must be one of: {', '.join(FORMATS)}")
        return None
    if current is not None and field_format != current["field_format"]:
        errors.append(
            f"Field format cannot be changed from {current['field_format']}: "
            "the values contacts hold were checked against it"
        )
        return None
    return field_format


def changes(body: Mapping[str, Any], current: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A definition's body as {field: stored value}; ``current`` is the stored one on an update.

    Unknown fields, read-only ones sent with another value, a missing or unknown format, a
    format change, and possible values missing on a list or given on anything else are a 422
    naming each of them.
    """
    errors: list[str] = []
    unknown = sorted(name for name in body if name not in KNOWN)
    if unknown:
        errors.append(f"Unknown fields: {', '.join(unknown)}")
    plain = {name: value for name, value in body.items() if name in FIELDS_BY_NAME}
    try:
        wanted = validate(FIELDS, plain, current, "name")
    except Unprocessable as exc:
        errors += exc.messages
        wanted = {}
    if wanted.get("name"):
        wanted["name"] = wanted["name"].strip()
    field_format = _format(body, current, errors)
    if field_format is not None:
        wanted["field_format"] = field_format
    # What the field will be; None when the body's format was refused (nothing to check against).
    kept = current["field_format"] if current is not None and "field_format" not in body else None
    effective = field_format or kept
    if POSSIBLE_VALUES in body:
        values = _possible_values(body[POSSIBLE_VALUES], errors)
        if values is not None and effective == "list" and not values:
            errors.append("Possible values cannot be empty for a list")
        elif values and effective is not None and effective != "list":
            errors.append("Possible values are only for list fields")
        wanted[POSSIBLE_VALUES] = values or []
    elif current is None and effective == "list":
        errors.append("Possible values cannot be empty for a list")
    if errors:
        raise Unprocessable(*errors)
    return wanted


# --- writing -------------------------------------------------------------------------------------


def _refused(reasons: list[str | None], name: str, name_write: int | None, count_write: int | None) -> None:
    """Turn a failed condition of the name or the count into its 422; others are the caller's."""
    if name_write is not None and reasons[name_write] == CONDITION_FAILED:
        raise Unprocessable(f"Name has already been taken ({name})")
    if count_write is not None and reasons[count_write] == CONDITION_FAILED:
        raise Unprocessable(f"An account has at most {MAX_FIELDS} custom fields")


def _taken(account: str, name: str) -> bool:
    held = _name_item(account, name, 0)
    try:
        CustomFieldNameItem.get(held.pk, held.sk, consistent_read=True)
    except CustomFieldNameItem.DoesNotExist:
        return False
    return True


def create(principal: Principal, body: dict[str, Any]) -> CustomFieldItem:
    wanted = changes(body)
    account = principal.account_id
    # Checked first so that a refused create takes no id; the transaction holds them under races.
    refusals = []
    if _taken(account, wanted["name"]):
        refusals.append(f"Name has already been taken ({wanted['name']})")
    if _total(account) >= MAX_FIELDS:
        refusals.append(f"An account has at most {MAX_FIELDS} custom fields")
    if refusals:
        raise Unprocessable(*refusals)
    field_id = next_id(account, "custom_field")
    now = times.now()
    item = CustomFieldItem(
        account_pk(account),
        custom_field_sk(field_id),
        id=field_id,
        name=wanted["name"],
        field_format=wanted["field_format"],
        possible_values=wanted.get(POSSIBLE_VALUES) or None,
        is_required=bool(wanted.get("is_required")),
        created_at=now,
        updated_at=now,
        version=1,
    )
    below_cap = (CustomFieldCountItem.custom_fields < MAX_FIELDS) | CustomFieldCountItem.custom_fields.does_not_exist()

    def stage(tx: Any) -> None:
        # Staged in the order PynamoDB sends them (puts, then updates), which the reasons follow.
        tx.save(item, condition=CustomFieldItem.sk.does_not_exist())
        tx.save(_name_item(account, item.name, field_id), condition=CustomFieldNameItem.sk.does_not_exist())
        counted = [CustomFieldCountItem.custom_fields.add(1), CustomFieldCountItem.generation.add(1)]
        tx.update(_count_item(account), actions=counted, condition=below_cap)

    try:
        transact(stage)
    except ConditionFailed as exc:
        _refused(exc.reasons, item.name, 1, 2)
        raise
    count("CustomFieldCreated")
    logger.info("custom field created", extra={"custom_field_id": field_id})
    return item


def _write_update(account: str, item: Any, read_version: int, old_name: str) -> None:
    """Commit ``item`` as changed, on the version it was read at, moving its name's hold if renamed."""
    field_id, renamed = int(item.id), folded(old_name) != folded(item.name)

    def stage(tx: Any) -> None:
        # Staged in the order PynamoDB sends them (deletes, puts, updates), which the reasons follow.
        if renamed:
            old = _name_item(account, old_name, field_id)
            tx.delete(old, condition=CustomFieldNameItem.field_id == field_id)
        tx.save(item, condition=CustomFieldItem.version == read_version)
        if renamed:
            new = _name_item(account, item.name, field_id)
            tx.save(new, condition=CustomFieldNameItem.sk.does_not_exist())
        tx.update(_count_item(account), actions=[CustomFieldCountItem.generation.add(1)])

    try:
        transact(stage)
    except ConditionFailed as exc:
        definition = 1 if renamed else 0
        if exc.reasons[definition] != CONDITION_FAILED:  # the definition is as read: the new name is taken
            _refused(exc.reasons, item.name, 2 if renamed else None, None)
        raise


def update(principal: Principal, field_id: int, body: dict[str, Any], if_match: int | None = None) -> CustomFieldItem:
    """Change what ``body`` sends (PUT and PATCH alike); If-Match or ``version`` make it conditional.

    Without a version, a concurrent change makes us re-read and re-apply, so neither is lost.
    """
    wanted_version = expected_version(body, if_match)

    def attempt() -> tuple[CustomFieldItem, bool]:
        item = get(principal, field_id)
        read_version = int(item.version)
        if wanted_version is not None and read_version != wanted_version:
            raise Conflict(f"Custom field is at version {read_version}, not {wanted_version}")
        as_stored = current(item)
        wanted = changes(body, as_stored)
        changed = {name: value for name, value in wanted.items() if as_stored[name] != value}
        if not changed:
            return item, False
        old_name = item.name
        for name, value in changed.items():
            setattr(item, name, (value or None) if name == POSSIBLE_VALUES else value)
        item.updated_at, item.version = times.now(), read_version + 1
        _write_update(principal.account_id, item, read_version, old_name)
        return item, True

    item, changed = optimistic(attempt, "Custom field")  # changed or deleted since we read it
    if changed:
        count("CustomFieldUpdated")
        logger.info("custom field updated", extra={"custom_field_id": field_id, "version": int(item.version)})
    return item


def _write_delete(account: str, item: Any) -> None:
    read_version, field_id = int(item.version), int(item.id)

    def stage(tx: Any) -> None:
        tx.delete(item, condition=CustomFieldItem.version == read_version)
        name = _name_item(account, item.name, field_id)
        tx.delete(name, condition=CustomFieldNameItem.field_id == field_id)
        moved = [CustomFieldCountItem.custom_fields.add(-1), CustomFieldCountItem.generation.add(1)]
        tx.update(_count_item(account), actions=moved)

    transact(stage)


def delete(principal: Principal, field_id: int, if_match: int | None = None) -> None:
    """Remove the definition, its name's hold and its count; contacts keep its values, no longer shown."""

    def attempt() -> None:
        item = get(principal, field_id)
        if if_match is not None and int(item.version) != if_match:
            raise Conflict(f"Custom field is at version {int(item.version)}, not {if_match}")
        _write_delete(principal.account_id, item)

    optimistic(attempt, "Custom field")  # changed or deleted meanwhile
    count("CustomFieldDeleted")
    logger.info("custom field deleted", extra={"custom_field_id": field_id})
