"""template.yaml as CloudFormation will see it: translated by aws-sam-translator, then checked."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from samtranslator.translator.transform import transform

from local_api.template import ROOT, TEMPLATE, _CfnLoader, load

API_MD = ROOT.parent / "shared" / "API.md"
ANY = "X-AMAZON-APIGATEWAY-ANY-METHOD"  # a resource's ANY route: the function answers 405 with Allow
DOCS_ROUTES = {(method, path) for method in ("GET", "HEAD") for path in ("/openapi.json", "/docs")}
# The web form checks the form key in its body itself; the authorizer refuses form keys.
FORM_ROUTES = {(method, f"/forms/contacts{suffix}") for method in ("POST", ANY) for suffix in ("", ".json", ".xml")}
SUFFIXES = ("", ".json", ".xml")
# API.md resources served by a function not named after them.
HOMES = {"docs": "DocsFunction", "contact projects": "ContactsFunction", "web form": "FormsFunction"}
# Redmine's notes are the notes function's; its tags, the contacts function's.
PATH_HOMES = {"/notes": "NotesFunction", "/contacts_tags": "ContactsFunction"}


class _PolicyLoader:
    """The managed policies SAM attaches, without asking IAM."""

    def load(self) -> dict[str, str]:
        return {"AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"}


@pytest.fixture(scope="module")
def cloudformation(monkeypatch_module: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch_module.setenv("AWS_DEFAULT_REGION", "us-east-1")
    document = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)  # noqa: S506 (a SafeLoader subclass)
    for resource in document["Resources"].values():
        properties = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):  # as `sam package` leaves them
            if key in properties:
                properties[key] = f"s3://artifacts/{properties[key]}"
    return transform(document, {}, _PolicyLoader())


@pytest.fixture(scope="module")
def monkeypatch_module() -> Any:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def _methods(cfn: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    paths = cfn["Resources"]["ContactsApi"]["Properties"]["Body"]["paths"]
    return {(method.upper(), path): op for path, ops in paths.items() for method, op in ops.items()}


def _contract_routes() -> dict[str, list[tuple[str, str]]]:
    """API.md's route table: resource -> [(method, path)], ``GET/PUT /x`` expanded."""
    routes: dict[str, list[tuple[str, str]]] = {}
    for line in API_MD.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 2 or "`" not in cells[1]:
            continue
        for spec in re.findall(r"`([A-Z/]+) (/[^`]+)`", cells[1]):
            methods, path = spec
            routes.setdefault(cells[0], []).extend((method, path) for method in methods.split("/"))
    return routes


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_every_method_but_the_docs_and_the_form_goes_through_the_authorizer(cloudformation: dict[str, Any]) -> None:
    for (method, path), operation in _methods(cloudformation).items():
        expected = [{"NONE": []}] if (method, path) in DOCS_ROUTES | FORM_ROUTES else [{"KeyAuthorizer": []}]
        assert operation.get("security") == expected, (method, path)
    authorizer = cloudformation["Resources"]["ContactsApi"]["Properties"]["Body"]["securityDefinitions"]
    settings = authorizer["KeyAuthorizer"]["x-amazon-apigateway-authorizer"]
    assert settings["type"] == "request"
    assert settings["authorizerResultTtlInSeconds"] <= 60


