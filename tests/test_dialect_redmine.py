"""The Redmine CRM contacts API document, spoken request by request over real HTTP against `make run`'s
server, in XML and JSON where the document shows both.

A Redmine client sends its API key as the Basic user name with any password (the document's curl
examples use ``-u admin:admin``), or as the ``key`` query parameter. Lists are paged Redmine's way
(``offset``, ``limit``, ``total_count``, ``page``). The curl examples at the end of the document are
taken from the seed at test time and run with the real ``curl``.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode
from xml.etree.ElementTree import Element

import pytest
from defusedxml.ElementTree import fromstring

from tests.local_server import BIN, JSON_TYPE, XML_TYPE, Reply, Server, child, request, text

SEED = Path(__file__).resolve().parents[1].parent / "shared" / "seeds" / "001_64d1b5dce66e5649.txt"
FORM_TYPE = "application/x-www-form-urlencoded"
# The document's JSON example of a create, as printed.
SEED_CREATE = {
    "contact": {
        "project_id": 1,
        "first_name": "John",
        "address_attributes": {"street1": "12, Street", "city": "Moscow", "country_code": "RU"},
        "tag_list": "vip,cold call",
    }
}
# The same contact in XML, as the document's XML create shows its elements.
SEED_CREATE_XML = (
    '<?xml version="1.0"?>\n<contact><project_id>1</project_id><first_name>John</first_name>'
    "<address_attributes><street1>12, Street</street1><city>Moscow</city><country_code>RU</country_code>"
    "</address_attributes><tag_list>vip,cold call</tag_list></contact>"
)
# Only the paging test puts contacts in this project: its totals are exact.
PAGED_PROJECT = "testproject"
PAGED_CONTACTS = 23

# --- helpers -----------------------------------------------------------------------------


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@dataclass
class Redmine:
    """A Redmine CRM client: the API key as Basic user name, any password (here ``admin``)."""

    base: str
    key: str

    def send(self, method: str, path: str, body: Any = None, content_type: str | None = None) -> Reply:
        """A request; a dict or list body goes as JSON, a string as ``content_type``."""
        headers = {"Authorization": basic(self.key, "admin")}
        data = None
        if isinstance(body, dict | list):
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        elif body is not None:
            data, headers["Content-Type"] = body.encode(), content_type or "application/xml"
        return Reply(*request(method, self.base + path, None, data, headers))

    def xml(
        self, status: int, method: str, path: str, body: str | None = None, content_type: str | None = None
    ) -> Element:
        reply = self.send(method, path, body, content_type)
        assert reply.status == status, (method, path, reply.status, reply.body[:500])
        return reply.xml()

    def json(self, status: int, method: str, path: str, body: Any = None, content_type: str | None = None) -> Any:
        reply = self.send(method, path, body, content_type)
        assert reply.status == status, (method, path, reply.status, reply.body[:500])
        return reply.json()

    def create(self, **fields: Any) -> dict[str, Any]:
        """A new contact (JSON); the contact as answered."""
        return self.json(201, "POST", "/contacts.json", {"contact": fields})["contact"]

    def contact(self, contact_id: int) -> dict[str, Any]:
        """The contact as stored, read back in JSON."""
        return self.json(200, "GET", f"/contacts/{contact_id}.json")["contact"]

    def ensure(self, contact_id: int) -> None:
        """Contact ``contact_id`` exists (the document's examples use fixed ids): contacts are created
        until it does. Ids are never reused, so one that was deleted cannot come back."""
        while self.send("GET", f"/contacts/{contact_id}.json").status == 404:
            made = self.create(first_name="Placeholder")["id"]
            assert made <= contact_id, f"contact {contact_id} was deleted"


@pytest.fixture
def redmine(server: Server) -> Redmine:
    return Redmine(server.base, server.key)


@pytest.fixture(scope="module")
def license_field(server: Server) -> int:
    """The id of the account's custom field ``License`` (the document's web form fills it)."""
    client = Redmine(server.base, server.key)
    defined = client.json(
        201, "POST", "/custom_fields.json", {"custom_field": {"name": "License", "field_format": "string"}}
    )
    return defined["custom_field"]["id"]


def items(element: Element, name: str) -> list[str]:
    """The texts of an XML array, e.g. ``<tags type="array"><tag>vip</tag></tags>``."""
    array = child(element, name)
    assert array.get("type") == "array", (name, array.attrib)
    return [item.text or "" for item in array]


def contacts_xml(root: Element) -> list[Element]:
    assert (root.tag, root.get("type")) == ("contacts", "array")
    assert all(c.tag == "contact" for c in root)
    return list(root)


def ids_xml(root: Element) -> list[int]:
    return [int(text(c, "id")) for c in contacts_xml(root)]


def paging(root: Element) -> tuple[int, int, int]:
    """A list's ``offset``, ``limit`` and ``total_count`` attributes."""
    return int(root.get("offset", "-1")), int(root.get("limit", "-1")), int(root.get("total_count", "-1"))


def errors_xml(root: Element) -> list[str]:
    assert root.tag == "errors"
    assert all(c.tag == "error" for c in root)
    return [c.text or "" for c in root]


