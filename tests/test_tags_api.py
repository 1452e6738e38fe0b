"""Redmine CRM's ``/contacts_tags``: each tag with how many contacts carry it, kept by every write
(create, update, delete, import) and shown only for the contacts the key may see."""

from __future__ import annotations

from typing import Any

import pytest

from crm.imports import worker
from tests.conftest import Client, Keys
from tests.helpers import csv_file, run_import


def tags_of(client: Client, **query: Any) -> dict[str, int]:
    reply = client.get("/contacts_tags", query=query)
    assert reply.status == 200, reply.text
    return {tag["name"]: tag["count"] for tag in reply.json()["tags"]}


def test_counts_follow_creates_updates_and_deletes(api: Client) -> None:
    first = api.create(tags=["vip", "cold call"])
    second = api.create(tags=["vip"])
    assert tags_of(api) == {"cold call": 1, "vip": 2}
    api.patch(f"/contacts/{first['id']}", {"tags": ["vip", "referral"]})
    assert tags_of(api) == {"referral": 1, "vip": 2}
    api.patch(f"/contacts/{first['id']}", {"first_name": "Renamed"})  # tags untouched: counts too
    assert tags_of(api) == {"referral": 1, "vip": 2}
    assert api.delete(f"/contacts/{second['id']}").status == 204
    assert tags_of(api) == {"referral": 1, "vip": 1}
    assert api.delete(f"/contacts/{first['id']}").status == 204
    assert tags_of(api) == {}


def test_a_tag_is_one_whatever_its_case_and_shows_as_last_written(api: Client) -> None:
    api.create(tags=["VIP"])
    api.create(tags=["Vip"])
    assert tags_of(api) == {"Vip": 2}
    assert api.get("/contacts", query={"tags": "vip"}).json()["total_count"] == 2


def test_the_answer_in_json_and_xml(api: Client) -> None:
    api.create(tags=["vip"])
    reply = api.get("/contacts_tags.json")
    assert reply.json() == {
        "tags": [{"name": "vip", "count": 1}],
        "offset": 0,
        "limit": 20,
        "total_count": 1,
        "next_cursor": None,
    }
    root = api.get("/contacts_tags.xml").xml()
    assert (root.tag, root.get("type"), root.get("total_count")) == ("tags", "array", "1")
    assert [(t.findtext("name"), t.find("count").get("type"), t.findtext("count")) for t in root] == [
        ("vip", "integer", "1")
    ]


def test_tags_are_paged(api: Client) -> None:
    api.create(tags=[f"t{n:02d}" for n in range(25)])
    first = api.get("/contacts_tags", query={"limit": 10}).json()
    second = api.get("/contacts_tags", query={"limit": 10, "cursor": first["next_cursor"]}).json()
    third = api.get("/contacts_tags", query={"limit": 10, "offset": 20}).json()
    names = [t["name"] for page in (first, second, third) for t in page["tags"]]
    assert names == [f"t{n:02d}" for n in range(25)]
    assert (first["total_count"], third["next_cursor"]) == (25, None)


def test_private_contacts_tags_are_seen_only_by_those_who_see_the_contacts(api: Client, keys: Keys) -> None:
    api.create(tags=["shared"])
    secret = api.create(tags=["shared", "secret plan"], is_private=True)
    colleague, admin, stranger = Client(keys.colleague), Client(keys.admin), Client(keys.stranger)
    assert tags_of(api) == {"secret plan": 1, "shared": 2}  # the owner
    assert tags_of(admin) == {"secret plan": 1, "shared": 2}
    assert tags_of(colleague) == {"shared": 1}
    assert tags_of(stranger) == {}
    api.patch(f"/contacts/{secret['id']}", {"is_private": False})
    assert tags_of(colleague) == {"secret plan": 1, "shared": 2}
    api.patch(f"/contacts/{secret['id']}", {"is_private": True})
    assert tags_of(colleague) == {"shared": 1}


def test_an_import_counts_its_contacts_tags_once(api: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """A chunk with more distinct tags than one transaction holds counts them in several."""
    monkeypatch.setattr(worker, "TAG_UPDATES", 7)
    rows = [["first_name", "tags"]] + [[f"Row {n}", f"common, own {n}"] for n in range(30)]
    done = run_import(api, csv_file(*rows), format="csv")
    assert (done["status"], done["rows_imported"]) == ("completed", 30)
    assert tags_of(api, limit=100) == {"common": 30, **{f"own {n}": 1 for n in range(30)}}


def test_a_run_killed_between_its_tag_counts_counts_each_once(api: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed after two of its chunk's groups of tag counts: Lambda's retry applies the others only."""
    monkeypatch.setattr(worker, "TAG_UPDATES", 7)
    real, calls = worker.transact, []

    def dies_once(stage: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("the run dies here")
        return real(stage)

    monkeypatch.setattr(worker, "transact", dies_once)
    rows = [["first_name", "tags"]] + [[f"Row {n}", f"common, own {n}"] for n in range(30)]
    done = run_import(api, csv_file(*rows), format="csv")
    assert len(calls) > 3  # it died, and the retry went on
    assert (done["status"], done["rows_imported"]) == ("completed", 30)
    assert tags_of(api, limit=100) == {"common": 30, **{f"own {n}": 1 for n in range(30)}}