def test_each_contract_route_reaches_its_function_with_each_suffix(cloudformation: dict[str, Any]) -> None:
    methods = {(m, _shape(p)): op for (m, p), op in _methods(cloudformation).items()}
    functions = {name for name, r in cloudformation["Resources"].items() if r["Type"] == "AWS::Lambda::Function"}
    contract = _contract_routes()
    assert "contacts" in contract
    checked = 0
    for resource, routes in contract.items():
        home = HOMES.get(resource) or f"{resource.title().replace(' ', '')}Function"
        for method, path in routes:
            function = next((f for prefix, f in PATH_HOMES.items() if path.startswith(prefix)), home)
            assert function in functions, f"{method} {path}: no {function}"
            # A parameter as last segment takes the suffix inside it (/contacts/16.xml).
            last_is_param = path.endswith("}")
            for suffix in ("",) if resource == "docs" or last_is_param else SUFFIXES:
                operation = methods.get((method, _shape(path + suffix)))
                assert operation is not None, f"{method} {path}{suffix} is not routed"
                uri = operation["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
                assert f"${{{function}.Arn}}" in uri, (method, path, suffix)
                checked += 1
    assert checked >= 18


def test_every_get_answers_head_through_the_same_function(cloudformation: dict[str, Any]) -> None:
    """Rails answers HEAD as the GET without a body; ActiveResource's exists() relies on it."""
    methods = _methods(cloudformation)
    gets = [path for method, path in methods if method == "GET"]
    assert len(gets) >= 30
    for path in gets:
        head = methods.get(("HEAD", path))
        assert head is not None, f"HEAD {path} is not routed"
        get = methods[("GET", path)]
        assert head["x-amazon-apigateway-integration"]["uri"] == get["x-amazon-apigateway-integration"]["uri"], path
        assert head.get("security") == get.get("security"), path
    assert {method for method, _ in methods} <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", ANY}


def test_every_resource_of_a_function_has_an_any_route_to_it(cloudformation: dict[str, Any]) -> None:
    methods = _methods(cloudformation)
    for (method, path), operation in methods.items():
        if (method, path) in DOCS_ROUTES or method == ANY:
            continue
        other = methods.get((ANY, path))
        assert other is not None, f"{path} has no ANY route"
        uri = operation["x-amazon-apigateway-integration"]["uri"]
        assert other["x-amazon-apigateway-integration"]["uri"] == uri, path
        assert other.get("security") == operation.get("security"), path


def _statements(cloudformation: dict[str, Any], role: str) -> list[dict[str, Any]]:
    policies = cloudformation["Resources"][role]["Properties"].get("Policies") or []
    return [s for policy in policies for s in policy["PolicyDocument"]["Statement"]]


TABLE = {"Fn::GetAtt": ["ContactsTable", "Arn"]}


PHOTOS = {"Fn::Sub": "${PhotosBucket.Arn}/photos/*"}


def test_function_policies_name_only_the_table_and_the_photos(cloudformation: dict[str, Any]) -> None:
    """What each role may touch; that each function's calls are allowed is checked on every call
    the tests make (local_api.permissions)."""
    authorizer = _statements(cloudformation, "AuthorizerFunctionRole")
    assert authorizer == [{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE}]
    for role in ("NotesFunctionRole", "CustomFieldsFunctionRole", "CallsFunctionRole", "MessagesFunctionRole"):
        statements = _statements(cloudformation, role)
        assert [s["Resource"] for s in statements] == [TABLE], role
        assert not any("Scan" in action or "*" in action for s in statements for action in s["Action"]), role
    contacts = _statements(cloudformation, "ContactsFunctionRole")
    assert [s["Resource"] for s in contacts] == [TABLE, PHOTOS]
    assert contacts[1]["Action"] == "s3:GetObject"  # it signs downloads only
    (s3,) = [s for s in _statements(cloudformation, "PhotosFunctionRole") if str(s["Action"]).startswith("['s3:")]
    assert s3["Action"] == ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    assert [r["Fn::Sub"][0].rsplit("/", 2)[1] for r in s3["Resource"]] == ["uploads", "photos"]
    assert _statements(cloudformation, "DocsFunctionRole") == []
    # Imports: the API signs uploads under imports/ and report downloads under reports/ only.
    imports = _statements(cloudformation, "ImportsFunctionRole")
    assert [(s["Action"], s["Resource"]) for s in imports[1:]] == [
        ("s3:PutObject", {"Fn::Sub": "${ImportsBucket.Arn}/imports/*"}),
        ("s3:GetObject", {"Fn::Sub": "${ImportsBucket.Arn}/reports/*"}),
    ]
    failures, *worker = _statements(cloudformation, "ImportWorkerFunctionRole")  # SAM's for the destination first
    assert (failures["Action"], failures["Resource"]) == ("sqs:SendMessage", {"Fn::GetAtt": ["ImportFailures", "Arn"]})
    assert worker[0]["Resource"] == TABLE
    assert [(s["Action"], s["Resource"]["Fn::Sub"][0].rsplit("/", 2)[1]) for s in worker[1:3]] == [
        (["s3:GetObject", "s3:GetObjectVersion"], "imports"),
        ("s3:PutObject", "reports"),
    ]
    # It invokes itself (a long import goes on in a new invocation), and nothing else.
    assert worker[3]["Action"] == "lambda:InvokeFunction"
    assert worker[3]["Resource"]["Fn::Sub"].endswith(":function:${AWS::StackName}-import-worker")
    assert cloudformation["Resources"]["ImportWorkerFunction"]["Properties"]["FunctionName"] == {
        "Fn::Sub": "${AWS::StackName}-import-worker"
    }


def _references(value: Any) -> set[str]:
    """The resources a value names: Ref, GetAtt, and the ${Name} and ${Name.Attribute} of a Sub."""
    if isinstance(value, list):
        return set().union(*(_references(v) for v in value)) if value else set()
    if not isinstance(value, dict):
        return set()
    found: set[str] = set()
    for key, item in value.items():
        if key == "Ref" and isinstance(item, str):
            found.add(item)
        elif key == "Fn::GetAtt":
            found.add(item[0] if isinstance(item, list) else item.split(".")[0])
        elif key == "Fn::Sub":
            text, variables = (item, {}) if isinstance(item, str) else (item[0], item[1])
            names = {name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text)}
            found |= (names - set(variables)) | _references(variables)
        else:
            found |= _references(item)
    return found


