"""The resolver every handler uses: formats, scopes, errors and rendering happen here, once.

A handler module declares ``app = Api("contacts")``, decorates its operations with
``@app.operation(...)`` and exports ``lambda_handler = app.lambda_handler``. Each operation gets a
``Request`` and returns ``request.one(...)``, ``request.many(...)`` or ``request.empty()``.
"""

from __future__ import annotations

import inspect
import re
import time
from collections.abc import Callable
from functools import cached_property
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from crm.auth import READ, WRITE, Principal
from crm.errors import (
    ApiError,
    BadRequest,
    MethodNotAllowed,
    NotAcceptable,
    NotFound,
    ServiceUnavailable,
    Unprocessable,
)
from crm.http import body, head, negotiation, openapi, render
from crm.numbers import whole
from crm.observability import logger, observed
from crm.paging import Page, PageRequest, fingerprint, page_request
from crm.storage.db import is_busy

PATH_PARAM = re.compile(r"<(\w+)>")
IDEMPOTENCY_HEADER = "idempotency-key"
ONCE = ("POST", "PUT", "PATCH")  # the writes an Idempotency-Key makes happen once (an upsert is a PUT)
REPLACED = "\ufffd"
NOT_ROUTED = "NOT-ROUTED"  # the method an event gets when its resource has no operation for it


class Request:
    """What an operation needs of the HTTP request, parsed on first use."""

    def __init__(
        self, event: dict[str, Any], fmt: str, suffix: str | None, max_body: int | None = None, multipart: bool = False
    ) -> None:
        self.event = event
        self.max_body = max_body  # bytes; None: the setting's
        self.multipart = multipart
        # Headers every answer to this request carries, errors included (the web form's CORS).
        self.answer_headers: dict[str, str] = {}
        self.format = fmt
        self.suffix = suffix
        # Asked for as a vCard (.vcf, Accept: text/vcard): only an operation that offers one
        # answers so (Api.operation's ``cards``); errors are then JSON.
        self.card = False
        self.headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
        self.query: dict[str, str] = dict(event.get("queryStringParameters") or {})

    @cached_property
    def principal(self) -> Principal:
        return Principal.from_context((self.event.get("requestContext") or {}).get("authorizer"))

    @cached_property
    def _body(self) -> tuple[str | None, dict[str, Any]]:
        return body.parse(
            self.event.get("body"),
            bool(self.event.get("isBase64Encoded")),
            self.headers.get("content-type"),
            self.max_body,
            self.multipart,
        )

    def fields(self) -> dict[str, Any]:
        """The body's fields as sent, never unwrapped from a root."""
        return self._body[1]

    def body(self, root: str) -> dict[str, Any]:
        """The fields of the body, unwrapped from ``{"<root>": {...}}`` or ``<root>...</root>``."""
        xml_root, fields = self._body
        if xml_root is None and isinstance(fields.get(root), dict):
            beside = sorted(name for name in fields if name != root)
            # A form puts its own fields (commit, utf8) beside contact[...]; JSON has no reason to.
            if beside and body.media_type(self.headers.get("content-type")) not in (body.FORM, body.MULTIPART):
                raise Unprocessable(f"Unknown fields beside {root}: {', '.join(beside)}")
            return {**{k: v for k, v in fields.items() if k != root}, **fields[root]}
        return fields

    def wrapped(self, root: str) -> bool:
        """Whether the body came in its root (``{"<root>": {...}}``), as Rails and Redmine send it;
        a flat JSON body is the minimal API's."""
        xml_root, fields = self._body
        return xml_root is not None or isinstance(fields.get(root), dict)

    def if_match(self) -> int | None:
        """The version an ``If-Match`` header asks for (``"3"``, ``W/"3"`` or ``3``); ``*`` is any."""
        raw = self.headers.get("if-match")
        if raw is None or raw.strip() == "*":
            return None
        version = whole(raw.strip().removeprefix("W/").strip('"'))
        if version is None:
            raise BadRequest('If-Match must be an ETag this API gave, such as "3"')
        return version

    def page(self) -> PageRequest:
        """Paging of this request; its cursor is sealed to the account, the path and the filters."""
        path = self.event.get("path") or "/"
        return page_request(self.query, fingerprint(self.principal.account_id, path, self.query))

    def path_prefix(self) -> str:
        """The stage part of the public path (``/v1`` behind API Gateway, empty locally)."""
        public = (self.event.get("requestContext") or {}).get("path") or ""
        path = self.event.get("path") or ""
        with_suffix = path + (f".{self.suffix}" if self.suffix else "")
        return public[: -len(with_suffix)] if with_suffix and public.endswith(with_suffix) else ""

    def _response(
        self, status: int, text: str | None, headers: dict[str, str] | None = None, fmt: str | None = None
    ) -> Response:
        content_type = negotiation.CONTENT_TYPES[fmt or self.format] if text is not None else None
        return Response(
            status_code=status,
            content_type=content_type,
            body=text or "",
            headers={"Cache-Control": "no-store", "Vary": "Accept", **self.answer_headers, **(headers or {})},
        )

    def see_other(self, url: str) -> Response:
        """303: the browser goes on to ``url`` with a GET."""
        return Response(
            status_code=303, body="", headers={"Location": url, "Cache-Control": "no-store", **self.answer_headers}
        )

    def one(
        self,
        root: str,
        view: dict[str, Any],
        status: int = 200,
        version: int | None = None,
        location: str | None = None,
        beside: dict[str, Any] | None = None,
    ) -> Response:
        """One resource; ``beside``: keys a JSON answer carries next to its root."""
        headers = {}
        if version is not None:
            headers["ETag"] = f'"{version}"'
        if location:
            suffix = f".{self.suffix}" if self.suffix else ""
            headers["Location"] = f"{self.path_prefix()}{location}{suffix}"
        return self._response(status, render.one(self.format, root, view, beside), headers)

    def vcard(self, card: str, version: int) -> Response:
        """A contact as its vCard (crm.http.vcard), with its ETag."""
        return self._response(200, card, {"ETag": f'"{version}"'}, negotiation.VCARD)

    def many(self, root: str, item: str, page: Page, views: list[dict[str, Any]]) -> Response:
        return self._response(200, render.many(self.format, root, item, page, views))

    def followed(self, root: str, item: str, views: list[dict[str, Any]], next_cursor: str | None) -> Response:
        return self._response(200, render.followed(self.format, root, item, views, next_cursor))

    def listed(self, root: str, item: str, views: list[dict[str, Any]]) -> Response:
        return self._response(200, render.listed(self.format, root, item, views))

    def empty(self) -> Response:
        return self._response(204, None)

    def error(self, error: ApiError) -> Response:
        return self._response(error.status, render.errors(self.format, error.messages, error.beside), error.headers)


