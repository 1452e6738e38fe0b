"""events/: the sample events for `sam local invoke`, replayed through the handlers they belong to.

Every ``events/<function folder>/<name>.json`` is an event as API Gateway hands it to that
function (a REST proxy event, a REQUEST authorizer event), a DynamoDB stream event for a function
the table's stream feeds, or an S3 event for a function a bucket notifies. Here each one is checked for the
shape sam local needs, matched against the routes of template.yaml, and replayed, in a sensible
order, against a store seeded with the demo key and contact 1 of account "demo" (with its note 1).
"""

from __future__ import annotations

import base64
import csv
import fnmatch
import hashlib
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import ANY
from urllib.parse import unquote_plus

import pytest
from defusedxml.ElementTree import fromstring

from crm import cascade, contacts, forms
from crm import keys as crm_keys
from crm.imports import jobs
from crm.storage import files
from crm.storage.items import (
    DeliveryItem,
    ExportItem,
    FeedItem,
    ImportItem,
    Item,
    PhotoItem,
    account_pk,
    dependants_prefix,
)
from crm.validation import Sent
from local_api.streams import matches
from local_api.template import ROOT
from tests.conftest import BACKENDS, BUCKET_EVENTS, GATEWAY, NAMES, S3_ENDPOINT, backend, s3_client

EVENTS = ROOT / "events"
ENV_FILE = EVENTS / "env.json"

DEMO_ACCOUNT, DEMO_USER = "demo", 1
DEMO_KEY = "ck.demo.0123456789ab.sPlF1xR0Tgi4ahVP3rN0PCTPWxjc0Gch4UsRHJiNq94"
DEMO_KEY_ID = "demo.0123456789ab"  # crm.keys.public_id of the demo key
# The demo account's web form key (project support), and where its forms may be posted from.
DEMO_FORM_KEY = "ck.demo.form0000demo.Vf3kQ9zXw1RbT7yLm2NcH8pJs4DgE6uA0oIqZrWxYtU"
DEMO_ORIGIN, DEMO_THANKS = "https://www.example.com", "https://www.example.com/thanks"
METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/v1/GET/contacts/1"

# What the authorizer does with an event, where an API event has a status code.
ALLOW, DENY, UNAUTHORIZED = "Allow", "Deny", "Unauthorized"
# What the cleanup function does with a stream event: every record processed, the removed contact's
# notes and history gone. What the photos function does with S3's event of an upload: the photo
# checked and ready. What the import worker does with S3's event of a file: its import completed.
CLEANED, CHECKED, IMPORTED = "Cleaned", "Checked", "Imported"
# What the export worker does with the stream's record of a new export: its file written, the
# export completed. What the feed writer does with the record of a history entry: the feed's entry.
EXPORTED, FED = "Exported", "Fed"
# What the webhook deliverer does with a queued delivery that is no longer there: drops it.
DROPPED = "Dropped"

