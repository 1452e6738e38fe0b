"""Webhook subscriptions: which changes of the account are posted where, and the secret that signs
them (shown when made and when rotated, never again)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from crm import changes, times
from crm.auth import Principal
from crm.errors import Conflict, NotFound, Unprocessable
from crm.paging import Page, PageRequest
from crm.storage.db import next_id, query_page, update_if
from crm.storage.items import WEBHOOK_MARK, WebhookItem, account_pk, starting_with, webhook_sk
from crm.validation import truth
from crm.webhooks import MAX_FIELDS, MAX_WEBHOOKS, SECRET_OVERLAP_HOURS, outbound, signing

FIELDS = ("url", "events", "fields")
EDITABLE = (*FIELDS, "enabled")
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")  # as the feed's changes name fields


def _url(value: Any, errors: list[str]) -> str | None:
    try:
        parts = outbound.parsed(value)
        outbound.resolve(parts)  # refused now if it is private; checked again at every delivery
    except outbound.Refused as exc:
        errors.append(str(exc))
        return None
    return str(value)


def _names(value: Any) -> Any:
    """A list as a form or untyped XML sends it: comma-separated text."""
    return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value


def _events(value: Any, errors: list[str]) -> list[str] | None:
    value = _names(value)
    if value is None:
        return list(changes.TYPES)  # every change
    if not isinstance(value, list) or not value or not all(isinstance(e, str) for e in value):
        errors.append("events must be a list of at least one of the feed's types")
        return None
    unknown = sorted(set(value) - set(changes.TYPES))
    if unknown:
        errors.append(f"Unknown events: {', '.join(unknown)}; events are {', '.join(changes.TYPES)}")
        return None
    return [e for e in changes.TYPES if e in value]  # in the feed's order, once each


def _fields(value: Any, errors: list[str]) -> list[str] | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None  # every field (sent empty: a form's or XML's way to say none)
    value = _names(value)
    good = isinstance(value, list) and all(isinstance(f, str) and FIELD_NAME.match(f) for f in value)
    if not good or not value or len(value) > MAX_FIELDS:
        errors.append(f"fields must be a list of 1 to {MAX_FIELDS} field names (as the feed's changes name them)")
        return None
    return sorted(set(value))


def _checked(body: Mapping[str, Any], taken: tuple[str, ...], partial: bool) -> dict[str, Any]:
    unknown = sorted(set(body) - set(taken))
    if unknown:
        raise Unprocessable(f"Unknown fields: {', '.join(unknown)}; a webhook takes {', '.join(taken)}")
    errors: list[str] = []
    checked: dict[str, Any] = {}
    if not partial or "url" in body:
        checked["url"] = _url(body.get("url"), errors)
    if not partial or "events" in body:
        checked["events"] = _events(body.get("events"), errors)
    if not partial or "fields" in body:
        checked["fields"] = _fields(body.get("fields"), errors)
    if "enabled" in body:
        checked["enabled"] = truth(body["enabled"])
        if checked["enabled"] is None:
            errors.append("enabled must be true or false")
    if errors:
        raise Unprocessable(*errors)
    return checked


def _count(account_id: str) -> int:
    return WebhookItem.count(account_pk(account_id), starting_with(WebhookItem.sk, WEBHOOK_MARK), consistent_read=True)


def create(principal: Principal, body: Mapping[str, Any]) -> Any:
    """A new subscription, with its secret (which only this answer shows)."""
    asked = _checked(body, FIELDS, partial=False)
    if _count(principal.account_id) >= MAX_WEBHOOKS:
        raise Conflict(f"An account has at most {MAX_WEBHOOKS} webhooks; delete one first")
    webhook_id, now = next_id(principal.account_id, "webhook"), times.now()
    item = WebhookItem(
        account_pk(principal.account_id),
        webhook_sk(webhook_id),
        id=webhook_id,
        url=asked["url"],
        events=asked["events"],
        fields=asked["fields"],
        secret=signing.new_secret(),
        enabled=True,
        created_at=now,
        updated_at=now,
    )
    item.save(condition=WebhookItem.sk.does_not_exist())
    return item


def load(account_id: str, webhook_id: int) -> Any | None:
    try:
        return WebhookItem.get(account_pk(account_id), webhook_sk(webhook_id), consistent_read=True)
    except WebhookItem.DoesNotExist:
        return None


def get(principal: Principal, webhook_id: int) -> Any:
    item = load(principal.account_id, webhook_id)
    if item is None:
        raise NotFound("Webhook not found")
    return item


def of_account(account_id: str) -> list[Any]:
    """Every subscription of the account (at most MAX_WEBHOOKS: one page)."""
    return list(WebhookItem.query(account_pk(account_id), starting_with(WebhookItem.sk, WEBHOOK_MARK)))


def listing(principal: Principal, page: PageRequest) -> Page:
    pk, total = account_pk(principal.account_id), _count(principal.account_id)
    return query_page(WebhookItem, pk, starting_with(WebhookItem.sk, WEBHOOK_MARK), page, total)


def update(principal: Principal, webhook_id: int, body: Mapping[str, Any]) -> Any:
    """Change what it wants or where it goes; ``enabled: true`` sets a disabled one going again."""
    asked = _checked(body, EDITABLE, partial=True)
    item = get(principal, webhook_id)
    actions = [
        getattr(WebhookItem, name).remove() if value is None else getattr(WebhookItem, name).set(value)
        for name, value in asked.items()
        if name != "enabled"
    ]
    if "enabled" in asked:
        actions.append(WebhookItem.enabled.set(asked["enabled"]))
        if asked["enabled"]:  # a fresh start: its past failures are forgiven
            actions += [WebhookItem.disabled_reason.remove(), WebhookItem.failing_since.remove()]
    actions.append(WebhookItem.updated_at.set(times.now()))
    if not update_if(item, actions, WebhookItem.sk.exists()):
        raise NotFound("Webhook not found")
    return item


def rotate(principal: Principal, webhook_id: int) -> Any:
    """A new secret; the old one goes on signing beside it for SECRET_OVERLAP_HOURS, so that a
    receiver can move to the new one without missing a delivery."""
    item = get(principal, webhook_id)
    until = times.epoch() + SECRET_OVERLAP_HOURS * 3600
    actions = [
        WebhookItem.previous_secret.set(item.secret),
        WebhookItem.previous_until.set(until),
        WebhookItem.secret.set(signing.new_secret()),
        WebhookItem.updated_at.set(times.now()),
    ]
    if not update_if(item, actions, WebhookItem.secret == item.secret):
        raise Conflict("The secret was rotated meanwhile; rotate again if another is wanted")
    return item


def delete(principal: Principal, webhook_id: int) -> None:
    """Gone at once: deliveries still queued for it are dropped when their turn comes."""
    item = get(principal, webhook_id)
    item.delete()


def signing_secrets(item: Any) -> list[str]:
    """The secrets a delivery is signed with now: the current one, and a rotated one in its overlap."""
    current = [item.secret]
    if item.previous_secret and int(item.previous_until or 0) > times.epoch():
        current.append(item.previous_secret)
    return current


def wants(item: Any, entry: Any) -> bool:
    """Whether this subscription fires for the feed entry."""
    if not item.enabled or entry.type not in item.events:
        return False
    if item.fields and entry.type.endswith(".updated"):
        changed = {change["field"] for change in entry.changes or []}
        return bool(changed & set(item.fields))
    return True