def curl_examples() -> dict[str, str]:
    """The document's curl commands, by what they do (``PUT`` or ``POST``)."""
    commands = re.findall(r"^curl .*$", SEED.read_text(encoding="utf-8"), re.MULTILINE)
    assert len(commands) == 2, commands
    by_method = {}
    for command in commands:
        method = re.search(r" -X (\w+) ", command)
        assert method is not None, command
        by_method[method.group(1)] = command
    return by_method


def run_curl(command: str, server: Server) -> tuple[int, str, str]:
    """Run a document's curl command as printed, against this server with this key; the status and
    Content-Type of the last response (from ``-v``'s trace) and its body."""
    # The document is typeset: its first example has typographic quotes (“ ”) where a shell needs ".
    command = command.replace("“", '"').replace("”", '"')
    command = command.replace("http://localhost:3000", server.base).replace("admin:admin", f"{server.key}:admin")
    done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=60, check=False)  # noqa: S602 (the document's command)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    # -v traces response lines as "< ..."; the progress meter may share a line with the status line.
    statuses = re.findall(r"< HTTP/[\d.]+ (\d{3})", done.stderr)
    content_types = re.findall(r"^< Content-Type: (.*?)\r?$", done.stderr, re.MULTILINE | re.IGNORECASE)
    assert statuses, done.stderr[-2000:]
    assert content_types, done.stderr[-2000:]
    return int(statuses[-1]), content_types[-1], done.stdout


# --- listing -----------------------------------------------------------------------------


def test_list_is_paged_with_offset_limit_and_total_count_in_xml_and_json(redmine: Redmine) -> None:
    """GET /contacts.xml is ``<contacts type="array" offset="0" limit="20" total_count="N">``; GET
    /contacts.json carries ``total_count``, ``offset`` and ``limit``; both count every contact."""
    redmine.create(first_name="Listed")
    root = redmine.xml(200, "GET", "/contacts.xml")
    offset, limit, total = paging(root)
    assert (offset, limit) == (0, 20)
    assert len(contacts_xml(root)) == min(total, 20)
    assert total >= 1

    body = redmine.json(200, "GET", "/contacts.json")
    assert (body["offset"], body["limit"], body["total_count"]) == (0, 20, total)
    assert [c["id"] for c in body["contacts"]] == ids_xml(root)

    everything = redmine.json(200, "GET", "/contacts.json?limit=100")
    assert len(everything["contacts"]) == everything["total_count"] == total


def test_list_by_numeric_project_id(redmine: Redmine) -> None:
    """``project_id=2`` lists the contacts of project 2 and no others, in XML and JSON."""
    inside = [
        redmine.create(first_name="Ina", project_id=2)["id"],
        redmine.create(first_name="Ivo", project_id="2")["id"],
    ]
    outside = redmine.create(first_name="Otto", project_id=3)["id"]

    root = redmine.xml(200, "GET", "/contacts.xml?project_id=2")
    found = ids_xml(root)
    assert set(inside) <= set(found)
    assert outside not in found
    assert all("2" in items(c, "project-ids") for c in contacts_xml(root))
    assert paging(root)[2] == len(found)

    body = redmine.json(200, "GET", "/contacts.json?project_id=2")
    assert [c["id"] for c in body["contacts"]] == found
    assert body["total_count"] == len(found)


def test_list_by_tags_and_assignee(redmine: Redmine) -> None:
    """``tags=vip&assigned_to_id=1`` lists the contacts tagged vip and assigned to user 1 only."""
    wanted = redmine.create(first_name="Vera", tag_list="vip,cold call", assigned_to_id=1)["id"]
    someone_elses = redmine.create(first_name="Vic", tag_list="vip", assigned_to_id=2)["id"]
    not_vip = redmine.create(first_name="Nell", tag_list="cold call", assigned_to_id=1)["id"]

    root = redmine.xml(200, "GET", "/contacts.xml?tags=vip&assigned_to_id=1")
    found = ids_xml(root)
    assert wanted in found
    assert someone_elses not in found
    assert not_vip not in found
    for contact in contacts_xml(root):
        assert "vip" in items(contact, "tags")
        assert text(contact, "assigned-to-id") == "1"
    assert paging(root)[2] == len(found)

    body = redmine.json(200, "GET", "/contacts.json?tags=vip&assigned_to_id=1")
    assert [c["id"] for c in body["contacts"]] == found


def test_list_by_search(redmine: Redmine) -> None:
    """``search=tom`` finds contacts with a name, company or email word starting with "tom", and no
    others."""
    by_first = redmine.create(first_name="Tom", last_name="Sawyer")["id"]
    by_last = redmine.create(first_name="Ann", last_name="Tomlinson")["id"]
    by_company = redmine.create(first_name="Ben", company="Tomcat Industries")["id"]
    decoy = redmine.create(first_name="Atom", last_name="Heart")["id"]

    root = redmine.xml(200, "GET", "/contacts.xml?search=tom")
    found = ids_xml(root)
    assert {by_first, by_last, by_company} <= set(found)
    assert decoy not in found
    for contact in contacts_xml(root):
        words = " ".join(
            text(contact, name) for name in ("first-name", "middle-name", "last-name", "company", "email-address")
        )
        assert re.search(r"(^|[^a-z])tom", words.lower()), words

    body = redmine.json(200, "GET", "/contacts.json?search=tom")
    assert [c["id"] for c in body["contacts"]] == found
    assert body["total_count"] == len(found)