# Every event file, in the order of the replay, with what its function must answer. The replay is
# one story: the authorizer lets the demo key in, the docs need no key, custom fields 1 to 3 are
# defined (the account's configuration, which contacts may then use), read, changed (the PUT on
# If-Match "1", as created), listed, and field 3 deleted; then contacts 2 to 4 are created beside
# the seeded contact 1, which is read (as JSON, XML and a vCard) and changed; notes 2 to 4 are added to it beside
# its seeded note 1 (note ids are the account's), note 1 is read, changed (the PUT on If-Match "1",
# its version as seeded), listed with the others and deleted; calls 1 to 3 are made about contact 1, read,
# changed (call 1's PUT on If-Match "1"), completed, listed and call 3 deleted; messages 1 to 3 are exchanged
# with contact 1, read, changed (message 1's PUT on If-Match "1"), listed and message 3 deleted; photo 1 of
# contact 1 awaits its upload, photo 2 is sent inline, photo 3 awaits its upload, photo 1 is read and changed
# (its PUT on If-Match "1"), S3 tells of photo 1's upload, which is checked and kept; the photos are
# listed and photo 3 deleted; then contact
# 1's history (which has the notes', calls', messages' and photos' changes too) and the contacts are listed; contact 1
# joins projects support, 2 and sales, is found by a filtered list and a search, shown with its projects, and
# leaves project 2; then it is deleted, and the stream's record of that removal has the cleanup function
# delete its notes, calls, messages, photos and history. Then contact 5 is made, edited and deleted as the
# minimal JSON API does it (a flat body; contact_id in the body), and the web form sends contacts 6 to 9
# (form-encoded to each suffix, then multipart with a redirect) with the demo form key. Last, imports 1 to 3 are asked
# for (a CSV file, a vCard file, a JSON file) and import 1 shown; S3 tells of import 1's file, which is
# imported, and of a file dropped in the bucket ("new leads 2026.csv", its key URL-encoded), which
# becomes import 4; the imports are listed. Exports 1 to 3 are asked for (Outlook's CSV, the vCards
# of the vip contacts, the JSON of the people in XML), the stream's record of export 1 has the worker
# write its file (the replay's requests feed no stream), export 1 is shown and the exports listed.
# The stream's record of a history entry of contact 3 becomes the feed's entry; the feed read from
# 2020 is 410 (older than the 30 days it keeps: so whenever the replay runs). Webhooks 1 to 3 are
# subscribed (to a port of 127.0.0.1 that nothing answers: the local runner's one allowance; on AWS
# it is 422), webhook 1 shown, changed, its secret rotated (to each suffix), the webhooks listed,
# webhook 1's deliveries listed (none: the replay's requests feed no stream), a delivery that does
# not exist retried (404), webhook 3 deleted; the queue's message for a delivery that is gone is
# dropped by the deliverer.
# Contact 2 is looked up by its phone number, two contacts are upserted (by email, then by
# external_id in XML); batches create one, upsert the first again and change contact 2, upsert the
# second and delete contact 2, and create one in XML (the lookups and the batches to each suffix);
# contact 3's duplicates are listed, and contact 4 merged into it (a dry run first), whose id then
# answers 404 naming contact 3; contacts 6 and 7 follow it (to each suffix, the last in XML). Last,
# each function is sent a method its path has no operation for (its ANY route): a 405 naming the
# methods it takes.
EXPECTED: dict[str, int | str] = {
    "authorizer/api-key.json": ALLOW,
    "authorizer/basic.json": ALLOW,
    "authorizer/unknown-key.json": UNAUTHORIZED,
    "authorizer/key-query.json": ALLOW,
    "authorizer/form-key.json": DENY,
    "docs/openapi.json": 200,
    "docs/swagger.json": 200,
    "custom_fields/create.json": 201,
    "custom_fields/create-json.json": 201,
    "custom_fields/create-xml.json": 201,
    "custom_fields/show.json": 200,
    "custom_fields/show-xml.json": 200,
    "custom_fields/update-put.json": 200,
    "custom_fields/update-patch.json": 200,
    "custom_fields/list.json": 200,
    "custom_fields/list-json.json": 200,
    "custom_fields/list-xml.json": 200,
    "custom_fields/delete.json": 204,
    "contacts/create.json": 201,
    "contacts/create-json.json": 201,
    "contacts/create-xml.json": 201,
    "contacts/show.json": 200,
    "contacts/show-xml.json": 200,
    "contacts/show-vcard.json": 200,
    "contacts/update-put.json": 200,
    "contacts/update-patch.json": 200,
    "notes/create.json": 201,
    "notes/create-json.json": 201,
    "notes/create-xml.json": 201,
    "notes/show.json": 200,
    "notes/show-xml.json": 200,
    "notes/update-put.json": 200,
    "notes/update-patch.json": 200,
    "notes/list.json": 200,
    "notes/list-json.json": 200,
    "notes/list-xml.json": 200,
    "notes/delete.json": 204,
    "notes/redmine-create.json": 201,
    "notes/redmine-create-json.json": 201,
    "notes/redmine-create-xml.json": 201,
    "notes/redmine-show.json": 200,
    "notes/redmine-update-put.json": 200,
    "notes/redmine-list.json": 200,
    "notes/redmine-list-json.json": 200,
    "notes/redmine-list-xml.json": 200,
    "notes/redmine-delete.json": 204,
    "calls/create.json": 201,
    "calls/create-json.json": 201,
    "calls/create-xml.json": 201,
    "calls/show.json": 200,
    "calls/show-xml.json": 200,
    "calls/update-put.json": 200,
    "calls/update-patch.json": 200,
    "calls/complete.json": 200,
    "calls/complete-json.json": 200,
    "calls/complete-xml.json": 200,
    "calls/list.json": 200,
    "calls/list-json.json": 200,
    "calls/list-xml.json": 200,
    "calls/delete.json": 204,
    "messages/create.json": 201,
    "messages/create-json.json": 201,
    "messages/create-xml.json": 201,
    "messages/show.json": 200,
    "messages/show-xml.json": 200,
    "messages/update-put.json": 200,
    "messages/update-patch.json": 200,
    "messages/list.json": 200,
    "messages/list-json.json": 200,
    "messages/list-xml.json": 200,
    "messages/delete.json": 204,
    "photos/create.json": 201,
    "photos/create-json.json": 201,
    "photos/create-xml.json": 201,
    "photos/show.json": 200,
    "photos/show-xml.json": 200,
    "photos/update-put.json": 200,
    "photos/update-patch.json": 200,
    "photos/uploaded.json": CHECKED,
    "photos/list.json": 200,
    "photos/list-json.json": 200,
    "photos/list-xml.json": 200,
    "photos/delete.json": 204,
    "contacts/history.json": 200,
    "contacts/history-json.json": 200,
    "contacts/history-xml.json": 200,
    "contacts/list.json": 200,
    "contacts/list-json.json": 200,
    "contacts/list-xml.json": 200,
    "contacts/tags.json": 200,
    "contacts/tags-json.json": 200,
    "contacts/tags-xml.json": 200,
    "contacts/add-project.json": 201,
    "contacts/add-project-xml.json": 201,
    "contacts/add-project-plain.json": 201,
    "contacts/create-in-project.json": 201,
    "contacts/create-in-project-xml.json": 201,
    "contacts/create-in-project-plain.json": 201,
    "contacts/list-filtered.json": 200,
    "contacts/show-include.json": 200,
    "contacts/search.json": 200,
    "contacts/search-json.json": 200,
    "contacts/search-xml.json": 200,
    "contacts/remove-project.json": 204,
    "contacts/delete.json": 204,
    "cleanup/contact-removed.json": CLEANED,
    "contacts/create-minimal.json": 201,
    "contacts/edit-minimal.json": 200,
    "contacts/edit-post.json": 200,
    "contacts/delete-minimal.json": 204,
    "forms/submit.json": 201,
    "forms/submit-json.json": 201,
    "forms/submit-xml.json": 201,
    "forms/submit-multipart.json": 303,
    "imports/create.json": 201,
    "imports/create-json.json": 201,
    "imports/create-xml.json": 201,
    "imports/show.json": 200,
    "imports/show-xml.json": 200,
    "import_worker/file-uploaded.json": IMPORTED,
    "import_worker/file-dropped.json": IMPORTED,
    "imports/list.json": 200,
    "imports/list-json.json": 200,
    "imports/list-xml.json": 200,
    "exports/create.json": 201,
    "exports/create-json.json": 201,
    "exports/create-xml.json": 201,
    "export_worker/export-asked.json": EXPORTED,
    "exports/show.json": 200,
    "exports/show-xml.json": 200,
    "exports/list.json": 200,
    "exports/list-json.json": 200,
    "exports/list-xml.json": 200,
    "feed_writer/history-written.json": FED,
    "changes/list.json": 410,
    "changes/list-json.json": 410,
    "changes/list-xml.json": 410,
    "webhooks/create.json": 201,
    "webhooks/create-json.json": 201,
    "webhooks/create-xml.json": 201,
    "webhooks/show.json": 200,
    "webhooks/show-xml.json": 200,
    "webhooks/update.json": 200,
    "webhooks/rotate.json": 200,
    "webhooks/rotate-json.json": 200,
    "webhooks/rotate-xml.json": 200,
    "webhooks/list.json": 200,
    "webhooks/list-json.json": 200,
    "webhooks/list-xml.json": 200,
    "webhooks/deliveries.json": 200,
    "webhooks/deliveries-json.json": 200,
    "webhooks/deliveries-xml.json": 200,
    "webhooks/retry.json": 404,
    "webhooks/retry-json.json": 404,
    "webhooks/retry-xml.json": 404,
    "webhooks/delete.json": 204,
    "webhook_deliverer/delivery-queued.json": DROPPED,
    "contacts/lookup.json": 200,
    "contacts/upsert-email.json": 201,
    "contacts/upsert-external-id.json": 201,
    "contacts/batch.json": 200,
    "contacts/lookup-json.json": 200,
    "contacts/lookup-xml.json": 200,
    "contacts/batch-json.json": 200,
    "contacts/batch-xml.json": 200,
    "contacts/duplicates.json": 200,
    "contacts/duplicates-json.json": 200,
    "contacts/duplicates-xml.json": 200,
    "contacts/merge-dry-run.json": 200,
    "contacts/merge.json": 200,
    "contacts/show-merged.json": 404,
    "contacts/merge-json.json": 200,
    "contacts/merge-xml.json": 200,
    "calls/method-not-allowed.json": 405,
    "changes/method-not-allowed.json": 405,
    "contacts/method-not-allowed.json": 405,
    "custom_fields/method-not-allowed.json": 405,
    "exports/method-not-allowed.json": 405,
    "forms/method-not-allowed.json": 405,
    "imports/method-not-allowed.json": 405,
    "messages/method-not-allowed.json": 405,
    "notes/method-not-allowed.json": 405,
    "photos/method-not-allowed.json": 405,
    "webhooks/method-not-allowed.json": 405,
}

