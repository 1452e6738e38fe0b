"""schemathesis hooks for tests/test_schemathesis.py (loaded through SCHEMATHESIS_HOOKS).

An XML body's null is written as an empty element, as XML clients leave a value out. schemathesis's
own XML writer spells it ``null``, a text like any other, while its coverage phase takes null and
the empty string to be the same element; so a "null" it calls invalid would reach the API as a
valid text. Everything else is written by schemathesis's writer, unchanged.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.transport.serialization import serialize_xml


def _blank(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict):
        return {key: _blank(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_blank(item) for item in value]
    return value


@schemathesis.serializer("application/xml", "text/xml")
def xml_without_null(ctx: Any, value: Any) -> bytes:
    return serialize_xml(ctx.case, _blank(value))["data"]