def test_pages_of_a_project_by_page_number(redmine: Redmine) -> None:
    """``project_id=testproject&page=1`` and ``page=2``: 20 contacts at offset 0, then the rest at
    offset 20, with the project's exact total on both, in XML and JSON."""
    made = [redmine.create(first_name=f"Paged {n}", project_id=PAGED_PROJECT)["id"] for n in range(PAGED_CONTACTS)]
    redmine.create(first_name="Elsewhere", project_id="otherproject")

    first = redmine.xml(200, "GET", f"/contacts.xml?project_id={PAGED_PROJECT}&page=1")
    second = redmine.xml(200, "GET", f"/contacts.xml?project_id={PAGED_PROJECT}&page=2")
    assert paging(first) == (0, 20, PAGED_CONTACTS)
    assert paging(second) == (20, 20, PAGED_CONTACTS)
    assert len(ids_xml(first)) == 20
    assert len(ids_xml(second)) == PAGED_CONTACTS - 20
    assert sorted(ids_xml(first) + ids_xml(second)) == sorted(made)

    for page, offset, ids in ((1, 0, ids_xml(first)), (2, 20, ids_xml(second))):
        body = redmine.json(200, "GET", f"/contacts.json?project_id={PAGED_PROJECT}&page={page}")
        assert (body["offset"], body["limit"], body["total_count"]) == (offset, 20, PAGED_CONTACTS)
        assert [c["id"] for c in body["contacts"]] == ids


# --- showing -----------------------------------------------------------------------------


def test_show_contact_2_in_xml_and_json_with_includes(redmine: Redmine) -> None:
    """GET /contacts/2.xml and /contacts/2.json show what was stored; ``include=notes`` carries its
    notes; ``include=notes,tickets,deals`` adds empty deals and tickets (this system has none)."""
    redmine.ensure(2)
    changes = {
        "first_name": "Apple Inc.",
        "is_company": True,
        "job_title": "Personal computers",
        "background": "Established on April 1, 1976 in Cupertino, California",
        "tag_list": "vip, referral, cold call",
        "phone": "+1 003 322 43 23",
        "address_attributes": {"street1": "Calle Valencia, 87-89", "city": "Barcelona", "postcode": "08029"},
    }
    redmine.json(200, "PUT", "/contacts/2.json", {"contact": changes})
    note = redmine.json(201, "POST", "/contacts/2/notes.json", {"note": {"body": "Keynote booked"}})["note"]

    shown = redmine.xml(200, "GET", "/contacts/2.xml")
    assert shown.tag == "contact"
    assert (text(shown, "id"), text(shown, "first-name"), text(shown, "job-title")) == (
        "2",
        "Apple Inc.",
        "Personal computers",
    )
    assert (text(shown, "is-company"), child(shown, "is-company").get("type")) == ("true", "boolean")
    assert items(shown, "tags") == ["vip", "referral", "cold call"]
    assert (text(shown, "business-phone"), text(shown, "business-street")) == (
        "+1 003 322 43 23",
        "Calle Valencia, 87-89",
    )
    assert (text(shown, "business-city"), text(shown, "business-postal-code")) == ("Barcelona", "08029")

    as_json = redmine.json(200, "GET", "/contacts/2.json")["contact"]
    assert as_json["id"] == 2
    assert (as_json["first_name"], as_json["is_company"], as_json["tags"]) == (
        "Apple Inc.",
        True,
        ["vip", "referral", "cold call"],
    )
    assert as_json["background"] == changes["background"]

    with_notes = redmine.xml(200, "GET", "/contacts/2.xml?include=notes")
    notes = child(with_notes, "notes")
    assert notes.get("type") == "array"
    assert note["id"] in [int(text(n, "id")) for n in notes]
    assert "Keynote booked" in [text(n, "body") for n in notes]

    everything = redmine.xml(200, "GET", "/contacts/2.xml?include=notes,tickets,deals")
    assert "Keynote booked" in [text(n, "body") for n in child(everything, "notes")]
    for empty in ("deals", "tickets"):
        assert (child(everything, empty).get("type"), len(child(everything, empty))) == ("array", 0)
    everything_json = redmine.json(200, "GET", "/contacts/2.json?include=notes,tickets,deals")["contact"]
    assert (everything_json["deals"], everything_json["tickets"]) == ([], [])
    assert "Keynote booked" in [n["body"] for n in everything_json["notes"]]


# --- creating ----------------------------------------------------------------------------


def assert_the_seed_contact(contact: dict[str, Any]) -> None:
    assert contact["first_name"] == "John"
    assert (contact["business_street"], contact["business_city"], contact["business_country"]) == (
        "12, Street",
        "Moscow",
        "RU",
    )
    assert contact["tags"] == ["vip", "cold call"]
    assert contact["project_ids"] == ["1"]


def test_create_with_the_documents_json_example(redmine: Redmine) -> None:
    """The document's JSON create answers 201 with a ``Location``, and stores the name, the address
    from ``address_attributes``, the tags from ``tag_list`` and the project."""
    reply = redmine.send("POST", "/contacts.json", SEED_CREATE)
    assert reply.status == 201, reply.body[:500]
    created = reply.json()["contact"]
    assert reply.headers["location"] == f"/contacts/{created['id']}.json"
    assert_the_seed_contact(created)
    assert_the_seed_contact(redmine.contact(created["id"]))


