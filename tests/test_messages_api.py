"""Messages as a client sees them: status, headers, body, and what ends up stored.

Messages share their storage and routes with calls (crm.activities, crm.http.records), which
tests/test_calls_api.py covers at length; these tests hold what is a message's own: its fields,
channels and directions as key ranges, ``sent_at`` order, a body of up to 256 KB, and a contact
that includes them and takes them with it. Every test runs on moto and on DynamoDB Local.
"""

from __future__ import annotations

from typing import Any

import pytest

from crm.storage.items import Item, account_pk
from tests.conftest import Client, Keys
from tests.helpers import XML_TYPE, errors, history, send, text_of, xml_errors

MESSAGE_KEYS = [
    "body",
    "channel",
    "contact_id",
    "created_at",
    "direction",
    "from",
    "id",
    "sent_at",
    "subject",
    "to",
    "updated_at",
    "user_id",
    "version",
]
LIMIT = 256 * 1024


def make(client: Client, contact_id: int, body: str = "Hello", **fields: Any) -> dict[str, Any]:
    reply = client.post("/messages", {"message": {"contact_id": contact_id, "body": body, **fields}})
    assert reply.status == 201, reply.text
    return reply.json()["message"]


def listed(client: Client, **query: Any) -> dict[str, Any]:
    reply = client.get("/messages", query=query)
    assert reply.status == 200, reply.text
    return reply.json()


def ids(page: dict[str, Any]) -> list[int]:
    return [message["id"] for message in page["messages"]]


def stored() -> list[str]:
    return sorted(i.sk for i in Item.query(account_pk("acme"), consistent_read=True) if "M" in i.sk.split("#")[0:3])


@pytest.fixture
def ada(api: Client) -> int:
    return api.create(first_name="Ada")["id"]


def test_create_answers_201_with_defaults_and_the_wrapped_message(api: Client, ada: int) -> None:
    reply = api.post("/messages", {"message": {"contact_id": ada, "body": "Hi Ada", "to": "ada@example.com"}})
    assert reply.status == 201, reply.text
    assert (reply.headers["location"], reply.headers["etag"]) == ("/messages/1", '"1"')
    message = reply.json()["message"]
    assert list(message) == MESSAGE_KEYS
    assert (message["channel"], message["direction"], message["to"], message["from"]) == (
        "email",
        "outbound",
        "ada@example.com",
        None,
    )
    assert message["sent_at"] == message["created_at"]  # now, unless sent
    assert api.get("/messages/1").json()["message"] == message


def test_json_beside_the_root_is_refused_and_stores_nothing(api: Client, ada: int) -> None:
    # The document takes the message flat or in its root, not both at once (a form's commit aside).
    sent = {"message": {"contact_id": ada}, "body": "Hi", "to": "ada@example.com"}
    reply = api.post("/messages", sent)
    assert (reply.status, errors(reply)) == (422, ["Unknown fields beside message: body, to"])
    assert stored() == []


def test_xml_in_and_out(api: Client, ada: int) -> None:
    body = (
        f"<message><contact-id type='integer'>{ada}</contact-id><channel>SMS</channel>"
        "<direction>inbound</direction><from>+44 20 7946 0000</from><body>Running late</body>"
        "<sent-at type='datetime'>2031-01-01T08:00:00+01:00</sent-at></message>"
    )
    reply = send(api, "POST", "/messages.xml", body, "application/xml")
    assert (reply.status, reply.headers["content-type"]) == (201, XML_TYPE), reply.text
    root = reply.xml()
    assert [child.tag for child in root] == [key.replace("_", "-") for key in MESSAGE_KEYS]
    assert (text_of(root, "channel"), text_of(root, "from"), text_of(root, "sent-at")) == (
        "sms",
        "+44 20 7946 0000",
        "2031-01-01T07:00:00+00:00",
    )


@pytest.fixture
def inbox(api: Client, ada: int) -> dict[str, int]:
    grace = api.create(first_name="Grace")["id"]
    made = {
        "sms_in": make(api, ada, "b", channel="sms", direction="inbound", sent_at="2031-01-02T00:00:00Z"),
        "email_out": make(api, ada, "a", sent_at="2031-01-01T00:00:00Z"),
        "email_in": make(api, grace, "c", direction="inbound", sent_at="2031-01-03T00:00:00Z"),
        "other_out": make(api, grace, "d", channel="other", sent_at="2030-12-31T00:00:00Z"),
    }
    return {name: message["id"] for name, message in made.items()} | {"grace": grace}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["other_out", "email_out", "sms_in", "email_in"]),
        ({"channel": "email"}, ["email_out", "email_in"]),
        ({"channel": "EMAIL", "direction": "inbound"}, ["email_in"]),
        ({"direction": "inbound"}, ["sms_in", "email_in"]),
        ({"contact_id": "ADA"}, ["email_out", "sms_in"]),
        ({"contact_id": "GRACE", "direction": "outbound"}, ["other_out"]),
    ],
)
def test_lists_are_in_sent_order_and_filter(
    api: Client, inbox: dict[str, int], ada: int, query: dict, expected: list
) -> None:
    people = {"ADA": str(ada), "GRACE": str(inbox["grace"])}
    page = listed(api, **{name: people.get(value, value) for name, value in query.items()})
    assert ids(page) == [inbox[name] for name in expected]
    assert page["total_count"] == len(expected)


