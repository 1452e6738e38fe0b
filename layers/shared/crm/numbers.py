"""Whole numbers from client text: ASCII digits only, and few enough that int() is cheap.

``str.isdigit()`` accepts digits such as "²" that ``int()`` then refuses, and ``int()`` refuses
strings of more than 4,300 digits; either would turn client input into a 500.
"""

from __future__ import annotations

import re

WHOLE = re.compile(r"[0-9]{1,16}")
INTEGER = re.compile(r"-?[0-9]{1,16}")


def whole(text: str) -> int | None:
    """The number ``text`` spells (surrounding spaces allowed), or None."""
    text = text.strip()
    return int(text) if WHOLE.fullmatch(text) else None


def integer(text: str) -> int | None:
    """Like ``whole``, with an optional minus sign (the range is the caller's to check)."""
    text = text.strip()
    return int(text) if INTEGER.fullmatch(text) else None
