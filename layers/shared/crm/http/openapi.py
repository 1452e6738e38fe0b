"""OpenAPI fragments for an operation: parameters, request body and responses.

Handlers parse their own input (Powertools' validation reads only JSON bodies), so the document
is built from the same tables the code validates with, and handed to Powertools per route.
"""

from __future__ import annotations

from typing import Any

from crm.fields import CONTACT_FIELDS, DIGITS_MAX, INT_MAX, LIST_ITEM_MAX, STRING_MAX, Field
from crm.http.dialects.redmine import ADDRESS, ARRAYS, LISTS, VISIBILITY
from crm.index import PHONE_FIELDS
from crm.paging import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET

# What no text field takes (crm.fields.CONTROL), and the whitespace a blank value is made of
# (Python's, which strips it), spelt out so that every JSON Schema validator reads them alike.
_NOT_TEXT = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufffe\uffff"
_SPACE = r"\t\n\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_NOT_LINE = _NOT_TEXT + r"\n\r"
TEXT = f"^[^{_NOT_TEXT}]*$"
FILLED = f"^[^{_NOT_TEXT}]*[^{_NOT_TEXT}{_SPACE}][^{_NOT_TEXT}]*$"  # not blank
LINE = f"^[^{_NOT_LINE}]*$"  # a name, a number: no line break
FILLED_LINE = f"^[^{_NOT_LINE}]*[^{_NOT_LINE}{_SPACE}][^{_NOT_LINE}]*$"
_ADDRESS = f"[^@{_NOT_TEXT}{_SPACE}]+"
_LINE_SPACE = _SPACE.replace(r"\n\r", "")
EMAIL = f"^[{_LINE_SPACE}]*({_ADDRESS}@{_ADDRESS}[{_LINE_SPACE}]*)?$"  # blank, or one address

KIND_SCHEMAS: dict[str, dict[str, Any]] = {
    "integer": {"type": "integer", "minimum": 0, "maximum": INT_MAX},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
    "email": {"type": "string", "maxLength": 255, "pattern": EMAIL},
    "text": {"type": "string", "maxLength": 32000},
    "tags": {"type": "array", "items": {"type": "string", "maxLength": LIST_ITEM_MAX}},
    "ids": {"type": "array", "items": {"type": "string", "maxLength": LIST_ITEM_MAX}},
    "records": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "value": {"type": "string"}},
        },
    },
}


def line(max_length: int = 255) -> dict[str, Any]:
    """One line of text (a name, a subject): crm.validation refuses a line break in it."""
    return {"type": "string", "maxLength": max_length, "pattern": LINE}


# A request body's field marked so takes a whole number as its digits (crm.validation: the minimal
# API sends phones as numbers); a body's schema says so (``accepted``), an answer's never carries it.
_TAKES_NUMBERS = "x-takes-numbers"
NUMBER_AS_TEXT = {"type": "integer", "minimum": -DIGITS_MAX, "maximum": DIGITS_MAX}
# What a form, an XML element or JSON sends as "no value" for a field whose kind is not text (an
# integer, a boolean, a date): the empty string, which crm.validation takes as not sent.
NO_VALUE = {"type": "string", "maxLength": 0}
_NOT_TEXT_KINDS = ("integer", "boolean", "date", "datetime")
_SENT_AS_TEXT = "x-sent-as-text"  # marks such a field (its kind) until a body's schema says so
_NULL_IS_DEFAULT = "x-null-is-default"  # a field with a default: null sets it back to that
_LISTED = "x-listed"  # a list of texts (tags, project ids): also comma-separated text, or a number
_MARKS = (_TAKES_NUMBERS, _SENT_AS_TEXT, _NULL_IS_DEFAULT, _LISTED)
# What crm.validation also takes for an integer (its digits as text) and for a boolean (true,
# false, 1 or 0 as text, or the numbers 1 and 0).
DIGITS_TEXT = {"type": "string", "pattern": "^[0-9]{1,15}$"}
BOOLEAN_NUMBERS = {"enum": [0, 1]}


