"""Request bodies: JSON, XML or form-encoded, chosen by Content-Type, capped before parsing."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any
from urllib.parse import parse_qsl

from crm.config import settings
from crm.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from crm.http import xml

FORM = "application/x-www-form-urlencoded"


def media_type(content_type: str | None) -> str | None:
    return content_type.split(";", 1)[0].strip().lower() if content_type else None


def _kind(media: str | None, data: bytes) -> str:
    if media is None:  # no Content-Type: the first character tells
        return "xml" if data.lstrip().startswith(b"<") else "json"
    if media in ("application/json", "text/json") or media.endswith("+json"):
        return "json"
    if media in ("application/xml", "text/xml") or media.endswith("+xml"):
        return "xml"
    if media == FORM:
        return "form"
    raise UnsupportedMediaType()


def _depth(value: Any, limit: int, depth: int = 1) -> None:
    if depth > limit:
        raise BadRequest(f"Body is nested more than {limit} levels deep")
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for child in children:
        _depth(child, limit, depth + 1)


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")  # Python's json reads NaN and Infinity; JSON has neither


def _json(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data, parse_constant=_not_json)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise BadRequest(f"Malformed JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise BadRequest("The JSON body must be an object")
    return value


BRACKETS = re.compile(r"\[([^\]]*)\]")


def _form(data: bytes) -> dict[str, Any]:
    """Rails-style nesting: ``contact[first_name]=A`` and ``contact[custom_fields][][id]=1``."""
    try:
        pairs = parse_qsl(data.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=1000)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"Malformed form body: {exc}") from exc
    root: dict[str, Any] = {}
    for name, value in pairs:
        head = name.split("[", 1)[0]
        path = [head, *BRACKETS.findall(name[len(head) :])]
        node: Any = root
        for position, key in enumerate(path):
            last = position == len(path) - 1
            if key == "":  # "[]": append, or start a new record when this key is already set
                if not isinstance(node, list):
                    raise BadRequest(f"Malformed form field {name!r}")
                if last:
                    node.append(value)
                    break
                if not node or path[position + 1] in node[-1]:
                    node.append({})
                node = node[-1]
                continue
            if not isinstance(node, dict):
                raise BadRequest(f"Malformed form field {name!r}")
            if last:
                node[key] = value
            else:
                node = node.setdefault(key, [] if path[position + 1] == "" else {})
    return root


def parse(
    body: str | None, is_base64: bool, content_type: str | None, max_bytes: int | None = None
) -> tuple[str | None, dict[str, Any]]:
    """Returns (root element name for XML, fields); an empty body is an empty dict.

    ``max_bytes``: the largest body (default: the MAX_BODY_BYTES setting)."""
    if not body:
        return None, {}
    try:
        data = base64.b64decode(body, validate=True) if is_base64 else body.encode("utf-8")
    except (binascii.Error, ValueError) as exc:
        raise BadRequest("Body is not valid base64") from exc
    limit = max_bytes or settings.max_body_bytes
    if len(data) > limit:
        raise PayloadTooLarge(f"Request body is larger than {limit} bytes")
    kind = _kind(media_type(content_type), data)
    if not data.strip():
        return None, {}
    if kind == "xml":
        root, value = xml.loads(data, settings.max_xml_depth)
        if not isinstance(value, dict):  # a lone element: <first_name>A</first_name>
            value = {root: value}
            root = None
        return root, value
    value = _json(data) if kind == "json" else _form(data)
    _depth(value, settings.max_xml_depth)
    return None, value
