"""The API's OpenAPI document and Swagger UI, merged from every resource handler's routes.

Deployed with the whole ``functions/`` folder as its code, so the handlers it documents are
the ones beside it. No key is needed here: the document holds no data.
"""

from __future__ import annotations

import importlib.util
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html

from crm.http import head, openapi
from crm.observability import observed

FUNCTIONS = Path(__file__).resolve().parent.parent
HEADERS = {"Cache-Control": "no-store"}

app = APIGatewayRestResolver()


def _load(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"documented_{path.parent.name}", path)
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    # Imported here: it loads pydantic, which only building the document needs.
    from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge

    merge = OpenAPIMerge(
        title="contacts-api",
        version="1",
        description=(
            "Contacts, in JSON or XML. Send your key as x-api-key, as the Basic user name, or as the key "
            "query parameter. The web form takes a form key in its key field instead."
        ),
        security_schemes={
            "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
            "basic": {"type": "http", "scheme": "basic"},
            "queryKey": {"type": "apiKey", "in": "query", "name": "key"},
        },
        security=[{"apiKey": []}, {"basic": []}, {"queryKey": []}],
        on_conflict="error",
    )
    for handler in sorted(FUNCTIONS.glob("*/app.py")):
        if handler.parent.name == "docs":
            continue
        resolver = getattr(_load(handler), "app", None)  # only HTTP resources have one
        if hasattr(resolver, "get_openapi_schema"):
            merge.add_schema(resolver.get_openapi_schema())
    return openapi.finish(json.loads(merge.get_openapi_json_schema()))


def _with_server() -> str:
    """The document with this deployment's base path (``/v1`` behind API Gateway) as its server."""
    context = app.current_event.request_context
    public, path = context.path or "", app.current_event.path
    base = public[: -len(path)] if public.endswith(path) else ""
    return json.dumps({**document(), "servers": [{"url": base or "/"}]})


@app.get("/openapi.json", include_in_schema=False)
def openapi_json() -> Response:
    return Response(200, "application/json; charset=utf-8", _with_server(), HEADERS)


@app.get("/docs", include_in_schema=False)
def swagger() -> Response:
    ui = Path(generate_swagger_html.__code__.co_filename).parent
    html = generate_swagger_html(
        _with_server().replace("</", "<\\/"),
        (ui / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        (ui / "swagger-ui.min.css").read_text(encoding="utf-8"),
        "",
        None,
    )
    return Response(200, "text/html; charset=utf-8", html, HEADERS)


lambda_handler = observed(head.answering(app.resolve))
