"""Dates and datetimes as the API writes them: ISO 8601, UTC, with an explicit offset."""

from __future__ import annotations

from datetime import UTC, date, datetime


def now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def parse_date(text: str) -> str:
    """Return ``text`` as YYYY-MM-DD or raise ValueError."""
    return date.fromisoformat(text.strip()).isoformat()


def parse_datetime(text: str) -> str:
    """Return ``text`` as an ISO datetime in UTC or raise ValueError. A bare date means midnight UTC."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()