# Expectations that the application does not meet yet: event name -> reason (a strict xfail).
KNOWN_BUGS: dict[str, str] = {}

# What an authorized route's handler finds in requestContext.authorizer (all strings, as API Gateway
# passes them). The events carry a read-write key's scopes; the seeded key is an admin one.
AUTHORIZER_CONTEXT = {
    "principalId": DEMO_KEY_ID,
    "account_id": DEMO_ACCOUNT,
    "user_id": str(DEMO_USER),
    "scopes": "read write",
    "key_id": DEMO_KEY_ID,
}
# Changing custom fields (the account's configuration) and webhooks need an admin key: the events of
# those folders carry every scope the authorizer gives the demo key.
ADMIN_FOLDERS = {"custom_fields", "webhooks"}
ADMIN_AUTHORIZER_CONTEXT = {**AUTHORIZER_CONTEXT, "scopes": "read write admin"}
API_HEADERS = ("Host", "Accept", "User-Agent", "X-Forwarded-For")
REQUEST_CONTEXT = ("requestId", "stage", "path", "resourcePath", "httpMethod", "identity", "accountId", "apiId")
# The settings crm.config reads that env.json gives (AWS_REGION and the credentials are Lambda's
# own variables: sam local sets them from --region and the AWS profile, whatever env.json says).
APP_SETTINGS = (
    "TABLE_NAME",
    "DYNAMODB_ENDPOINT",
    "CURSOR_SECRET",
    "PHOTOS_BUCKET",
    "S3_ENDPOINT",
    "IMPORTS_BUCKET",
    "LAMBDA_ENDPOINT",
    "SQS_ENDPOINT",
    "WEBHOOK_QUEUE_URL",
)
# What an S3 event reports uploaded: an image (a JPEG's first bytes are what the photo check reads),
# a CSV file of two rows with one email address (a new contact, and its duplicate).
UPLOADED = {
    "PhotosFunction": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9",
    "ImportWorkerFunction": b"first_name,email\nMary,mary@example.com\nMary,MARY@example.com\n",
}
# Where each bucket event's function finds its bucket's name.
BUCKET_SETTING = {"PhotosFunction": "PHOTOS_BUCKET", "ImportWorkerFunction": "IMPORTS_BUCKET"}


