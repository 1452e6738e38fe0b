"""Webhooks as a receiver sees them: a server on loopback takes the posts, and checks each
signature with Standard Webhooks' algorithm as tests/receiver.py writes it out (not the code under
test's).

Changes reach the feed writer through the table's stream and the deliverer through the FIFO queue
of the embedded SQS, as on AWS (the gateway emulation delivers both after each request)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from crm import config, times
from crm.storage.items import WebhookItem, account_pk, webhook_sk
from crm.webhooks import deliveries, outbound
from tests.conftest import GATEWAY, Client, Keys
from tests.helpers import errors
from tests.receiver import Receiver, verified


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.server.shutdown()


@pytest.fixture
def hooks(keys: Keys) -> Client:
    return Client(keys.admin)


@pytest.fixture
def quick_retries() -> Iterator[None]:
    """A failed delivery is retried at once (settings are frozen: set anew)."""
    object.__setattr__(config.settings, "webhook_retry_base", 0.0)
    yield
    object.__setattr__(config.settings, "webhook_retry_base", 5.0)


def settle(until: Any, seconds: float = 20) -> None:
    """Deliver streams and queues until ``until()`` holds."""
    deadline = time.monotonic() + seconds
    while not until():
        assert time.monotonic() < deadline, "not delivered in time"
        GATEWAY.deliver_streams()
        time.sleep(0.05)


def subscribe(client: Client, url: str, **fields: Any) -> dict[str, Any]:
    reply = client.post("/webhooks", {"webhook": {"url": url, **fields}})
    assert reply.status == 201, reply.text
    return reply.json()["webhook"]


def test_a_subscription_shows_its_secret_once_and_admin_keys_alone_manage_it(
    hooks: Client, api: Client, receiver: Receiver
) -> None:
    made = hooks.post("/webhooks", {"webhook": {"url": receiver.url, "events": ["contact.created"]}})
    assert made.status == 201, made.text
    webhook = made.json()["webhook"]
    assert made.headers["location"].endswith(f"/webhooks/{webhook['id']}")
    assert webhook["secret"].startswith("whsec_")
    assert len(base64.b64decode(webhook["secret"][6:])) == 24
    assert (webhook["events"], webhook["fields"], webhook["enabled"]) == (["contact.created"], None, True)
    shown = hooks.get(f"/webhooks/{webhook['id']}").json()["webhook"]
    assert "secret" not in shown
    assert shown["url"] == receiver.url
    listed = hooks.get("/webhooks").json()
    assert [w["id"] for w in listed["webhooks"]] == [webhook["id"]]
    assert listed["total_count"] == 1
    assert "secret" not in listed["webhooks"][0]
    assert api.get("/webhooks").status == 403  # a writer's key
    assert api.post("/webhooks", {"webhook": {"url": receiver.url}}).status == 403
    changed = hooks.patch(f"/webhooks/{webhook['id']}", {"webhook": {"events": "contact.created,contact.deleted"}})
    assert changed.status == 200, changed.text
    assert changed.json()["webhook"]["events"] == ["contact.created", "contact.deleted"]
    xml = hooks.get(f"/webhooks/{webhook['id']}.xml")
    assert xml.status == 200
    assert "<event>contact.deleted</event>" in xml.text
    assert hooks.delete(f"/webhooks/{webhook['id']}").status == 204
    assert hooks.get(f"/webhooks/{webhook['id']}").status == 404


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",  # not https
        "ftp://example.com/",
        "https://10.0.0.7/hook",
        "https://169.254.169.254/latest/meta-data/",  # the instance metadata service
        "https://[::ffff:10.0.0.1]/",
        "https://100.64.0.1/",  # shared address space
        "https://0.0.0.0/",
        "https://user:pass@93.184.216.34/",
        "https://no-such-host.invalid/",
        "not a url",
    ],
)
def test_a_url_that_is_not_public_https_is_refused_and_nothing_is_stored(hooks: Client, url: str) -> None:
    reply = hooks.post("/webhooks", {"webhook": {"url": url}})
    assert reply.status == 422, reply.text
    assert errors(reply)
    assert hooks.get("/webhooks").json()["total_count"] == 0


def test_bad_events_and_fields_are_422(hooks: Client, receiver: Receiver) -> None:
    for sent in ({"events": ["contact.exploded"]}, {"events": []}, {"fields": ["Not A Field"]}, {"colour": "red"}):
        reply = hooks.post("/webhooks", {"webhook": {"url": receiver.url, **sent}})
        assert reply.status == 422, (sent, reply.text)
    assert hooks.get("/webhooks").json()["total_count"] == 0


def test_each_change_is_posted_once_in_order_signed_as_the_feed_shows_it(
    hooks: Client, api: Client, receiver: Receiver
) -> None:
    webhook = subscribe(hooks, receiver.url)
    ada = api.create(first_name="Ada")
    assert api.patch(f"/contacts/{ada['id']}", {"contact": {"last_name": "King"}}).status == 200
    api.post(f"/contacts/{ada['id']}/notes", {"note": {"body": "Met"}})
    assert api.delete(f"/contacts/{ada['id']}").status == 204
    settle(lambda: len(receiver.posts()) >= 4)
    posts = receiver.posts()
    bodies = [json.loads(p["body"]) for p in posts]
    assert [b["type"] for b in bodies] == ["contact.created", "contact.updated", "note.created", "contact.deleted"]
    assert all(verified(webhook["secret"], p["headers"], p["body"]) for p in posts)
    assert len({p["headers"]["webhook-id"] for p in posts}) == 4
    assert all(abs(int(p["headers"]["webhook-timestamp"]) - time.time()) < 60 for p in posts)
    feed = hooks.get("/changes", query={"since": times.iso(times.epoch() - 600)}).json()["changes"]
    assert bodies == feed  # each post is the feed's entry
    assert bodies[1]["changes"] == [{"field": "last_name", "old": None, "new": "King"}]
    listed = hooks.get(f"/webhooks/{webhook['id']}/deliveries").json()
    assert [d["event"] for d in listed["deliveries"]] == [b["type"] for b in reversed(bodies)]  # newest first
    made = {(d["status"], d["attempts"], d["last_status_code"]) for d in listed["deliveries"]}
    assert made == {("succeeded", 1, 200)}
    assert listed["next_cursor"] is None
    tampered = {**posts[0], "body": posts[0]["body"].replace(b"contact.created", b"contact.deleted")}
    assert not verified(webhook["secret"], tampered["headers"], tampered["body"])


def test_events_and_fields_choose_what_is_posted(hooks: Client, api: Client, receiver: Receiver) -> None:
    subscribe(hooks, receiver.url, events=["contact.updated"], fields=["last_name"])
    ada = api.create(first_name="Ada")
    api.patch(f"/contacts/{ada['id']}", {"contact": {"first_name": "Augusta"}})
    api.patch(f"/contacts/{ada['id']}", {"contact": {"last_name": "King"}})
    settle(lambda: len(receiver.posts()) >= 1)
    GATEWAY.deliver_streams()
    bodies = [json.loads(p["body"]) for p in receiver.posts()]
    assert [(b["type"], [c["field"] for c in b["changes"]]) for b in bodies] == [("contact.updated", ["last_name"])]


def test_a_receiver_that_fails_three_times_gets_the_same_delivery_then(
    hooks: Client, api: Client, receiver: Receiver, quick_retries: None
) -> None:
    webhook = subscribe(hooks, receiver.url)
    receiver.script = [500, 503, 500]
    api.create(first_name="Ada")
    settle(lambda: len(receiver.posts()) >= 4)
    posts = receiver.posts()
    assert len({p["headers"]["webhook-id"] for p in posts}) == 1
    assert all(verified(webhook["secret"], p["headers"], p["body"]) for p in posts)
    assert len({p["body"] for p in posts}) == 1
    (delivery,) = hooks.get(f"/webhooks/{webhook['id']}/deliveries").json()["deliveries"]
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == ("succeeded", 4, 200)
    assert hooks.get(f"/webhooks/{webhook['id']}").json()["webhook"]["failing_since"] is None


def test_a_failure_waits_on_the_queue_doubling_and_holds_back_that_contact_only(
    hooks: Client, api: Client, receiver: Receiver
) -> None:
    object.__setattr__(config.settings, "webhook_retry_base", 2.0)
    try:
        webhook = subscribe(hooks, receiver.url)
        receiver.script = [500]
        ada = api.create(first_name="Ada")
        api.patch(f"/contacts/{ada['id']}", {"contact": {"last_name": "King"}})
        grace = api.create(first_name="Grace")
        settle(lambda: any(json.loads(p["body"])["contact_id"] == grace["id"] for p in receiver.posts()))
        first = [json.loads(p["body"])["type"] for p in receiver.posts()]
        assert first == ["contact.created", "contact.created"]  # Ada's failed; her update waits behind it
        pending = hooks.get(f"/webhooks/{webhook['id']}/deliveries").json()["deliveries"]
        ada_created = next(d for d in pending if d["contact_id"] == ada["id"] and d["event"] == "contact.created")
        assert (ada_created["status"], ada_created["attempts"], ada_created["last_status_code"]) == ("pending", 1, 500)
        assert ada_created["next_attempt_at"] is not None
        settle(lambda: len(receiver.posts()) >= 4)
        order = [(json.loads(p["body"])["contact_id"], json.loads(p["body"])["type"]) for p in receiver.posts()]
        assert order[2:] == [(ada["id"], "contact.created"), (ada["id"], "contact.updated")]
        assert hooks.get(f"/webhooks/{webhook['id']}").json()["webhook"]["failing_since"] is None
    finally:
        object.__setattr__(config.settings, "webhook_retry_base", 5.0)


def test_a_rotated_secret_signs_beside_the_new_one_for_a_day(hooks: Client, api: Client, receiver: Receiver) -> None:
    old = subscribe(hooks, receiver.url)
    rotated = hooks.post(f"/webhooks/{old['id']}/rotate_secret")
    assert rotated.status == 200, rotated.text
    new = rotated.json()["webhook"]["secret"]
    assert new != old["secret"]
    assert new.startswith("whsec_")
    api.create(first_name="Ada")
    settle(lambda: len(receiver.posts()) >= 1)
    (post,) = receiver.posts()
    assert len(post["headers"]["webhook-signature"].split(" ")) == 2
    assert verified(new, post["headers"], post["body"])
    assert verified(old["secret"], post["headers"], post["body"])


def test_a_webhook_failing_for_a_day_is_disabled_with_the_reason(
    hooks: Client, api: Client, receiver: Receiver, keys: Keys, quick_retries: None
) -> None:
    webhook = subscribe(hooks, receiver.url)
    item = WebhookItem.get(account_pk("acme"), webhook_sk(webhook["id"]))
    item.update(actions=[WebhookItem.failing_since.set(times.epoch() - 25 * 3600)])  # failing since yesterday
    receiver.script = [500] * 50
    api.create(first_name="Ada")
    settle(lambda: not hooks.get(f"/webhooks/{webhook['id']}").json()["webhook"]["enabled"])
    shown = hooks.get(f"/webhooks/{webhook['id']}").json()["webhook"]
    assert "24 hours" in shown["disabled_reason"]
    assert "500" in shown["disabled_reason"]
    settle(lambda: hooks.get(f"/webhooks/{webhook['id']}/deliveries").json()["deliveries"][0]["status"] == "failed")
    posted = len(receiver.posts())
    api.create(first_name="Grace")
    GATEWAY.deliver_streams()
    assert len(receiver.posts()) == posted  # disabled: nothing more
    (failed, *_) = hooks.get(f"/webhooks/{webhook['id']}/deliveries").json()["deliveries"]
    assert hooks.post(f"/webhooks/{webhook['id']}/deliveries/{failed['id']}/retry").status == 409  # disabled
    again = hooks.patch(f"/webhooks/{webhook['id']}", {"webhook": {"enabled": True}}).json()["webhook"]
    assert (again["enabled"], again["disabled_reason"], again["failing_since"]) == (True, None, None)
    receiver.script = []
    retried = hooks.post(f"/webhooks/{webhook['id']}/deliveries/{failed['id']}/retry")
    assert retried.status == 202, retried.text
    settle(lambda: len(receiver.posts()) > posted)
    assert receiver.posts()[-1]["headers"]["webhook-id"] == receiver.posts()[0]["headers"]["webhook-id"]


def test_a_redirect_is_not_followed(hooks: Client, api: Client, receiver: Receiver, quick_retries: None) -> None:
    webhook = subscribe(hooks, receiver.url)
    receiver.script = [("redirect", "/elsewhere")]
    api.create(first_name="Ada")
    settle(lambda: len(receiver.posts()) >= 2)  # the redirect, then the retry to the URL itself
    assert receiver.posts("/elsewhere") == []
    (delivery,) = hooks.get(f"/webhooks/{webhook['id']}/deliveries").json()["deliveries"]
    assert delivery["attempts"] == 2
    assert delivery["status"] == "succeeded"


def test_a_deleted_webhook_gets_nothing_more(hooks: Client, api: Client, receiver: Receiver) -> None:
    webhook = subscribe(hooks, receiver.url)
    assert hooks.delete(f"/webhooks/{webhook['id']}").status == 204
    api.create(first_name="Ada")
    GATEWAY.deliver_streams()
    assert receiver.posts() == []


def test_deliveries_page_with_a_cursor_and_unknown_ones_are_404(hooks: Client, api: Client, receiver: Receiver) -> None:
    webhook = subscribe(hooks, receiver.url)
    for n in range(3):
        api.create(first_name=f"N{n}")
    settle(lambda: len(receiver.posts()) >= 3)
    first = hooks.get(f"/webhooks/{webhook['id']}/deliveries", query={"limit": 2}).json()
    assert len(first["deliveries"]) == 2
    assert first["next_cursor"]
    rest = hooks.get(f"/webhooks/{webhook['id']}/deliveries", query={"cursor": first["next_cursor"]}).json()
    assert len(rest["deliveries"]) == 1
    assert rest["next_cursor"] is None
    ids = [d["id"] for d in first["deliveries"] + rest["deliveries"]]
    assert ids == sorted(ids, key=lambda i: tuple(int(p) for p in i.split("-")), reverse=True)
    assert hooks.post(f"/webhooks/{webhook['id']}/deliveries/1-1/retry").status == 404
    assert hooks.get("/webhooks/999/deliveries").status == 404


# --- the guard itself, as on AWS (no loopback) ---------------------------------------------------------


@pytest.fixture
def as_on_aws() -> Iterator[None]:
    object.__setattr__(config.settings, "webhook_loopback", False)
    yield
    object.__setattr__(config.settings, "webhook_loopback", True)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/",
        "https://127.0.0.1/",
        "https://localhost/",
        "https://[::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://2130706433/",  # 127.0.0.1 as one number
        "https://0x7f.1/",
        "https://192.168.1.1/",
        "https://[fd00:ec2::254]/",  # the metadata service over IPv6
        "https://224.0.0.1/",
    ],
)
def test_on_aws_loopback_and_private_addresses_are_never_posted_to(as_on_aws: None, url: str) -> None:
    answer = outbound.post(url, b"{}", {})
    assert answer.status is None
    assert answer.error


def test_a_slow_receiver_is_cut_off_after_five_seconds(receiver: Receiver) -> None:
    receiver.script = [("sleep", 8)]
    started = time.monotonic()
    answer = outbound.post(receiver.url, b"{}", {})
    assert time.monotonic() - started < 6.5
    assert answer.error == "no answer within 5 s"


def test_an_endless_answer_is_read_no_further_than_64_kb(receiver: Receiver) -> None:
    receiver.script = ["endless"]
    started = time.monotonic()
    answer = outbound.post(receiver.url, b"{}", {})
    assert time.monotonic() - started < 5
    assert (answer.status, answer.error) == (200, None)


def test_a_body_too_large_for_its_message_waits_in_the_delivery(
    hooks: Client, api: Client, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deliveries, "MESSAGE_BODY_MAX", 10)  # every body is "too large"
    webhook = subscribe(hooks, receiver.url)
    api.create(first_name="Ada")
    settle(lambda: len(receiver.posts()) >= 1)
    (post,) = receiver.posts()
    assert json.loads(post["body"])["type"] == "contact.created"
    assert verified(webhook["secret"], post["headers"], post["body"])


def test_fields_sent_as_null_go_back_to_every_change(hooks: Client, receiver: Receiver) -> None:
    webhook = subscribe(hooks, receiver.url, fields=["last_name"])
    assert webhook["fields"] == ["last_name"]
    cleared = hooks.patch(f"/webhooks/{webhook['id']}", {"webhook": {"fields": None}})
    assert cleared.status == 200, cleared.text
    assert cleared.json()["webhook"]["fields"] is None
    form = hooks.request(
        "PATCH",
        f"/webhooks/{webhook['id']}",
        body="webhook[fields]=email_address,phone&webhook[enabled]=false",
        content_type="application/x-www-form-urlencoded",
    )
    assert form.status == 200, form.text
    assert (form.json()["webhook"]["fields"], form.json()["webhook"]["enabled"]) == (["email_address", "phone"], False)