def test_create_with_the_documents_xml_example(redmine: Redmine) -> None:
    """The same contact in XML (underscored element names, nested ``address_attributes``) answers 201
    in XML and stores the same."""
    reply = redmine.send("POST", "/contacts.xml", SEED_CREATE_XML)
    assert reply.status == 201, reply.body[:500]
    root = reply.xml()
    assert root.tag == "contact"
    assert reply.headers["location"] == f"/contacts/{text(root, 'id')}.xml"
    assert (text(root, "first-name"), text(root, "business-street")) == ("John", "12, Street")
    assert (items(root, "tags"), items(root, "project-ids")) == (["vip", "cold call"], ["1"])
    assert_the_seed_contact(redmine.contact(int(text(root, "id"))))


def test_custom_fields_sent_as_the_web_form_sends_them(redmine: Redmine, license_field: int) -> None:
    """``contact[custom_fields][][id]`` and ``[value]`` pairs (the document's web form) set the value;
    the contact shows it with its name, in JSON and in Redmine's XML shape."""
    form = urlencode(
        [
            ("contact[first_name]", "Linus"),
            ("contact[last_name]", "Torvalds"),
            ("contact[tag_list]", "kernel"),
            ("contact[custom_fields][][id]", str(license_field)),
            ("contact[custom_fields][][value]", "GPL"),
        ]
    )
    created = redmine.json(201, "POST", "/contacts.json", form, FORM_TYPE)["contact"]
    expected = [{"id": license_field, "name": "License", "value": "GPL"}]
    assert created["custom_fields"] == expected
    assert redmine.contact(created["id"])["custom_fields"] == expected

    root = redmine.xml(200, "GET", f"/contacts/{created['id']}.xml")
    values = child(root, "custom_fields")
    assert values.get("type") == "array"
    assert [(v.tag, v.get("id"), v.get("name"), text(v, "value")) for v in values] == [
        ("custom_field", str(license_field), "License", "GPL")
    ]


def test_custom_fields_in_json_and_xml_bodies(redmine: Redmine, license_field: int) -> None:
    """``custom_fields`` as a JSON list of ``{id, value}``, and as Redmine's XML array, are stored."""
    sent = {"first_name": "Richard", "custom_fields": [{"id": license_field, "value": "GPLv3"}]}
    in_json = redmine.create(**sent)
    assert redmine.contact(in_json["id"])["custom_fields"] == [
        {"id": license_field, "name": "License", "value": "GPLv3"}
    ]

    body = (
        "<contact><first_name>Theo</first_name><custom_fields type='array'>"
        f"<custom_field id='{license_field}'><value>BSD</value></custom_field></custom_fields></contact>"
    )
    root = redmine.xml(201, "POST", "/contacts.xml", body)
    stored = redmine.contact(int(text(root, "id")))["custom_fields"]
    assert stored == [{"id": license_field, "name": "License", "value": "BSD"}]


@pytest.mark.parametrize(("visibility", "private"), [("2", True), ("0", False), ("1", False)])
def test_visibility_sets_is_private(redmine: Redmine, visibility: str, private: bool) -> None:
    """``visibility`` "2" (private) makes the contact private; "0" (project) and "1" (public) do not."""
    created = redmine.create(first_name="Vis", visibility=visibility)
    assert created["is_private"] is private
    assert redmine.contact(created["id"])["is_private"] is private
    root = redmine.xml(
        201,
        "POST",
        "/contacts.xml",
        f"<contact><first_name>Vis</first_name><visibility>{visibility}</visibility></contact>",
    )
    assert text(root, "is-private") == str(private).lower()
    assert redmine.contact(int(text(root, "id")))["is_private"] is private


def test_is_company_and_assigned_to_id_are_stored(redmine: Redmine) -> None:
    """``is_company`` and ``assigned_to_id``, in JSON, XML and a form, are stored as sent."""
    in_json = redmine.create(first_name="Globex", is_company=True, assigned_to_id=3)
    xml_root = redmine.xml(
        201,
        "POST",
        "/contacts.xml",
        "<contact><first_name>Initech</first_name><is_company>true</is_company><assigned_to_id>4</assigned_to_id></contact>",
    )
    form = urlencode([("contact[first_name]", "Hooli"), ("contact[is_company]", "1"), ("contact[assigned_to_id]", "5")])
    in_form = redmine.json(201, "POST", "/contacts.json", form, FORM_TYPE)["contact"]
    person = redmine.create(first_name="Peter", is_company=False)
    for contact_id, assignee in ((in_json["id"], 3), (int(text(xml_root, "id")), 4), (in_form["id"], 5)):
        stored = redmine.contact(contact_id)
        assert (stored["is_company"], stored["assigned_to_id"]) == (True, assignee)
    assert (redmine.contact(person["id"])["is_company"], redmine.contact(person["id"])["assigned_to_id"]) == (
        False,
        None,
    )


# --- contact projects --------------------------------------------------------------------------


