"""REQUEST authorizer: finds the key in ``x-api-key``, Redmine's ``X-Redmine-API-Key``, HTTP
Basic (the key as user name, any password) or the ``key`` query parameter (Redmine's too).

It authenticates only. The policy allows the whole API so that a cached answer stays correct for
any route; each handler checks the scope of its own operation. A form key is denied everywhere:
its one route, the web form, does not pass through here.
"""

from __future__ import annotations

import base64
from typing import Any

from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponse,
)

from crm import keys
from crm.observability import logger, observed


def _presented_key(event: APIGatewayAuthorizerRequestEvent) -> str | None:
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    for name in ("x-api-key", "x-redmine-api-key"):
        if headers.get(name):
            return headers[name]
    scheme, _, credentials = (headers.get("authorization") or "").partition(" ")
    if scheme.lower() == "basic" and credentials:
        try:
            user, _, _password = base64.b64decode(credentials.strip(), validate=True).decode().partition(":")
        except ValueError:  # not base64 (binascii.Error), not ASCII, or not UTF-8: no key at all
            return None
        return user  # ContactHero sends the key as user name and "API" as password, Redmine any
    return (event.query_string_parameters or {}).get("key") or None


def authorize(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    request = APIGatewayAuthorizerRequestEvent(event)
    key = _presented_key(request)
    principal = keys.authenticate(key) if key else None
    if principal is None:
        logger.info("key refused", extra={"presented": bool(key)})
        raise Exception("Unauthorized")  # API Gateway answers 401 for exactly this message
    arn = request.parsed_arn
    policy = APIGatewayAuthorizerResponse(
        principal_id=principal.key_id,
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        context=principal.to_context(),
    )
    if principal.form:
        policy.deny_all_routes()  # API Gateway answers 403 (ACCESS_DENIED)
        logger.info("form key refused outside the form", extra={"key_id": principal.key_id})
        return policy.asdict()
    policy.allow_all_routes()
    logger.info("key accepted", extra={"key_id": principal.key_id})
    return policy.asdict()


lambda_handler = observed(authorize)
