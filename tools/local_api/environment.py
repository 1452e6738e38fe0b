"""The environment the functions see locally: template.yaml's variables, resolved for this machine."""

from __future__ import annotations

import secrets
from typing import Any

from local_api.template import Template

REGION = "us-east-1"


def _resolve(value: Any, names: dict[str, str]) -> str | None:
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, dict) and "Ref" in value:
        return names.get(value["Ref"])
    return None  # an intrinsic this machine cannot evaluate (a secret); a local value must stand in


def function_environment(template: Template, names: dict[str, str], endpoint: str) -> dict[str, str]:
    """Every function's variables (they must agree, as the functions share one process here)."""
    local = {
        "DYNAMODB_ENDPOINT": endpoint,
        "CURSOR_SECRET": secrets.token_urlsafe(32),
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        # Credentials are never checked here, but botocore wants some.
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here; metrics print as EMF lines
    }
    env: dict[str, str] = {}
    for function in template.functions.values():
        for name, value in function.environment.items():
            resolved = _resolve(value, names)
            if resolved is None:
                if name not in local:
                    raise ValueError(f"{function.logical_id}: no local value for {name}")
                continue
            if env.get(name, resolved) != resolved:
                raise ValueError(f"{name} differs between functions; the local API runs them in one process")
            env[name] = resolved
    return {**env, **local}
