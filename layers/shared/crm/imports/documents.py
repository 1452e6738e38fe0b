"""JSON and XML files as contact bodies, one contact at a time, never the whole document in memory.

JSON: an array of contacts, or ``{"contacts": [...]}`` (the API's own list); each contact flat or
wrapped in ``{"contact": {...}}``. XML: the API's own ``<contacts type="array">`` document
(ContactHero's shape), parsed only by defusedxml, with DTDs, entities and external references
refused. A row's number is the contact's place in the file, from 1.
"""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import IO, Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from crm.fields import CONTACT_SHOWN, READ_ONLY
from crm.http.xml import underscore, value_of
from crm.imports import Row

CHUNK = 64 * 1024
WHITESPACE = " \t\r\n"


class NotThisFormat(ValueError):
    """The file is not what its format says; the message says what is wrong, for the import."""


# What a contact's representation shows that no client sets: an exported file carries it, and
# passes it over when imported again (a new contact gets ids and times of its own).
PASSED_OVER = frozenset(field.name for field in READ_ONLY) | CONTACT_SHOWN


def _row(number: int, item: Any) -> Row:
    if isinstance(item, dict) and set(item) == {"contact"} and isinstance(item["contact"], dict):
        item = item["contact"]
    if not isinstance(item, dict):
        return Row(number, {}, error=f"Contact {number} is not an object")
    return Row(number, {name: value for name, value in item.items() if name not in PASSED_OVER})


class _Chars:
    """A text stream read in chunks, with what has been read and not yet used."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict")
        self.buffer = ""

    def more(self) -> bool:
        chunk = self.text.read(CHUNK)
        self.buffer += chunk
        return bool(chunk)

    def skip_space(self) -> str:
        """The next character that is not whitespace ("" at the end)."""
        while True:
            self.buffer = self.buffer.lstrip(WHITESPACE)
            if self.buffer or not self.more():
                return self.buffer[:1]

    def expect(self, char: str, what: str) -> None:
        if self.skip_space() != char:
            raise NotThisFormat(f"Not a JSON {what}: expected {char!r}")
        self.buffer = self.buffer[1:]

    def value(self, decoder: json.JSONDecoder) -> Any:
        """The next JSON value, reading on until it is whole."""
        self.skip_space()
        while True:
            try:
                value, end = decoder.raw_decode(self.buffer)
            except json.JSONDecodeError as exc:
                if self.more():
                    continue
                raise NotThisFormat(f"Not valid JSON: a contact does not parse (at its character {exc.pos})") from None
            # A number at the end of the buffer may go on in the next chunk.
            if end < len(self.buffer) or not self.more():
                self.buffer = self.buffer[end:]
                return value


def json_rows(stream: IO[bytes]) -> Iterator[Row]:
    chars, decoder = _Chars(stream), json.JSONDecoder()
    first = chars.skip_space()
    if first == "{":  # {"contacts": [...]}: the key must come first, or the document is read whole
        chars.buffer = chars.buffer[1:]
        if chars.value(decoder) != "contacts":
            raise NotThisFormat('A JSON object of contacts must start with its "contacts" key')
        chars.expect(":", "object of contacts")
    elif first != "[":
        raise NotThisFormat('Not a JSON array of contacts, nor an object with one under "contacts"')
    chars.expect("[", "array of contacts")
    number = 0
    if chars.skip_space() == "]":
        return
    while True:
        number += 1
        yield _row(number, chars.value(decoder))
        following = chars.skip_space()
        if following == "]":
            return
        if following != ",":
            raise NotThisFormat(f"Not valid JSON after contact {number}: expected ',' or ']'")
        chars.buffer = chars.buffer[1:]


def xml_rows(stream: IO[bytes], max_depth: int = 8) -> Iterator[Row]:
    """Each ``<contact>`` under the root, as the API reads a contact body; each is dropped once read."""
    number, depth, root = 0, 0, None
    try:
        for event, element in iterparse(stream, events=("start", "end"), forbid_dtd=True):
            if event == "start":
                depth += 1
                if depth == 1:
                    root = element
                    if underscore(element.tag) != "contacts":
                        raise NotThisFormat('Not a document of contacts: its root must be <contacts type="array">')
                continue
            depth -= 1
            if depth == 1 and underscore(element.tag) == "contact":
                number += 1
                yield _row(number, value_of(element, max_depth))
                root.clear()  # what was read is let go: memory stays that of one contact
    except NotThisFormat:
        raise
    except DefusedXmlException:
        refused = "DTDs, entities and external references are refused"
        raise NotThisFormat(f"Not a valid XML document of contacts: {refused}") from None
    except ET.ParseError as exc:
        line, column = exc.position
        raise NotThisFormat(f"Not a valid XML document of contacts at line {line}, column {column + 1}") from None
    except Exception:  # anything else the parser found: a message, not a traceback
        raise NotThisFormat("Not a valid XML document of contacts") from None
