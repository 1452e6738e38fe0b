"""What the local API needs from template.yaml: functions, routes, the authorizer, tables, buckets.

template.yaml is the single source of truth; nothing here repeats a route or a setting.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation's short tags (!Ref, !Sub, !GetAtt ...) as their long forms."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _tag)


@dataclass(frozen=True)
class Route:
    path: str  # as API Gateway declares it: /contacts/{contact_id}
    method: str
    function: str  # logical id
    authorized: bool


@dataclass(frozen=True)
class StreamSubscription:
    """A function fed by a table's DynamoDB stream."""

    function: str
    table: str  # logical id
    filters: list[dict[str, Any]]  # event patterns; a record passes if it matches any (or there are none)
    batch_size: int
    retries: int


@dataclass(frozen=True)
class QueueSubscription:
    """A function fed by an SQS queue (Lambda's poller: batches, partial batch responses)."""

    function: str
    queue: str  # logical id
    batch_size: int


@dataclass(frozen=True)
class BucketSubscription:
    """A function S3 notifies of new objects in a bucket (asynchronously, with Lambda's retries)."""

    function: str
    bucket: str  # logical id
    events: list[str]  # s3:ObjectCreated:* ...
    prefix: str
    suffix: str
    retries: int


@dataclass(frozen=True)
class Function:
    logical_id: str
    code_dir: Path
    handler: str  # module.path.attribute, relative to code_dir
    environment: dict[str, Any] = field(default_factory=dict)
    statements: list[dict[str, Any]] = field(default_factory=list)  # its role's, as written
    timeout: int = 3  # seconds
    name: Any = None  # its FunctionName, as written (None: CloudFormation makes one up)

    @property
    def module_file(self) -> Path:
        module, _, _ = self.handler.rpartition(".")
        return self.code_dir / (module.replace(".", "/") + ".py")

    @property
    def attribute(self) -> str:
        return self.handler.rpartition(".")[2]


@dataclass(frozen=True)
class GatewayResponse:
    status: int
    headers: dict[str, str]
    templates: dict[str, str]


@dataclass(frozen=True)
class Template:
    functions: dict[str, Function]
    routes: list[Route]
    authorizer: str | None  # logical id of the authorizer function
    stage: str
    gateway_responses: dict[str, GatewayResponse]
    tables: dict[str, dict[str, Any]]  # logical id -> Properties
    streams: list[StreamSubscription]
    buckets: dict[str, dict[str, Any]] = field(default_factory=dict)  # logical id -> Properties
    bucket_events: list[BucketSubscription] = field(default_factory=list)
    parameters: dict[str, str] = field(default_factory=dict)  # name -> default
    source: Path = TEMPLATE  # the file it was read from
    # The API's BinaryMediaTypes, as media types (SAM writes "/" as "~1"): bodies of these types
    # reach the functions base64-encoded, as they were sent.
    binary_media_types: tuple[str, ...] = ()
    queues: dict[str, dict[str, Any]] = field(default_factory=dict)  # logical id -> Properties
    queue_events: list[QueueSubscription] = field(default_factory=list)

    def is_binary(self, content_type: str | None) -> bool:
        """Whether API Gateway hands on a body of this Content-Type base64-encoded."""
        media = (content_type or "").split(";", 1)[0].strip().lower()
        major = media.split("/", 1)[0]
        return any(kind in ("*/*", media, f"{major}/*") for kind in self.binary_media_types)


def _statements(props: dict[str, Any], resources: dict[str, Any]) -> list[dict[str, Any]]:
    """The statements of a function's role: its SAM ``Policies``, or those of the ``Role`` it names."""
    role = props.get("Role")
    if isinstance(role, dict) and "Fn::GetAtt" in role:
        policies = resources[role["Fn::GetAtt"][0]]["Properties"].get("Policies") or []
        return [s for policy in policies for s in policy["PolicyDocument"]["Statement"]]
    return [
        s for policy in props.get("Policies") or [] if isinstance(policy, dict) for s in policy.get("Statement", [])
    ]