# --- discovery ---------------------------------------------------------------------------------


def event_names() -> list[str]:
    """Every event file under events/, as ``<folder>/<name>.json``."""
    return sorted(
        path.relative_to(EVENTS).as_posix()
        for path in EVENTS.rglob("*.json")
        if path != ENV_FILE and ".aws-sam" not in path.parts
    )


def load(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def functions_by_folder() -> dict[str, str]:
    """Event folder -> logical id: the folder that holds each function's handler module."""
    folders: dict[str, str] = {}
    for logical_id, function in GATEWAY.template.functions.items():
        folder = function.module_file.parent.name  # CodeUri + Handler: functions/docs/app.py -> docs
        assert folder not in folders, f"{logical_id} and {folders[folder]} share the folder {folder}"
        folders[folder] = logical_id
    return folders


FOLDERS = functions_by_folder()


def function_of(name: str) -> str:
    folder = Path(name).parts[0]
    assert folder in FOLDERS, f"events/{folder} matches no function in template.yaml ({', '.join(FOLDERS)})"
    return FOLDERS[folder]


def is_authorizer(name: str) -> bool:
    return function_of(name) == GATEWAY.template.authorizer


def is_stream(name: str) -> bool:
    return function_of(name) in {subscription.function for subscription in GATEWAY.template.streams}


def is_queue(name: str) -> bool:
    return function_of(name) in {subscription.function for subscription in GATEWAY.template.queue_events}


def is_bucket_event(name: str) -> bool:
    return not is_authorizer(name) and "Records" in load(name) and not is_stream(name) and not is_queue(name)


def route_of(event: dict[str, Any]) -> Any:
    """The template's route an API event was sent to (matched on resource and method, else the
    resource's ANY route, as API Gateway does), or None."""
    routes = [route for route in GATEWAY.template.routes if route.path == event["resource"]]
    for method in (event["httpMethod"], "ANY"):
        for route in routes:
            if route.method == method:
                return route
    return None


def replay_params() -> list[Any]:
    params = []
    for name in EXPECTED:
        marks = [pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[name])] if name in KNOWN_BUGS else []
        params.append(pytest.param(name, id=name, marks=marks))
    return params


# --- replay ------------------------------------------------------------------------------------


def seed() -> None:
    """The demo key (account demo, user 1, admin), its form key and the origin its forms come from,
    and contact 1 of account demo, with its note 1."""
    crm_keys.create_key(DEMO_ACCOUNT, DEMO_USER, "admin", name="sam local demo key", key=DEMO_KEY)
    crm_keys.create_key(DEMO_ACCOUNT, DEMO_USER, key=DEMO_FORM_KEY, form_project="support")
    forms.allow(DEMO_ACCOUNT, [DEMO_ORIGIN], [DEMO_THANKS])
    principal = crm_keys.authenticate(DEMO_KEY)
    assert principal is not None
    fields = {"first_name": "Ada", "last_name": "Lovelace", "company": "Analytical Engines"}
    contact = contacts.create(
        principal, Sent({**fields, "email_address": "ada@example.com"}, first_note="Met at the Analytical Society")
    )
    assert int(contact.item.id) == 1, "the events refer to contact 1"
    assert [int(note.id) for note in contact.notes] == [1], "the note events refer to note 1 of contact 1"


def dependants_left(record: dict[str, Any]) -> int:
    """How many items (notes, history) are still stored under the contact a stream record removed."""
    removed = cascade.removed_contact(record["dynamodb"]["Keys"])
    assert removed is not None, "the record is not a contact's"
    account_id, contact_id = removed
    prefix = dependants_prefix(contact_id)
    return sum(1 for _ in Item.query(account_pk(account_id), Item.sk.startswith(prefix), consistent_read=True))


def invoke(name: str) -> Any:
    """What the function does with the event: its result, or the exception it raised. An S3 event's
    object is put in the bucket first, as the upload it reports would have."""
    if is_bucket_event(name):
        for record in load(name)["Records"]:
            bucket, key = record["s3"]["bucket"]["name"], unquote_plus(record["s3"]["object"]["key"])
            with BUCKET_EVENTS.silenced():  # the replayed event is S3's word of this object
                s3_client(S3_ENDPOINT).put_object(Bucket=bucket, Key=key, Body=UPLOADED[function_of(name)])
    try:
        return GATEWAY.invoke(function_of(name), load(name))
    except Exception as exc:
        return exc


def response_headers(result: dict[str, Any]) -> dict[str, str]:
    headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
    headers.update({k.lower(): ", ".join(v) for k, v in (result.get("multiValueHeaders") or {}).items()})
    return headers


def response_body(result: dict[str, Any]) -> str:
    body = result.get("body") or ""
    return base64.b64decode(body).decode() if result.get("isBase64Encoded") else body


