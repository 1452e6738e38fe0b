"""Request bodies: JSON, XML or form-encoded, chosen by Content-Type, capped before parsing.

The web form also takes multipart/form-data (its fields only: it uploads no files)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

from crm.config import settings
from crm.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from crm.http import xml

FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
MAX_FIELDS = 1000


def media_type(content_type: str | None) -> str | None:
    return content_type.split(";", 1)[0].strip().lower() if content_type else None


def _kind(media: str | None, data: bytes, multipart: bool) -> str:
    if media is None:  # no Content-Type: the first character tells
        return "xml" if data.lstrip().startswith(b"<") else "json"
    if media in ("application/json", "text/json") or media.endswith("+json"):
        return "json"
    if media in ("application/xml", "text/xml") or media.endswith("+xml"):
        return "xml"
    if media == FORM:
        return "form"
    if media == MULTIPART and multipart:
        return "multipart"
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
        value = json.loads(data.decode("utf-8"), parse_constant=_not_json)
    except UnicodeDecodeError:
        raise BadRequest("Malformed JSON: the body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise BadRequest(f"Malformed JSON at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise BadRequest(f"Body is nested more than {settings.max_xml_depth} levels deep") from None
    except ValueError as exc:  # NaN or Infinity (our message), or a number of over 4,300 digits
        said = str(exc) if "is not JSON" in str(exc) else "a number in the body is too long"
        raise BadRequest(f"Malformed JSON: {said}") from None
    if not isinstance(value, dict):
        raise BadRequest("The JSON body must be an object")
    return value


BRACKETS = re.compile(r"\[([^\]]*)\]")


def _form(data: bytes) -> list[tuple[str, str]]:
    try:
        # errors="strict": a %FF that is no UTF-8 is refused, not stored as U+FFFD.
        text = data.decode("utf-8")
        return parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise BadRequest("Malformed form body: a value is not UTF-8 text") from None
    except ValueError:  # more fields than max_num_fields
        raise BadRequest(f"A form has at most {MAX_FIELDS} fields") from None


def _multipart(data: bytes, content_type: str) -> list[tuple[str, str]]:
    """The text fields of a multipart/form-data body, in order."""
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + data)
    if not message.is_multipart() or message.defects:
        raise BadRequest("Malformed multipart body")
    pairs = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or part.is_multipart() or part.get_content_disposition() != "form-data":
            raise BadRequest("Malformed multipart body: every part is form-data with a name")
        # RFC 7578 has no transfer encodings; a part the parser found fault with is refused whole.
        if part.defects or "content-transfer-encoding" in part:
            raise BadRequest("Malformed multipart body")
        if part.get_filename() is not None:
            raise UnsupportedMediaType("This form takes text fields, not files")
        try:
            pairs.append((name, (part.get_payload(decode=True) or b"").decode("utf-8")))
        except UnicodeDecodeError:
            raise BadRequest("Malformed multipart body: a value is not UTF-8 text") from None
    if len(pairs) > MAX_FIELDS:
        raise BadRequest(f"A form has at most {MAX_FIELDS} fields")
    return pairs


def _nest(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Rails-style nesting: ``contact[first_name]=A`` and ``contact[custom_fields][][id]=1``."""
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
                if isinstance(node.get(key), (list, dict)):  # a list or record, then a text: which?
                    raise BadRequest(f"Malformed form field {name!r}")
                node[key] = value
            else:
                node = node.setdefault(key, [] if path[position + 1] == "" else {})
    return root


def parse(
    body: str | None,
    is_base64: bool,
    content_type: str | None,
    max_bytes: int | None = None,
    multipart: bool = False,
) -> tuple[str | None, dict[str, Any]]:
    """Returns (root element name for XML, fields); an empty body is an empty dict.

    ``max_bytes``: the largest body (default: the MAX_BODY_BYTES setting); ``multipart``: accept
    multipart/form-data."""
    if not body:
        return None, {}
    try:
        data = base64.b64decode(body, validate=True) if is_base64 else body.encode("utf-8")
    except (binascii.Error, ValueError) as exc:
        raise BadRequest("Body is not valid base64") from exc
    limit = max_bytes or settings.max_body_bytes
    if len(data) > limit:
        raise PayloadTooLarge(f"Request body is larger than {limit} bytes")
    kind = _kind(media_type(content_type), data, multipart)
    if not data.strip():
        return None, {}
    if kind == "xml":
        root, value = xml.loads(data, settings.max_xml_depth)
        if value in ("", None):  # an empty root, <contact/>: a body of no fields
            return root, {}
        if not isinstance(value, dict):  # a lone element: <first_name>A</first_name>
            value = {root: value}
            root = None
        return root, value
    if kind == "json":
        value = _json(data)
    else:
        value = _nest(_multipart(data, content_type or "") if kind == "multipart" else _form(data))
    _depth(value, settings.max_xml_depth)
    return None, value
