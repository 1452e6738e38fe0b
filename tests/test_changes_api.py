"""The change feed as an integration reads it: every write once, in commit order, from ``since``
and then each answer's cursor; the feed is written from the table's stream, as on AWS (the gateway
emulation delivers the stream after each request)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from crm import config
from crm.storage.items import FeedItem, account_pk
from local_api.containers import LambdaContext, load_handler
from tests.conftest import GATEWAY, Client, Keys
from tests.helpers import errors

SINCE = "2020-01-01T00:00:00Z"


def read_all(client: Client, **query: Any) -> tuple[list[dict[str, Any]], str]:
    """Every entry from ``since`` (or the cursor), following next_cursor to the end."""
    entries: list[dict[str, Any]] = []
    params: dict[str, Any] = {"since": SINCE, **query}
    while True:
        reply = client.get("/changes", query=params)
        assert reply.status == 200, reply.text
        page = reply.json()
        entries += page["changes"]
        if not page["changes"]:
            return entries, page["next_cursor"]
        params = {"cursor": page["next_cursor"], **{k: v for k, v in query.items() if k == "limit"}}


@pytest.fixture(autouse=True)
def keep_everything() -> Iterator[None]:
    """SINCE is years back: a feed that keeps ten years has it all (settings are frozen: set anew)."""
    object.__setattr__(config.settings, "feed_retention_days", 3650)
    yield
    object.__setattr__(config.settings, "feed_retention_days", 30)


def test_every_write_is_in_the_feed_once_in_order(api: Client) -> None:
    ada = api.create(first_name="Ada", last_name="Lovelace")
    assert api.patch(f"/contacts/{ada['id']}", {"contact": {"last_name": "King"}}).status == 200
    note = api.post(f"/contacts/{ada['id']}/notes", {"note": {"body": "Met"}}).json()["note"]
    assert api.delete(f"/contacts/{ada['id']}/notes/{note['id']}").status == 204
    call = api.post("/calls", {"call": {"contact_id": ada["id"], "subject": "Ring"}}).json()["call"]
    grace = api.create(first_name="Grace")
    assert api.delete(f"/contacts/{grace['id']}").status == 204
    entries, _ = read_all(api, limit=2)
    assert [(e["type"], e["resource_id"], e["contact_id"]) for e in entries] == [
        ("contact.created", ada["id"], ada["id"]),
        ("contact.updated", ada["id"], ada["id"]),
        ("note.created", note["id"], ada["id"]),
        ("note.deleted", note["id"], ada["id"]),
        ("call.created", call["id"], ada["id"]),
        ("contact.created", grace["id"], grace["id"]),
        ("contact.deleted", grace["id"], grace["id"]),
    ]
    assert entries[1]["changes"] == [{"field": "last_name", "old": "Lovelace", "new": "King"}]
    assert "changes" not in entries[0]
    assert len({e["id"] for e in entries}) == len(entries)
    assert {(e["user_id"], e["key_id"] is not None) for e in entries} == {(1, True)}
    assert all(e["at"].endswith("+00:00") for e in entries)


def test_a_cursor_goes_on_after_what_it_saw_and_nothing_new_is_an_empty_page(api: Client) -> None:
    api.create(first_name="One")
    seen, cursor = read_all(api)
    assert [e["type"] for e in seen] == ["contact.created"]
    quiet = api.get("/changes", query={"cursor": cursor}).json()
    assert quiet["changes"] == []
    assert quiet["next_cursor"]
    two = api.create(first_name="Two")
    later = api.get("/changes", query={"cursor": quiet["next_cursor"]}).json()
    assert [(e["type"], e["contact_id"]) for e in later["changes"]] == [("contact.created", two["id"])]


def test_a_redelivered_record_is_the_same_entry(api: Client, keys: Keys) -> None:
    api.create(first_name="Once")
    stored = list(FeedItem.query(account_pk("acme"), FeedItem.sk.startswith("F#")))
    assert len(stored) == 1
    stored[0].save()  # what a second delivery of the record writes: the same item, by its key
    assert len(read_all(api)[0]) == 1


def test_private_contacts_changes_are_only_for_keys_that_may_see_them(api: Client, keys: Keys) -> None:
    api.create(first_name="Secret", is_private=True)
    api.create(first_name="Open")
    colleague, admin = Client(keys.colleague), Client(keys.admin)
    assert len(read_all(api)[0]) == 2
    assert len(read_all(admin)[0]) == 2
    assert [e["contact_id"] for e in read_all(colleague)[0]] == [2]
    assert read_all(Client(keys.stranger))[0] == []


def test_bad_reads_are_400_and_an_old_point_is_410(api: Client) -> None:
    assert errors(api.get("/changes")) == [
        "Give since (an ISO 8601 datetime) for the first call, then each answer's next_cursor"
    ]
    assert api.get("/changes", query={"since": "yesterday"}).status == 400
    assert api.get("/changes", query={"cursor": "forged.cursor"}).status == 400
    object.__setattr__(config.settings, "feed_retention_days", 30)
    old = api.get("/changes", query={"since": SINCE})
    assert old.status == 410
    assert "GET /contacts?updated_since=" in errors(old)[0]
    xml = api.get("/changes.xml", query={"since": "2026-12-01T00:00:00Z"})
    assert (xml.status, xml.xml().tag) == (200, "changes")


def test_messages_photos_and_merges_are_in_the_feed(api: Client) -> None:
    ada, twin = api.create(first_name="Ada", email_address="ada@example.com"), api.create(first_name="Ada")
    body = {"message": {"contact_id": ada["id"], "body": "Hi", "to": "ada@example.com"}}
    message = api.post("/messages", body).json()["message"]
    photo = api.post("/photos", {"photo": {"contact_id": ada["id"], "content_type": "image/png"}}).json()["photo"]
    assert api.delete(f"/photos/{photo['id']}").status == 204
    merged = api.post(f"/contacts/{twin['id']}/merge", {"from": [ada["id"]]})
    assert merged.status == 200, merged.text
    entries, _ = read_all(api)
    assert [(e["type"], e["resource_id"]) for e in entries] == [
        ("contact.created", ada["id"]),
        ("contact.created", twin["id"]),
        ("message.created", message["id"]),
        ("photo.created", photo["id"]),
        ("photo.deleted", photo["id"]),
        ("contact.merged", twin["id"]),
    ]
    assert {"field": "email_address", "old": None, "new": "ada@example.com"} in entries[-1]["changes"]


def test_the_writer_stops_at_a_record_it_cannot_write_and_hands_back_the_rest(
    monkeypatch: pytest.MonkeyPatch, store: str
) -> None:
    """A later change is never written before an earlier one: from the first failure on, every
    record goes back to the stream, which delivers them again in order."""
    handler = load_handler(GATEWAY.template.functions["FeedWriterFunction"])  # its lambda_handler

    def record(number: int) -> dict[str, Any]:
        image = {
            "pk": {"S": "A#acme"},
            "number": {"N": str(number)},
            "contact_id": {"N": "1"},
            "action": {"S": "updated"},
            "user_id": {"N": "1"},
            "created_at": {"S": "2026-12-01T00:00:00+00:00"},
            "changes": {"S": "[]"},
        }
        keys = {"pk": {"S": "A#acme"}, "sk": {"S": f"D#0000000001#H#{number:010d}"}}
        dynamodb = {"Keys": keys, "NewImage": image, "SequenceNumber": str(100 + number)}
        return {"eventName": "INSERT", "dynamodb": {**dynamodb, "ApproximateCreationDateTime": 1796000000}}

    saved, real = [], FeedItem.save

    def save(item: FeedItem, *args: Any, **kwargs: Any) -> Any:
        if item.entry_id == "1.2":
            raise RuntimeError("throttled")
        saved.append(item.entry_id)
        return real(item, *args, **kwargs)

    monkeypatch.setattr(FeedItem, "save", save)
    answer = handler({"Records": [record(1), record(2), record(3)]}, LambdaContext("feed-writer"))
    assert answer == {"batchItemFailures": [{"itemIdentifier": "102"}, {"itemIdentifier": "103"}]}
    assert saved == ["1.1"]