def test_add_a_contact_to_projects_and_remove_it(redmine: Redmine) -> None:
    """POST /contacts/{id}/projects.xml with ``<project><id>`` (and the JSON equivalent) adds a project;
    DELETE /contacts/{id}/projects/{project}.xml removes it; GET shows ``project_ids`` each time."""
    contact_id = redmine.create(first_name="Moving", project_id=1)["id"]

    added = redmine.xml(201, "POST", f"/contacts/{contact_id}/projects.xml", "<project><id>5</id></project>")
    assert sorted(items(added, "project-ids")) == ["1", "5"]
    assert sorted(redmine.contact(contact_id)["project_ids"]) == ["1", "5"]

    added_json = redmine.json(201, "POST", f"/contacts/{contact_id}/projects.json", {"project": {"id": "support"}})
    assert sorted(added_json["contact"]["project_ids"]) == ["1", "5", "support"]
    assert sorted(redmine.contact(contact_id)["project_ids"]) == ["1", "5", "support"]

    removed = redmine.send("DELETE", f"/contacts/{contact_id}/projects/1.xml")
    assert (removed.status, removed.body) == (204, b""), removed.body[:300]
    assert sorted(redmine.contact(contact_id)["project_ids"]) == ["5", "support"]
    removed = redmine.send("DELETE", f"/contacts/{contact_id}/projects/support.json")
    assert (removed.status, removed.body) == (204, b""), removed.body[:300]
    assert redmine.contact(contact_id)["project_ids"] == ["5"]
    assert contact_id in ids_xml(redmine.xml(200, "GET", "/contacts.xml?project_id=5&limit=100"))
    assert contact_id not in ids_xml(redmine.xml(200, "GET", "/contacts.xml?project_id=1&limit=100"))

    again = redmine.xml(404, "DELETE", f"/contacts/{contact_id}/projects/1.xml")
    assert errors_xml(again) == ["Contact is not in project 1"]


def test_create_in_a_project_as_redmine_clients_post_it(redmine: Redmine) -> None:
    """POST /projects/{project}/contacts.json (python-redmine's create) makes a contact in that
    project, beside any project_id the body names; its Location is the contact's own URL."""
    reply = redmine.send("POST", "/projects/crm-sales/contacts.json", {"contact": {"first_name": "Projected"}})
    assert reply.status == 201, reply.body[:300]
    contact = reply.json()["contact"]
    assert contact["project_ids"] == ["crm-sales"]
    assert reply.headers["location"] == f"/contacts/{contact['id']}.json"
    assert contact["id"] in ids_xml(redmine.xml(200, "GET", "/contacts.xml?project_id=crm-sales&limit=100"))

    both = redmine.xml(
        201,
        "POST",
        "/projects/crm-sales/contacts.xml",
        "<contact><first_name>Twice</first_name><project_id>7</project_id></contact>",
    )
    assert sorted(items(both, "project-ids")) == ["7", "crm-sales"]
    same = redmine.json(201, "POST", "/projects/7/contacts", {"contact": {"first_name": "Once", "project_id": 7}})
    assert same["contact"]["project_ids"] == ["7"]


# --- authentication ----------------------------------------------------------------------------


@pytest.mark.parametrize("password", ["admin", "anything", "API", ""])
def test_the_key_as_basic_user_name_with_any_password(server: Server, password: str) -> None:
    """Redmine takes the API key as Basic user name whatever the password."""
    status, headers, data = request(
        "GET", f"{server.base}/contacts.json", headers={"Authorization": basic(server.key, password)}
    )
    assert status == 200, data[:300]
    assert "total_count" in json.loads(data)
    assert headers["content-type"] == JSON_TYPE


def test_the_key_as_query_parameter_on_reads_and_writes(server: Server, redmine: Redmine) -> None:
    """``?key=KEY`` authenticates a GET and a POST with no other credentials."""
    key = quote(server.key, safe="")
    status, _, data = request("GET", f"{server.base}/contacts.json?key={key}")
    assert status == 200, data[:300]
    assert "total_count" in json.loads(data)

    body = json.dumps({"contact": {"first_name": "Keyed", "last_name": "Query"}}).encode()
    status, _, data = request(
        "POST", f"{server.base}/contacts.json?key={key}", body=body, headers={"Content-Type": "application/json"}
    )
    assert status == 201, data[:300]
    made = json.loads(data)["contact"]
    assert (redmine.contact(made["id"])["first_name"], made["last_name"]) == ("Keyed", "Query")

    status, _, data = request("GET", f"{server.base}/contacts/{made['id']}.xml?key={key}")
    assert status == 200, data[:300]
    assert text(fromstring(data, forbid_dtd=True), "first-name") == "Keyed"


def test_the_key_in_redmines_own_header(server: Server) -> None:
    """python-redmine's ``Redmine(url, key=KEY)`` sends ``X-Redmine-API-Key``; a wrong one is 401."""
    status, _, data = request("GET", f"{server.base}/contacts.json", headers={"X-Redmine-API-Key": server.key})
    assert status == 200, data[:300]
    assert "total_count" in json.loads(data)
    secret = server.key.rsplit(".", 1)[1]
    wrong = server.key.replace(secret, secret[::-1])
    status, _, data = request("GET", f"{server.base}/contacts.json", headers={"X-Redmine-API-Key": wrong})
    assert status == 401, data[:300]


