"""Paging: ``limit`` with ``offset``/``page`` (read and skip) or a sealed ``cursor`` (seek).

A cursor is HMAC-sealed with the account and a fingerprint of the query it came from, so a
cursor replayed by another account, on another query, or edited, is refused with 400.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crm.config import settings
from crm.errors import BadRequest
from crm.numbers import whole

DEFAULT_LIMIT, MAX_LIMIT = 20, 100
# offset and page read every skipped item; past this, a cursor is the way on.
MAX_OFFSET = 10_000
# Parameters that choose the page rather than the query.
PAGING_PARAMS = {"limit", "offset", "page", "cursor", "format", "key"}
_fallback_secret = secrets.token_bytes(32)


@dataclass(frozen=True)
class PageRequest:
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    after: str | None = None  # sort key of the last item of the previous page (from a cursor)
    fingerprint: str = ""


@dataclass
class Page:
    items: list[Any]
    offset: int
    limit: int
    total_count: int
    next_cursor: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _secret() -> bytes:
    # Without a configured secret (a bare local run) cursors only live as long as the process.
    return settings.cursor_secret or _fallback_secret


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def fingerprint(account_id: str, route: str, query: Mapping[str, str]) -> str:
    """Identifies a query: the account, the route and every parameter that filters."""
    filters = sorted((k, v) for k, v in query.items() if k not in PAGING_PARAMS)
    text = json.dumps([account_id, route, filters], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def seal(fp: str, position: int, after: str) -> str:
    payload = _b64(json.dumps({"q": fp, "p": position, "k": after}, separators=(",", ":")).encode())
    tag = _b64(hmac.new(_secret(), payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{tag}"


def unseal(token: str, fp: str) -> tuple[int, str]:
    try:
        payload, tag = token.split(".")
        expected = _b64(hmac.new(_secret(), payload.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(tag, expected):
            raise ValueError("bad seal")
        data = json.loads(_unb64(payload))
        if data["q"] != fp:
            raise ValueError("other query")
        return int(data["p"]), str(data["k"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BadRequest("cursor is invalid for this query; start again without it") from exc


def _whole(query: Mapping[str, str], name: str, low: int, high: int | None = None) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    number = whole(raw)
    if number is None or number < low or (high is not None and number > high):
        bound = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise BadRequest(f"{name} must be a whole number {bound}")
    return number


def page_request(query: Mapping[str, str], fp: str) -> PageRequest:
    # Above the most a page holds is served as that most, as Redmine does: its clients page on it.
    limit = min(_whole(query, "limit", 1) or DEFAULT_LIMIT, MAX_LIMIT)
    offset = _whole(query, "offset", 0, MAX_OFFSET)
    cursor = query.get("cursor") or None
    page = _whole(query, "page", 1)  # checked whatever wins, as every parameter is
    # A cursor wins over offset, and offset over page, as Redmine reads them: its clients send
    # offset on every request.
    if cursor:
        position, after = unseal(cursor, fp)
        return PageRequest(limit=limit, offset=position, after=after, fingerprint=fp)
    if page is not None and offset is None:
        deepest = MAX_OFFSET // limit + 1
        if page > deepest:
            raise BadRequest(f"page must be a whole number from 1 to {deepest}")
        offset = (page - 1) * limit
    return PageRequest(limit=limit, offset=offset or 0, fingerprint=fp)


def page_of(items: list[Any], page: PageRequest) -> Page:
    """A page of a list already whole in memory (small ones: an account's tags), cursor or offset."""
    shown = items[page.offset : page.offset + page.limit]
    end = page.offset + len(shown)
    next_cursor = seal(page.fingerprint, end, str(end)) if shown and end < len(items) else None
    return Page(items=shown, offset=page.offset, limit=page.limit, total_count=len(items), next_cursor=next_cursor)
