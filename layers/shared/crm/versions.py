"""The version a write is conditional on, as a client asks for it: every resource with a
``version`` takes If-Match or a ``version`` in its body the same way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm.errors import Unprocessable
from crm.numbers import whole


def expected_version(body: Mapping[str, Any], if_match: int | None) -> int | None:
    """If-Match, else a ``version`` in the body, else none (the write is not conditional)."""
    if if_match is not None or body.get("version") in (None, ""):
        return if_match
    version = whole(str(body["version"]))
    if version is None:
        raise Unprocessable("Version must be a whole number")
    return version