def test_no_circular_dependency_between_resources(cloudformation: dict[str, Any]) -> None:
    """CloudFormation refuses a stack whose resources depend on each other in a circle, but only
    at deploy time: cfn-lint and sam validate pass it. The photos bucket notifies its function, so
    the function (and its role) must name the bucket by a !Sub of its name, never by !Ref."""
    resources = cloudformation["Resources"]
    graph = {
        name: {
            other
            for other in _references(resource.get("Properties") or {}) | set(_as_list(resource.get("DependsOn")))
            if other in resources
        }
        for name, resource in resources.items()
    }
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for other in sorted(graph[name]):
            if state.get(other) == 1:
                pytest.fail("circular dependency: " + " -> ".join([*path[path.index(other) :], other]))
            if other not in state:
                visit(other, [*path, other])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    # Their notifications: the edges a !Ref back would close.
    assert "PhotosFunction" in graph["PhotosBucket"]
    assert "ImportWorkerFunction" in graph["ImportsBucket"]


def _as_list(value: Any) -> list[Any]:
    return [] if value is None else value if isinstance(value, list) else [value]


def test_every_role_is_scoped_to_this_stack(cloudformation: dict[str, Any]) -> None:
    """No statement on "*" but X-Ray's (which has no resource-level permissions); no broad managed policy."""
    allowed_managed = {
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    }
    roles = {k: r for k, r in cloudformation["Resources"].items() if r["Type"] == "AWS::IAM::Role"}
    assert "CleanupRole" in roles
    for name, role in roles.items():
        assert set(role["Properties"].get("ManagedPolicyArns") or []) <= allowed_managed, name
        for statement in _statements(cloudformation, name):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if statement["Resource"] == "*":
                assert all(action.startswith("xray:") for action in actions), (name, actions)
    cleanup = {json.dumps(s["Resource"], sort_keys=True) for s in _statements(cloudformation, "CleanupRole")}
    assert json.dumps({"Fn::GetAtt": ["ContactsTable", "StreamArn"]}, sort_keys=True) in cleanup


