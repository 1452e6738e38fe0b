"""Calls as a client sees them: status, headers, body, and what ends up stored.

Every request goes through the API Gateway emulation (authorizer, then the calls or contacts handler,
as template.yaml wires them), and every API test runs on moto and on DynamoDB Local (``store``).
A call is about one contact: its changes go to that contact's history, its lists are in ``due_at``
order, and it goes when the contact goes. Concurrent writers run on DynamoDB Local at the end.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from crm import activities, calls, contact_reads, contacts
from crm.auth import Principal, granted_scopes
from crm.calls import CALL
from crm.paging import PageRequest
from crm.storage.items import ActivityCountItem, Item, account_pk
from tests.conftest import Client, Keys, all_at_once
from tests.helpers import FORM, JSON_TYPE, XML_TYPE, errors, history, send, text_of, xml_errors

CALL_KEYS = [
    "assigned_to_id",
    "body",
    "completed_at",
    "contact_id",
    "created_at",
    "due_at",
    "duration_seconds",
    "id",
    "outcome",
    "subject",
    "updated_at",
    "user_id",
    "version",
]

# --- helpers -----------------------------------------------------------------------------


def make(client: Client, contact_id: int, subject: str = "Follow up", **fields: Any) -> dict[str, Any]:
    reply = client.post("/calls", {"call": {"contact_id": contact_id, "subject": subject, **fields}})
    assert reply.status == 201, reply.text
    return reply.json()["call"]


def shown(client: Client, call_id: int) -> dict[str, Any]:
    reply = client.get(f"/calls/{call_id}")
    assert reply.status == 200, reply.text
    return reply.json()["call"]


def listed(client: Client, **query: Any) -> dict[str, Any]:
    reply = client.get("/calls", query=query)
    assert reply.status == 200, reply.text
    return reply.json()


def ids(page: dict[str, Any]) -> list[int]:
    return [call["id"] for call in page["calls"]]


def stored(account: str = "acme") -> dict[str, dict[str, Any]]:
    """Every call item of the account (its three copies) and its counts, by sort key."""
    items = Item.query(account_pk(account), consistent_read=True)
    found = {}
    for item in items:
        sk = item.sk
        if sk.startswith(("L#", "LO#", "COUNT#calls")) or ("#L#" in sk or sk.endswith("#COUNT#L")):
            found[sk] = item.attribute_values
    return found


@pytest.fixture
def ada(api: Client) -> int:
    return api.create(first_name="Ada")["id"]


# --- create, show, update, delete --------------------------------------------------------------


def test_create_answers_201_with_location_etag_and_the_wrapped_call(api: Client, ada: int) -> None:
    sent = {"contact_id": ada, "subject": "Demo", "body": "Show v2", "due_at": "2031-05-01T09:30:00+02:00"}
    reply = api.post("/calls", {"call": {**sent, "duration_seconds": 600, "assigned_to_id": 7}})
    assert reply.status == 201, reply.text
    assert reply.headers["content-type"] == JSON_TYPE
    assert (reply.headers["location"], reply.headers["etag"]) == ("/calls/1", '"1"')
    call = reply.json()["call"]
    assert list(call) == CALL_KEYS
    assert call["due_at"] == "2031-05-01T07:30:00+00:00"  # kept in UTC
    assert (call["contact_id"], call["subject"], call["user_id"], call["version"]) == (ada, "Demo", 1, 1)
    assert (call["completed_at"], call["outcome"]) == (None, None)
    assert shown(api, 1) == call


def test_create_from_a_flat_body_xml_and_a_form(api: Client, ada: int) -> None:
    flat = api.post("/calls.json", {"contact_id": ada, "subject": "Flat"})
    assert flat.status == 201, flat.text
    body = f"<call><contact-id type='integer'>{ada}</contact-id><subject>In XML</subject>"
    body += "<due_at>2031-01-01</due_at></call>"
    in_xml = send(api, "POST", "/calls.xml", body, "application/xml")
    assert (in_xml.status, in_xml.headers["content-type"]) == (201, XML_TYPE), in_xml.text
    root = in_xml.xml()
    assert root.tag == "call"
    assert [child.tag for child in root] == [key.replace("_", "-") for key in CALL_KEYS]
    assert (text_of(root, "subject"), text_of(root, "due-at")) == ("In XML", "2031-01-01T00:00:00+00:00")
    assert root.find("completed-at").get("nil") == "true"
    assert in_xml.headers["location"] == "/calls/2.xml"
    form = send(api, "POST", "/calls", f"call[contact_id]={ada}&call[subject]=From+a+form", FORM)
    assert form.status == 201, form.text
    assert [c["subject"] for c in listed(api)["calls"]] == ["In XML", "Flat", "From a form"]


@pytest.mark.parametrize("method", ["put", "patch"])
def test_update_changes_what_is_sent_and_bumps_the_etag(api: Client, ada: int, method: str) -> None:
    made = make(api, ada, due_at="2031-01-01T10:00:00Z")
    reply = getattr(api, method)(
        f"/calls/{made['id']}", {"call": {"subject": "Moved", "due_at": "2031-02-01T10:00:00Z"}}
    )
    assert (reply.status, reply.headers["etag"]) == (200, '"2"'), reply.text
    changed = reply.json()["call"]
    assert (changed["subject"], changed["due_at"], changed["body"]) == ("Moved", "2031-02-01T10:00:00+00:00", None)
    assert shown(api, made["id"]) == changed
    assert api.put(f"/calls/{made['id']}", changed).json()["call"]["version"] == 2  # sent back as read: no change


def test_a_version_makes_the_write_conditional(api: Client, ada: int) -> None:
    made = make(api, ada)
    assert api.patch(f"/calls/{made['id']}", {"subject": "B"}, headers={"If-Match": '"1"'}).status == 200
    stale = api.patch(f"/calls/{made['id']}", {"subject": "C"}, headers={"If-Match": '"1"'})
    assert (stale.status, errors(stale)) == (409, ["Call is at version 2, not 1"])
    assert api.delete(f"/calls/{made['id']}", headers={"If-Match": '"1"'}).status == 409
    assert shown(api, made["id"])["subject"] == "B"


def test_delete_answers_204_then_the_call_is_gone_everywhere(api: Client, ada: int) -> None:
    made, kept = make(api, ada), make(api, ada, "Kept")
    assert api.delete(f"/calls/{made['id']}").status == 204
    for reply in (
        api.get(f"/calls/{made['id']}"),
        api.delete(f"/calls/{made['id']}"),
        api.post(f"/calls/{made['id']}/complete"),
    ):
        assert (reply.status, errors(reply)) == (404, ["Call not found"])
    assert ids(listed(api)) == ids(listed(api, contact_id=ada)) == [kept["id"]]
    assert listed(api)["total_count"] == 1
    assert sorted(sk[:2] for sk in stored() if not sk.startswith(("COUNT", "D#0000000001#COUNT"))) == ["D#", "L#", "LO"]


# --- complete ------------------------------------------------------------------------------------


def test_complete_sets_completed_at_and_outcome_and_is_idempotent(api: Client, ada: int) -> None:
    made = make(api, ada)
    done = api.post(f"/calls/{made['id']}/complete", {"outcome": "Left a voicemail"})
    assert (done.status, done.headers["etag"]) == (200, '"2"'), done.text
    call = done.json()["call"]
    assert call["outcome"] == "Left a voicemail"
    assert call["completed_at"] is not None
    again = api.post(f"/calls/{made['id']}/complete.xml")
    assert (again.status, again.headers["etag"]) == (200, '"2"')  # nothing changed
    assert text_of(again.xml(), "completed-at") == call["completed_at"]
    outcome = api.post(f"/calls/{made['id']}/complete", {"call": {"outcome": "Reached"}}).json()["call"]
    assert (outcome["completed_at"], outcome["outcome"], outcome["version"]) == (call["completed_at"], "Reached", 3)


def test_complete_takes_the_time_it_happened(api: Client, ada: int) -> None:
    made = make(api, ada)
    done = api.post(f"/calls/{made['id']}/complete", {"completed_at": "2031-03-04T05:06:07Z"}).json()["call"]
    assert done["completed_at"] == "2031-03-04T05:06:07+00:00"
    for body, message in (
        ({"completed_at": "soon"}, "Completed at is not a valid datetime (ISO 8601)"),
        ({"subject": "x"}, "Unknown fields: subject"),
    ):
        reply = api.post(f"/calls/{made['id']}/complete", body)
        assert (reply.status, errors(reply)) == (422, [message])


# --- lists ---------------------------------------------------------------------------------------


@pytest.fixture
def diary(api: Client, ada: int) -> dict[str, int]:
    """Calls of two contacts, made out of due order; one without a due time, two completed."""
    grace = api.create(first_name="Grace")["id"]
    made = {
        "march": make(api, ada, "March", due_at="2031-03-01T09:00:00Z"),
        "none": make(api, ada, "Whenever"),
        "january": make(api, grace, "January", due_at="2031-01-01T09:00:00Z"),
        "february": make(api, ada, "February", due_at="2031-02-01T09:00:00Z"),
        "april": make(api, grace, "April", due_at="2031-04-01T09:00:00Z"),
    }
    for name in ("february", "april"):
        assert api.post(f"/calls/{made[name]['id']}/complete").status == 200
    return {name: call["id"] for name, call in made.items()} | {"grace": grace}


def test_list_is_in_due_order_with_undated_calls_last(api: Client, diary: dict[str, int]) -> None:
    page = listed(api)
    order = ["january", "february", "march", "april", "none"]
    assert ids(page) == [diary[name] for name in order]
    assert (page["offset"], page["limit"], page["total_count"], page["next_cursor"]) == (0, 20, 5, None)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"completed": "true"}, ["february", "april"]),
        ({"completed": "false"}, ["january", "march", "none"]),
        ({"due_after": "2031-02-01T09:00:00Z"}, ["february", "march", "april"]),
        ({"due_before": "2031-02-01T09:00:00Z"}, ["january"]),
        ({"due_after": "2031-01-15", "due_before": "2031-03-15"}, ["february", "march"]),
        ({"completed": "false", "due_before": "2031-12-31"}, ["january", "march"]),
        ({"contact_id": "ADA"}, ["february", "march", "none"]),
        ({"contact_id": "ADA", "completed": "true"}, ["february"]),
        ({"contact_id": "GRACE", "due_after": "2031-02-01"}, ["april"]),
    ],
)
def test_filters_combine_and_count(api: Client, diary: dict[str, int], ada: int, query: dict, expected: list) -> None:
    people = {"ADA": str(ada), "GRACE": str(diary["grace"])}
    query = {name: people.get(value, value) for name, value in query.items()}
    page = listed(api, **query)
    assert ids(page) == [diary[name] for name in expected]
    assert page["total_count"] == len(expected)


def test_a_cursor_walks_every_state_in_order_once(api: Client, diary: dict[str, int]) -> None:
    seen, cursor, pages = [], None, 0
    while True:
        page = listed(api, limit=2, **({"cursor": cursor} if cursor else {}))
        seen += ids(page)
        pages, cursor = pages + 1, page["next_cursor"]
        assert page["total_count"] == 5
        if cursor is None:
            break
    assert seen == [diary[name] for name in ("january", "february", "march", "april", "none")]
    assert pages == 3
    assert ids(listed(api, limit=2, offset=2)) == [diary["march"], diary["april"]]
    assert ids(listed(api, limit=2, page=3)) == [diary["none"]]


def test_list_in_xml(api: Client, diary: dict[str, int]) -> None:
    root = api.get("/calls.xml", query={"completed": "true"}).xml()
    assert (root.tag, root.get("type"), root.get("total_count")) == ("calls", "array", "2")
    assert [text_of(call, "id") for call in root.findall("call")] == [str(diary["february"]), str(diary["april"])]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"completed": "maybe"}, "completed: Completed must be true or false"),
        ({"due_after": "tomorrow"}, "due_after must be an ISO 8601 datetime, such as 2026-01-31T09:00:00Z"),
        ({"due_before": "2031-13-01"}, "due_before must be an ISO 8601 datetime, such as 2026-01-31T09:00:00Z"),
        ({"contact_id": "x"}, "contact_id: Contact id must be a whole number from 0"),
    ],
)
def test_bad_filters_are_400(api: Client, ada: int, query: dict, message: str) -> None:
    reply = api.get("/calls", query=query)
    assert (reply.status, errors(reply)) == (400, [message])


def test_the_calls_of_a_missing_or_unseen_contact_are_404(api: Client, keys: Keys, ada: int) -> None:
    assert api.get("/calls", query={"contact_id": "999"}).status == 404
    assert Client(keys.stranger).get("/calls", query={"contact_id": str(ada)}).status == 404


# --- refused input changes nothing -------------------------------------------------------------

REFUSED = [
    ({"subject": "No contact"}, ["Contact id cannot be blank"]),
    ({"contact_id": 999, "subject": "Nobody"}, ["Contact 999 does not exist"]),
    ({"contact_id": "ADA"}, ["Subject cannot be blank"]),
    ({"contact_id": "ADA", "subject": " "}, ["Subject cannot be blank"]),
    ({"contact_id": "ADA", "subject": "x" * 256}, ["Subject is too long (at most 255 characters)"]),
    ({"contact_id": "ADA", "subject": "A", "body": "x" * 32_001}, ["Body is too long (at most 32000 characters)"]),
    ({"contact_id": "ADA", "subject": "A", "due_at": "next week"}, ["Due at is not a valid datetime (ISO 8601)"]),
    ({"contact_id": "ADA", "subject": "A", "duration_seconds": -5}, ["Duration seconds must be a whole number from 0"]),
    (
        {"contact_id": "ADA", "subject": "A", "duration_seconds": "long"},
        ["Duration seconds must be a whole number from 0"],
    ),
    ({"contact_id": "ADA", "subject": "A", "completed_at": 5}, ["Completed at is not a valid datetime (ISO 8601)"]),
    ({"contact_id": "ADA", "subject": "A", "assigned_to_id": True}, ["Assigned to id must be a whole number from 0"]),
    ({"contact_id": "ADA", "subject": "A", "outcome": ["x"]}, ["Outcome must be text"]),
    ({"contact_id": "ADA", "subject": "A", "id": 77}, ["Id is read-only"]),
    ({"contact_id": "ADA", "subject": "A", "user_id": 2}, ["User id is read-only"]),
    ({"contact_id": "ADA", "subject": "A", "colour": "red"}, ["Unknown fields: colour"]),
]


def test_a_whole_number_written_as_a_float_is_that_number(api: Client, ada: int) -> None:
    # JSON has one number type: 600.0 is the integer 600 to JSON Schema, and so to the API.
    reply = api.post("/calls", {"call": {"contact_id": float(ada), "subject": "A", "duration_seconds": 600.0}})
    assert reply.status == 201, reply.text
    assert (reply.json()["call"]["contact_id"], reply.json()["call"]["duration_seconds"]) == (ada, 600)
    reply = api.post("/calls", {"call": {"contact_id": ada, "subject": "A", "duration_seconds": 600.5}})
    assert (reply.status, errors(reply)) == (422, ["Duration seconds must be a whole number from 0"])


@pytest.mark.parametrize(("body", "expected"), REFUSED)
def test_refused_create_answers_in_the_request_format_and_stores_nothing(
    api: Client, ada: int, body: dict, expected: list[str]
) -> None:
    before = stored()
    sent = {name: ada if value == "ADA" else value for name, value in body.items()}
    reply = api.post("/calls", {"call": sent})
    assert reply.status == 422, reply.text
    assert errors(reply) == expected
    answered_in_xml = send(api, "POST", "/calls.xml", json.dumps({"call": sent}), "application/json")
    assert (answered_in_xml.status, xml_errors(answered_in_xml)) == (422, expected)
    assert stored() == before
    assert listed(api)["total_count"] == 0


def test_refused_updates_change_nothing(api: Client, ada: int) -> None:
    made = make(api, ada, due_at="2031-01-01T00:00:00Z")
    other = api.create(first_name="Other")["id"]
    before = stored()
    for body, expected in (
        ({"contact_id": other}, ["Contact id cannot be changed: create a new call"]),
        ({"subject": ""}, ["Subject cannot be blank"]),
        ({"due_at": "never"}, ["Due at is not a valid datetime (ISO 8601)"]),
        ({"version": "two"}, ["Version must be a whole number"]),
    ):
        reply = api.patch(f"/calls/{made['id']}", body)
        assert (reply.status, errors(reply)) == (422, expected)
    assert stored() == before


def test_an_id_that_cannot_exist_is_404(api: Client) -> None:
    for path in ("/calls/0", "/calls/abc", "/calls/99", "/calls/" + "9" * 40):
        reply = api.get(path)
        assert reply.status == 404, (path, reply.text)


# --- the contact: history, include, cascade ------------------------------------------------------


def test_every_change_is_in_the_contacts_history(api: Client, ada: int) -> None:
    made = make(api, ada, due_at="2031-01-01T00:00:00Z")
    api.patch(f"/calls/{made['id']}", {"subject": "Renamed"})
    api.post(f"/calls/{made['id']}/complete", {"outcome": "Done"})
    api.delete(f"/calls/{made['id']}")
    entries = history(api, ada)["history"][:4]
    assert [(e["action"], e["subject"], e.get("call_id")) for e in entries] == [
        ("deleted", "call", made["id"]),
        ("updated", "call", made["id"]),
        ("updated", "call", made["id"]),
        ("created", "call", made["id"]),
    ]
    assert entries[2]["changes"] == [{"field": "subject", "old_value": "Follow up", "new_value": "Renamed"}]
    assert [c["field"] for c in entries[1]["changes"]] == ["completed_at", "outcome"]
    contact = api.get(f"/contacts/{ada}").json()["contact"]
    assert contact["version"] == 1  # a call's change is not a change of the contact
    assert contact["last_action_at"] == entries[0]["created_at"]


def test_a_contact_includes_its_calls(api: Client, diary: dict[str, int], ada: int) -> None:
    shown_calls = api.get(f"/contacts/{ada}", query={"include": "calls"}).json()["contact"]["calls"]
    assert [c["id"] for c in shown_calls] == [diary["february"], diary["march"], diary["none"]]
    assert shown_calls[0] == shown(api, diary["february"])
    root = api.get(f"/contacts/{ada}.xml", query={"include": "calls"}).xml()
    assert [text_of(c, "subject") for c in root.find("calls")] == ["February", "March", "Whenever"]
    assert "calls" not in api.get(f"/contacts/{ada}").json()["contact"]


def test_deleting_the_contact_deletes_its_calls_and_their_counts(api: Client, diary: dict[str, int], ada: int) -> None:
    assert api.delete(f"/contacts/{ada}").status == 204
    for name in ("february", "march", "none"):
        assert api.get(f"/calls/{diary[name]}").status == 404
    page = listed(api)
    assert ids(page) == [diary["january"], diary["april"]]
    assert page["total_count"] == 2
    assert listed(api, completed="true")["total_count"] == 1
    assert all(f"D#{ada:010d}" not in sk for sk in stored())
    assert len([sk for sk in stored() if sk.startswith("L#")]) == 2


# --- keys and tenancy ----------------------------------------------------------------------------


def test_another_accounts_calls_are_404_and_never_listed(api: Client, keys: Keys, ada: int) -> None:
    made = make(api, ada)
    stranger = Client(keys.stranger)
    for reply in (
        stranger.get(f"/calls/{made['id']}"),
        stranger.patch(f"/calls/{made['id']}", {"subject": "Mine"}),
        stranger.post(f"/calls/{made['id']}/complete"),
        stranger.delete(f"/calls/{made['id']}"),
    ):
        assert (reply.status, errors(reply)) == (404, ["Call not found"])
    assert listed(stranger)["calls"] == []
    theirs = make(stranger, stranger.create(first_name="Theirs")["id"], "Theirs")
    assert theirs["id"] == made["id"]  # ids are each account's
    assert ids(listed(stranger)) == [theirs["id"]]
    assert shown(api, made["id"]) == made
    assert shown(stranger, theirs["id"])["subject"] == "Theirs"


def test_a_private_contacts_calls_are_as_invisible_as_the_contact(api: Client, keys: Keys) -> None:
    hidden = api.create(first_name="Secret", is_private=True)["id"]
    made = make(api, hidden)
    colleague = Client(keys.colleague)
    assert colleague.get(f"/calls/{made['id']}").status == 404
    refused = colleague.post("/calls", {"contact_id": hidden, "subject": "Sneak"})
    assert (refused.status, errors(refused)) == (422, [f"Contact {hidden} does not exist"])
    assert Client(keys.admin).get(f"/calls/{made['id']}").status == 200


def test_lists_and_totals_leave_out_other_users_private_contacts_calls(api: Client, keys: Keys) -> None:
    hidden = api.create(first_name="Secret", is_private=True)["id"]
    public = api.create(first_name="Open")["id"]
    made = [make(api, hidden, "H1")["id"], make(api, public, "P1")["id"], make(api, hidden, "H2")["id"]]
    api.post(f"/calls/{made[2]}/complete")
    colleague, admin = Client(keys.colleague), Client(keys.admin)
    mine_too = make(colleague, colleague.create(first_name="Hers", is_private=True)["id"], "C1")["id"]

    def seen(client: Client, **query: Any) -> tuple[list[int], int]:
        page = listed(client, **query)
        return ids(page), page["total_count"]

    assert seen(colleague) == ([made[1], mine_too], 2)
    assert seen(colleague, completed="true") == ([], 0)
    assert seen(colleague, limit=1)[0] == [made[1]]  # the page is filled past the hidden ones
    assert seen(api) == ([*made, mine_too][:3], 3)
    assert seen(admin) == ([*made, mine_too], 4)
    assert seen(admin, completed="false") == ([made[0], made[1], mine_too], 3)
    # Privacy can change, and the counts follow it.
    assert api.patch(f"/contacts/{hidden}", {"is_private": False}).status == 200
    assert seen(colleague) == ([*made, mine_too], 4)
    assert seen(colleague, completed="true") == ([made[2]], 1)
    assert api.patch(f"/contacts/{hidden}", {"is_private": True}).status == 200
    assert seen(colleague) == ([made[1], mine_too], 2)
    assert api.delete(f"/contacts/{hidden}").status == 204
    assert seen(api) == ([made[1]], 1)
    assert seen(admin) == ([made[1], mine_too], 2)
    assert seen(colleague) == ([made[1], mine_too], 2)


def test_a_read_key_reads_calls_but_cannot_write(api: Client, keys: Keys, ada: int) -> None:
    made = make(api, ada)
    reader = Client(keys.reader)
    assert reader.get(f"/calls/{made['id']}").status == 200
    for reply in (
        reader.post("/calls", {"contact_id": ada, "subject": "x"}),
        reader.patch(f"/calls/{made['id']}", {"subject": "x"}),
        reader.post(f"/calls/{made['id']}/complete"),
        reader.delete(f"/calls/{made['id']}"),
    ):
        assert reply.status == 403, reply.text
    assert shown(api, made["id"]) == made


# --- concurrent writers (DynamoDB Local) ---------------------------------------------------------------

WRITER = Principal("race", 1, frozenset(granted_scopes("write")), "race.writer")


@pytest.mark.ddb_local
def test_concurrent_creates_on_one_contact_are_all_kept_and_counted(race_table: None) -> None:
    contact_id = int(contacts.create(WRITER, {"first_name": "Busy"}).item.id)
    made = all_at_once(12, lambda n: activities.create(WRITER, CALL, {"contact_id": contact_id, "subject": f"C{n}"}))
    assert all(not isinstance(result, Exception) for result in made), made
    page = activities.listing(WRITER, CALL, activities.Filter(), PageRequest(limit=100))
    assert (len(page.items), page.total_count) == (12, 12)
    counter = ActivityCountItem.get(account_pk("race"), f"D#{contact_id:010d}#COUNT#L", consistent_read=True)
    assert int(counter.o) == 12
    assert int(contact_reads.load_visible(WRITER, contact_id).history_count) == 13


@pytest.mark.ddb_local
def test_concurrent_changes_to_one_call_are_all_kept(race_table: None) -> None:
    contact_id = int(contacts.create(WRITER, {"first_name": "Busy"}).item.id)
    call_id = int(activities.create(WRITER, CALL, {"contact_id": contact_id, "subject": "S"}).id)
    fields = ["body", "outcome", "subject", "assigned_to_id"]
    values: list[Any] = ["b", "o", "s2", 5]
    all_at_once(4, lambda n: activities.update(WRITER, CALL, call_id, {fields[n]: values[n]}))
    done = all_at_once(3, lambda n: calls.complete(WRITER, call_id, {}))
    call = activities.get(WRITER, CALL, call_id)
    assert [getattr(call, name) for name in fields] == values
    assert len({result.completed_at for result in done}) == 1
    assert int(call.version) == 6