def test_a_wrong_key_is_401(server: Server, redmine: Redmine) -> None:
    """A wrong key, as Basic user name or as ``key`` parameter, or none at all, is 401; a refused
    create stores nothing."""
    before = redmine.json(200, "GET", "/contacts.json")["total_count"]
    secret = server.key.rsplit(".", 1)[1]
    wrong = server.key.replace(secret, secret[::-1])
    body = json.dumps({"contact": {"first_name": "Intruder"}}).encode()
    json_type = {"Content-Type": "application/json"}
    attempts = [
        ("GET", "/contacts.json", None, {"Authorization": basic(wrong, "admin")}),
        ("GET", "/contacts.xml", None, {"Authorization": basic("admin", "admin")}),
        ("POST", "/contacts.json", body, {"Authorization": basic(wrong, "admin"), **json_type}),
        ("GET", f"/contacts.json?key={quote(wrong, safe='')}", None, {}),
        ("POST", f"/contacts.json?key={quote(wrong, safe='')}", body, json_type),
        ("GET", "/contacts.json", None, {}),
    ]
    for method, path, data, headers in attempts:
        status, answered, content = request(method, server.base + path, None, data, headers)
        assert status == 401, (method, path, status, content[:300])
        assert b"Invalid or missing API key" in content
        assert answered["www-authenticate"].startswith("Basic")
    assert redmine.json(200, "GET", "/contacts.json")["total_count"] == before


# --- the document's curl examples ------------------------------------------------------------


def test_curl_update_example_updates_contact_1_in_json(server: Server, redmine: Redmine) -> None:
    """The document's "Update contact" curl, run as printed, answers 200 in JSON with contact 1 named
    John Smith; a GET then shows the new name."""
    redmine.ensure(1)
    status, content_type, body = run_curl(curl_examples()["PUT"], server)
    assert (status, content_type) == (200, JSON_TYPE), body[:500]
    contact = json.loads(body)["contact"]
    assert (contact["id"], contact["first_name"], contact["last_name"]) == (1, "John", "Smith")
    stored = redmine.contact(1)
    assert (stored["first_name"], stored["last_name"]) == ("John", "Smith")


def test_curl_create_example_creates_a_company_in_project_support(server: Server, redmine: Redmine) -> None:
    """The document's "Create contact" curl, run as printed, answers 201 in XML with a company contact
    in project ``support``; a GET then shows it."""
    status, content_type, body = run_curl(curl_examples()["POST"], server)
    assert (status, content_type) == (201, XML_TYPE), body[:500]
    root = fromstring(body.encode(), forbid_dtd=True)
    assert root.tag == "contact"
    assert (text(root, "first-name"), text(root, "is-company")) == ("API contact name", "true")
    assert items(root, "project-ids") == ["support"]
    stored = redmine.contact(int(text(root, "id")))
    assert (stored["first_name"], stored["is_company"], stored["project_ids"]) == (
        "API contact name",
        True,
        ["support"],
    )


# --- validation errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("contact", "message"),
    [
        ({"last_name": "Smith"}, "First name cannot be blank"),
        ({"first_name": "John", "visibility": "5"}, "Visibility must be 0 (project), 1 (public) or 2 (private)"),
        ({"first_name": "John", "visibility": "2.0"}, "Visibility must be 0 (project), 1 (public) or 2 (private)"),
        (
            {"first_name": "John", "email": "a@example.com,b@example.com,c@example.com,d@example.com"},
            "Email takes at most 3 comma-separated values",
        ),
        ({"first_name": "John", "phone": "1, 2, 3, 4"}, "Phone takes at most 3 comma-separated values"),
        ({"first_name": "John", "is_company": "maybe"}, "Is company must be true or false"),
        ({"first_name": "John", "assigned_to_id": "boss"}, "Assigned to id must be a whole number from 0"),
        ({"first_name": "John", "shoe_size": "9"}, "Unknown fields: shoe_size"),
    ],
    ids=[
        "blank-first-name",
        "visibility",
        "visibility-fraction",
        "fourth-email",
        "fourth-phone",
        "is-company",
        "assigned-to-id",
        "unknown-field",
    ],
)
def test_an_invalid_contact_is_422_in_json_and_xml(redmine: Redmine, contact: dict[str, str], message: str) -> None:
    """An invalid create is 422 with ``{"errors": [...]}`` in JSON and ``<errors><error>`` in XML, and
    stores nothing."""
    before = redmine.json(200, "GET", "/contacts.json")["total_count"]
    assert redmine.json(422, "POST", "/contacts.json", {"contact": contact}) == {"errors": [message]}
    as_xml = "<contact>" + "".join(f"<{name}>{value}</{name}>" for name, value in contact.items()) + "</contact>"
    assert errors_xml(redmine.xml(422, "POST", "/contacts.xml", as_xml)) == [message]
    assert redmine.json(200, "GET", "/contacts.json")["total_count"] == before


def test_an_invalid_project_or_custom_field_is_422(redmine: Redmine, license_field: int) -> None:
    """Adding a project without an id, or a value for a custom field that does not exist, is 422 in
    the request's format, and the contact is unchanged."""
    contact_id = redmine.create(first_name="Stable", project_id=1)["id"]
    assert errors_xml(
        redmine.xml(422, "POST", f"/contacts/{contact_id}/projects.xml", "<project><id></id></project>")
    ) == ["Project id is required"]
    assert redmine.json(422, "POST", f"/contacts/{contact_id}/projects.json", {"project": {}}) == {
        "errors": ["Project id is required"]
    }
    unknown = license_field + 1000
    answer = redmine.json(
        422, "PUT", f"/contacts/{contact_id}.json", {"contact": {"custom_fields": [{"id": unknown, "value": "x"}]}}
    )
    assert answer == {"errors": [f"Custom field {unknown} does not exist"]}
    stored = redmine.contact(contact_id)
    assert (stored["project_ids"], stored["custom_fields"], stored["version"]) == (["1"], [], 1)


