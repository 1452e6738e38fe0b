"""Rails-style XML: dasherized names, ``type`` attributes, ``nil="true"``; parsed only by defusedxml.

The one exception to dasherizing is ``custom_fields``/``custom_field``: the Redmine CRM document,
whose clients read them, spells them with underscores.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from crm.errors import BadRequest
from crm.numbers import integer


class Nil:
    """A missing value that still carries its XML type: ``<anniversary type="date" nil="true">``."""

    def __init__(self, xml_type: str | None) -> None:
        self.xml_type = xml_type


class Attributed(dict):
    """A record some of whose keys XML renders as attributes of its element; JSON sees a plain object.

    ``Attributed({"id": 1, "name": "License", "value": "abc"}, ("id", "name"))`` is, in a list
    named ``custom_fields``, ``<custom_field id="1" name="License"><value>abc</value></custom_field>``
    (the Redmine CRM document's shape). ``loads`` reads that back: attributes become fields, as
    text. An attribute whose value is None is left out.
    """

    def __init__(self, fields: Mapping[str, Any], attributes: Iterable[str]) -> None:
        super().__init__(fields)
        self.attributes = tuple(attributes)


# What XML 1.0 cannot carry (a value stored before the API refused it, or by another writer):
# written as U+FFFD, so every document this module writes parses.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value: Any) -> str:
    return NOT_XML.sub("\ufffd", str(value))


def _attribute(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return _text(value)


VERBATIM = frozenset({"custom_fields", "custom_field"})


def dasherize(name: str) -> str:
    return name if name in VERBATIM else name.replace("_", "-")


def underscore(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].replace("-", "_")  # namespaces are ignored


def singular(name: str) -> str:
    if name.endswith("ies"):
        return name[:-3] + "y"
    if name.endswith("s"):
        return name[:-1]
    return name


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, Nil) or value is None:
        if isinstance(value, Nil) and value.xml_type:
            element.set("type", value.xml_type)
        element.set("nil", "true")
    elif isinstance(value, bool):
        element.set("type", "boolean")
        element.text = "true" if value else "false"
    elif isinstance(value, int):
        element.set("type", "integer")
        element.text = str(value)
    elif isinstance(value, datetime):
        element.set("type", "datetime")
        element.text = value.isoformat()
    elif isinstance(value, date):
        element.set("type", "date")
        element.text = value.isoformat()
    elif isinstance(value, list):
        element.set("type", "array")
        child_name = singular(element.tag)
        for item in value:
            _fill(ET.SubElement(element, child_name), item)
    elif isinstance(value, Attributed):
        for key, item in value.items():
            if key not in value.attributes:
                _fill(ET.SubElement(element, dasherize(key)), item)
            elif item is not None and not isinstance(item, Nil):
                element.set(key, _attribute(item))
    elif isinstance(value, dict):
        for key, item in value.items():
            _fill(ET.SubElement(element, dasherize(key)), item)
    else:
        element.text = _text(value)


DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


def dumps(
    root: str,
    value: Any,
    attributes: dict[str, Any] | None = None,
    item: str | None = None,
    typed: bool = True,
) -> str:
    """A document whose root is ``root``; a list's elements are named ``item`` (default: singular).

    ``typed=False`` leaves ``type="array"`` off a root list, as Rails does for ``<errors>``.
    """
    element = ET.Element(dasherize(root))
    if isinstance(value, list) and item:
        if typed:
            element.set("type", "array")
        for entry in value:
            _fill(ET.SubElement(element, dasherize(item)), entry)
    else:
        _fill(element, value)
    for key, attr in (attributes or {}).items():
        if attr is not None:
            element.set(key, _text(attr))
    ET.indent(element)
    body = ET.tostring(element, encoding="unicode", short_empty_elements=False)
    return DECLARATION + body + "\n"


def element(name: str, value: Any, level: int = 1) -> str:
    """One element of a document written a piece at a time (an export), indented as ``dumps``
    indents it at that depth, on lines of its own."""
    written = ET.Element(dasherize(name))
    _fill(written, value)
    ET.indent(written, level=level)
    return "  " * level + ET.tostring(written, encoding="unicode", short_empty_elements=False) + "\n"


def _value(element: ET.Element, depth: int, max_depth: int) -> Any:
    if depth > max_depth:
        raise BadRequest(f"XML is nested more than {max_depth} levels deep")
    if element.get("nil") == "true":
        return None
    xml_type = element.get("type")
    children = list(element)
    if xml_type == "array":
        return [_value(child, depth + 1, max_depth) for child in children]
    attributes = {underscore(k): v for k, v in element.attrib.items() if k not in ("type", "nil")}
    text = element.text or ""
    if children or attributes:
        record: dict[str, Any] = dict(attributes)
        for child in children:
            name, item = underscore(child.tag), _value(child, depth + 1, max_depth)
            if name in record:  # a repeated element without type="array" still means a list
                previous = record[name]
                record[name] = [*previous, item] if isinstance(previous, list) else [previous, item]
            else:
                record[name] = item
        if not children and text.strip():
            record["value"] = text
        return record
    if xml_type == "integer" and integer(text) is not None:
        return integer(text)
    if xml_type == "boolean" and text.strip() in ("true", "false"):
        return text.strip() == "true"
    return text


def value_of(element: ET.Element, max_depth: int) -> Any:
    """An element's value as a body's (what ``loads`` gives for a root; imports read each contact so)."""
    return _value(element, 1, max_depth)


def loads(data: bytes, max_depth: int) -> tuple[str, Any]:
    """Parse a document; returns (root name, value). DTDs, entities and external references are 400."""
    try:
        # forbid_dtd: defusedxml's defaults still accept a DTD that names an external file.
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise BadRequest("XML with a DTD, entities or external references is not accepted") from exc
    except ET.ParseError as exc:
        line, column = exc.position
        raise BadRequest(f"Malformed XML at line {line}, column {column + 1}") from None
    return underscore(root.tag), _value(root, 1, max_depth)