def _function(logical_id: str, props: dict[str, Any], globals_: dict[str, Any], resources: dict[str, Any]) -> Function:
    env = dict((globals_.get("Environment") or {}).get("Variables") or {})
    env.update((props.get("Environment") or {}).get("Variables") or {})
    timeout = int(props.get("Timeout", globals_.get("Timeout", 3)))
    statements = _statements(props, resources)
    code = ROOT / props["CodeUri"]
    return Function(logical_id, code, props["Handler"], env, statements, timeout, props.get("FunctionName"))


def _static(value: str) -> str:
    """Gateway response header values are quoted literals: "'1'" -> "1"."""
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == "'" else value


def load(path: Path = TEMPLATE) -> Template:
    document = yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 (a SafeLoader subclass)
    resources: dict[str, Any] = document["Resources"]
    globals_ = (document.get("Globals") or {}).get("Function") or {}
    functions, routes, tables, streams, buckets, bucket_events = {}, [], {}, [], {}, []
    queues: dict[str, dict[str, Any]] = {}
    queue_events: list[QueueSubscription] = []
    authorizer, stage, responses, binary = None, "v1", {}, ()
    for logical_id, resource in resources.items():
        kind, props = resource["Type"], resource.get("Properties") or {}
        if kind == "AWS::Serverless::Function":
            functions[logical_id] = _function(logical_id, props, globals_, resources)
            for event in (props.get("Events") or {}).values():
                p = event["Properties"]
                if event["Type"] == "DynamoDB":
                    patterns = ((p.get("FilterCriteria") or {}).get("Filters")) or []
                    streams.append(
                        StreamSubscription(
                            logical_id,
                            p["Stream"]["Fn::GetAtt"][0],
                            [json.loads(f["Pattern"]) for f in patterns],
                            int(p.get("BatchSize", 100)),
                            int(p.get("MaximumRetryAttempts", 0)),
                        )
                    )
                if event["Type"] == "S3":
                    rules = (((p.get("Filter") or {}).get("S3Key") or {}).get("Rules")) or []
                    found = {rule["Name"].lower(): rule["Value"] for rule in rules}
                    events = p["Events"] if isinstance(p["Events"], list) else [p["Events"]]
                    retries = int((props.get("EventInvokeConfig") or {}).get("MaximumRetryAttempts", 2))
                    subscription = BucketSubscription(
                        logical_id,
                        p["Bucket"]["Ref"],
                        events,
                        found.get("prefix", ""),
                        found.get("suffix", ""),
                        retries,
                    )
                    bucket_events.append(subscription)
                if event["Type"] == "SQS":
                    queue_events.append(
                        QueueSubscription(logical_id, p["Queue"]["Fn::GetAtt"][0], int(p.get("BatchSize", 10)))
                    )
                if event["Type"] != "Api":
                    continue
                authorized = (p.get("Auth") or {}).get("Authorizer") != "NONE"
                routes.append(Route(p["Path"], p["Method"].upper(), logical_id, authorized))
        elif kind == "AWS::Serverless::Api":
            stage = props.get("StageName", stage)
            binary = tuple(media.replace("~1", "/").lower() for media in props.get("BinaryMediaTypes") or ())
            auth = props.get("Auth") or {}
            default = auth.get("DefaultAuthorizer")
            if default:
                authorizer = auth["Authorizers"][default]["FunctionArn"]["Fn::GetAtt"][0]
            for name, spec in (props.get("GatewayResponses") or {}).items():
                headers = ((spec.get("ResponseParameters") or {}).get("Headers")) or {}
                responses[name] = GatewayResponse(
                    int(spec["StatusCode"]),
                    {k: _static(v) for k, v in headers.items()},
                    dict(spec.get("ResponseTemplates") or {}),
                )
        elif kind == "AWS::DynamoDB::Table":
            tables[logical_id] = props
        elif kind == "AWS::S3::Bucket":
            buckets[logical_id] = props
        elif kind == "AWS::SQS::Queue":
            queues[logical_id] = props
    declared = (document.get("Parameters") or {}).items()
    parameters = {name: str(spec["Default"]) for name, spec in declared if "Default" in spec}
    return Template(
        functions,
        routes,
        authorizer,
        stage,
        responses,
        tables,
        streams,
        buckets,
        bucket_events,
        parameters,
        path,
        binary,
        queues,
        queue_events,
    )