def test_table_is_recoverable_and_encrypted(cloudformation: dict[str, Any]) -> None:
    table = cloudformation["Resources"]["ContactsTable"]
    properties = table["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["SSESpecification"] == {"SSEEnabled": True}
    assert properties["DeletionProtectionEnabled"] == {"Ref": "TableDeletionProtection"}
    assert table["DeletionPolicy"] == "Retain"


def test_functions_run_python_3_13_on_arm64(cloudformation: dict[str, Any]) -> None:
    functions = [r for r in cloudformation["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert {(f["Properties"]["Runtime"], tuple(f["Properties"]["Architectures"])) for f in functions} == {
        ("python3.13", ("arm64",))
    }


def test_cfn_lint_is_clean() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(TEMPLATE)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_photos_bucket_is_private_encrypted_and_drops_abandoned_uploads(cloudformation: dict[str, Any]) -> None:
    bucket = cloudformation["Resources"]["PhotosBucket"]["Properties"]
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    (expiry,) = bucket["LifecycleConfiguration"]["Rules"]
    assert (expiry["Prefix"], expiry["ExpirationInDays"], expiry["Status"]) == ("uploads/", 1, "Enabled")
    assert expiry["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    # Only uploads/ notifies the function: the checked images it writes under photos/ must not.
    (notification,) = bucket["NotificationConfiguration"]["LambdaConfigurations"]
    assert notification["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "uploads/"}]
    policy = cloudformation["Resources"]["PhotosBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert [(s["Effect"], s["Condition"]) for s in policy] == [("Deny", {"Bool": {"aws:SecureTransport": "false"}})]


def test_imports_bucket_is_versioned_private_encrypted_and_reports_trigger_nothing(
    cloudformation: dict[str, Any],
) -> None:
    resources = cloudformation["Resources"]
    bucket = resources["ImportsBucket"]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert "Fn::Sub" in bucket["BucketName"]
    expiries = {r["Prefix"]: r["ExpirationInDays"] for r in bucket["LifecycleConfiguration"]["Rules"]}
    assert expiries == {"imports/": 7, "exports/": 7, "reports/": 30}
    # Only imports/ starts the worker: the reports it writes under reports/ must not.
    (notification,) = bucket["NotificationConfiguration"]["LambdaConfigurations"]
    assert notification["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "imports/"}]
    policy = resources["ImportsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert [(s["Effect"], s["Condition"]) for s in policy] == [("Deny", {"Bool": {"aws:SecureTransport": "false"}})]
    # A failed import event goes to a queue after Lambda's retries; the worker may run 15 minutes.
    invoke_config = next(
        r
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::EventInvokeConfig"
        and r["Properties"]["FunctionName"] == {"Ref": "ImportWorkerFunction"}
    )
    assert invoke_config["Properties"]["MaximumRetryAttempts"] == 2
    failure = invoke_config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]
    assert failure == {"Fn::GetAtt": ["ImportFailures", "Arn"]}
    assert resources["ImportWorkerFunction"]["Properties"]["Timeout"] == 900


def test_the_api_writes_json_access_logs_without_secrets(cloudformation: dict[str, Any]) -> None:
    stages = [r for r in cloudformation["Resources"].values() if r["Type"] == "AWS::ApiGateway::Stage"]
    assert len(stages) == 1
    setting = stages[0]["Properties"]["AccessLogSetting"]
    assert setting["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogs", "Arn"]}
    fields = json.loads(setting["Format"])
    assert {"request_id", "key_id", "account", "route", "status", "latency_ms"} <= set(fields)
    # Nothing a caller sent is logged: no header, no body, no query, not even API Gateway's own key.
    assert not re.search(r"\$input|\.header|querystring|apiKey|authorization", setting["Format"], re.I)
    logs = cloudformation["Resources"]["ApiAccessLogs"]
    assert logs["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    account = cloudformation["Resources"]["ApiGatewayAccount"]
    assert account["Properties"]["CloudWatchRoleArn"] == {"Fn::GetAtt": ["ApiGatewayLogRole", "Arn"]}


@pytest.mark.parametrize(
    ("function", "parameter"),
    [("FormsFunction", "FormsConcurrency"), ("ImportWorkerFunction", "ImportWorkerConcurrency")],
)
def test_the_web_form_and_the_import_worker_have_a_concurrency_of_their_own(
    cloudformation: dict[str, Any], function: str, parameter: str
) -> None:
    reserved = cloudformation["Resources"][function]["Properties"]["ReservedConcurrentExecutions"]
    condition = cloudformation["Conditions"][reserved["Fn::If"][0]]
    assert reserved["Fn::If"][1:] == [{"Ref": parameter}, {"Ref": "AWS::NoValue"}]
    assert condition == {"Fn::Not": [{"Fn::Equals": [{"Ref": parameter}, 0]}]}  # 0: none reserved
    assert int(cloudformation["Parameters"][parameter]["Default"]) > 0


def test_stateful_resources_say_what_happens_to_them_on_delete_and_replace(cloudformation: dict[str, Any]) -> None:
    kinds = ("AWS::Logs::LogGroup", "AWS::SQS::Queue", "AWS::SecretsManager::Secret", "AWS::DynamoDB::Table")
    found = {name: r for name, r in cloudformation["Resources"].items() if r["Type"] in kinds}
    assert len(found) >= 17
    for name, resource in found.items():
        assert resource.get("DeletionPolicy") in ("Delete", "Retain"), name
        assert resource.get("UpdateReplacePolicy") == resource["DeletionPolicy"], name
    assert found["ContactsTable"]["DeletionPolicy"] == "Retain"


def test_every_check_checkov_skips_says_why_in_its_resource() -> None:
    raw = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)  # noqa: S506 (our loader: CloudFormation's tags)
    skipped = {
        name: resource["Metadata"]["checkov"]["skip"]
        for name, resource in raw["Resources"].items()
        if "checkov" in (resource.get("Metadata") or {})
    }
    assert len(skipped) >= 30
    for name, skips in skipped.items():
        for skip in skips:
            assert re.fullmatch(r"CKV_AWS_\d+", skip["id"]), (name, skip)
            assert len(skip.get("comment", "")) > 40, (name, skip)  # a reason, not a word
    # The web form and the import worker reserve their concurrency: no skip of that check for them.
    assert all(s["id"] != "CKV_AWS_115" for f in ("FormsFunction", "ImportWorkerFunction") for s in skipped[f])


def test_every_body_reaches_the_functions_as_the_bytes_sent(cloudformation: dict[str, Any]) -> None:
    """Bodies come base64-encoded whatever their type, so a byte that is no UTF-8 is seen and
    refused (tests/test_hostile_http.py); `make run` hands them on as this template says."""
    body = cloudformation["Resources"]["ContactsApi"]["Properties"]["Body"]
    assert body["x-amazon-apigateway-binary-media-types"] == ["*/*"]
    local = load()
    assert all(local.is_binary(kind) for kind in ("application/json", "text/xml; charset=utf-8", None))
