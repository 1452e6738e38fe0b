"""Whole numbers from client text: ASCII digits only, and few enough that int() is cheap.

``str.isdigit()`` accepts digits such as "²" that ``int()`` then refuses, and ``int()`` refuses
strings of more than 4,300 digits; either would turn client input into a 500.
"""

from __future__ import annotations

import re
from typing import Any

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


ID_END = 10**10  # ids are written with 10 digits in sort keys


def sent_id(value: Any) -> int | None:
    """An id as JSON sends it (a number) or XML and forms do (its digits); None if it is none."""
    number = value if type(value) is int else whole(value) if isinstance(value, str) else None
    return number if number is not None and 0 < number < ID_END else None
