"""Hostile input over real HTTP, through `make run`'s gateway: XML attacks, huge and deep bodies,
bytes that are no UTF-8 in the body, the query, a header and the path, line breaks where a header
or a one-line field could be split, and long query strings. Each is a 4xx in the request's format,
answered at once, and stores nothing."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from defusedxml.ElementTree import fromstring

from tests.local_server import JSON_TYPE, XML_TYPE, Server, request

# Far beyond any honest answer here; an expanding entity or a quadratic parse would take minutes.
PROMPT = 5.0


@pytest.fixture
def contacts(server: Server) -> Iterator[int]:
    """How many contacts the account holds before the test (asserted unchanged after it)."""
    before = _count(server)
    yield before
    assert _count(server) == before


def _count(server: Server) -> int:
    status, _, data = request("GET", f"{server.base}/contacts?limit=1", server.key)
    assert status == 200
    return json.loads(data)["total_count"]


def _post(server: Server, path: str, body: bytes, content_type: str) -> tuple[int, dict[str, str], bytes, float]:
    started = time.perf_counter()
    status, headers, data = request(
        "POST", f"{server.base}{path}", server.key, body, headers={"Content-Type": content_type}
    )
    return status, headers, data, time.perf_counter() - started


def _raw(server: Server, head: bytes) -> tuple[int, bytes, bytes]:
    """Send ``head`` (a whole request, byte for byte) and read (status, headers, body)."""
    address = urlsplit(server.base)
    with socket.create_connection((address.hostname, address.port), timeout=30) as connection:
        connection.sendall(head)
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += connection.recv(65536)
        headers, _, body = answer.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1]) for line in headers.lower().split(b"\r\n") if line.startswith(b"content-length:")
        )
        while len(body) < length:
            body += connection.recv(65536)
    return int(headers.split(b" ", 2)[1]), headers, body


LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10}">'.encode() for n in range(1, 10))
    + b"]><contact><first-name>&lol9;</first-name></contact>"
).replace(b"&lol0;", b"&lol;")
XML_ATTACKS = {
    "entity expansion": LAUGHS,
    "external entity": b'<?xml version="1.0"?><!DOCTYPE c [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b"<contact><first-name>&x;</first-name></contact>",
    "external DTD": b'<?xml version="1.0"?><!DOCTYPE contact SYSTEM "http://127.0.0.1:9/evil.dtd">'
    b"<contact><first-name>A</first-name></contact>",
    "parameter entity": b'<?xml version="1.0"?><!DOCTYPE c [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>'
    b"<contact><first-name>A</first-name></contact>",
}


@pytest.mark.parametrize("body", XML_ATTACKS.values(), ids=XML_ATTACKS.keys())
def test_xml_attacks_are_400_in_xml(server: Server, contacts: int, body: bytes) -> None:
    status, headers, data, took = _post(server, "/contacts.xml", body, "application/xml")
    assert (status, headers["content-type"]) == (400, XML_TYPE)
    assert (
        fromstring(data, forbid_dtd=True).findtext("error")
        == "XML with a DTD, entities or external references is not accepted"
    )
    assert b"root:" not in data
    assert took < PROMPT


def test_xinclude_is_not_followed(server: Server, contacts: int) -> None:
    body = (
        b'<contact xmlns:xi="http://www.w3.org/2001/XInclude">'
        b'<first-name><xi:include href="file:///etc/passwd" parse="text"/></first-name></contact>'
    )
    status, headers, data, took = _post(server, "/contacts.xml", body, "application/xml")
    assert (status, headers["content-type"]) == (422, XML_TYPE)
    assert b"root:" not in data
    assert took < PROMPT


@pytest.mark.parametrize("size", [1_000_000, 10_000_000], ids=["1 MB", "10 MB"])
def test_bodies_of_megabytes_are_413(server: Server, contacts: int, size: int) -> None:
    body = json.dumps({"first_name": "A", "background": "x" * size}).encode()
    status, headers, data, took = _post(server, "/contacts", body, "application/json")
    assert status == 413
    assert took < PROMPT
    assert headers["content-type"].startswith("application/json")
    assert json.loads(data)


def test_json_nested_10000_deep_is_400(server: Server, contacts: int) -> None:
    body = b'{"first_name": "A", "custom_fields": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    status, headers, data, took = _post(server, "/contacts", body, "application/json")
    assert (status, headers["content-type"]) == (400, JSON_TYPE)
    assert json.loads(data) == {"errors": ["Body is nested more than 8 levels deep"]}
    assert took < PROMPT


def test_bytes_that_are_no_utf8_are_4xx_wherever_they_come(server: Server, contacts: int) -> None:
    key = server.key.encode()
    status, _, data, _ = _post(server, "/contacts", b'{"first_name": "\xff"}', "application/json")
    assert (status, json.loads(data)) == (400, {"errors": ["Malformed JSON: the body is not UTF-8 text"]})
    status, _, data = request("GET", f"{server.base}/contacts?search=%FF", server.key)
    assert (status, json.loads(data)) == (400, {"errors": ["Malformed query: a parameter is not UTF-8 text"]})
    status, _, body = _raw(server, b"GET /contacts/\xff HTTP/1.1\r\nHost: x\r\nx-api-key: " + key + b"\r\n\r\n")
    assert (status, json.loads(body)) == (404, {"errors": ["Contact not found"]})
    head = b"POST /contacts HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nIdempotency-Key: \xff\r\n"
    status, _, body = _raw(server, head + b"Content-Type: application/json\r\nx-api-key: " + key + b"\r\n\r\n{}")
    assert (status, json.loads(body)) == (
        400,
        {"errors": ["Idempotency-Key must be 1 to 255 visible ASCII characters"]},
    )


def test_a_line_break_is_refused_in_one_line_fields_and_splits_no_header(server: Server, contacts: int) -> None:
    body = json.dumps({"first_name": "A\r\nSet-Cookie: stolen=1"}).encode()
    status, _, data, _ = _post(server, "/contacts", body, "application/json")
    assert (status, json.loads(data)) == (422, {"errors": ["First name must be one line"]})
    status, headers, _ = request("GET", f"{server.base}/contacts?search=a%0D%0ASet-Cookie:%20stolen=1", server.key)
    assert (status, "set-cookie" in headers) == (200, False)
    status, headers, _ = request("GET", f"{server.base}/contacts/1%0D%0ASet-Cookie:%20stolen=1", server.key)
    assert (status, "set-cookie" in headers) == (404, False)


@pytest.mark.parametrize("text", ["A\x01", "A&#1;", "A&#xFFFE;", "A\uffff"])
def test_in_xml_a_character_xml_cannot_carry_is_malformed_xml(server: Server, contacts: int, text: str) -> None:
    # XML 1.0 cannot carry these, even as references: the document is refused before a field is read.
    body = f"<contact><first_name>{text}</first_name></contact>".encode()
    status, headers, data, _ = _post(server, "/contacts.xml", body, "application/xml")
    assert (status, headers["content-type"]) == (400, XML_TYPE)
    assert fromstring(data, forbid_dtd=True).findtext("error", "").startswith("Malformed XML at line 1")


def test_in_xml_a_control_character_xml_carries_is_refused_by_the_field(server: Server, contacts: int) -> None:
    status, _, data, _ = _post(
        server, "/contacts.xml", b"<contact><first_name>A\x7f</first_name></contact>", "application/xml"
    )
    assert status == 422
    assert fromstring(data, forbid_dtd=True).findtext("error") == (
        "First name contains control characters or non-characters (U+FFFE, U+FFFF)"
    )


def test_long_query_strings_are_4xx(server: Server, contacts: int) -> None:
    status, _, data = request("GET", f"{server.base}/contacts?search={'a' * 20_000}", server.key)
    assert (status, json.loads(data)) == (400, {"errors": ["search is at most 200 characters"]})
    status, _, _ = request("GET", f"{server.base}/contacts?tags={'t,' * 40_000}", server.key)
    assert status == 414  # the whole request line is longer than a gateway takes


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("TRACE", "/contacts", "DELETE, GET, HEAD, PATCH, POST"),
        ("PATCH", "/contacts/search", "GET, HEAD"),
        ("POST", "/contacts/1/history.xml", "GET, HEAD"),
        ("OPTIONS", "/calls/7", "DELETE, GET, HEAD, PATCH, PUT"),
    ],
)
def test_a_method_a_path_does_not_take_is_405_with_allow(
    server: Server, contacts: int, method: str, path: str, allowed: str
) -> None:
    status, headers, data = request(method, f"{server.base}{path}", server.key)
    assert (status, headers.get("allow")) == (405, allowed)
    assert (
        data.startswith(b"<?xml") if path.endswith(".xml") else json.loads(data) == {"errors": ["Method not allowed"]}
    )
    assert request(method, f"{server.base}{path}")[0] == 401  # the key is checked first, as for any route
