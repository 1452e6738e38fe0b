"""python-redmine, unchanged, against `make run`'s server: what a Redmine CRM integration does.

The CRM resources are declared in ``tests/clients/redmine_crm.py`` through the client's own
custom-resource API; everything else is the library as published.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from redminelib import Redmine
from redminelib.exceptions import ConflictError, ResourceRequirementsError, ValidationError

import tests.clients.redmine_crm  # noqa: F401 (registers the CRM resources)
from tests.local_server import Server, request

JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def redmine(server: Server) -> Redmine:
    return Redmine(server.base, key=server.key)  # sends X-Redmine-API-Key


def test_create_get_update_by_save_and_delete(redmine: Redmine) -> None:
    made = redmine.contact.create(
        project_id=7,
        first_name="Ivan",
        last_name="Petrov",
        company="Acme",
        phones=["+7 495 000 00 01", "+7 495 000 00 02"],
        emails=["ivan@example.com"],
        tag_list=["vip", "cold call"],
        is_company=False,
    )
    assert made.id > 0
    got = redmine.contact.get(made.id)
    assert (got.first_name, got.last_name, got.company) == ("Ivan", "Petrov", "Acme")
    assert got.phones == ["+7 495 000 00 01", "+7 495 000 00 02"]
    assert got.emails == ["ivan@example.com"]
    assert sorted(got.tags) == ["cold call", "vip"]
    assert "7" in [str(p) for p in got.project_ids]

    got.job_title = "Engineer"
    got.save()
    again = redmine.contact.get(made.id)
    assert (again.job_title, again.last_name, again.version) == ("Engineer", "Petrov", 2)

    assert redmine.contact.update(made.id, last_name="Ivanov")  # the contact as answered
    assert redmine.contact.get(made.id).last_name == "Ivanov"

    assert redmine.contact.delete(made.id) is True
    # A 404 on a resource of a plugin is how python-redmine learns the plugin is missing: it says so.
    with pytest.raises(ResourceRequirementsError):
        redmine.contact.get(made.id)


def test_a_create_without_a_project_is_refused_by_the_client_itself(redmine: Redmine) -> None:
    with pytest.raises(ValidationError):
        redmine.contact.create(first_name="Nowhere")


def test_filters(redmine: Redmine) -> None:
    tom = redmine.contact.create(project_id="crm-sales", first_name="Tomasz", tag_list="filtered,vip")
    redmine.contact.create(project_id="crm-sales", first_name="Other", tag_list="filtered", assigned_to_id=3)
    found = redmine.contact.filter(search="tomasz")
    assert [c.id for c in found] == [tom.id]
    assert len(redmine.contact.filter(tags="filtered")) == 2
    assert [c.id for c in redmine.contact.filter(tags="filtered,vip")] == [tom.id]
    assert [c.first_name for c in redmine.contact.filter(tags="filtered", assigned_to_id=3)] == ["Other"]
    assert {c.first_name for c in redmine.contact.filter(project_id="crm-sales")} >= {"Tomasz", "Other"}


def test_iterating_over_more_than_250_contacts_reads_every_one(server: Server, redmine: Redmine) -> None:
    """python-redmine pages with limit=100 and then asks for what is left (limit=105&offset=100...):
    the API serves a limit above 100 as 100, as Redmine does, and the client carries on."""
    body = json.dumps({"contact": {"first_name": "Many", "tag_list": "iterated"}}).encode()

    def create(_: int) -> int:
        status, _, data = request(
            "POST", f"{server.base}/contacts", server.key, body, {"Content-Type": "application/json"}
        )
        assert status == 201, data
        return json.loads(data)["contact"]["id"]

    with ThreadPoolExecutor(8) as pool:
        made = sorted(pool.map(create, range(260)))
    every = redmine.contact.filter(tags="iterated")
    assert len(every) == 260  # total_count
    assert sorted(c.id for c in every) == made
    assert [c.id for c in redmine.contact.filter(tags="iterated", limit=105, offset=100)] == made[100:205]


def test_projects_of_a_contact(redmine: Redmine) -> None:
    made = redmine.contact.create(project_id=1, first_name="Projected")
    made.add_project(2)
    assert sorted(str(p) for p in redmine.contact.get(made.id).project_ids) == ["1", "2"]
    made.remove_project(1)
    assert [str(p) for p in redmine.contact.get(made.id).project_ids] == ["2"]


def test_custom_fields(server: Server, redmine: Redmine) -> None:
    """Definitions are made by an admin key (here over plain HTTP); the client lists them and sets
    and reads a contact's values as Redmine's custom fields."""
    body = json.dumps({"custom_field": {"name": "Licence", "field_format": "string"}}).encode()
    status, _, data = request("POST", f"{server.base}/custom_fields.json", server.key, body, JSON)
    assert status == 201, data
    field_id = json.loads(data)["custom_field"]["id"]
    assert "Licence" in [f.name for f in redmine.custom_field.all()]
    made = redmine.contact.create(project_id=1, first_name="Custom", custom_fields=[{"id": field_id, "value": "L-42"}])
    shown = redmine.contact.get(made.id)
    assert [(f["id"], f["name"], f["value"]) for f in shown.custom_fields] == [(field_id, "Licence", "L-42")]
    shown.custom_fields = [{"id": field_id, "value": "L-43"}]
    shown.save()
    assert [f["value"] for f in redmine.contact.get(made.id).custom_fields] == ["L-43"]


def test_a_stale_save_is_a_conflict(redmine: Redmine) -> None:
    made = redmine.contact.create(project_id=1, first_name="Stale")
    first, second = redmine.contact.get(made.id), redmine.contact.get(made.id)
    first.save(last_name="One")
    with pytest.raises(ConflictError):
        second.save(last_name="Two", version=second.version)
    assert redmine.contact.get(made.id).last_name == "One"


def test_notes_by_their_own_id(redmine: Redmine) -> None:
    """Redmine CRM's notes API: the same notes ContactHero's routes show, its content their body."""
    contact = redmine.contact.create(project_id=1, first_name="Noted")
    note = redmine.note.create(source_type="Contact", source_id=contact.id, subject="Call", content="Discussed terms")
    got = redmine.note.get(note.id)
    assert (got.subject, got.content, got.source_type, got.source_id) == (
        "Call",
        "Discussed terms",
        "Contact",
        contact.id,
    )
    assert got.source == {"id": contact.id, "type": "Contact"}
    shown = redmine.contact.get(contact.id, include="notes")
    assert [n["body"] for n in shown.notes] == ["Discussed terms"]

    got.content = "Agreed"
    got.save()
    assert (redmine.note.get(note.id).content, redmine.note.get(note.id).subject) == ("Agreed", "Call")
    listed = redmine.note.filter(source_type="Contact", source_id=contact.id)
    assert [(n.id, n.content) for n in listed] == [(note.id, "Agreed")]

    assert redmine.note.delete(note.id) is True
    assert list(redmine.note.filter(source_type="Contact", source_id=contact.id)) == []


def test_tags_with_their_counts(redmine: Redmine) -> None:
    before = {tag.name: tag.count for tag in redmine.contact_tag.all()}
    redmine.contact.create(project_id=1, first_name="Tagged", tag_list=["counted tag", "other tag"])
    redmine.contact.create(project_id=1, first_name="Tagged too", tag_list="counted tag")
    after = {tag.name: tag.count for tag in redmine.contact_tag.all()}
    assert after["counted tag"] == before.get("counted tag", 0) + 2
    assert after["other tag"] == before.get("other tag", 0) + 1
