"""The local IAM check (local_api.permissions): a function's call outside its role in template.yaml
is refused as AWS would refuse it, so every test that reaches such a call fails."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.conftest import PERMISSIONS, PHOTOS_BUCKET, S3_ENDPOINT

TABLE_ARN_CALL = ("dynamodb", "BatchGetItem", {})


@pytest.fixture(autouse=True)
def no_refusals_left() -> Iterator[None]:
    yield
    PERMISSIONS.denied.clear()  # these tests' refusals are on purpose


def refused(function: str, service: str, operation: str, params: dict) -> bool:
    with PERMISSIONS.acting_as(function):
        try:
            PERMISSIONS.check(service, operation, params)
        except ClientError as exc:
            return exc.response["Error"]["Code"] == "AccessDeniedException"
    return False


def test_list_routes_may_batch_read_the_contacts_they_filter_by() -> None:
    for function in ("CallsFunction", "MessagesFunction", "PhotosFunction", "ContactsFunction"):
        assert not refused(function, *TABLE_ARN_CALL), function
    assert refused("AuthorizerFunction", *TABLE_ARN_CALL)


def test_each_transaction_item_needs_its_own_action() -> None:
    put = {"TransactItems": [{"Put": {}}, {"Update": {}}, {"Delete": {}}]}
    check = {"TransactItems": [{"Put": {}}, {"ConditionCheck": {}}]}
    assert not refused("MessagesFunction", "dynamodb", "TransactWriteItems", put)
    assert refused("MessagesFunction", "dynamodb", "TransactWriteItems", check)
    assert not refused("ContactsFunction", "dynamodb", "TransactWriteItems", check)


def test_s3_actions_are_held_to_their_prefixes() -> None:
    upload = {"Bucket": PHOTOS_BUCKET, "Key": "uploads/acme/0000000001"}
    photo = {"Bucket": PHOTOS_BUCKET, "Key": "photos/acme/0000000001"}
    assert not refused("PhotosFunction", "s3", "PutObject", upload)
    assert refused("PhotosFunction", "s3", "PutObject", {"Bucket": PHOTOS_BUCKET, "Key": "elsewhere/x"})
    assert refused("PhotosFunction", "s3", "PutObject", {"Bucket": "another-bucket", "Key": "uploads/x"})
    assert not refused("ContactsFunction", "s3", "GetObject", photo)
    assert refused("ContactsFunction", "s3", "GetObject", upload)
    assert refused("ContactsFunction", "s3", "PutObject", photo)
    assert not refused("CleanupFunction", "s3", "DeleteObjects", {**photo, "Delete": {"Objects": [photo, upload]}})
    assert refused("NotesFunction", "s3", "HeadObject", photo)


def test_a_refused_call_fails_as_aws_fails_it_and_is_recorded() -> None:
    client = boto3.client("s3", endpoint_url=S3_ENDPOINT, region_name="us-east-1")
    with PERMISSIONS.acting_as("NotesFunction"), pytest.raises(ClientError) as raised:
        client.put_object(Bucket=PHOTOS_BUCKET, Key="photos/acme/0000000001", Body=b"x")
    assert raised.value.response["Error"]["Code"] == "AccessDeniedException"
    resource = f"arn:aws:s3:::{PHOTOS_BUCKET}/photos/acme/0000000001"
    assert PERMISSIONS.denied == [f"NotesFunction is not authorized to perform s3:PutObject on {resource}"]
    with PERMISSIONS.acting_as("NotesFunction"), pytest.raises(ClientError):
        client.generate_presigned_url("get_object", Params={"Bucket": PHOTOS_BUCKET, "Key": "photos/acme/1"})
