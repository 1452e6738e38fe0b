"""Posting to an address a user chose, safely: only ``https`` (``http`` to 127.0.0.1 too, off AWS
alone: crm.config's ``webhook_loopback``), only to a host whose every address is public (never a
private, loopback, link-local, shared, reserved or multicast one, so never the instance metadata
service), checked when the delivery is made and then connected to by the very address checked (a
second lookup could answer otherwise); no redirect followed; TIMEOUT_SECONDS in all; at most
MAX_ANSWER_BYTES of the answer read."""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from functools import cache
from urllib.parse import SplitResult, urlsplit

from crm import config
from crm.webhooks import MAX_ANSWER_BYTES, MAX_URL, TIMEOUT_SECONDS

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(ValueError):
    """The URL may not be posted to (its words say why, for the subscription's owner)."""


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no HTTP answer came
    error: str | None  # why it is a failure; None for a 2xx


def _loopback_allowed() -> bool:
    return config.settings.webhook_loopback


def parsed(url: str) -> SplitResult:
    """The URL's parts, if it is one a webhook may have; Refused otherwise."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        raise Refused(f"url must be an https URL of at most {MAX_URL} characters")
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise Refused("url must not hold spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused("url is not a URL") from None
    local = _loopback_allowed() and parts.hostname == "127.0.0.1"
    if parts.scheme != "https" and not (local and parts.scheme == "http"):
        raise Refused("url must be https")
    if not parts.hostname or parts.username is not None or parts.password is not None:
        raise Refused("url must name a host, and no user or password")
    if port == 0:
        raise Refused("url's port must be 1 to 65535")
    return parts


def _public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if _loopback_allowed() and address.is_loopback:
        return True
    return address.is_global and not address.is_multicast


def _port(parts: SplitResult) -> int:
    return parts.port or (443 if parts.scheme == "https" else 80)


def resolve(parts: SplitResult) -> Address:
    """The address to connect to: the host's first, if every one of them is public."""
    try:
        found = socket.getaddrinfo(parts.hostname, _port(parts), type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise Refused(f"{parts.hostname} does not resolve") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in found]
    if not addresses or not all(_public(address) for address in addresses):
        raise Refused(f"{parts.hostname} resolves to an address that is not public")
    return addresses[0]


@cache
def _tls() -> ssl.SSLContext:
    return ssl.create_default_context()


class _Pinned(http.client.HTTPSConnection):
    """HTTPS to the address checked, verified against the URL's host name."""

    def __init__(self, host: str, port: int, address: str) -> None:
        super().__init__(host, port, timeout=TIMEOUT_SECONDS, context=_tls())
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = _tls().wrap_socket(sock, server_hostname=self.host)


class _PinnedPlain(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str) -> None:
        super().__init__(host, port, timeout=TIMEOUT_SECONDS)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


def _cut(connection: http.client.HTTPConnection) -> None:
    """End the exchange now: a shutdown wakes a read blocked on the socket (a close may not)."""
    if connection.sock is not None:
        with contextlib.suppress(OSError):  # already closed
            connection.sock.shutdown(socket.SHUT_RDWR)


def post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST ``body``; the answer's status, or why there is none. Never raises for the receiver's
    faults."""
    started = time.monotonic()
    try:
        parts = parsed(url)
        address = resolve(parts)
    except Refused as exc:
        return Answer(None, str(exc))
    kind = _Pinned if parts.scheme == "https" else _PinnedPlain
    connection = kind(parts.hostname or "", _port(parts), str(address))
    # However slowly a receiver answers, the whole exchange ends at the deadline.
    timer = threading.Timer(max(0.0, TIMEOUT_SECONDS - (time.monotonic() - started)), _cut, (connection,))
    timer.start()
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        sent = {**headers, "Content-Type": "application/json", "User-Agent": "contacts-api-webhooks"}
        connection.request("POST", path, body=body, headers=sent)
        response = connection.getresponse()
        response.read(MAX_ANSWER_BYTES)  # and no more: what follows is left unread
        status = response.status
    except (OSError, http.client.HTTPException, ValueError) as exc:
        late = time.monotonic() - started >= TIMEOUT_SECONDS - 0.01
        return Answer(None, f"no answer within {TIMEOUT_SECONDS} s" if late else f"no answer: {type(exc).__name__}")
    finally:
        timer.cancel()
        connection.close()
    if 200 <= status < 300:
        return Answer(status, None)
    if 300 <= status < 400:
        return Answer(status, f"answered {status}: redirects are not followed")
    return Answer(status, f"answered {status}")