class Api(APIGatewayRestResolver):
    """A Powertools REST resolver that speaks JSON and XML and checks the key's scope per operation."""

    def __init__(self, resource: str, max_body: int | None = None, multipart: bool = False) -> None:
        """``max_body``: the largest request body in bytes, when a resource takes more than most;
        ``multipart``: its bodies may also be multipart/form-data."""
        super().__init__()
        self.resource = resource
        self.max_body = max_body
        self.multipart = multipart
        self._answering = head.answering(self._resolve_one)  # HEAD as its GET, no body
        self._by_resource: dict[str, set[str]] | None = None  # methods per gateway resource, on first use
        self.lambda_handler = observed(self.resolve)
        self.exception_handler(ApiError)(self._api_error)
        self.exception_handler(NotFoundError)(self._no_route)
        self.exception_handler(Exception)(self._unexpected)

    @property
    def request(self) -> Request:
        return self.context["request"]

    def resolve(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        return self._answering(event, context)

    def _resolve_one(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        started = time.perf_counter()
        path, suffix = negotiation.split_suffix(event.get("path") or "/")
        event = {**event, "path": path}
        headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
        query = event.get("queryStringParameters") or {}
        try:
            fmt = negotiation.choose(suffix, query.get("format"), headers.get("accept"))
        except NotAcceptable as exc:
            fmt = negotiation.JSON
            self.append_context(request=Request(event, fmt, suffix, self.max_body, self.multipart), refused=exc)
        else:
            card = fmt == negotiation.VCARD
            request = Request(event, negotiation.JSON if card else fmt, suffix, self.max_body, self.multipart)
            request.card = card
            self.append_context(request=request)
        # Through the gateway's ANY route of a resource: a method it has no operation for is a 405,
        # even where another resource's route would match the path (/contacts/{id} for /contacts/search).
        methods, routed = self._methods_of(event.get("resource")), event
        if methods is not None and event.get("httpMethod") not in methods:
            routed = {**event, "httpMethod": NOT_ROUTED}
        response = super().resolve(routed, context)
        logger.info(
            "request",
            extra={
                "method": event.get("httpMethod"),
                "route": event.get("resource"),
                "status": response["statusCode"],
                "ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        return response

    def operation(
        self,
        method: str | tuple[str, ...],
        path: str,
        *,
        summary: str,
        scope: str | None = None,
        status: int = 200,
        query: tuple[dict[str, Any], ...] = (),
        body: dict[str, Any] | None = None,
        returns: dict[str, Any] | None = None,
        public: bool = False,
        root: str | None = None,
        also: tuple[int, ...] = (),
        cards: bool = False,
        refusals: tuple[tuple[int, str], ...] = (),
    ) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
        """Register ``func(request, **path_params)``; GETs need ``read``, other methods ``write``.

        ``method`` may be several (``("PUT", "PATCH")``): one function serves each of them.
        ``public``: the route has no authorizer; the operation authenticates the caller itself.
        ``root``: the element a body may come wrapped in, when not the answer's; ``also``: other
        statuses it answers with the same body; ``cards``: it answers a vCard when asked for one;
        ``refusals``: errors of its own, (status, when), for its document.
        """
        if isinstance(method, tuple):

            def each(func: Callable[..., Response]) -> Callable[..., Response]:
                for one in method:
                    self.operation(
                        one,
                        path,
                        summary=summary,
                        scope=scope,
                        status=status,
                        query=query,
                        body=body,
                        returns=returns,
                        public=public,
                        root=root,
                        also=also,
                        cards=cards,
                        refusals=refusals,
                    )(func)
                return func

            return each
        needed = scope or (READ if method == "GET" else WRITE)
        names = PATH_PARAM.findall(path)
        docs, responses = openapi.operation(
            path, method, summary, names, query, body, returns, (status, *also), public, root, cards, refusals
        )

        def decorator(func: Callable[..., Response]) -> Callable[..., Response]:
            def endpoint(**path_params: str) -> Response:
                request = self.request
                if "refused" in self.context:
                    raise self.context["refused"]
                if request.card and not cards:
                    raise NotAcceptable("Only a contact is shown as a vCard (.vcf, or Accept: text/vcard)")
                # The gateway hands on a query byte that is no UTF-8 as U+FFFD: it was not text.
                if any(REPLACED in name + value for name, value in request.query.items()):
                    raise BadRequest("Malformed query: a parameter is not UTF-8 text")
                if not public:
                    request.principal.require(needed)
                # A replay is stored per API key: a public route has none to keep it under.
                if method in ONCE and not public and IDEMPOTENCY_HEADER in request.headers:
                    return self._once(request, lambda: func(request, **path_params))
                return func(request, **path_params)

            # Powertools documents the parameters of the signature, replacing ours: show it none.
            endpoint.__name__ = func.__name__
            endpoint.__signature__ = inspect.Signature([])  # type: ignore[attr-defined]
            self.route(
                path, method, summary=summary, tags=[self.resource], openapi_extensions=docs, responses=responses
            )(endpoint)
            if method == "GET":  # served as the GET (crm.http.head); documented so, without bodies
                bare = {code: {"description": answer["description"]} for code, answer in responses.items()}
                self.route(
                    path,
                    "HEAD",
                    summary=f"{summary}: its headers only",
                    tags=[self.resource],
                    openapi_extensions=docs,
                    responses=bare,
                )(endpoint)
            return func

        return decorator

    def _once(self, request: Request, call: Callable[[], Response]) -> Response:
        """Run a write at most once per Idempotency-Key; a retry gets the stored answer."""
        # Imported on first use: Powertools' idempotency loads boto3, which no other path needs.
        from crm import idempotency

        def run() -> dict[str, Any]:
            response = call()
            return {"status": response.status_code, "headers": dict(response.headers), "body": response.body}

        identity = {
            "method": request.event.get("httpMethod"),
            "path": request.event.get("path"),
            "payload": [request.headers.get("content-type"), request.event.get("body")],
        }
        key = request.headers[IDEMPOTENCY_HEADER]
        stored, replayed = idempotency.once(request.principal, key, identity, run, self.lambda_context)
        headers = {**stored["headers"], **({"Idempotent-Replayed": "true"} if replayed else {})}
        return Response(status_code=stored["status"], content_type=None, body=stored["body"], headers=headers)

    # --- errors, in the request's format ---------------------------------------------------

    def _api_error(self, error: ApiError) -> Response:
        return self.request.error(error)

    def _methods_of(self, resource: str | None) -> set[str] | None:
        """The methods this function routes on the gateway's ``resource`` (/contacts/{contact_id});
        None for an event that names none (made by hand)."""
        if not resource:
            return None
        if self._by_resource is None:  # the routes are all declared once the handler is imported
            self._by_resource = {}
            for route in self._static_routes + self._dynamic_routes:
                self._by_resource.setdefault(PATH_PARAM.sub(r"{\1}", route.path), set()).add(route.method)
        return self._by_resource.get(negotiation.split_suffix(resource)[0], set())

    def _no_route(self, _: NotFoundError) -> Response:
        if self.current_event.http_method == NOT_ROUTED:
            allowed = ", ".join(sorted(self._methods_of(self.current_event.get("resource")) or ()))
            return self.request.error(MethodNotAllowed(headers={"Allow": allowed}))
        return self.request.error(NotFound())

    def _unexpected(self, exc: Exception) -> Response:
        if is_busy(exc):
            logger.warning("storage busy", extra={"error": type(exc).__name__})
            return self.request.error(ServiceUnavailable())
        request_id = (self.current_event.get("requestContext") or {}).get("requestId", "")
        logger.exception("unhandled error", extra={"error": type(exc).__name__})
        return self.request.error(ApiError(f"Internal server error (request id {request_id})"))


def path_text(text: str) -> str:
    """A path segment that holds text (an upsert's email address): API Gateway's REST APIs hand
    it on percent-encoded, as sent; 400 unless it decodes to UTF-8."""
    try:
        return unquote(text, errors="strict")
    except UnicodeDecodeError:
        raise BadRequest("Malformed path: a segment is not UTF-8 text") from None


def resource_id(text: str, what: str) -> int:
    """A path id; anything that is not one of our integer ids cannot exist, so it is a 404."""
    number = whole(text) if text == text.strip() else None
    if number is None or not 0 < number < 10**10:
        raise NotFound(f"{what} not found")
    return number
