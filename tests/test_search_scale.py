"""A search costs what it finds, not what the account holds: the same read capacity at 100 and 1,000.

The contacts are loaded with bench/loader.py (the items the API writes, without a transaction
each); `make bench-search` makes the same measurement at 2,000 and 20,000 contacts.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config

from bench.billing import Meter
from bench.loader import (
    CONTRAST,
    MATCHES,
    QUERIES,
    Answer,
    NewContact,
    create_table,
    expected,
    load,
    people,
    search,
    shared_client,
)
from crm import keys as crm_keys
from crm import times
from crm.storage.db import bind
from crm.storage.items import Item, account_pk
from local_api.environment import REGION
from tests.conftest import GATEWAY, TABLE_ID, TEMPLATE, Keys

SMALL, LARGE, OTHER_ACCOUNT = 100, 1_000, 100
TOLERANCE = 0.10
THREADS = 4


@dataclass
class Scale:
    wanted: dict[str, list[int]]  # the ids each group's query must return
    small: dict[str, Answer]
    large: dict[str, Answer]


def _ask_all(capacity: Meter, key: str) -> dict[str, Answer]:
    queries = {label: params for label, (params, _) in QUERIES.items()} | CONTRAST
    return {label: search(GATEWAY, capacity, key, params) for label, params in queries.items()}


@pytest.fixture(scope="module")
def scale(dynamodb_local: str) -> Iterator[Scale]:
    """acme with 100 contacts (globex beside it with 100), asked every query; then acme with 1,000, asked again."""
    name = f"scale-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "dynamodb", endpoint_url=dynamodb_local, region_name=REGION, config=Config(max_pool_connections=THREADS)
    )
    create_table(client, TEMPLATE.tables[TABLE_ID], name)
    # Only the items' binding: the gateway's stream delivery is for writes, and these are all reads.
    bind(name, dynamodb_local)
    key = crm_keys.create_key("acme", 1, "write")[1]
    first = people(SMALL, seed=11)
    ids = load(client, name, "acme", first, threads=THREADS).ids
    load(client, name, "globex", people(OTHER_ACCOUNT, seed=12), threads=THREADS)
    capacity = Meter(shared_client())
    small = _ask_all(capacity, key)
    load(client, name, "acme", people(LARGE - SMALL, seed=13, groups=()), threads=THREADS)
    large = _ask_all(capacity, key)
    yield Scale(expected(ids, first), small, large)
    client.delete_table(TableName=name)


@pytest.mark.ddb_local
@pytest.mark.parametrize("label", list(QUERIES))
def test_a_query_of_ten_reads_the_same_capacity_at_ten_times_the_contacts(scale: Scale, label: str) -> None:
    wanted = scale.wanted[QUERIES[label][1]]
    assert len(wanted) == MATCHES
    for answer in (scale.small[label], scale.large[label]):
        assert answer.status == 200
        assert answer.ids == wanted
        assert answer.total_count == MATCHES
    before, after = scale.small[label].rcu, scale.large[label].rcu
    assert before > 0
    assert abs(after / before - 1) <= TOLERANCE, (before, after)


@pytest.mark.ddb_local
def test_a_broad_term_reads_the_postings_of_every_contact_it_matches(scale: Scale) -> None:
    """The contrast: is_company=false matches nearly every contact, so its postings grow with them."""
    label = "is_company=false (broad)"
    before, after = scale.small[label], scale.large[label]
    assert before.total_count is not None
    assert after.total_count is not None
    assert after.total_count > 5 * before.total_count
    assert after.rcu > before.rcu


def _stored(account: str) -> dict[str, dict[str, Any]]:
    """The account's contact items, history, postings, lookups, sequence and counts, by sort key, without pk."""
    found: dict[str, dict[str, Any]] = {}
    pages = shared_client().get_paginator("query")
    for page in pages.paginate(
        TableName=Item.Meta.table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": account_pk(account)}},
        ConsistentRead=True,
    ):
        for item in page["Items"]:
            if item["sk"]["S"].startswith(("C#", "D#", "X#", "E#", "SEQ#contact", "COUNT#contacts")):
                found[item["sk"]["S"]] = {k: v for k, v in item.items() if k != "pk"}
    return found


@pytest.mark.parametrize("private", [False, True])
def test_the_loader_writes_what_the_api_writes(
    keys: Keys, monkeypatch: pytest.MonkeyPatch, store: str, private: bool
) -> None:
    """The same contact, created at the same time by the same key: the API's items in acme, the
    loader's in globex. Contact, history entry, postings, lookups, id sequence and counts are the same."""
    at = "2031-05-01T09:00:00+00:00"
    monkeypatch.setattr(times, "now", lambda: at)
    body = {
        "first_name": "Jean-Pierre",
        "last_name": "O'Brien",
        "company": "Quill & Ink",
        "job_title": "Sales Manager",
        "email_address": "jp.obrien@quill.com",
        "business_phone": "+1 415 555 0123",
        "tags": ["vip", "Customer"],
        "project_ids": ["12", "apollo"],
        "assigned_to_id": 7,
        "is_company": False,
        "is_private": private,
    }
    made = GATEWAY.handle(
        "POST",
        "/contacts",
        {"x-api-key": keys.writer, "Content-Type": "application/json"},
        "",
        json.dumps({"contact": body}).encode(),
    )
    assert made.status == 201, made.text
    writer_key_id = ".".join(keys.writer.split(".")[1:3])  # ck.<account>.<key id>.<secret>
    load(shared_client(), Item.Meta.table_name, "globex", [NewContact(body, 1, at)], key_id=writer_key_id)
    api, loaded = _stored("acme"), _stored("globex")
    assert any(sk.startswith("X#") for sk in api)
    assert any(sk.startswith("E#") for sk in api)  # the lookup item of its email address
    assert loaded == api
