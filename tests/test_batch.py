"""``POST /contacts/batch``: up to 100 creates, updates, upserts and deletes in one request, each
answered as its single call would be, in order; one that fails fails alone."""

from __future__ import annotations

from typing import Any

from tests.conftest import Client, Keys
from tests.helpers import contacts_of, errors, xml_errors


def results(reply: Any) -> list[dict[str, Any]]:
    assert reply.status == 200, reply.text
    return reply.json()["results"]


def test_each_operation_answers_as_its_single_call_would(api: Client) -> None:
    kept = api.create(first_name="Kept", email_address="kept@example.com")["id"]
    gone = api.create(first_name="Gone")["id"]
    operations = [
        {"op": "create", "contact": {"first_name": "New", "tags": ["batch"]}},
        {"op": "create", "contact": {"company": "Nameless"}},
        {"op": "update", "id": kept, "contact": {"job_title": "Keeper"}},
        {"op": "upsert", "match": "email", "contact": {"email_address": "KEPT@example.com", "last_name": "Again"}},
        {"op": "upsert", "match": "external_id", "contact": {"first_name": "Ext", "external_id": "e-1"}},
        {"op": "delete", "id": gone},
        {"op": "delete", "id": gone},
        {"op": "update", "id": 999, "contact": {"first_name": "Nobody"}},
    ]
    done = results(api.post("/contacts/batch", {"operations": operations}))
    assert [r["status"] for r in done] == [201, 422, 200, 200, 201, 204, 404, 404]
    assert done[1]["errors"] == ["First name cannot be blank"]
    assert done[6]["errors"] == done[7]["errors"] == ["Contact not found"]
    assert (done[2]["contact"]["id"], done[2]["contact"]["job_title"]) == (kept, "Keeper")
    assert (done[3]["contact"]["id"], done[3]["contact"]["last_name"]) == (kept, "Again")
    assert done[5] == {"status": 204}
    stored = {c["first_name"]: c for c in contacts_of(api)}
    assert sorted(stored) == ["Ext", "Kept", "New"]
    assert stored["New"]["tags"] == ["batch"]
    assert stored["Ext"]["external_id"] == "e-1"
    assert done[0]["contact"] == api.get(f"/contacts/{done[0]['contact']['id']}").json()["contact"]


def test_an_operation_the_api_cannot_read_fails_alone(api: Client) -> None:
    operations: list[Any] = [
        "create",
        {"op": "merge"},
        {"op": "update", "contact": {"first_name": "No id"}},
        {"op": "delete", "id": "seven"},
        {"op": "create", "id": 3, "contact": {"first_name": "Extra"}},
        {"op": "upsert", "match": "name", "contact": {"first_name": "X"}},
        {"op": "upsert", "match": "email", "contact": {"first_name": "No address"}},
        {"op": "create", "contact": {"first_name": "Fine"}, "colour": "red"},
        {"op": "create", "contact": {"first_name": "Fine"}},
    ]
    done = results(api.post("/contacts/batch.json", {"operations": operations}))
    assert [(r["status"], r.get("errors")) for r in done[:-1]] == [
        (422, ["An operation must be an object with op"]),
        (422, ["op must be one of create, update, upsert, delete"]),
        (422, ["Update needs id"]),
        (422, ["id must be a contact id"]),
        (422, ["Create takes no id"]),
        (422, ["match must be one of email, external_id"]),
        (422, ["An upsert by email needs the contact's email_address"]),
        (422, ["Unknown fields in the operation: colour"]),
    ]
    assert done[-1]["status"] == 201
    assert [c["first_name"] for c in contacts_of(api)] == ["Fine"]


def test_a_batch_too_large_or_empty_is_refused_whole(api: Client) -> None:
    many = [{"op": "create", "contact": {"first_name": f"N{n}"}} for n in range(101)]
    too_many = api.post("/contacts/batch", {"operations": many})
    assert (too_many.status, errors(too_many)) == (413, ["A batch takes at most 100 operations; this one has 101"])
    empty = api.post("/contacts/batch", {"operations": []})
    assert (empty.status, errors(empty)) == (422, ["operations must be a list of at least one operation"])
    beside = api.post("/contacts/batch", {"operations": many[:1], "atomic": True})
    assert (beside.status, errors(beside)) == (422, ["Unknown fields beside operations: atomic"])
    assert contacts_of(api) == []
    assert len(results(api.post("/contacts/batch", {"operations": many[:100]}))) == 100
    assert len(api.get("/contacts", query={"limit": 100}).json()["contacts"]) == 100


def test_a_batch_in_xml(api: Client) -> None:
    body = (
        '<operations type="array">'
        "<operation><op>create</op><contact><first_name>Xml</first_name></contact></operation>"
        '<operation><op>delete</op><id type="integer">42</id></operation>'
        "</operations>"
    )
    root = api.request("POST", "/contacts/batch.xml", body=body, content_type="application/xml").xml()
    assert (root.tag, root.get("type")) == ("results", "array")
    assert [r.findtext("status") for r in root.findall("result")] == ["201", "404"]
    assert root.find("result/contact").findtext("first-name") == "Xml"
    assert [e.text for e in root.findall("result/errors/error")] == ["Contact not found"]
    # Without type="array", the operations are the elements inside.
    plain = (
        "<operations><operation><op>create</op><contact><first_name>Two</first_name></contact></operation></operations>"
    )
    again = api.request(
        "POST", "/contacts/batch", body=plain, content_type="application/xml", headers={"Accept": "application/xml"}
    )
    assert again.xml().find("result").findtext("status") == "201"
    refused = api.request("POST", "/contacts/batch.xml", body="<operations/>", content_type="application/xml")
    assert (refused.status, xml_errors(refused)) == (422, ["operations must be a list of at least one operation"])


def test_an_idempotency_key_covers_the_whole_batch(api: Client) -> None:
    sent = {"operations": [{"op": "create", "contact": {"first_name": f"Once {n}"}} for n in range(3)]}
    first = api.post("/contacts/batch", sent, headers={"Idempotency-Key": "batch-1"})
    replay = api.post("/contacts/batch", sent, headers={"Idempotency-Key": "batch-1"})
    assert replay.headers.get("idempotent-replayed") == "true"
    assert replay.json() == first.json()
    assert len(contacts_of(api)) == 3


def test_a_batch_needs_a_key_that_writes(keys: Keys) -> None:
    sent = {"operations": [{"op": "create", "contact": {"first_name": "Read only"}}]}
    assert Client(keys.reader).post("/contacts/batch", sent).status == 403
    hidden = Client(keys.colleague).create(first_name="Hidden", is_private=True)["id"]
    done = results(Client(keys.writer).post("/contacts/batch", {"operations": [{"op": "delete", "id": hidden}]}))
    assert done == [{"status": 404, "errors": ["Contact not found"]}]  # another user's private contact