def wants_xml(event: dict[str, Any]) -> bool:
    accept = {k.lower(): v for k, v in (event.get("headers") or {}).items()}.get("accept", "")
    return event["path"].endswith(".xml") or accept.startswith("application/xml")


def check_authorizer(name: str, expected: str, result: Any) -> None:
    if expected == UNAUTHORIZED:
        # API Gateway answers 401 for exactly this exception message.
        assert isinstance(result, Exception), f"{name}: expected Unauthorized, got {result!r}"
        assert str(result) == "Unauthorized"
        return
    assert not isinstance(result, Exception), f"{name}: the authorizer raised {result!r}"
    if expected == DENY:  # a form key: API Gateway answers 403 on every route
        assert {s["Effect"] for s in result["policyDocument"]["Statement"]} == {DENY}
        return
    statements = result["policyDocument"]["Statement"]
    covering = [
        s
        for s in statements
        for resource in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
        if fnmatch.fnmatchcase(load(name)["methodArn"], resource)
    ]
    assert covering, f"{name}: no statement covers the methodArn: {statements}"
    assert {s["Effect"] for s in covering} == {ALLOW}
    assert result["principalId"] == DEMO_KEY_ID
    context = result["context"]
    assert context["account_id"] == DEMO_ACCOUNT
    assert int(context["user_id"]) == DEMO_USER
    assert context["key_id"] == DEMO_KEY_ID
    # What API Gateway would pass on (every value a string) agrees with the API events' authorizer,
    # but for the scopes: the seeded key is an admin key, the events carry a read-write one.
    passed = {"principalId": result["principalId"], **{k: str(v) for k, v in context.items()}}
    assert {k: v for k, v in passed.items() if k != "scopes"} == {
        k: v for k, v in AUTHORIZER_CONTEXT.items() if k != "scopes"
    }


def check_stream(name: str, expected: str, result: Any) -> None:
    assert not isinstance(result, Exception), f"{name}: the function raised {result!r}"
    assert result == {"batchItemFailures": []}, f"{name}: records failed: {result}"
    if expected == FED:
        for record in load(name)["Records"]:
            keys = record["dynamodb"]["Keys"]
            (entry,) = FeedItem.query(keys["pk"]["S"], FeedItem.sk.startswith("F#"), consistent_read=True)
            assert (entry.type, entry.entry_id, int(entry.contact_id)) == ("contact.updated", "3.2", 3)
            assert entry.changes == [{"field": "job_title", "old": None, "new": "Engineer"}]
        return
    if expected == EXPORTED:
        for record in load(name)["Records"]:
            keys = record["dynamodb"]["Keys"]
            job = ExportItem.get(keys["pk"]["S"], keys["sk"]["S"], consistent_read=True)
            assert (job.status, job.format, job.columns) == ("completed", "csv", "outlook")
            written = s3_client(S3_ENDPOINT).get_object(Bucket=NAMES["ImportsBucket"], Key=job.object_key)
            rows = list(csv.reader(io.StringIO(written["Body"].read().decode("utf-8-sig"))))
            assert rows[0][:4] == ["Title", "First Name", "Middle Name", "Last Name"]
            assert int(job.rows_exported) == len(rows) - 1 > 0
        return
    assert expected == CLEANED
    assert [dependants_left(record) for record in load(name)["Records"]] == [0] * len(load(name)["Records"])


def check_queue(name: str, expected: str, result: Any) -> None:
    assert not isinstance(result, Exception), f"{name}: the function raised {result!r}"
    assert expected == DROPPED
    assert result == {"batchItemFailures": []}, f"{name}: messages handed back: {result}"
    for record in load(name)["Records"]:
        message = json.loads(record["body"])
        pk = account_pk(message["account"])
        assert list(DeliveryItem.query(pk, DeliveryItem.sk.startswith("WHD#"))) == [], "no delivery was made"


def check_bucket_event(name: str, expected: str, result: Any) -> None:
    assert not isinstance(result, Exception), f"{name}: the function raised {result!r}"
    records = load(name)["Records"]
    if expected == IMPORTED:
        assert result == {"outcomes": ["completed"] * len(records)}
        for record in records:
            found = jobs.parse_key(unquote_plus(record["s3"]["object"]["key"]))
            assert found is not None
            job = next(
                j
                for j in ImportItem.query(account_pk(found[0]), ImportItem.sk.startswith("I#"))
                if j.object_key == unquote_plus(record["s3"]["object"]["key"])
            )
            # Import 1 asked for updates of duplicates; a dropped file skips them.
            expected_counts = (2, 1, 1, 0, 0) if job.on_duplicate == "update" else (2, 0, 0, 2, 0)
            counted = (job.rows_total, job.rows_imported, job.rows_updated, job.rows_skipped, job.rows_failed)
            assert (job.status, counted) == ("completed", expected_counts)
        return
    assert expected == CHECKED
    assert result == {"outcomes": ["ready"] * len(records)}
    for record in records:
        found = files.parse_upload_key(unquote_plus(record["s3"]["object"]["key"]))
        assert found is not None
        photo = PhotoItem.get(account_pk(found[0]), f"P#{found[1]:010d}", consistent_read=True)
        assert (photo.status, int(photo.size)) == ("ready", len(UPLOADED["PhotosFunction"]))


