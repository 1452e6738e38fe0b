"""IAM on this machine: a function may call only what its role in template.yaml allows.

On AWS a call the role does not allow fails with AccessDenied; here every AWS call a function
makes while it is invoked (and every URL it presigns, which acts with its permissions) is checked
against its statements the same way, and refused the same way. So a missing permission fails
`make run` and the tests, not the first deployment.
"""

from __future__ import annotations

import contextvars
import fnmatch
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import botocore.client
import botocore.signers
from botocore.exceptions import ClientError

from local_api.environment import ACCOUNT, REGION, function_arn, resolve
from local_api.template import Template

# Operations whose IAM action is another's (those on several resources are in ``_needs``), and
# the transaction items' actions.
ACTIONS = {
    ("s3", "HeadObject"): ("GetObject",),
    ("dynamodb", "TransactGetItems"): ("GetItem",),
    ("sqs", "SendMessageBatch"): ("SendMessage",),
    ("sqs", "DeleteMessageBatch"): ("DeleteMessage",),
    ("sqs", "ChangeMessageVisibilityBatch"): ("ChangeMessageVisibility",),
}
TRANSACT_ITEMS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
PRESIGNED = {"put_object": "PutObject", "get_object": "GetObject"}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


class Permissions:
    def __init__(self, template: Template, names: dict[str, str]) -> None:
        self.names = dict(names)
        for logical_id in template.tables:
            table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{names[logical_id]}"
            self.names |= {f"{logical_id}.Arn": table, f"{logical_id}.StreamArn": f"{table}/stream/local"}
        for logical_id in template.buckets:
            self.names[f"{logical_id}.Arn"] = f"arn:aws:s3:::{names[logical_id]}"
        self.table_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{names[next(iter(template.tables))]}"
        self.statements = {
            logical_id: [self._resolved(s) for s in function.statements if s.get("Effect") == "Allow"]
            for logical_id, function in template.functions.items()
        }
        self.denied: list[str] = []  # every refusal, for tests to show
        # Whose calls these are: a context variable, so that threads a function starts with its
        # context (contextvars.copy_context) act as it too.
        self._current: contextvars.ContextVar[str | None] = contextvars.ContextVar("function", default=None)

    def _resolved(self, statement: dict[str, Any]) -> tuple[list[str], list[str]]:
        resources = [resolve(r, self.names) for r in _as_list(statement.get("Resource", []))]
        return [str(a) for a in _as_list(statement["Action"])], [r for r in resources if isinstance(r, str)]

    def allows(self, function: str, action: str, resource: str) -> bool:
        return any(
            any(fnmatch.fnmatchcase(action, a) for a in actions)
            and any(fnmatch.fnmatchcase(resource, r) for r in resources)
            for actions, resources in self.statements.get(function, [])
        )

    @contextmanager
    def acting_as(self, function: str) -> Iterator[None]:
        """Calls made in this context meanwhile are the function's."""
        token = self._current.set(function)
        try:
            yield
        finally:
            self._current.reset(token)

    # --- what a call needs -----------------------------------------------------------------------

    def _needs(self, service: str, operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
        """(IAM action, resource ARN) pairs a call needs."""
        if service == "dynamodb":
            if operation == "TransactWriteItems":
                return [
                    (f"dynamodb:{TRANSACT_ITEMS[kind]}", self.table_arn)
                    for item in params.get("TransactItems", [])
                    for kind in item
                ]
            return [(f"dynamodb:{a}", self.table_arn) for a in ACTIONS.get((service, operation), (operation,))]
        if service == "s3":
            bucket = f"arn:aws:s3:::{params.get('Bucket', '')}"
            if operation == "CopyObject":
                source = params["CopySource"]
                source = f"{source['Bucket']}/{source['Key']}" if isinstance(source, dict) else source.lstrip("/")
                return [("s3:GetObject", f"arn:aws:s3:::{source}"), ("s3:PutObject", f"{bucket}/{params['Key']}")]
            if operation == "DeleteObjects":
                return [("s3:DeleteObject", f"{bucket}/{o['Key']}") for o in params["Delete"]["Objects"]]
            if operation in ("ListObjectsV2", "ListObjects"):
                return [("s3:ListBucket", bucket)]
            resource = f"{bucket}/{params['Key']}" if "Key" in params else bucket
            actions = ACTIONS.get((service, operation), (operation,))
            if operation == "GetObject" and params.get("VersionId"):  # a version: its own permission too
                actions = (*actions, "GetObjectVersion")
            return [(f"s3:{a}", resource) for a in actions]
        if service == "sqs" and "QueueUrl" in params:  # .../<account>/<name>
            account, name = str(params["QueueUrl"]).rstrip("/").split("/")[-2:]
            queue = f"arn:aws:sqs:{REGION}:{account}:{name}"
            return [(f"sqs:{a}", queue) for a in ACTIONS.get((service, operation), (operation,))]
        if service == "lambda" and operation == "Invoke":
            name = str(params.get("FunctionName", ""))
            return [("lambda:InvokeFunction", name if name.startswith("arn:") else function_arn(name))]
        return [(f"{service}:{operation}", "*")]

    def check(self, service: str, operation: str, params: dict[str, Any]) -> None:
        function = self._current.get()
        if function is None:  # the local runner's own calls (tables, buckets), not a function's
            return
        for action, resource in self._needs(service, operation, params):
            if not self.allows(function, action, resource):
                message = f"{function} is not authorized to perform {action} on {resource}"
                self.denied.append(message)
                raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": message}}, operation)

    def install(self) -> None:
        """Check every call botocore makes in this process (PynamoDB's and boto3's alike)."""
        permissions = self
        make_api_call = botocore.client.BaseClient._make_api_call
        presign = botocore.signers.generate_presigned_url

        def checked_call(client: Any, operation: str, params: dict[str, Any]) -> Any:
            permissions.check(client.meta.service_model.endpoint_prefix, operation, params)
            return make_api_call(client, operation, params)

        def checked_presign(client: Any, ClientMethod: str, Params: Any = None, *args: Any, **kwargs: Any) -> str:
            operation = PRESIGNED.get(ClientMethod, ClientMethod)
            permissions.check(client.meta.service_model.endpoint_prefix, operation, dict(Params or {}))
            return presign(client, ClientMethod, Params, *args, **kwargs)

        botocore.client.BaseClient._make_api_call = checked_call
        # Clients made from now on get the checked presigner (botocore attaches it to each new client class).
        botocore.signers.generate_presigned_url = checked_presign
