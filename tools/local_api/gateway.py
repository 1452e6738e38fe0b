"""API Gateway (REST, Lambda proxy) on this machine: routes, the REQUEST authorizer, the events.

``Gateway.handle`` takes an HTTP request and answers it the way the deployed API would:
it matches the route as API Gateway does (a literal segment beats a parameter), runs the
authorizer with a REQUEST event, applies its policy, invokes the handler with the proxy event
API Gateway would send, and falls back to the template's gateway responses.
"""

from __future__ import annotations

import base64
import contextlib
import fnmatch
import json
import os
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from local_api.containers import Containers, FunctionError, LambdaContext, Stopping, load_handler
from local_api.environment import function_names
from local_api.permissions import Permissions
from local_api.queues import QueueDelivery, create_queues
from local_api.streams import MotoStreamReader, StreamDelivery, StreamReader
from local_api.template import GatewayResponse, Route, Template

ACCOUNT, API_ID, REGION = "123456789012", "localapi", "us-east-1"


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def _match(template: str, path: str) -> tuple[tuple[int, ...], dict[str, str]] | None:
    """(specificity, path parameters) if ``path`` fits ``template``; literals rank above params."""
    wanted, given = _segments(template), _segments(path)
    if len(wanted) != len(given):
        return None
    rank, params = [], {}
    for pattern, segment in zip(wanted, given, strict=True):
        if pattern.startswith("{") and pattern.endswith("}"):
            params[pattern[1:-1]] = segment
            rank.append(0)
        elif pattern == segment:
            rank.append(1)
        else:
            return None
    return tuple(rank), params


def _allowed(policy: dict[str, Any], method_arn: str) -> bool:
    statements = (policy.get("policyDocument") or {}).get("Statement") or []
    allow = deny = False
    for statement in statements:
        resources = statement.get("Resource")
        resources = [resources] if isinstance(resources, str) else resources or []
        if any(fnmatch.fnmatchcase(method_arn, pattern) for pattern in resources):
            allow |= statement.get("Effect") == "Allow"
            deny |= statement.get("Effect") == "Deny"
    return allow and not deny