def check_response(name: str, expected: int, event: dict[str, Any], result: Any) -> None:
    assert not isinstance(result, Exception), f"{name}: the handler raised {result!r}"
    body = response_body(result)
    assert result["statusCode"] == expected, f"{name}: {result['statusCode']} {body}"
    headers = response_headers(result)
    if expected == 204:
        assert not body
        return
    if expected == 303:  # the web form sends the browser on to a page the account lists
        assert (headers["location"], body) == (DEMO_THANKS, "")
        return
    if expected == 405:
        taken = {r.method for r in GATEWAY.template.routes if r.path == event["resource"]} - {"ANY"}
        assert headers["allow"] == ", ".join(sorted(taken)), headers
    if function_of(name) == "DocsFunction":
        kind = "text/html" if event["resource"] == "/docs" else "application/json"
        assert headers["content-type"].startswith(kind)
        if kind == "application/json":
            # The document names the stage the request came through as its server.
            assert json.loads(body)["servers"] == [{"url": "/v1"}]
        return
    if event["path"].endswith(".vcf"):  # a contact as its vCard: one card, with its version as ETag
        assert headers["content-type"] == "text/vcard; charset=utf-8", headers
        assert body.startswith("BEGIN:VCARD\r\nVERSION:4.0\r\n"), body
        assert body.endswith("END:VCARD\r\n"), body
        assert re.fullmatch(r'"\d+"', headers["etag"]), headers
        return
    if wants_xml(event):
        assert headers["content-type"].startswith("application/xml"), headers
        fromstring(body, forbid_dtd=True)
    else:
        assert headers["content-type"].startswith("application/json"), headers
        json.loads(body)
    if expected in (200, 201) and event["resource"].endswith(
        ("{note_id}", "{custom_field_id}", "{call_id}", "{message_id}", "{photo_id}")
    ):
        # A note's, custom field's, call's, message's or photo's version is its ETag.
        assert re.fullmatch(r'"\d+"', headers["etag"]), headers
    if expected == 201 and function_of(name) == "FormsFunction":
        # A form's sender learns nothing of the account (no id, no Location); the page may read it.
        if wants_xml(event):
            assert [(e.tag, bool(e.text)) for e in fromstring(body, forbid_dtd=True)] == [("status", 1), ("message", 1)]
        else:
            assert json.loads(body) == {"submission": {"status": "received", "message": ANY}}
        assert headers["access-control-allow-origin"] == DEMO_ORIGIN
        return
    if expected == 201:
        # Location keeps the stage and the format suffix the client used: the collection it was
        # posted to (/contacts, /contacts/1/notes, /custom_fields, /calls, /messages), then the new id. A contact's new
        # project membership is named by the project's id or identifier, and answers the contact.
        suffix = ".xml" if event["path"].endswith(".xml") else ".json" if event["path"].endswith(".json") else ""
        collection = event["path"].removesuffix(suffix)
        # Redmine's create and the upserts: the contact's own URL.
        if re.fullmatch(r"/projects/[^/]+/contacts|/contacts/by-(email|external-id)/[^/]+", collection):
            collection = "/contacts"
        membership = collection.endswith("/projects")
        new_id = r"[a-z0-9_-]+" if membership else r"\d+"
        assert re.fullmatch(rf"/v1{re.escape(collection)}/{new_id}{re.escape(suffix)}", headers["location"]), headers
        if not membership and not collection.startswith(("/imports", "/exports", "/webhooks")):  # no editable version
            assert headers["etag"] == '"1"', headers


# --- the tests ---------------------------------------------------------------------------------


def test_every_event_file_has_an_expectation() -> None:
    """A new event file must be added to EXPECTED (and so to the replay); a removed one taken out."""
    found = event_names()
    assert found, "events/ holds no events"
    assert sorted(set(found) - set(EXPECTED)) == [], "event files without an expected outcome in EXPECTED"
    assert sorted(set(EXPECTED) - set(found)) == [], "EXPECTED names event files that do not exist"
    assert set(KNOWN_BUGS) <= set(EXPECTED)


def test_every_route_has_an_event() -> None:
    """Each route template.yaml declares for a function with events/ has at least one event file."""
    api_events = [
        load(name)
        for name in event_names()
        if not is_authorizer(name) and not is_stream(name) and not is_bucket_event(name) and not is_queue(name)
    ]
    sent = {(event["resource"], event["httpMethod"]) for event in api_events}
    with_events = {function_of(name) for name in event_names()}
    assert {
        "ContactsFunction",
        "NotesFunction",
        "CustomFieldsFunction",
        "CallsFunction",
        "MessagesFunction",
        "PhotosFunction",
        "ImportsFunction",
        "ImportWorkerFunction",
        "FormsFunction",
        "DocsFunction",
    } <= with_events
    missing = [
        f"{route.method} {route.path} ({route.function})"
        for route in GATEWAY.template.routes
        if route.function in with_events
        # A HEAD is served as its GET (crm.http.head): the GET's events stand for it. An ANY route
        # carries the methods a resource has no operation for: one 405 per function stands for them.
        and route.method != "ANY"
        and (route.path, "GET" if route.method == "HEAD" else route.method) not in sent
    ]
    assert missing == [], "routes without an event in events/"
    refused = {route_of(event).function for event in api_events if route_of(event).method == "ANY"}
    with_any = {route.function for route in GATEWAY.template.routes if route.method == "ANY"}
    assert with_any - refused == set(), "functions whose ANY routes have no event in events/"