def test_a_cursor_walks_the_merged_states_once(api: Client, inbox: dict[str, int]) -> None:
    first = listed(api, limit=3)
    rest = listed(api, limit=3, cursor=first["next_cursor"])
    assert ids(first) + ids(rest) == [inbox[n] for n in ("other_out", "email_out", "sms_in", "email_in")]
    assert rest["next_cursor"] is None


def test_moving_a_message_to_another_channel_moves_it_between_lists(api: Client, inbox: dict[str, int]) -> None:
    reply = api.patch(f"/messages/{inbox['sms_in']}", {"channel": "email"})
    assert reply.status == 200, reply.text
    assert ids(listed(api, channel="sms")) == []
    assert ids(listed(api, channel="email", direction="inbound")) == [inbox["sms_in"], inbox["email_in"]]
    assert listed(api, channel="email")["total_count"] == 3


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"channel": "fax"}, "channel: Channel must be one of: email, sms, other"),
        ({"direction": "sideways"}, "direction: Direction must be one of: inbound, outbound"),
    ],
)
def test_bad_filters_are_400(api: Client, query: dict, message: str) -> None:
    reply = api.get("/messages", query=query)
    assert (reply.status, errors(reply)) == (400, [message])


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"body": ""}, ["Body cannot be blank"]),
        ({"channel": "pigeon"}, ["Channel must be one of: email, sms, other"]),
        ({"direction": 1}, ["Direction must be one of: inbound, outbound"]),
        ({"sent_at": "yesterday"}, ["Sent at is not a valid datetime (ISO 8601)"]),
        ({"subject": "x" * 256}, ["Subject is too long (at most 255 characters)"]),
        ({"to": ["a", "b"]}, ["To must be text"]),
        ({"cc": "x"}, ["Unknown fields: cc"]),
    ],
)
def test_refused_input_is_422_and_stores_nothing(api: Client, ada: int, fields: dict, expected: list) -> None:
    before = stored()
    reply = api.post("/messages", {"message": {"contact_id": ada, "body": "x", **fields}})
    assert (reply.status, errors(reply)) == (422, expected)
    assert stored() == before


def test_a_body_of_256_kb_is_kept_and_a_larger_one_is_413(api: Client, ada: int) -> None:
    largest = "é" * (LIMIT // 2)  # 2 bytes each in UTF-8: exactly 256 KB
    made = make(api, ada, largest)
    assert api.get(f"/messages/{made['id']}").json()["message"]["body"] == largest
    # The contact's history keeps the start of so long a body, and says so.
    logged = next(c for c in history(api, ada)["history"][0]["changes"] if c["field"] == "body")
    assert logged == {"field": "body", "old_value": None, "new_value": largest[:4000], "truncated": True}
    before = stored()
    for body in ("x" * (LIMIT + 1), "é" * (LIMIT // 2) + "x"):
        reply = api.post("/messages", {"contact_id": ada, "body": body})
        assert (reply.status, errors(reply)) == (413, ["A message's body is at most 262144 bytes"])
        in_xml = send(api, "PATCH", f"/messages/{made['id']}.xml", f"<message><body>{body}</body></message>", XML_TYPE)
        assert (in_xml.status, xml_errors(in_xml)) == (413, ["A message's body is at most 262144 bytes"])
    assert stored() == before
    huge = api.post("/messages", {"contact_id": ada, "body": "x" * (4 * LIMIT)})
    assert huge.status == 413  # past what the function reads at all
    assert api.post("/contacts", {"first_name": "A", "background": "x" * LIMIT}).status == 413  # others keep theirs


def test_changes_are_in_the_contacts_history_and_it_includes_them(api: Client, inbox: dict[str, int], ada: int) -> None:
    entry = history(api, ada)["history"][0]
    assert (entry["action"], entry["subject"], entry["message_id"]) == ("created", "message", inbox["email_out"])
    shown = api.get(f"/contacts/{ada}", query={"include": "messages,calls"}).json()["contact"]
    assert [m["id"] for m in shown["messages"]] == [inbox["email_out"], inbox["sms_in"]]
    assert shown["calls"] == []


def test_deleting_the_contact_deletes_its_messages(api: Client, inbox: dict[str, int], ada: int) -> None:
    assert api.delete(f"/contacts/{ada}").status == 204
    assert api.get(f"/messages/{inbox['sms_in']}").status == 404
    page = listed(api)
    assert (ids(page), page["total_count"]) == ([inbox["other_out"], inbox["email_in"]], 2)
    assert listed(api, direction="inbound")["total_count"] == 1


def test_another_accounts_and_private_contacts_messages_stay_hidden(api: Client, keys: Keys, ada: int) -> None:
    hidden = api.create(first_name="Secret", is_private=True)["id"]
    secret, public = make(api, hidden, "psst")["id"], make(api, ada, "hi")["id"]
    colleague, stranger = Client(keys.colleague), Client(keys.stranger)
    assert (ids(listed(colleague)), listed(colleague)["total_count"]) == ([public], 1)
    assert colleague.get(f"/messages/{secret}").status == 404
    assert stranger.get(f"/messages/{public}").status == 404
    assert listed(stranger)["messages"] == []
    assert ids(listed(api)) == [secret, public]
