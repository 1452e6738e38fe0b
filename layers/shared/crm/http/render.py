"""Turning views into response bodies: JSON with a singular root, or Rails-style XML."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from crm.http import xml
from crm.http.negotiation import JSON
from crm.paging import Page


def _json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, xml.Nil):
        return None
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def to_json(document: dict[str, Any]) -> str:
    return json.dumps(document, default=_json_default, ensure_ascii=False)


def one(fmt: str, root: str, view: dict[str, Any], beside: dict[str, Any] | None = None) -> str:
    """``{"contact": {...}}`` or ``<contact>...</contact>``; ``beside``: JSON keys next to the root."""
    return to_json({root: view, **(beside or {})}) if fmt == JSON else xml.dumps(root, view)


def many(fmt: str, root: str, item: str, page: Page, views: list[dict[str, Any]]) -> str:
    """A page: the items with offset, limit, total_count and next_cursor beside them."""
    paging = {"offset": page.offset, "limit": page.limit, "total_count": page.total_count}
    if fmt == JSON:
        return to_json({root: views, **paging, "next_cursor": page.next_cursor})
    return xml.dumps(root, views, {**paging, "next_cursor": page.next_cursor}, item=item)


def followed(fmt: str, root: str, item: str, views: list[dict[str, Any]], next_cursor: str | None) -> str:
    """A feed's page: its items and where to read on from (in XML, the root's attribute)."""
    if fmt == JSON:
        return to_json({root: views, "next_cursor": next_cursor})
    return xml.dumps(root, views, {"next_cursor": next_cursor}, item=item)


def listed(fmt: str, root: str, item: str, views: list[dict[str, Any]]) -> str:
    """A whole list, not a page: ``{"results": [...]}`` or ``<results type="array">``."""
    return to_json({root: views}) if fmt == JSON else xml.dumps(root, views, item=item)


def errors(fmt: str, messages: list[str], beside: dict[str, Any] | None = None) -> str:
    """``{"errors": [...]}`` or ``<errors>``; ``beside``: keys next to them (attributes in XML)."""
    if fmt == JSON:
        return to_json({"errors": messages, **(beside or {})})
    return xml.dumps("errors", messages, beside, item="error", typed=False)
