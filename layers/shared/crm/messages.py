"""Messages: an email or text exchanged with a contact, in ``sent_at`` order (now, unless sent).

Stored, listed and changed by crm.activities; each channel and direction is a state of its own,
so ``channel=`` and ``direction=`` are key ranges, and their totals kept counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm.activities import Filter, Kind, contact_filter
from crm.errors import PayloadTooLarge
from crm.fields import MESSAGE_BODY_MAX, MESSAGE_FIELDS
from crm.storage.items import MessageItem
from crm.validation import query_value

FIELDS_BY_NAME = {field.name: field for field in MESSAGE_FIELDS}
CHANNELS, DIRECTIONS = FIELDS_BY_NAME["channel"].choices, FIELDS_BY_NAME["direction"].choices


def _state(channel: str, direction: str) -> str:
    return channel[0] + direction[0]  # email inbound: ei


def _check(sent: Mapping[str, Any]) -> None:
    body = sent.get("body")
    if isinstance(body, str) and len(body.encode()) > MESSAGE_BODY_MAX:
        raise PayloadTooLarge(f"A message's body is at most {MESSAGE_BODY_MAX} bytes")


MESSAGE = Kind(
    name="message",
    letter="M",
    model=MessageItem,
    fields=MESSAGE_FIELDS,
    required="body",
    order="sent_at",
    states=tuple(_state(channel, direction) for channel in CHANNELS for direction in DIRECTIONS),
    state_of=lambda message: _state(message.channel, message.direction),
    on_create=lambda now: {"sent_at": now},
    before_validation=_check,
)


def list_filter(query: Mapping[str, str]) -> Filter:
    """``GET /messages``'s filters: contact_id, channel and direction."""
    wanted = contact_filter(query)
    channels, directions = CHANNELS, DIRECTIONS
    if (query.get("channel") or "").strip():
        channels = (query_value(query, "channel", FIELDS_BY_NAME["channel"]),)
    if (query.get("direction") or "").strip():
        directions = (query_value(query, "direction", FIELDS_BY_NAME["direction"]),)
    if (channels, directions) != (CHANNELS, DIRECTIONS):
        wanted.states = tuple(_state(channel, direction) for channel in channels for direction in directions)
    return wanted