def seed_form() -> list[tuple[str, str]]:
    """The document's web form: each input's name, and the value it carries (hidden or submit)."""
    text = SEED.read_text(encoding="utf-8")
    form = text[text.index("<form ") : text.index("Curl examples")]
    pairs = []
    for tag in re.findall(r"<input [^>]+>", form):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        assert name, tag
        pairs.append((name[1], value[1] if value else ""))
    return pairs


def test_the_documents_web_form_as_printed_with_a_form_key(
    server: Server, redmine: Redmine, license_field: int
) -> None:
    """The form posted as the page sends it (multipart): its hidden key holds a form key made for
    its hidden project, its custom field row names the account's License field."""
    inputs = seed_form()
    names = [name for name, _ in inputs]
    assert names == [
        "key",
        "project_id",
        "contact[first_name]",
        "contact[last_name]",
        "contact[company]",
        "contact[phone]",
        "contact[email]",
        "contact[tag_list]",
        "contact[custom_fields][][id]",
        "contact[custom_fields][][value]",
        "commit",
    ]
    project = dict(inputs)["project_id"]
    admin = [str(BIN / "contacts-admin"), "--endpoint-url", server.dynamodb]
    made = subprocess.run(
        [*admin, "keys", "create", "--account", "dev", "--form", "--project", project],
        capture_output=True,
        text=True,
        check=True,
    )
    typed = {
        "key": made.stdout.strip().splitlines()[-1],
        "contact[first_name]": "Webform",
        "contact[last_name]": "Visitor",
        "contact[company]": "Visitors Ltd",
        "contact[phone]": "+44 20 7946 0000",
        "contact[email]": "visitor@example.com",
        "contact[tag_list]": "web, lead",
        "contact[custom_fields][][id]": str(license_field),
        "contact[custom_fields][][value]": "GPL",
    }
    boundary = "----redmineform0123456789"
    body = (
        "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{typed.get(name, value)}\r\n'
            for name, value in inputs
        )
        + f"--{boundary}--\r\n"
    )
    status, _, answer = request(
        "POST",
        f"{server.base}/forms/contacts",
        None,
        body.encode(),
        {"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert status == 201, answer
    found = redmine.json(200, "GET", "/contacts.json?search=visitor@example.com")["contacts"]
    assert len(found) == 1
    contact = found[0]
    assert (contact["first_name"], contact["last_name"], contact["company"]) == ("Webform", "Visitor", "Visitors Ltd")
    assert (contact["business_phone"], contact["email_address"]) == ("+44 20 7946 0000", "visitor@example.com")
    assert (contact["tags"], contact["project_ids"]) == (["web", "lead"], [project])
    assert [(f["id"], f["value"]) for f in contact["custom_fields"]] == [(license_field, "GPL")]


# --- phones and emails, as Redmine CRM prints them ---------------------------------------------


def test_phones_and_emails_arrays_are_shown_in_json_and_xml(redmine: Redmine) -> None:
    """The document's ``<phones type="array"><phone>...</phone>`` and ``<emails ...>``: what
    python-redmine reads as ``contact.phones`` and ``contact.emails``."""
    made = redmine.create(first_name="Arrays", phone="+1 003 322 43 23, +34 600 1", email="a@example.com")
    assert (made["phones"], made["emails"]) == (["+1 003 322 43 23", "+34 600 1"], ["a@example.com"])
    assert (made["business_phone"], made["mobile_phone"]) == ("+1 003 322 43 23", "+34 600 1")
    shown = redmine.xml(200, "GET", f"/contacts/{made['id']}.xml")
    assert items(shown, "phones") == ["+1 003 322 43 23", "+34 600 1"]
    assert [item.tag for item in child(shown, "phones")] == ["phone", "phone"]
    assert items(shown, "emails") == ["a@example.com"]
    listed = redmine.json(200, "GET", "/contacts.json?search=arrays")["contacts"]
    assert [c["phones"] for c in listed] == [["+1 003 322 43 23", "+34 600 1"]]
    empty = redmine.create(first_name="Bare")
    assert (empty["phones"], empty["emails"]) == ([], [])


def test_phones_and_emails_sent_as_arrays_fill_the_fields_in_order(redmine: Redmine) -> None:
    made = redmine.create(first_name="Filled", phones=["1", {"number": "2"}, "3", "4"], emails=["x@example.com"])
    assert [made[slot] for slot in ("business_phone", "mobile_phone", "home_phone", "business_phone_2")] == [
        "1",
        "2",
        "3",
        "4",
    ]
    assert made["email_address"] == "x@example.com"
    # An array replaces the list: the numbers it leaves out are emptied.
    fewer = redmine.json(200, "PUT", f"/contacts/{made['id']}.json", {"contact": {"phones": ["9"]}})["contact"]
    assert (fewer["phones"], fewer["business_phone"], fewer["mobile_phone"]) == (["9"], "9", None)
    # In XML, as the document prints it.
    body = '<contact><phones type="array"><phone>7</phone><phone>8</phone></phones></contact>'
    shown = redmine.xml(200, "PUT", f"/contacts/{made['id']}.xml", body, "application/xml")
    assert items(shown, "phones") == ["7", "8"]
    # Sent back beside a field it names (a client saving all it read), the field wins.
    both = {"contact": {"phones": ["7", "8"], "business_phone": "70"}}
    saved = redmine.json(200, "PUT", f"/contacts/{made['id']}.json", both)["contact"]
    assert saved["phones"] == ["70", "8"]


def test_too_many_phones_is_422_and_changes_nothing(redmine: Redmine) -> None:
    made = redmine.create(first_name="Limited", phone="1")
    reply = redmine.send("PUT", f"/contacts/{made['id']}.json", {"contact": {"phones": [str(n) for n in range(8)]}})
    assert reply.status == 422
    assert reply.json() == {"errors": ["Phones takes at most 7 entries"]}
    assert redmine.contact(made["id"])["phones"] == ["1"]
    # Blank entries count as sent, as the document's maxItems counts them.
    blanks = redmine.send("POST", "/contacts.json", {"contact": {"first_name": "Blank", "emails": ["", "", "", ""]}})
    assert blanks.status == 422
    assert blanks.json() == {"errors": ["Emails takes at most 3 entries"]}
    three = {"contact": {"first_name": "Blank", "emails": ["", "", ""]}}
    assert redmine.send("POST", "/contacts.json", three).status == 201
    # As the plugin prints them, {"address": ...}; nothing else in an entry.
    odd = redmine.send("POST", "/contacts.json", {"contact": {"first_name": "Odd", "emails": [{"mail": "o@x.io"}]}})
    assert (odd.status, odd.json()) == (422, {"errors": ['Emails are texts or {"address": ...}']})
    printed = {"contact": {"first_name": "Printed", "emails": [{"address": "p@x.io"}, {}, None]}}
    assert redmine.json(201, "POST", "/contacts.json", printed)["contact"]["email_address"] == "p@x.io"


def test_an_address_attribute_a_field_overrides_is_checked_all_the_same(redmine: Redmine) -> None:
    made = redmine.create(first_name="Addressed")
    body = {"contact": {"address_attributes": {"country_code": "R\u000fU"}, "business_country": "ES"}}
    reply = redmine.send("PUT", f"/contacts/{made['id']}.json", body)
    assert reply.status == 422
    assert reply.json() == {
        "errors": ["Business country contains control characters or non-characters (U+FFFE, U+FFFF)"]
    }
    assert redmine.contact(made["id"]).get("address", {}).get("country_code") in (None, "")


# --- notes by their own id -----------------------------------------------------------------------


def test_a_note_made_in_xml_is_shown_as_the_plugin_shows_it(redmine: Redmine) -> None:
    contact = redmine.create(first_name="Xml", last_name="Noted")
    body = (
        f"<note><source_type>Contact</source_type><source_id>{contact['id']}</source_id>"
        "<subject>Visit</subject><content>Met at the fair</content></note>"
    )
    made = redmine.xml(201, "POST", "/notes.xml", body, "application/xml")
    assert (text(made, "subject"), text(made, "content"), text(made, "source-type")) == (
        "Visit",
        "Met at the fair",
        "Contact",
    )
    assert child(made, "source").attrib == {"id": str(contact["id"]), "type": "Contact"}
    note_id = int(text(made, "id"))
    assert (
        redmine.json(200, "GET", f"/contacts/{contact['id']}/notes/{note_id}.json")["note"]["body"] == "Met at the fair"
    )
    history = redmine.json(200, "GET", f"/contacts/{contact['id']}/history.json")["history"]
    assert (history[0]["action"], history[0]["subject"], history[0]["note_id"]) == ("created", "note", note_id)
    assert [c["field"] for c in history[0]["changes"]] == ["body", "subject"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"note": {"content": "Orphan"}}, "Source id is required: the contact the note is of"),
        ({"note": {"source_type": "Deal", "source_id": 1, "content": "x"}}, "Source type must be Contact"),
        ({"note": {"source_id": 1, "content": "x", "color": "red"}}, "Unknown fields: color"),
        ({"note": {"source_id": "one", "content": "x"}}, "Source id must be a contact's id"),
    ],
)
def test_a_bad_note_is_422_and_stores_nothing(redmine: Redmine, body: dict, message: str) -> None:
    reply = redmine.send("POST", "/notes.json", body)
    assert reply.status == 422, reply.body
    assert reply.json()["errors"][0].startswith(message)


def test_notes_of_another_account_or_a_deleted_contact_are_404(server: Server, redmine: Redmine) -> None:
    contact = redmine.create(first_name="Gone")
    made = redmine.json(201, "POST", "/notes.json", {"note": {"source_id": contact["id"], "content": "Soon gone"}})
    note_id = made["note"]["id"]
    assert redmine.send("GET", "/notes/999999.json").status == 404
    redmine.send("DELETE", f"/contacts/{contact['id']}.json")
    assert redmine.send("GET", f"/notes/{note_id}.json").status == 404
    assert redmine.send("GET", f"/notes.json?source_type=Contact&source_id={contact['id']}").status == 404