@pytest.mark.parametrize("name", event_names())
def test_event_is_valid_for_sam_local(name: str) -> None:
    event = load(name)
    assert isinstance(event, dict)
    if is_stream(name):
        (subscription,) = [s for s in GATEWAY.template.streams if s.function == function_of(name)]
        assert event["Records"], f"{name} has no records"
        for record in event["Records"]:
            assert record["eventSource"] == "aws:dynamodb"
            assert re.fullmatch(
                r"arn:aws:dynamodb:[a-z0-9-]+:\d{12}:table/[\w.-]+/stream/\S+", record["eventSourceARN"]
            )
            assert any(matches(f, record) for f in subscription.filters), "the stream filter would not pass it"
            keys = record["dynamodb"]["Keys"]
            if function_of(name) == "ExportWorkerFunction":
                assert (record["eventName"], keys["sk"]["S"]) == ("INSERT", "EXPORT#0000000001"), "export 1's"
            elif function_of(name) == "FeedWriterFunction":
                assert record["dynamodb"]["NewImage"]["sk"] == keys["sk"], "the history entry's own image"
            else:
                assert cascade.removed_contact(keys) == (DEMO_ACCOUNT, 1), "the events remove contact 1"
        return
    if is_queue(name):
        (subscription,) = [s for s in GATEWAY.template.queue_events if s.function == function_of(name)]
        assert 0 < len(event["Records"]) <= subscription.batch_size
        for record in event["Records"]:
            assert record["eventSource"] == "aws:sqs"
            queue = NAMES[f"{subscription.queue}.QueueName"]
            assert record["eventSourceARN"] == f"arn:aws:sqs:us-east-1:123456789012:{queue}"
            assert record["attributes"]["MessageGroupId"], "a FIFO queue's message has its group"
            assert record["md5OfBody"] == hashlib.md5(record["body"].encode(), usedforsecurity=False).hexdigest()
            assert json.loads(record["body"])["account"] == DEMO_ACCOUNT
        return
    if is_bucket_event(name):
        (subscription,) = [s for s in GATEWAY.template.bucket_events if s.function == function_of(name)]
        env = json.loads(ENV_FILE.read_text(encoding="utf-8"))[function_of(name)]
        assert event["Records"], f"{name} has no records"
        for record in event["Records"]:
            assert (record["eventSource"], record["eventName"].split(":")[0]) == ("aws:s3", "ObjectCreated")
            bucket = env[BUCKET_SETTING[function_of(name)]]
            assert record["s3"]["bucket"]["name"] == bucket, "sam local's bucket is env.json's"
            key = unquote_plus(record["s3"]["object"]["key"])
            assert key.startswith(subscription.prefix), "the bucket's notification would not send it"
            if function_of(name) == "PhotosFunction":
                assert files.parse_upload_key(key) == (DEMO_ACCOUNT, 1), "the events upload photo 1"
            else:
                assert jobs.parse_key(key) in ((DEMO_ACCOUNT, "0000000001"), (DEMO_ACCOUNT, "new leads 2026.csv"))
        return
    headers = event.get("headers") or {}
    assert set(headers) == set(event.get("multiValueHeaders") or {})
    assert all(event["multiValueHeaders"][k][-1] == v for k, v in headers.items())
    query = event.get("queryStringParameters") or {}
    assert set(query) == set(event.get("multiValueQueryStringParameters") or {})
    assert all(event["multiValueQueryStringParameters"][k][-1] == v for k, v in query.items())
    if is_authorizer(name):
        assert event["type"] == "REQUEST"
        assert re.fullmatch(r"arn:aws:execute-api:[a-z0-9-]+:\d{12}:\w+/\w+/[A-Z]+/\S*", event["methodArn"])
        assert event["methodArn"] == METHOD_ARN
        assert route_of(event) is not None, "the authorizer event names no route of template.yaml"
        return
    for field in ("httpMethod", "path", "resource", "requestContext"):
        assert field in event, f"{name} lacks {field}"
    assert all(header in headers for header in API_HEADERS), f"{name} lacks one of {API_HEADERS}"
    assert isinstance(event.get("body"), str | None)
    assert isinstance(event.get("isBase64Encoded"), bool)
    if event.get("body"):
        assert "Content-Type" in headers
    context = event["requestContext"]
    assert all(field in context for field in REQUEST_CONTEXT), f"{name}: requestContext lacks some of {REQUEST_CONTEXT}"
    assert context["stage"] == GATEWAY.template.stage
    assert context["path"] == f"/{context['stage']}{event['path']}"
    assert context["resourcePath"] == event["resource"]
    assert context["httpMethod"] == event["httpMethod"]
    assert context["identity"]["sourceIp"]
    route = route_of(event)
    assert route is not None, f"{event['httpMethod']} {event['resource']} is no route of template.yaml"
    assert route.function == function_of(name), f"{name} is in the folder of another function than its route's"
    names = re.findall(r"\{(\w+)\}", event["resource"])
    assert sorted(event.get("pathParameters") or {}) == sorted(names)
    if route.authorized:
        admin = Path(name).parts[0] in ADMIN_FOLDERS
        assert context["authorizer"] == (ADMIN_AUTHORIZER_CONTEXT if admin else AUTHORIZER_CONTEXT)
        assert headers.get("x-api-key") == DEMO_KEY
    else:
        assert "authorizer" not in context


