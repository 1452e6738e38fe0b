"""schemathesis hooks for tests/test_schemathesis.py (loaded through SCHEMATHESIS_HOOKS).

XML bodies are written by schemathesis's own writer, with three changes, so that the request sent is
the one the check judges:

- A null has no XML form: no body's XML schema takes one, so a null is always what makes a case
  invalid. The writer spells it ``null`` and an empty element would be the empty string, both
  texts the API may take, so a case invalid for its null would reach the API valid. It is written
  as ``&#x0;``, which an XML parser refuses, as for the characters below.
- A character XML 1.0 cannot carry (a control character, U+FFFE, U+FFFF) is written as a character
  reference, which an XML parser refuses, as a client that sent it would be refused. The writer
  drops such characters, so a text it calls invalid for holding one would arrive valid.
- A body that is an array has no XML form: the writer puts its items one after another, several
  root elements, which no parser takes; but an empty one it writes as nothing, a request with no
  body, which a change without fields may be. So an empty array is written as two empty roots,
  refused as any other array.

A batch's operations are items of any shape (each answered on its own), which schemathesis's writer
cannot spell faithfully: a null, a list in a list, a number and the text of its digits all come out
alike. For it the body is written as Rails (and ActiveResource) write XML: ``type="array"`` for a
list, ``nil="true"`` for a null, ``type="integer"`` and ``type="boolean"``, a carriage return as
its character reference (a parser reads a bare one as a line feed), and every key as an element
name XML takes; so the API reads the very value the case holds.

``ast.parse`` is serialised: with two workers, hypothesis parses source files in both threads to
describe its filters, and CPython 3.11 shares the AST builder's recursion count between threads
(python/cpython#106905), so a run failed now and then with "AST constructor recursion depth
mismatch" inside schemathesis, not in the API.
"""

from __future__ import annotations

import ast
import re
import threading
import uuid
from typing import Any

import schemathesis
from schemathesis.transport.serialization import serialize_xml

_parse = ast.parse
_parsing = threading.Lock()


def _parse_alone(*args: Any, **kwargs: Any) -> Any:
    with _parsing:
        return _parse(*args, **kwargs)


ast.parse = _parse_alone

# Outside XML 1.0's Char production; spelt out here, so that the fuzz leans on the spec, not on the
# code under test (crm.http.xml keeps its own copy).
NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _prepared(value: Any, marker: str) -> Any:
    """Each null, and each character XML cannot carry, replaced by a marker naming its code point."""
    if value is None:
        return f"{marker}0{marker}"
    if isinstance(value, str):
        return NOT_IN_XML.sub(lambda found: f"{marker}{ord(found.group()):x}{marker}", value)
    if isinstance(value, dict):
        return {key: _prepared(item, marker) for key, item in value.items()}
    if isinstance(value, list):
        return [_prepared(item, marker) for item in value]
    return value


_NAME = re.compile(r"[^A-Za-z0-9_.-]")


def _tag(name: str) -> str:
    tag = _NAME.sub("_", name)
    return tag if tag[:1].isalpha() or tag[:1] == "_" else f"_{tag}"


def _text(value: str) -> str:
    escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#xD;")
    return NOT_IN_XML.sub(lambda found: f"&#x{ord(found.group()):x};", escaped)  # refused, as sent


def _element(name: str, value: Any) -> str:
    tag = _tag(name)
    if value is None:
        return f'<{tag} nil="true"></{tag}>'
    if isinstance(value, bool):
        return f'<{tag} type="boolean">{"true" if value else "false"}</{tag}>'
    if isinstance(value, int):
        return f'<{tag} type="integer">{value}</{tag}>'
    if isinstance(value, list):
        item = tag[:-1] if tag.endswith("s") and len(tag) > 1 else tag
        return f'<{tag} type="array">' + "".join(_element(item, entry) for entry in value) + f"</{tag}>"
    if isinstance(value, dict):
        return f"<{tag}>" + "".join(_element(str(key), entry) for key, entry in value.items()) + f"</{tag}>"
    return f"<{tag}>{_text(str(value))}</{tag}>"


@schemathesis.serializer("application/xml", "text/xml")
def xml_as_sent(ctx: Any, value: Any) -> bytes:
    if ctx.case.operation.path.startswith("/contacts/batch"):
        return ('<?xml version="1.0" encoding="UTF-8"?>' + _element("operations", value)).encode()
    marker = "X" + uuid.uuid4().hex  # letters and digits: the writer passes them unescaped
    value = ["", ""] if value == [] else value
    written = serialize_xml(ctx.case, _prepared(value, marker))["data"]
    return re.sub(f"{marker}([0-9a-f]+){marker}".encode(), rb"&#x\1;", written)
