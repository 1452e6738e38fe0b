"""The local API's HTTP front: what API Gateway's edge does before and after the gateway.

Each connection has a thread of its own (the functions' containers decide what runs at once), the
listen backlog takes a burst, and whatever a client sends gets an HTTP answer in API Gateway's
JSON: a malformed or negative ``Content-Length`` is 400, a body that never arrives is 408 after
``READ_SECONDS``, a body over 10 MB is 413, and a method no route has (TRACE, ...) is the
gateway's 403, never the standard library's 501 page or a dropped connection.
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from local_api.gateway import Gateway, HttpResponse

MAX_BODY = 10 * 1024 * 1024  # API Gateway's own payload limit
READ_SECONDS = 30  # how long a request may take to arrive
BACKLOG = 1024  # connections waiting to be accepted (socketserver's default is 5)


class _Refused(Exception):
    """The request cannot be read: answer ``status`` and close the connection."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _error(status: int, message: str) -> HttpResponse:
    return HttpResponse(status, {"Content-Type": "application/json"}, json.dumps({"message": message}).encode())


class _Server(ThreadingHTTPServer):
    request_queue_size = BACKLOG
    daemon_threads = True
    block_on_close = False  # stopping never waits for a client that keeps its connection open


def make_server(port: int, gateway: Gateway) -> ThreadingHTTPServer:
    """The API on 127.0.0.1:``port`` (bound now; ``serve_forever`` serves it)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = READ_SECONDS  # every read of the socket: no thread waits forever for a client

        def _body(self) -> bytes:
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                return self._chunked()
            declared = self.headers.get_all("Content-Length") or []
            if not declared:
                return b""
            if len(set(declared)) > 1 or not declared[0].strip().isdigit():
                raise _Refused(400, "Bad Request: invalid Content-Length")
            length = int(declared[0])
            if length > MAX_BODY:
                raise _Refused(413, "Request Too Long")
            return self._exactly(length)

        def _exactly(self, length: int) -> bytes:
            try:
                data = self.rfile.read(length)
            except TimeoutError:
                raise _Refused(408, "Request Timeout") from None
            if len(data) < length:
                raise _Refused(400, "Bad Request: the body is shorter than its Content-Length")
            return data

        def _chunked(self) -> bytes:
            body = bytearray()
            while True:
                try:
                    size_line = self.rfile.readline(1024)
                except TimeoutError:
                    raise _Refused(408, "Request Timeout") from None
                try:
                    size = int(size_line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise _Refused(400, "Bad Request: invalid chunk size") from None
                if size < 0:
                    raise _Refused(400, "Bad Request: invalid chunk size")
                if len(body) + size > MAX_BODY:
                    raise _Refused(413, "Request Too Long")
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return bytes(body)
                body += self._exactly(size)
                self.rfile.readline(8)  # the CRLF after the chunk

        def _serve(self) -> None:
            try:
                body = self._body()
            except _Refused as refused:
                self.close_connection = True
                self._send(_error(refused.status, str(refused)))
                return
            url = urlsplit(self.path)
            self._send(gateway.handle(self.command, url.path, list(self.headers.items()), url.query, body))

        def _send(self, response: HttpResponse) -> None:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        def __getattr__(self, name: str) -> Any:
            # http.server looks up do_<METHOD>: every method goes to the gateway, which answers the
            # ones no route has as API Gateway does.
            if name.startswith("do_") and name[3:].isalpha():
                return self._serve
            raise AttributeError(name)

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            """A request line or headers that do not parse: API Gateway's JSON, not an HTML page."""
            self.close_connection = True
            self.request_version = self.protocol_version  # unparsed, it is 0.9's: a bare body, no status
            self._send(_error(code, message or self.responses.get(code, ("Error",))[0]))

        def log_message(self, format: str, *args: object) -> None:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    return _Server(("127.0.0.1", port), Handler)