def test_events_use_the_demo_key() -> None:
    assert load("authorizer/api-key.json")["headers"]["x-api-key"] == DEMO_KEY
    basic = load("authorizer/basic.json")["headers"]["Authorization"].removeprefix("Basic ")
    assert base64.b64decode(basic).decode().partition(":")[0] == DEMO_KEY
    unknown = load("authorizer/unknown-key.json")["headers"]["x-api-key"]
    assert unknown != DEMO_KEY
    assert crm_keys.KEY_FORMAT.match(unknown), "the unknown key is well formed, so it is looked up and not found"


def check(name: str, result: Any) -> None:
    """What ``name``'s function did with it, against EXPECTED."""
    expected = EXPECTED[name]
    if is_stream(name):
        assert isinstance(expected, str)
        check_stream(name, expected, result)
    elif is_queue(name):
        assert isinstance(expected, str)
        check_queue(name, expected, result)
    elif is_bucket_event(name):
        assert isinstance(expected, str)
        check_bucket_event(name, expected, result)
    elif is_authorizer(name):
        assert isinstance(expected, str)
        check_authorizer(name, expected, result)
    else:
        assert isinstance(expected, int)
        check_response(name, expected, load(name), result)


@pytest.fixture(scope="module", params=BACKENDS)
def story(request: pytest.FixtureRequest) -> Iterator[dict[str, BaseException | None]]:
    """The whole replay, once per backend: seed, then every event in EXPECTED order, each checked
    against the state the ones before it left; yields what each check raised (None: it passed)."""
    with backend(request.param, request):
        seed()
        outcomes: dict[str, BaseException | None] = {}
        for name in EXPECTED:
            try:
                if is_stream(name) and function_of(name) == "CleanupFunction":
                    # What the function is to clean is there (the replayed delete does not feed the stream).
                    assert all(dependants_left(record) for record in load(name)["Records"])
                check(name, invoke(name))
                outcomes[name] = None
            except (AssertionError, pytest.fail.Exception) as exc:
                outcomes[name] = exc
        yield outcomes


@pytest.mark.parametrize("name", replay_params())
def test_replay(story: dict[str, BaseException | None], name: str) -> None:
    """What ``name`` got, replayed after the events before it in EXPECTED (one story per backend:
    replaying the prefix for every event made this file quadratic)."""
    failure = story[name]
    if failure is not None:
        raise failure


def test_env_file_sets_every_function() -> None:
    env = json.loads(ENV_FILE.read_text(encoding="utf-8"))
    assert set(env) == set(GATEWAY.template.functions)
    for logical_id, variables in env.items():
        assert all(isinstance(value, str) for value in variables.values()), logical_id
        assert variables["TABLE_NAME"] == "contacts-api"
        assert variables["DYNAMODB_ENDPOINT"] == "http://host.docker.internal:8000"
        assert variables["AWS_REGION"] == "us-east-1"
        assert variables["AWS_ACCESS_KEY_ID"]
        assert variables["AWS_SECRET_ACCESS_KEY"]
        assert variables["POWERTOOLS_TRACE_DISABLED"] == "true"
    assert env["ContactsFunction"]["CURSOR_SECRET"]
    assert env["NotesFunction"]["CURSOR_SECRET"]
    assert env["CustomFieldsFunction"]["CURSOR_SECRET"]
    for logical_id in ("PhotosFunction", "ContactsFunction", "CleanupFunction"):
        assert env[logical_id]["PHOTOS_BUCKET"] == "contacts-photos-123456789012-local"
        assert env[logical_id]["S3_ENDPOINT"] == "http://host.docker.internal:8001"
    for logical_id in ("ImportsFunction", "ImportWorkerFunction", "ExportsFunction", "ExportWorkerFunction"):
        assert env[logical_id]["IMPORTS_BUCKET"] == "contacts-imports-123456789012-local"
        assert env[logical_id]["S3_ENDPOINT"] == "http://host.docker.internal:8001"
    # `sam local start-lambda` answers Lambda's Invoke there: the worker hands a long import over to it.
    assert env["ImportWorkerFunction"]["LAMBDA_ENDPOINT"] == "http://host.docker.internal:3001"


# sam local applies --env-vars only to variables that the function's Environment in template.yaml
# declares; one that is not declared is dropped silently, and the function would then talk to the
# DynamoDB of whatever AWS profile is active instead of DynamoDB Local.
def test_env_file_settings_reach_the_functions_under_sam_local() -> None:
    env = json.loads(ENV_FILE.read_text(encoding="utf-8"))
    dropped = [
        f"{logical_id}: {name}"
        for logical_id, variables in env.items()
        for name in variables
        if name in APP_SETTINGS and name not in GATEWAY.template.functions[logical_id].environment
    ]
    assert dropped == [], "env.json settings that sam local would drop (not declared in template.yaml)"
