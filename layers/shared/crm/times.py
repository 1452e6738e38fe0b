"""Dates and datetimes as the API writes them: ISO 8601, UTC, with an explicit offset."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime


def now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def epoch() -> int:
    """Seconds since 1970, as the table's TTL reads ``expires_at``."""
    return int(time.time())


def iso(epoch_seconds: int) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat()


def parse_date(text: str) -> str:
    """Return ``text`` as YYYY-MM-DD or raise ValueError."""
    return date.fromisoformat(text.strip()).isoformat()


def parse_datetime(text: str) -> str:
    """Return ``text`` as an ISO datetime in UTC or raise ValueError. A bare date means midnight UTC."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()
