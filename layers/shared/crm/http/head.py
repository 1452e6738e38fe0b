"""HEAD, as Rails answers it: the GET's status and headers without its body.

API Gateway routes each HEAD to the function of its GET (template.yaml declares both); the
function serves it as that GET and drops the body. ActiveResource's ``exists()`` asks so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Resolve = Callable[[dict[str, Any], Any], dict[str, Any]]


def answering(resolve: Resolve) -> Resolve:
    """``resolve`` (a Powertools resolver's), answering HEAD as its GET with no body."""

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if (event.get("httpMethod") or "").upper() != "HEAD":
            return resolve(event, context)
        request_context = {**(event.get("requestContext") or {}), "httpMethod": "GET"}
        response = resolve({**event, "httpMethod": "GET", "requestContext": request_context}, context)
        return {**response, "body": "", "isBase64Encoded": False}

    return handler
