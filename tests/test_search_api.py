"""Search, filters, projects and companies as a client sees them, on moto and on DynamoDB Local.

Every test runs under both of the search's ways to combine terms (``plan``): reading every term's
postings to its end, and checking the contacts of the first term read to its end on their items.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crm import search as crm_search
from crm import times
from crm.storage.items import Item, account_pk
from tests.conftest import Client, Keys, Reply

FORM = "application/x-www-form-urlencoded"


def found(reply: Reply) -> list[int]:
    assert reply.status == 200, reply.text
    return [contact["id"] for contact in reply.json()["contacts"]]


def search(client: Client, text: str | None = None, **query: Any) -> list[int]:
    if text is not None:
        query["search"] = text
    return found(client.get("/contacts", query=query))


def postings(account: str = "acme") -> list[str]:
    """Sort keys of the account's search index."""
    return [item.sk for item in Item.query(account_pk(account), Item.sk.startswith("X#"), consistent_read=True)]


@pytest.fixture(autouse=True, params=["intersect", "check"])
def plan(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """``check``: terms are read one posting at a time, and once one is read to its end its contacts
    are checked on their items, however many (the way a narrow term beside a broad one is served)."""
    if request.param == "check":
        monkeypatch.setattr(crm_search, "FIRST_CHUNK", 1)
        monkeypatch.setattr(crm_search, "GROWTH", 1)
        monkeypatch.setattr(crm_search, "POSTINGS_PER_GET", 0)
    return request.param


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every reading of the clock is one minute after the last."""
    start, ticks = datetime(2031, 5, 1, 9, 0, tzinfo=UTC), itertools.count()
    monkeypatch.setattr(times, "now", lambda: (start + timedelta(minutes=next(ticks))).isoformat())


@pytest.fixture
def people(api: Client) -> dict[str, int]:
    """A small address book; values are contact ids."""
    made = {
        "jose": api.create(first_name="José", last_name="García", company="Acme Corp", job_title="Sales Manager"),
        "obrien": api.create(first_name="Siobhán", last_name="O'Brien", email_address="siobhan.obrien@example.ie"),
        "jp": api.create(first_name="Jean-Pierre", last_name="Dupont", mobile_phone="+33 (6) 12-34-56-78"),
        "josephine": api.create(first_name="Josephine", last_name="Baker", company="Folies"),
        "acme": api.create(first_name="Acme Corp", is_company=True, tags=["customer"]),
    }
    return {name: contact["id"] for name, contact in made.items()}


# --- search ------------------------------------------------------------------------------------


def test_each_word_is_a_prefix_of_a_word_of_a_searched_field(api: Client, people: dict[str, int]) -> None:
    assert search(api, "jos") == [people["jose"], people["josephine"]]
    assert search(api, "garc") == [people["jose"]]
    assert search(api, "manag") == [people["jose"]]  # job title
    assert search(api, "acme") == [people["jose"], people["acme"]]  # company, and the company's name
    assert search(api, "folies") == [people["josephine"]]
    assert search(api, "osephine") == []  # prefixes, not infixes


def test_search_ignores_case_accents_and_punctuation(api: Client, people: dict[str, int]) -> None:
    assert search(api, "jose") == [people["jose"], people["josephine"]]  # and Josephine, by prefix
    assert search(api, "JOSÉ GARCÍA") == [people["jose"]]
    assert search(api, "garcia") == [people["jose"]]
    assert search(api, "siobhan") == [people["obrien"]]
    assert search(api, "OBRIEN") == [people["obrien"]]
    assert search(api, "o'brien") == [people["obrien"]]
    assert search(api, "brien") == [people["obrien"]]
    assert search(api, "jean-pierre") == [people["jp"]]
    assert search(api, "pierre") == [people["jp"]]


def test_words_are_anded(api: Client, people: dict[str, int]) -> None:
    assert search(api, "jos garcia") == [people["jose"]]
    assert search(api, "jos baker") == [people["josephine"]]
    assert search(api, "jos dupont") == []


def test_emails_are_found_whole_and_by_their_parts(api: Client, people: dict[str, int]) -> None:
    for text in ("siobhan.obrien@example.ie", "siobhan.obrien", "example.ie", "exam", "SIOBHAN.O"):
        assert search(api, text) == [people["obrien"]], text


def test_phones_are_found_by_their_digits(api: Client, people: dict[str, int]) -> None:
    for text in ("33612345678", "+33612345678", "336-12", "3361"):
        assert search(api, text) == [people["jp"]], text
    assert search(api, "612") == [people["jp"]]  # its national number, 612345678
    assert search(api, "123") == []  # digits from the start of a number
    assert search(api, "+33 6 12") == []  # three words: "6" and "12" start no word of the contact


def test_search_route_is_the_same_as_the_search_parameter(api: Client, people: dict[str, int]) -> None:
    reply = api.get("/contacts/search.json", query={"term": "jos"})
    assert found(reply) == [people["jose"], people["josephine"]]
    assert reply.json()["total_count"] == 2
    xml = api.get("/contacts/search.xml", query={"term": "baker"})
    root = xml.xml()
    assert root.tag == "contacts"
    assert root.get("total_count") == "1"
    assert [c.findtext("first-name") for c in root.findall("contact")] == ["Josephine"]
    # A search for nothing in particular lists every contact, as GET /contacts does.
    every = api.get("/contacts/search")
    assert (every.json()["total_count"], found(every)) == (len(people), sorted(people.values()))


def test_punctuation_alone_finds_nothing(api: Client, people: dict[str, int]) -> None:
    reply = api.get("/contacts", query={"search": "--"})
    assert found(reply) == []
    assert reply.json()["total_count"] == 0


def test_search_follows_changes_and_deletes(api: Client, people: dict[str, int]) -> None:
    jose = people["jose"]
    assert api.patch(f"/contacts/{jose}", {"last_name": "Gómez", "company": None}).status == 200
    assert search(api, "garcia") == []
    assert search(api, "gomez") == [jose]
    assert search(api, "acme") == [people["acme"]]
    assert api.delete(f"/contacts/{jose}").status == 204
    assert search(api, "gomez") == []
    assert not [sk for sk in postings() if sk.endswith(f"#{jose:010d}")]  # no posting left behind


def test_postings_are_exactly_the_contacts_terms(api: Client) -> None:
    contact = api.create(first_name="Ada", last_name="Lovelace", tags=["VIP"], assigned_to_id=3)
    terms = {sk.rsplit("#", 1)[0] for sk in postings()}
    assert terms == {"X#w:ada", "X#w:lovelace", "X#t:vip", "X#a:3", "X#c:0", f"X#u:{contact['updated_at']}"}


def test_other_users_private_contacts_are_not_found(api: Client, keys: Keys) -> None:
    mine = api.create(first_name="Quentin", is_private=True)["id"]
    public = api.create(first_name="Quentina")["id"]
    assert search(api, "quentin") == [mine, public]
    assert search(Client(keys.colleague), "quentin") == [public]
    assert search(Client(keys.colleague), "quentin", is_company="false") == [public]
    assert Client(keys.colleague).get("/contacts", query={"search": "quentin"}).json()["total_count"] == 1
    assert search(Client(keys.admin), "quentin") == [mine, public]
    assert search(Client(keys.stranger), "quentin") == []
    api.patch(f"/contacts/{mine}", {"is_private": False})
    assert search(Client(keys.colleague), "quentin") == [mine, public]


def test_searchby_looks_in_one_field(api: Client, people: dict[str, int]) -> None:
    assert search(api, "acme", searchby="company") == [people["jose"]]
    assert search(api, "acme", searchby="first_name") == [people["acme"]]
    assert search(api, "example", searchby="email") == [people["obrien"]]
    assert search(api, "example", searchby="name") == []
    assert search(api, "Acme Corp", searchby="company") == [people["jose"]]
    assert search(api, "acme", searchby="company", is_company="false") == [people["jose"]]
    assert search(api, "acme", searchby="first_name", tags="customer") == [people["acme"]]
    assert search(api, "acme", searchby="company", tags="customer") == []
    reply = api.get("/contacts", query={"searchby": "background", "search": "x"})
    assert reply.status == 422
    assert "searchby" in reply.json()["errors"][0]
    assert api.get("/contacts", query={"searchby": "company"}).status == 400


def test_the_minimal_apis_search_body_on_a_get(api: Client, people: dict[str, int]) -> None:
    reply = api.request("GET", "/contacts", json_body={"searchby": "company", "search": "Acme Corp"})
    assert found(reply) == [people["jose"]]
    reply = api.request("GET", "/contacts", json_body={"searchby": "company", "serch": "x"})
    assert reply.status == 422


# --- filters -----------------------------------------------------------------------------------


def test_tags_must_all_match_and_ignore_case(api: Client) -> None:
    both = api.create(tags=["VIP", "cold call"])["id"]
    vip = api.create(tags=["vip"])["id"]
    api.create(tags=["other"])
    assert search(api, tags="vip") == [both, vip]
    assert search(api, tags="vip,Cold Call") == [both]
    assert search(api, tags="vip, nothing") == []


def test_filters_by_project_assignee_and_kind(api: Client) -> None:
    a = api.create(first_name="Ann", project_id="support", assigned_to_id=3)["id"]
    b = api.create(first_name="Bob", project_ids=["2"], assigned_to_id=4)["id"]
    c = api.create(first_name="Cat Co", is_company=True, project_ids=["support", "2"])["id"]
    assert search(api, project_id="support") == [a, c]
    assert search(api, project_id="2") == [b, c]
    assert search(api, assigned_to_id="3") == [a]
    assert search(api, is_company="true") == [c]
    assert search(api, is_company="false") == [a, b]
    assert search(api, "bob", project_id="2") == [b]
    assert search(api, project_id="2", is_company="1") == [c]
    assert api.get("/contacts", query={"assigned_to_id": "x"}).status == 400
    assert api.get("/contacts", query={"is_company": "maybe"}).status == 400


def test_updated_since_is_how_a_client_syncs(api: Client, clock: None) -> None:
    first = api.create(first_name="First")  # 09:00
    second = api.create(first_name="Second")  # 09:01
    assert search(api, updated_since="2031-05-01T09:01:00Z") == [second["id"]]
    assert search(api, updated_since="2031-05-01T11:01:00+02:00") == [second["id"]]
    assert search(api, updated_since="2031-05-01") == [first["id"], second["id"]]
    api.patch(f"/contacts/{first['id']}", {"last_name": "Changed"})  # 09:02
    assert search(api, updated_since="2031-05-01T09:02:00Z") == [first["id"]]
    assert search(api, "second", updated_since="2031-05-01T09:00:30Z") == [second["id"]]
    reply = api.get("/contacts.xml", query={"updated_since": "yesterday"})
    assert reply.status == 400
    assert reply.xml().tag == "errors"


# --- paging ------------------------------------------------------------------------------------


def test_a_cursor_walk_neither_repeats_nor_skips_while_contacts_are_added(api: Client) -> None:
    made = [api.create(first_name=f"Walker {n}")["id"] for n in range(7)]
    seen: list[int] = []
    reply = api.get("/contacts", query={"search": "walker", "limit": 3})
    while True:
        body = reply.json()
        seen += [c["id"] for c in body["contacts"]]
        made.append(api.create(first_name="Walker late")["id"])  # added between pages
        if not body["next_cursor"]:
            break
        reply = api.get("/contacts", query={"search": "walker", "limit": 3, "cursor": body["next_cursor"]})
    assert seen == sorted(set(seen))
    assert seen == made[: len(seen)]
    assert len(seen) >= 7


def test_offset_page_and_total_count(api: Client) -> None:
    made = [api.create(first_name=f"Pager {n}")["id"] for n in range(5)]
    body = api.get("/contacts", query={"search": "pager", "limit": 2, "page": 2}).json()
    assert [c["id"] for c in body["contacts"]] == made[2:4]
    assert (body["offset"], body["limit"], body["total_count"]) == (2, 2, 5)
    body = api.get("/contacts", query={"search": "pager", "offset": 4}).json()
    assert [c["id"] for c in body["contacts"]] == made[4:]
    assert body["next_cursor"] is None


def test_a_cursor_belongs_to_its_query(api: Client) -> None:
    for n in range(3):
        api.create(first_name=f"Pager {n}", tags=["t"])
    cursor = api.get("/contacts", query={"search": "pager", "limit": 1}).json()["next_cursor"]
    assert api.get("/contacts", query={"search": "pag", "limit": 1, "cursor": cursor}).status == 400
    assert api.get("/contacts", query={"tags": "t", "limit": 1, "cursor": cursor}).status == 400


# --- projects ----------------------------------------------------------------------------------


def test_add_and_remove_projects_as_redmine_crm_does(api: Client) -> None:
    contact = api.create(first_name="Proj")
    path = f"/contacts/{contact['id']}/projects"
    reply = api.post(f"{path}.json", {"project": {"id": 2}})
    assert reply.status == 201, reply.text
    assert reply.headers["location"] == f"{path}/2.json"
    assert reply.json()["contact"]["project_ids"] == ["2"]
    assert reply.headers["etag"] == '"2"'
    xml = api.request("POST", f"{path}.xml", body="<project><id>support</id></project>", content_type="application/xml")
    assert xml.status == 201
    assert xml.xml().tag == "contact"
    again = api.request("POST", path, body="project[id]=support", content_type=FORM)
    assert again.status == 200
    assert again.json()["contact"]["project_ids"] == ["2", "support"]
    shown = api.get(f"/contacts/{contact['id']}", query={"include": "projects"}).json()["contact"]
    assert shown["projects"] == [{"id": 2}, {"id": "support"}]
    assert search(api, project_id="support") == [contact["id"]]
    assert api.delete(f"{path}/2.xml").status == 204
    assert api.delete(f"{path}/2").status == 404
    assert search(api, project_id="2") == []
    history = api.get(f"/contacts/{contact['id']}/history").json()["history"]
    assert [entry["changes"][0]["field"] for entry in history[:3]] == ["project_ids"] * 3


def test_project_errors_change_nothing(api: Client, keys: Keys) -> None:
    contact = api.create(first_name="Proj")
    path = f"/contacts/{contact['id']}/projects"
    assert api.post(path, {"project": {}}).status == 422
    assert api.post(path, {"project": {"id": "x" * 65}}).status == 422
    assert api.post(path, {"project": {"id": 1, "name": "n"}}).status == 422
    assert Client(keys.reader).post(path, {"project": {"id": 1}}).status == 403
    assert Client(keys.stranger).post(path, {"project": {"id": 1}}).status == 404
    assert api.post("/contacts/999/projects", {"project": {"id": 1}}).status == 404
    assert api.get(f"/contacts/{contact['id']}").json()["contact"]["version"] == 1


# --- companies and other includes --------------------------------------------------------------


def test_a_company_includes_the_contacts_that_work_for_it(api: Client, keys: Keys) -> None:
    company = api.create(first_name="Initech", is_company=True)["id"]
    peter = api.create(first_name="Peter", company="Initech")["id"]
    milton = api.create(first_name="Milton", company="INITECH ")["id"]
    api.create(first_name="Joanna", company="Chotchkie's")
    Client(keys.colleague).create(first_name="Secret", company="Initech", is_private=True)
    body = api.get(f"/contacts/{company}", query={"include": "contacts"}).json()["contact"]
    assert [c["id"] for c in body["contacts"]] == [peter, milton]
    assert api.get(f"/contacts/{peter}", query={"include": "contacts"}).json()["contact"]["contacts"] == []
    xml = api.get(f"/contacts/{company}.xml", query={"include": "contacts,deals"}).xml()
    assert xml.find("contacts").get("type") == "array"
    assert [c.findtext("first-name") for c in xml.find("contacts")] == ["Peter", "Milton"]
    assert xml.find("deals").get("type") == "array"
    assert len(xml.find("deals")) == 0


# --- bounds ------------------------------------------------------------------------------------


def test_a_contact_with_too_many_terms_is_refused_and_nothing_is_stored(api: Client) -> None:
    reply = api.post("/contacts", {"first_name": "Many", "tags": [f"tag{n}" for n in range(50)]})
    assert reply.status == 422
    assert "at most 48" in reply.json()["errors"][0]
    assert postings() == []
    assert api.get("/contacts").json()["total_count"] == 0


def test_overlong_searches_are_refused(api: Client) -> None:
    assert api.get("/contacts", query={"search": "x" * 201}).status == 400
    assert api.get("/contacts", query={"search": " ".join("abcdefghijk")}).status == 400
