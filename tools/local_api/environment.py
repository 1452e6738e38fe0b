"""The environment the functions see locally: template.yaml's variables, resolved for this machine."""

from __future__ import annotations

import re
import secrets
from typing import Any

from local_api.template import Template

REGION = "us-east-1"
ACCOUNT = "123456789012"
STACK = "contacts-api"
# What CloudFormation's pseudo parameters are on this machine (a stack that is never deployed).
PSEUDO = {
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": REGION,
    "AWS::Partition": "aws",
    "AWS::StackName": STACK,
    "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/local-0000-0000",
    "AWS::URLSuffix": "amazonaws.com",
}
SUB_VARIABLE = re.compile(r"\$\{([^}!]+)\}")


def resolve(value: Any, names: dict[str, str]) -> Any:
    """A template value with what this machine can evaluate of it: literals, Ref (of a resource named
    in ``names`` or a pseudo parameter), GetAtt (named in ``names`` as "Logical.Attribute"), Sub,
    Select and Split; None for anything else (a secret)."""
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, list):
        items = [resolve(item, names) for item in value]
        return None if any(item is None for item in items) else items
    if not isinstance(value, dict) or len(value) != 1:
        return None
    ((function, argument),) = value.items()
    if function == "Ref":
        return names.get(argument, PSEUDO.get(argument))
    if function == "Fn::GetAtt":  # only what ``names`` holds as "<logical id>.<attribute>"
        return names.get(".".join(argument))
    if function == "Fn::Select":
        index, items = resolve(argument[0], names), resolve(argument[1], names)
        return None if index is None or items is None else items[int(index)]
    if function == "Fn::Split":
        text = resolve(argument[1], names)
        return None if text is None else text.split(argument[0])
    if function == "Fn::Sub":
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        local = {**names, **{k: resolve(v, names) for k, v in variables.items()}}

        def substitute(match: re.Match[str]) -> str:
            found = local.get(match.group(1), PSEUDO.get(match.group(1)))
            if found is None:
                raise LookupError(match.group(1))
            return found

        try:
            return SUB_VARIABLE.sub(substitute, text)
        except LookupError:
            return None
    return None


def local_names(template: Template, table: str) -> dict[str, str]:
    """The names resources (and parameters) have here: the table's as chosen, the parameters' their
    defaults, the buckets' and functions' as the template names them."""
    names = {**template.parameters, **{logical_id: table for logical_id in template.tables}}
    for logical_id, properties in template.buckets.items():
        names[logical_id] = resolve(properties.get("BucketName", logical_id.lower()), names)
    for logical_id, properties in template.queues.items():  # CloudFormation's: a FIFO one ends .fifo
        names[f"{logical_id}.QueueName"] = f"{STACK}-{logical_id}" + (".fifo" if properties.get("FifoQueue") else "")
        names[f"{logical_id}.Arn"] = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{names[f'{logical_id}.QueueName']}"
    return {**names, **function_names(template)}


def queue_url(names: dict[str, str], logical_id: str, endpoint: str) -> str:
    """A queue's URL (what Ref gives) at the embedded SQS."""
    return f"{endpoint}/{ACCOUNT}/{names[f'{logical_id}.QueueName']}"


def function_names(template: Template) -> dict[str, str]:
    """Each function's name here (logical id -> name): its FunctionName, or one made up as
    CloudFormation would (the stack's name, then its logical id)."""
    return {
        logical_id: resolve(function.name, template.parameters) if function.name else f"{STACK}-{logical_id}"
        for logical_id, function in template.functions.items()
    }


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def function_environment(
    template: Template, names: dict[str, str], endpoint: str, s3_endpoint: str | None = None
) -> dict[str, str]:
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
    if s3_endpoint:  # the embedded server: S3, SQS, and Lambda's Invoke (local_api.buckets)
        local["S3_ENDPOINT"] = local["LAMBDA_ENDPOINT"] = local["SQS_ENDPOINT"] = s3_endpoint
        names = {**names, **{queue: queue_url(names, queue, s3_endpoint) for queue in template.queues}}
    # Webhooks may be posted to 127.0.0.1 here (tests receive them); on AWS, never.
    local["WEBHOOK_LOOPBACK"] = "allow"
    env: dict[str, str] = {}
    for function in template.functions.values():
        for name, value in function.environment.items():
            resolved = resolve(value, names)
            if resolved is None:
                if name not in local:
                    raise ValueError(f"{function.logical_id}: no local value for {name}")
                continue
            if env.get(name, resolved) != resolved:
                raise ValueError(f"{name} differs between functions; the local API runs them in one process")
            env[name] = resolved
    return {**env, **local}