class Gateway:
    def __init__(
        self,
        template: Template,
        environment: dict[str, str],
        stage_in_path: bool = False,
        permissions: Permissions | None = None,
        containers: Containers | None = None,
    ) -> None:
        """``permissions``: check each function's AWS calls against its role, as AWS would.
        ``containers``: run each function in processes of its own, concurrently (`make run`);
        without, every function runs in this process, one invocation at a time (tests, benchmarks).
        """
        self.template = template
        self.permissions = permissions
        self.containers = containers
        self.stage_in_path = stage_in_path  # requestContext.path with /v1, as behind API Gateway
        self.function_names = function_names(template)
        self._handlers: dict[str, Any] = {}
        self.streams: list[StreamDelivery] = []
        self.queues: list[QueueDelivery] = []
        # In this process, one invocation at a time, as one Lambda container serves one at a time.
        self._lock = threading.Lock()
        self._polling = threading.Lock()  # one reader of each stream, as Lambda's poller is
        self._queue_polling = threading.Lock()
        os.environ.update(environment)

    # --- functions ---------------------------------------------------------------------------

    def handler(self, logical_id: str) -> Any:
        """A function's handler, imported into this process."""
        if logical_id not in self._handlers:
            self._handlers[logical_id] = load_handler(self.template.functions[logical_id])
        return self._handlers[logical_id]

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        if self.containers is not None:
            return self.containers.invoke(logical_id, event)
        acting = self.permissions.acting_as(logical_id) if self.permissions else contextlib.nullcontext()
        with self._lock, acting:
            deadline = time.monotonic() + self.template.functions[logical_id].timeout
            return self.handler(logical_id)(event, LambdaContext(self.function_names[logical_id], deadline=deadline))

    def bind_table(
        self, logical_id: str, name: str, endpoint: str | None, embedded_moto: bool = False, state: Path | None = None
    ) -> None:
        """The table the functions now use; its stream feeds the functions subscribed to it.

        ``embedded_moto``: the table is moto's, in this process (read its stream there).
        ``state``: a folder where each subscription keeps how far it has read (`make run`).
        """
        kept = [d for d in self.streams if d.subscription.table != logical_id]
        for subscription in (s for s in self.template.streams if s.table == logical_id):
            if embedded_moto:
                reader: StreamReader | MotoStreamReader = MotoStreamReader(name, REGION)
            else:
                position = state / f"{subscription.function}.json" if state else None
                reader = StreamReader(name, endpoint, REGION, position)
            kept.append(StreamDelivery(subscription, reader))
        self.streams = kept

    def bind_queues(self, names: dict[str, str], endpoint: str) -> None:
        """Create the template's queues at the embedded SQS; each feeds the functions subscribed to it."""
        urls = create_queues(self.template, names, endpoint)
        self.queues = [
            QueueDelivery(s, endpoint, urls[s.queue], names[f"{s.queue}.Arn"]) for s in self.template.queue_events
        ]

    def deliver_streams(self) -> None:
        """What the table's stream holds, then what the queues hold (which the stream's consumers
        may just have sent)."""
        self._deliver_stream_records()
        self.deliver_queues()

    def _deliver_stream_records(self) -> None:
        with self._polling:
            for delivery in self.streams:
                delivery.deliver(self.invoke)

    def deliver_queues(self) -> None:
        with self._queue_polling:
            for queue in self.queues:
                queue.deliver(self.invoke)

    def poll_streams_forever(self, interval: float = 0.25) -> None:
        """Deliver the streams' records and the queues' messages as Lambda's pollers do, a few
        times a second, each on a thread of its own (`make run`: a change's cleanup never holds up
        the request that made it, and a slow webhook receiver never holds up the stream)."""

        def poll(deliver: Any, name: str) -> None:
            while True:
                try:
                    deliver()
                except Exception as exc:  # the store is stopping, or restarting; try again
                    print(f"{name}: {exc}", flush=True)
                time.sleep(interval)

        for deliver, name in ((self._deliver_stream_records, "stream-poller"), (self.deliver_queues, "queue-poller")):
            threading.Thread(target=poll, args=(deliver, name), name=name, daemon=True).start()

    # --- requests ----------------------------------------------------------------------------

    def route(self, method: str, path: str) -> tuple[Route | None, dict[str, str]]:
        """As API Gateway picks: the most specific resource that has this method or ANY, and on
        it the method itself before ANY."""
        best: tuple[tuple[tuple[int, ...], bool], Route, dict[str, str]] | None = None
        for route in self.template.routes:
            if route.method not in (method, "ANY"):
                continue
            found = _match(route.path, path)
            rank = (found[0], route.method == method) if found else None
            if found and rank and (best is None or rank > best[0]):
                best = (rank, route, found[1])
        return (best[1], best[2]) if best else (None, {})

    def gateway_response(self, name: str) -> HttpResponse:
        """API Gateway's own answer, as template.yaml's GatewayResponses define it."""
        spec: GatewayResponse = self.template.gateway_responses[name]
        media, body = next(iter(spec.templates.items()))
        return HttpResponse(spec.status, {"Content-Type": media, **spec.headers}, body.encode())

    def event(
        self,
        route: Route,
        method: str,
        path: str,
        params: dict[str, str],
        headers: list[tuple[str, str]],
        query: str,
        body: bytes,
    ) -> dict[str, Any]:
        multi_headers: dict[str, list[str]] = {}
        for name, value in headers:
            multi_headers.setdefault(name, []).append(value)
        multi_query: dict[str, list[str]] = {}
        for name, value in parse_qsl(query, keep_blank_values=True):
            multi_query.setdefault(name, []).append(value)
        content_type = next((value for name, value in headers if name.lower() == "content-type"), None)
        if body and self.template.is_binary(content_type):
            text, encoded = base64.b64encode(body).decode(), True
        else:  # a text payload: a UTF-8 string, which a byte that is no UTF-8 cannot be
            text, encoded = body.decode("utf-8", errors="replace"), False
        stage = self.template.stage
        return {
            "resource": route.path,
            "path": path,
            "httpMethod": method,
            "headers": {k: v[-1] for k, v in multi_headers.items()} or None,
            "multiValueHeaders": multi_headers or None,
            "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": params or None,
            "stageVariables": None,
            "requestContext": {
                "accountId": ACCOUNT,
                "apiId": API_ID,
                "resourcePath": route.path,
                "httpMethod": method,
                "path": f"/{stage}{path}" if self.stage_in_path else path,
                "stage": stage,
                "protocol": "HTTP/1.1",
                "requestId": str(uuid.uuid4()),
                "requestTimeEpoch": int(time.time() * 1000),
                "identity": {"sourceIp": "127.0.0.1"},
            },
            "body": text if body else None,
            "isBase64Encoded": encoded,
        }

    def authorize(self, event: dict[str, Any]) -> dict[str, Any] | HttpResponse:
        """The authorizer's context, or the gateway response API Gateway would send instead."""
        context = event["requestContext"]
        method_arn = (
            f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/{context['stage']}/{event['httpMethod']}{event['path']}"
        )
        request = {
            "type": "REQUEST",
            "methodArn": method_arn,
            **{k: event[k] for k in ("resource", "path", "httpMethod", "headers", "multiValueHeaders")},
            **{k: event[k] for k in ("queryStringParameters", "multiValueQueryStringParameters")},
            **{k: event[k] for k in ("pathParameters", "stageVariables", "requestContext")},
        }
        try:
            policy = self.invoke(self.template.authorizer, request)
        except Exception as exc:
            if str(exc) == "Unauthorized":
                return self.gateway_response("UNAUTHORIZED")
            # API Gateway logs why in its execution log and answers 500 with a null message.
            print(f"authorizer failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            return HttpResponse(500, {"Content-Type": "application/json"}, b'{"message": null}')
        if not _allowed(policy, method_arn):
            return self.gateway_response("ACCESS_DENIED")
        # API Gateway hands the context to the integration with every value as a string.
        return {
            "principalId": policy.get("principalId"),
            **{k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in (policy.get("context") or {}).items()},
        }

    def handle(
        self,
        method: str,
        path: str,
        headers: list[tuple[str, str]] | dict[str, str] | None = None,
        query: str = "",
        body: bytes = b"",
    ) -> HttpResponse:
        pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        route, params = self.route(method.upper(), path)
        if route is None:
            return self.gateway_response("MISSING_AUTHENTICATION_TOKEN")
        event = self.event(route, method.upper(), path, params, pairs, query, body)
        if route.authorized and self.template.authorizer:
            context = self.authorize(event)
            if isinstance(context, HttpResponse):
                return context
            event["requestContext"]["authorizer"] = context
        try:
            result = self.invoke(route.function, event)
        except Stopping:
            return HttpResponse(503, {"Content-Type": "application/json"}, b'{"message": "Service Unavailable"}')
        except FunctionError as exc:  # the function failed: API Gateway answers for it, its log says why
            print(f"{route.function} failed: {exc.kind}: {exc}", file=sys.stderr, flush=True)
            timed_out = exc.kind == "TimeoutError"
            status, message = (504, "Endpoint request timed out") if timed_out else (502, "Internal server error")
            return HttpResponse(status, {"Content-Type": "application/json"}, json.dumps({"message": message}).encode())
        # What a change put on the table's stream reaches its consumers (in containers, the poller's job).
        if method.upper() != "GET" and self.containers is None:
            self.deliver_streams()
        out = {k: v for k, v in (result.get("headers") or {}).items()}
        for name, values in (result.get("multiValueHeaders") or {}).items():
            out[name] = ", ".join(values)
        payload = result.get("body") or ""
        data = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode("utf-8")
        return HttpResponse(int(result["statusCode"]), out, data)