def numbers_too(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` of a text that a body may also send as a whole number (crm.validation takes its
    digits); a body's schema says so, an answer's does not."""
    return {**schema, _TAKES_NUMBERS: True}


def _schema(field: Field, nullable: bool) -> dict[str, Any]:
    """A field's schema; ``nullable``: it may be null (OpenAPI 3.1 says so with its type)."""
    schema = dict(KIND_SCHEMAS.get(field.kind, line()))
    if field.choices:
        schema = {"type": "string", "enum": list(field.choices)}
    if field.max_length:
        schema["maxLength"] = field.max_length
    if field.kind in ("string", "text") and not field.choices and field.writable:
        schema[_TAKES_NUMBERS] = True
    if field.kind in _NOT_TEXT_KINDS and field.writable:
        schema[_SENT_AS_TEXT] = field.kind
    if field.default is not None and field.writable:
        schema[_NULL_IS_DEFAULT] = True
    if field.kind in ("tags", "ids") and field.writable:
        schema[_LISTED] = True
    if field.default is not None and not isinstance(field.default, tuple):
        schema["default"] = field.default
    if not field.writable:
        schema["readOnly"] = True
    return or_null(schema) if nullable else schema


def or_null(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema``, or null. OpenAPI 3.1 has no ``nullable``; Powertools' models take no list of
    types, so null is the second of ``anyOf`` (the annotations stay at the top)."""
    notes = {k: schema[k] for k in ("readOnly", "description", "default", *_MARKS) if k in schema}
    kept = {k: v for k, v in schema.items() if k not in notes}
    return {"anyOf": [kept, {"type": "null"}], **notes}


# Fields every stored resource has a value for; any other with no default may be null (sent so,
# it is emptied; shown so, it has none).
NEVER_NULL = frozenset({"id", "user_id", "contact_id", "created_at", "updated_at", "version", "status", "content_type"})


def record(fields: tuple[Field, ...], *required: str) -> dict[str, Any]:
    """The schema of a resource from its field table."""
    properties = {
        field.name: _schema(field, field.default is None and field.name not in {*required, *NEVER_NULL})
        for field in fields
    }
    return {"type": "object", "properties": properties, "required": list(required)}


CONTACT = record(CONTACT_FIELDS, "first_name")
_CONTACT_ID = {"oneOf": [{"type": "string", "pattern": TEXT}, {"type": "integer"}], "description": "The contact's id"}
# The minimal JSON API's edit and delete bodies.
MINIMAL_DELETE = {
    "anyOf": [
        {"type": "object", "properties": {name: _CONTACT_ID}, "required": [name]}
        for name in ("contact_id", "contactID")
    ]
}
CONTACT["properties"]["photo_url"] = {
    "type": "string",
    "format": "uri",
    "readOnly": True,
    "description": "Downloads the current photo for a few minutes; absent without one",
}
CONTACT["properties"]["phones_e164"] = {
    "type": "object",
    # Each one read-only too: a form or XML body names them one by one (phones_e164[mobile_phone]).
    "properties": {
        name: {"type": "string", "pattern": r"^\+[1-9][0-9]{1,14}$", "readOnly": True} for name in PHONE_FIELDS
    },
    "additionalProperties": False,
    "readOnly": True,
    "description": "Each phone number that parses, in E.164, read in the account's default region; absent without one",
}
for _name, (_slots, _key) in ARRAYS.items():
    # A phone may be sent as a whole number, as the phone fields may (crm.validation takes its digits).
    _entry = numbers_too({"type": "string"}) if _name == "phones" else {"type": "string"}
    CONTACT["properties"][_name] = {
        "type": "array",
        # As the plugin prints them too, {"address": ...}; a blank or null entry is no value.
        "items": {
            "anyOf": [
                _entry,
                {"type": "null"},
                {
                    "type": "object",
                    "properties": {_key: {"anyOf": [_entry, {"type": "null"}]}},
                    "additionalProperties": False,
                },
            ]
        },
        "maxItems": len(_slots),
        "description": f"Redmine CRM's list of {_name}: {', '.join(_slots)} in that order. Sent, it fills"
        " them and empties the rest, unless the body names one of them itself.",
    }
ERRORS = {
    "type": "object",
    "properties": {
        "errors": {"type": "array", "items": {"type": "string"}},
        "merged_into": {"type": "integer", "description": "A merged contact's 404: the contact it is now part of"},
    },
}
ERROR_STATUSES = (
    (400, "Malformed request or parameters"),
    (401, "No key, or an unknown or revoked one"),
    (403, "The key's scope does not allow this"),
    (404, "No such resource in this account"),
    (406, "Neither JSON nor XML is acceptable"),
    (422, "Invalid, unknown or read-only fields or parameters"),
    (503, "Storage is busy; retry after Retry-After seconds"),
)
BODY_ERROR_STATUSES = (
    (409, "A stale If-Match or version"),
    (413, "Body too large"),
    (415, "Unsupported Content-Type"),
)


ID_SCHEMA = {"type": "integer", "minimum": 1}
# Path parameters that are not our integer ids: a project is an id or an identifier such as "support".
PATH_SCHEMAS = {
    "project_id": {"type": "string", "maxLength": 64},
    # An upsert's value, as the contact field it fills would take it.
    "email": {**KIND_SCHEMAS["email"], "pattern": f"^{_ADDRESS}@{_ADDRESS}$"},
    "external_id": {**line(), "pattern": FILLED_LINE},
    "delivery_id": {"type": "string", "pattern": "^[0-9]{1,10}-[0-9]{1,40}$"},  # its feed entry's place
}


def query(
    name: str,
    description: str,
    schema: dict[str, Any] | None = None,
    required: bool = False,
    empty_is_absent: bool = True,
) -> dict[str, Any]:
    """A query parameter. An optional one sent empty (``?limit=``) is as if it were not sent,
    unless not ``empty_is_absent``."""
    schema = schema or {"type": "string"}
    typed = schema.get("type") != "string" or "format" in schema or "enum" in schema
    if not required and empty_is_absent and typed:
        if "enum" in schema:
            schema = {**schema, "enum": [*schema["enum"], ""]}
        else:
            schema = {"anyOf": [schema, {"type": "string", "maxLength": 0}]}
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


CURSOR = r"^([A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43})?$"  # as crm.paging seals it (empty: none)
PAGING = (
    query(
        "limit",
        f"Items per page (default {DEFAULT_LIMIT}); above {MAX_LIMIT} is served as {MAX_LIMIT}, as Redmine does.",
        {"type": "integer", "minimum": 1},
    ),
    query(
        "offset",
        "Items to skip (read and skipped); with a cursor, ignored.",
        {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET},
    ),
    query(
        "page",
        f"Page number from 1: offset = (page - 1) * limit, at most {MAX_OFFSET}; with an offset or a cursor, ignored.",
        {"type": "integer", "minimum": 1},
    ),
    query(
        "cursor",
        "next_cursor of the previous page: seeks, so deep pages cost no more. It is sealed to the account and"
        " the query, so any other is a 400.",
        {"type": "string", "pattern": CURSOR},
    ),
)
FORMAT = query("format", "json or xml; a .json or .xml suffix on the path does the same.", {"enum": ["json", "xml"]})


def names(choices: tuple[str, ...]) -> dict[str, Any]:
    """A comma-separated list of some of ``choices`` (the API also lets spaces around them be)."""
    one = f"({'|'.join(choices)})"
    return {"type": "string", "pattern": f"^({one}(,{one})*)?$"}


def _content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}, "application/xml": {"schema": schema}}


def operation(
    path: str,
    method: str,
    summary: str,
    path_params: list[str],
    query_params: tuple[dict[str, Any], ...],
    body: dict[str, Any] | None,
    returns: dict[str, Any] | None,
    statuses: tuple[int, ...],
    public: bool = False,
    root: str | None = None,
    cards: bool = False,
    refusals: tuple[tuple[int, str], ...] = (),
) -> tuple[dict[str, Any], dict[int, Any]]:
    """(operation fields for Powertools' openapi_extensions, responses for its ``responses``).

    ``public``: no API key (the web form, whose form key is a field of its form body); ``cards``:
    it also answers a vCard (``.vcf`` or ``Accept: text/vcard``); ``refusals``: errors of its own
    beside every operation's, as (status, when)."""
    params = [
        {"name": name, "in": "path", "required": True, "schema": PATH_SCHEMAS.get(name, ID_SCHEMA)}
        for name in path_params
    ]
    doc: dict[str, Any] = {"parameters": [*params, FORMAT, *query_params]}
    if public:
        doc["security"] = []
    if body is not None and body.get("type") == "array":
        # A list of items each answered on its own (a batch): any item is taken, so JSON Schema has
        # nothing to say of one. In XML the list is the root and each item an element
        # (<operations type="array"> of <operation>s): any value XML carries (XML_VALUE_REF).
        listed = {k: v for k, v in body.items() if k != "items"}
        as_xml = {**listed, "items": {"anyOf": [{"$ref": XML_VALUE_REF}]}, "xml": {"name": root, "wrapped": True}}
        doc["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": wrapped(root or "", body, strict=True)},
                "application/xml": {"schema": as_xml},
            },
        }
    elif body is not None:
        taken = accepted(body, partial=method in ("PUT", "PATCH"))
        fields = as_form(taken)
        form = {"schema": fields}
        forms = {"application/x-www-form-urlencoded": form, **({"multipart/form-data": form} if public else {})}
        content = forms if fields is not None else {}
        root = root or _root(returns)
        if not public:
            as_json = taken if root is None else {"anyOf": [taken, wrapped(root, taken, strict=True)]}
            content = {"application/json": {"schema": as_json}, **content}
            elements = as_form(taken, xml=True)
            if elements is not None:
                content["application/xml"] = {"schema": {**elements, "xml": {"name": root or "data"}}}
        # A body with nothing required may be left out: an empty change changes nothing.
        doc["requestBody"] = {"required": _needs_fields(taken), "content": content}
    errors = ERROR_STATUSES + (BODY_ERROR_STATUSES if body is not None or method != "GET" else ()) + refusals
    answer = {"description": summary, **({"content": _content(unmarked(returns))} if returns else {})}
    if cards:
        answer["content"]["text/vcard"] = {"schema": {"type": "string", "description": VCARD_TEXT}}
    responses: dict[int, Any] = dict.fromkeys(statuses, answer)
    responses.update({code: {"description": reason, "content": _content(ERRORS)} for code, reason in errors})
    return doc, responses


VCARD_TEXT = "A vCard 4.0 (RFC 6350), or 3.0 with ?version=3.0; its UID is the contact's, REV its updated_at"


def wrapped(root: str, schema: dict[str, Any], strict: bool = False) -> dict[str, Any]:
    """``{"<root>": schema}``; ``strict``: a request's, which has its root and nothing beside it."""
    if strict:
        return {"type": "object", "properties": {root: schema}, "required": [root], "additionalProperties": False}
    return {"type": "object", "properties": {root: schema}}


def _needs_fields(schema: dict[str, Any]) -> bool:
    if "anyOf" in schema:
        return all(_needs_fields(option) for option in schema["anyOf"])
    return bool(schema.get("required"))


def _root(returns: dict[str, Any] | None) -> str | None:
    """The root of an operation's answer (``contact``), which its request body may come in too."""
    properties = (returns or {}).get("properties") or {}
    return next(iter(properties)) if len(properties) == 1 else None


def texts(schema: dict[str, Any], filled: bool = False) -> dict[str, Any]:
    """``schema`` held to what the API takes as text: no control characters, and ``filled``: not
    blank (a required field's). Strings with a format, an enum or a pattern keep theirs."""
    if any(mark in schema for mark in _MARKS):
        return _taking(schema, filled)
    if "anyOf" in schema:
        return {**schema, "anyOf": [texts(option, filled) for option in schema["anyOf"]]}
    kind = schema.get("type")
    if kind == "string" and schema.get("pattern") == LINE and filled:
        return {**schema, "pattern": FILLED_LINE}
    if kind == "string" and not {"format", "enum", "pattern"} & schema.keys():
        return {**schema, "pattern": FILLED if filled else TEXT}
    if kind == "array" and isinstance(schema.get("items"), dict):
        return {**schema, "items": texts(schema["items"])}
    if kind == "object" and "properties" in schema:
        required = set(schema.get("required") or ())
        properties = {name: texts(value, name in required) for name, value in schema["properties"].items()}
        return {**schema, "properties": properties}
    return schema


def _taking(schema: dict[str, Any], filled: bool) -> dict[str, Any]:
    """A marked field's schema in a body, as crm.validation reads it: a text also as a whole
    number; an integer also as its digits, a boolean also as text or as 1 and 0, and, unless
    ``filled`` (a required field), the empty string as no value for either, and for a date; null
    for a field with a default (it goes back to it)."""
    plain = unmarked(schema)
    kind = schema.get(_SENT_AS_TEXT)
    notes = {k: plain.pop(k) for k in ("readOnly", "writeOnly", "description", "default") if k in plain}
    options = plain.pop("anyOf", None) or [plain]
    options = [texts(option, filled) if option.get("type") != "null" else option for option in options]
    nulls = [option for option in options if option.get("type") == "null"]
    kept = [option for option in options if option.get("type") != "null"]
    if schema.get(_LISTED):
        entry = {"anyOf": [LIST_ITEM, NUMBER_AS_TEXT]}
        kept = [{**option, "items": entry} if option.get("type") == "array" else option for option in kept]
        kept += [LIST_TEXT, NUMBER_AS_TEXT]
    if schema.get(_TAKES_NUMBERS):
        kept.append(NUMBER_AS_TEXT)
    if kind == "integer":
        kept.append(DIGITS_TEXT)
    if kind == "boolean":
        kept += [BOOLEAN_AS_TEXT, BOOLEAN_NUMBERS]  # its text takes the empty string already
    elif kind is not None and not filled:
        kept.append(NO_VALUE)
    if schema.get(_NULL_IS_DEFAULT) and not filled and not nulls:
        nulls.append({"type": "null"})
    options = [*kept, *nulls]
    return {**(options[0] if len(options) == 1 else {"anyOf": options}), **notes}


def unmarked(schema: Any) -> Any:
    """``schema`` without the marks a body's schema reads (an answer's schema shows none)."""
    if isinstance(schema, list):
        return [unmarked(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    return {key: unmarked(value) for key, value in schema.items() if key not in _MARKS}


def accepted(schema: dict[str, Any], partial: bool = False) -> dict[str, Any]:
    """The body a write takes, from its resource's schema: its fields and no others (an unknown
    one is a 422), held to the API's text rules; ``partial``: a change, which needs none of them."""
    if "anyOf" in schema:
        return {**schema, "anyOf": [accepted(option, partial) for option in schema["anyOf"]]}
    strict = {**texts(schema), "additionalProperties": False}
    if partial:
        strict.pop("required", None)
    return strict


def _as_sent_text(schema: dict[str, Any]) -> dict[str, Any]:
    """A field's schema where every value is text (a form field, an XML element): no null (an
    empty value clears it), and no number beside a text (its digits are text)."""
    if "anyOf" not in schema:
        return schema
    dropped = (NUMBER_AS_TEXT, BOOLEAN_NUMBERS, DIGITS_TEXT, BOOLEAN_AS_TEXT)  # as text, another holds them
    options = [option for option in schema["anyOf"] if option.get("type") != "null" and option not in dropped]
    if LIST_TEXT in options:  # a list is sent as its comma-separated text
        options = [LIST_TEXT]
    elif any(option.get("type") == "string" for option in options):  # or as the text it also takes
        options = [option for option in options if option.get("type") != "array"]
    rest = {k: v for k, v in schema.items() if k != "anyOf"}
    return {**options[0], **rest} if len(options) == 1 else {**rest, "anyOf": options}


# A boolean sent as text (a form field, an XML element), as crm.validation reads it: true, false, 1
# or 0 in any case, with the whitespace str.strip() takes around it; empty is no value.
_STRIPPED_CONTROLS = r"\u000b\u000c\u001c-\u001f"  # which XML 1.0 cannot carry
_STRIPPED = _SPACE + _STRIPPED_CONTROLS
BOOLEAN_TEXT = f"^([{_STRIPPED}]*([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|1|0)[{_STRIPPED}]*)?$"
BOOLEAN_AS_TEXT = {"type": "string", "pattern": BOOLEAN_TEXT}
# Text that str.strip() leaves empty: a filter sent so is as if not sent.
BLANK = {"type": "string", "pattern": f"^[{_STRIPPED}]*$"}


def _kept(excluded: str, longest: int) -> str:
    """What str.strip() keeps of a text that is not blank: 1 to ``longest`` characters, neither
    ``excluded`` nor _NOT_TEXT, the first and the last not whitespace."""
    inner, edge = f"[^{_NOT_TEXT}{excluded}]", f"[^{_NOT_TEXT}{excluded}{_STRIPPED}]"
    return f"{edge}({inner}{{0,{longest - 2}}}{edge})?"


def _trimmed(excluded: str, longest: int) -> str:
    """A text without ``excluded`` characters (nor _NOT_TEXT) that str.strip() trims to at most
    ``longest`` characters, or to nothing."""
    return f"[{_STRIPPED}]*({_kept(excluded, longest)})?[{_STRIPPED}]*"


def filled(longest: int) -> dict[str, Any]:
    """A text that str.strip() trims to 1 to ``longest`` characters."""
    return {"type": "string", "pattern": f"^[{_STRIPPED}]*{_kept('', longest)}[{_STRIPPED}]*$"}


_BREAKS = r"\n\r"
_IN_LINE = _STRIPPED.replace(_BREAKS, "")  # the whitespace str.strip() takes that breaks no line


def lines(longest: int, most: int) -> dict[str, Any]:
    """A text area's lines (LF, CR or CRLF apart): at most ``most`` that are not blank, each
    trimmed to at most ``longest`` characters; blank lines are left out."""
    line = _kept(_BREAKS, longest)
    pattern = f"^[{_STRIPPED}]*({line}([{_IN_LINE}]*[{_BREAKS}][{_STRIPPED}]*{line}){{0,{most - 1}}})?[{_STRIPPED}]*$"
    return {"type": "string", "pattern": pattern}


def _separated(part: str, most: int | None = None) -> str:
    """Comma-separated ``part``s (at most ``most`` of them)."""
    return f"^{part}(,{part}){{0,{most - 1}}}$" if most else f"^{part}(,{part})*$"


# A list's entries as crm.validation reads them: each trimmed, then at most LIST_ITEM_MAX long;
# blank ones are left out. Sent as text, the entries are separated by commas.
LIST_ITEM = {"type": "string", "pattern": f"^{_trimmed('', LIST_ITEM_MAX)}$"}
LIST_TEXT = {"type": "string", "pattern": _separated(_trimmed(",", LIST_ITEM_MAX))}


def _as_text(schema: dict[str, Any], xml: bool) -> dict[str, Any]:
    """A value as the text a form field or an XML element carries: a number's digits (up to 15,
    which every client holds exactly), a boolean as BOOLEAN_TEXT. ``xml``: a pattern no longer
    takes the controls str.strip() trims, which an XML document cannot carry (it is malformed: 400)."""
    notes = {k: v for k, v in schema.items() if k in ("description", "readOnly", "writeOnly")}
    if "anyOf" in schema:
        return {**schema, "anyOf": [_as_text(option, xml) for option in schema["anyOf"]]}
    if schema.get("type") == "boolean":
        return _as_text({**BOOLEAN_AS_TEXT, **notes}, xml)
    if schema.get("type") == "integer":
        first = "1-9" if schema.get("minimum", 0) >= 1 else "0-9"
        return {"type": "string", "pattern": f"^[{first}][0-9]{{0,14}}$", **notes}
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        return {**schema, "items": _as_text(schema["items"], xml)}
    if xml and isinstance(schema.get("pattern"), str):
        return {**schema, "pattern": schema["pattern"].replace(_STRIPPED_CONTROLS, "")}
    return schema


def as_form(schema: dict[str, Any], xml: bool = False) -> dict[str, Any] | None:
    """A body's schema as form fields, or None if a form cannot send it: an object's fields are
    named as Rails nests them (``contact[first_name]``), no field is null (an empty one clears
    it), a list of texts is comma-separated text, and lists of records are left to JSON and XML.
    ``xml``: as elements of text, where an object's fields are its child elements."""
    if "anyOf" in schema:
        options = [form for form in (as_form(option, xml) for option in schema["anyOf"]) if form is not None]
        return {**schema, "anyOf": options} if options else None
    properties: dict[str, Any] = {}
    needed = set(schema.get("required") or ())
    required: list[str] = []
    for name, value in (schema.get("properties") or {}).items():
        value = _as_sent_text(value)
        items = value.get("items") if value.get("type") == "array" else None
        nested = as_form(value, xml) if value.get("type") == "object" and "properties" in value else None
        if (
            (isinstance(items, dict) and items.get("type") == "object")
            or (value.get("type") == "object" and not nested)
            or (value.get("type") == "array" and items is None)  # a list of anything: JSON's
        ):
            if name in needed:
                return None
            continue
        if nested is not None and xml:
            properties[name] = nested
            required += [name] if name in needed else []
            continue
        if nested is not None:
            if name in needed and not nested["required"]:
                return None  # a form could send none of its fields, and so not send it at all
            properties.update({f"{name}[{inner}]": field for inner, field in nested["properties"].items()})
            required += [f"{name}[{inner}]" for inner in nested["required"]] if name in needed else []
            continue
        if isinstance(items, dict):
            value = {k: v for k, v in value.items() if k not in ("type", "items", "maxItems")}
            value = {**value, "type": "string", "pattern": TEXT, "description": "Comma-separated"}
        properties[name] = _as_text(value, xml)
        required += [name] if name in needed else []
    return {**schema, "properties": properties, "required": required}


def listing(root: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            root: {"type": "array", "items": schema},
            "offset": {"type": "integer"},
            "limit": {"type": "integer"},
            "total_count": {"type": "integer"},
            "next_cursor": {"type": ["string", "null"]},
        },
    }


# Any value a document of Rails' XML carries, as an element: text XML 1.0 can hold, a number, a
# boolean, nil="true", type="array" of such elements, or an element of such children; no deeper
# than the API reads XML (MAX_XML_DEPTH, 8: an item of a root's list is at depth 2). One schema per
# depth, each naming the next, added by ``finish``; the operations whose items may be of any shape
# (a batch) refer to the first.
XML_DEPTH = 8
_XML_TEXT = {"type": "string", "pattern": "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\ufffe\\uffff]*$"}
_XML_SCALARS = [_XML_TEXT, {"type": "number"}, {"type": "boolean"}, {"type": "null"}]


def _xml_ref(depth: int) -> str:
    return f"#/components/schemas/XmlValueAtDepth{depth}"


XML_VALUE_REF = _xml_ref(2)


def _xml_value(depth: int) -> dict[str, Any]:
    inner: dict[str, Any] = {"$ref": _xml_ref(depth + 1)}
    containers = [{"type": "array", "items": inner}, {"type": "object", "additionalProperties": inner}]
    if depth == XML_DEPTH:  # its children would be deeper than the API reads: none
        containers = [{"type": "array", "maxItems": 0}, {"type": "object", "maxProperties": 0}]
    return {"description": "Any value XML carries, within XML 1.0's characters", "anyOf": [*_XML_SCALARS, *containers]}


def finish(document: dict[str, Any]) -> dict[str, Any]:
    """The merged document as the API answers: Powertools gives every response a JSON body, but a
    HEAD's answers, a 204 and a 303 have none; its models take no list of types, which XML's
    text-or-list values are given here; and the schemas operations refer to are added."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update({_xml_ref(depth).rsplit("/", 1)[1]: _xml_value(depth) for depth in range(2, XML_DEPTH + 1)})
    for operations in document.get("paths", {}).values():
        for method, op in operations.items():
            for code, response in (op.get("responses") or {}).items():
                if method == "head" or code in ("204", "303"):
                    response.pop("content", None)
            elements = ((op.get("requestBody") or {}).get("content") or {}).get("application/xml")
            if elements:
                elements["schema"] = _text_or_list(elements["schema"])
    return document


def _text_or_list(schema: Any) -> Any:
    """``anyOf: [text, list of texts]`` as one schema of both types. In XML a value's type is its
    markup (type="array"), and any other value is sent as text: a client cannot send "neither"."""
    if isinstance(schema, list):
        return [_text_or_list(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    schema = {key: _text_or_list(value) for key, value in schema.items()}
    options = schema.get("anyOf")
    if not isinstance(options, list) or len(options) != 2:
        return schema
    kinds = {str(option.get("type")) for option in options}
    own = [set(option) - {"type"} for option in options]
    if kinds != {"string", "array"} or own[0] & own[1]:
        return schema
    merged = {key: value for option in options for key, value in option.items() if key != "type"}
    rest = {key: value for key, value in schema.items() if key != "anyOf"}
    return {**merged, **rest, "type": ["string", "array"]}


# --- the contact's bodies (after the helpers they are built with) ---------------------------


# Redmine CRM's ``email`` and ``phone``: at most as many comma-separated values as they have
# slots, each trimmed, then held to its slot's rules.
_IN_ADDRESS = f"[^@,{_NOT_TEXT}{_STRIPPED}]+"
_EMAIL_PART = f"[{_STRIPPED}]*({_IN_ADDRESS}@{_IN_ADDRESS})?[{_STRIPPED}]*"
_PHONE_PART = _trimmed("\\n\\r,", STRING_MAX)
EMAILS = _separated(_EMAIL_PART, len(LISTS["email"]))
PHONES = _separated(_PHONE_PART, len(LISTS["phone"]))
# Redmine CRM's ``phones`` and ``emails`` also come as that text, comma-separated (as a form or an
# XML element sends them, and JSON may): at most as many values as the list has slots.
for _name, _part in (("phones", _PHONE_PART), ("emails", _EMAIL_PART)):
    _list = CONTACT["properties"][_name]
    _text = {"type": "string", "pattern": _separated(_part, _list["maxItems"]), "description": "Comma-separated"}
    CONTACT["properties"][_name] = {"anyOf": [_list, _text], "description": _list["description"]}
# A representation's notes sent back (a list of anything): ignored; a form cannot send it.
_ECHOED_NOTES = {"type": "array"}
# What a contact's body may carry beside the model's fields: the dialects' names for them.
CONTACT_SENT = {
    **CONTACT,
    "properties": {
        **CONTACT["properties"],
        "name": {
            **or_null(numbers_too(line())),
            "writeOnly": True,
            "description": "First and last name (null: not sent)",
        },
        "notes": {
            "anyOf": [{"type": "string", "maxLength": 32000}, _ECHOED_NOTES, {"type": "null"}],
            "writeOnly": True,
            "description": "A new contact's first note; a representation's notes, sent back, are ignored",
        },
        "email": {
            **or_null({"type": "string", "pattern": EMAILS}),
            "writeOnly": True,
            "description": f"Comma-separated, filling {', '.join(LISTS['email'])} (null empties the first)",
        },
        "phone": {
            **or_null(numbers_too({"type": "string", "pattern": PHONES})),
            "writeOnly": True,
            "description": f"Comma-separated, filling {', '.join(LISTS['phone'])} (null empties the first)",
        },
        "tag_list": {**CONTACT["properties"]["tags"], "writeOnly": True, "description": "The same as tags"},
        "website": {**or_null(numbers_too(line())), "writeOnly": True, "description": "The same as url"},
        "project_id": {
            **or_null({"anyOf": [{"type": "string", "maxLength": LIST_ITEM_MAX}, NUMBER_AS_TEXT]}),
            "writeOnly": True,
            "description": "Adds a project (an id or an identifier)",
        },
        "visibility": {
            "anyOf": [
                {"type": "integer", "enum": [*map(int, VISIBILITY)]},
                {"type": "string", "pattern": f"^[{_STRIPPED}]*[{''.join(VISIBILITY)}][{_STRIPPED}]*$"},
            ],
            "writeOnly": True,
            "description": "0 (project) or 1 (public): not private; 2: private",
        },
        "address_attributes": {
            "type": "object",
            "properties": {name: CONTACT["properties"][field] for name, field in ADDRESS.items()},
            "additionalProperties": False,
            "writeOnly": True,
            "description": "Redmine CRM's business address",
        },
    },
    # A minimal body names the contact in ``name`` instead.
    "required": [],
}
CONTACT_NEW = {
    "anyOf": [{**CONTACT_SENT, "required": [name]} for name in ("first_name", "name")],
}
# A change's body: its notes only as sent back (a note is added with POST /contacts/{id}/notes).
CONTACT_EDIT = {
    **CONTACT_SENT,
    "properties": {
        **CONTACT_SENT["properties"],
        "notes": {**_ECHOED_NOTES, "writeOnly": True, "description": "A representation's notes, sent back: ignored"},
    },
}
CONTACT_CHANGE = accepted(CONTACT_EDIT, partial=True)
_EDITS = (("contact_id", "update_fields"), ("contactID", "updateFields"))
# The minimal JSON API's edit and delete bodies.
MINIMAL_EDIT = {
    "anyOf": [
        {"type": "object", "properties": {name: _CONTACT_ID, fields: CONTACT_CHANGE}, "required": [name, fields]}
        for name, fields in _EDITS
    ]
}
# POST /contacts: a new contact, or the minimal API's edit.
CONTACT_CREATE = {"anyOf": [*CONTACT_NEW["anyOf"], *MINIMAL_EDIT["anyOf"]]}
# On /contacts/{id}: an edit, which need not name the contact, or the fields themselves.
MINIMAL_EDIT_OF = {
    "anyOf": [
        CONTACT_EDIT,
        *(
            {"type": "object", "properties": {name: _CONTACT_ID, fields: CONTACT_CHANGE}, "required": [fields]}
            for name, fields in _EDITS
        ),
    ]
}
