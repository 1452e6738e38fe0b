"""pyactiveresource (Shopify's port of Rails' ActiveResource), unchanged, against `make run`'s
server: a ContactHero client in XML and in JSON, signing in with the key and ``API`` as Basic."""

from __future__ import annotations

import pytest
from pyactiveresource import connection, formats
from pyactiveresource.activeresource import ActiveResource

from tests.local_server import Server


def listed(hero: tuple[type, type]) -> bool:
    """Whether this format's lists are the client's: in XML, yes. A JSON list carries its paging
    beside its root (``offset``, ``limit``, ``total_count``, as Redmine's clients read them), and
    ActiveResource unwraps only an object with one key, so JSON lists are read by other clients."""
    return hero[0].format is formats.XMLFormat


def resources(server: Server, fmt: object) -> tuple[type[ActiveResource], type[ActiveResource]]:
    """Contact and its nested Note, as a ContactHero client declares them."""

    class Contact(ActiveResource):
        _site = server.base
        _user, _password = server.key, "API"
        _format = fmt

    class Note(ActiveResource):
        _site = server.base
        _prefix_source = "/contacts/$contact_id/"
        _user, _password = server.key, "API"
        _format = fmt

    return Contact, Note


@pytest.fixture(params=[formats.XMLFormat, formats.JSONFormat], ids=["xml", "json"])
def hero(server: Server, request: pytest.FixtureRequest) -> tuple[type, type]:
    return resources(server, request.param)


def test_create_find_save_again_and_destroy(hero: tuple[type, type]) -> None:
    Contact, _ = hero
    contact = Contact({"first_name": "Grace", "last_name": "Hopper", "company": "Navy"})
    assert contact.save(), contact.errors.full_messages()
    assert isinstance(contact.id, int)
    # The answer is the contact alone, so the client unwraps it and can save it as it is, twice.
    assert contact.first_name == "Grace"
    contact.job_title = "Rear admiral"
    assert contact.save(), contact.errors.full_messages()
    contact.department = "Computing"
    assert contact.save(), contact.errors.full_messages()
    found = Contact.find(contact.id)
    assert (found.job_title, found.department, found.version) == ("Rear admiral", "Computing", 3)
    if listed(hero):
        assert contact.id in [c.id for c in Contact.find()]
    assert Contact.exists(contact.id)  # HEAD /contacts/{id}
    found.destroy()
    assert not Contact.exists(contact.id)
    with pytest.raises(connection.ResourceNotFound):
        Contact.find(contact.id)


def test_a_contact_read_back_saves_unchanged(hero: tuple[type, type]) -> None:
    """save() sends every attribute it read (notes, custom fields, phones, version...)."""
    Contact, Note = hero
    contact = Contact({"first_name": "Round", "email_address": "round@example.com", "tags": ["a", "b"]})
    assert contact.save(), contact.errors.full_messages()
    Note({"body": "First"}, prefix_options={"contact_id": contact.id}).save()
    read = Contact.find(contact.id)
    assert read.save(), read.errors.full_messages()
    again = Contact.find(contact.id)
    assert (again.email_address, sorted(again.tags), again.version) == ("round@example.com", ["a", "b"], 1)


def test_a_stale_save_is_a_conflict_and_changes_nothing(hero: tuple[type, type]) -> None:
    Contact, _ = hero
    contact = Contact({"first_name": "Stale"})
    assert contact.save()
    first, second = Contact.find(contact.id), Contact.find(contact.id)
    first.last_name = "One"
    assert first.save()
    second.last_name = "Two"
    with pytest.raises(connection.ResourceConflict):
        second.save()
    assert Contact.find(contact.id).last_name == "One"


def test_an_invalid_save_is_false_with_the_servers_messages(hero: tuple[type, type]) -> None:
    Contact, _ = hero
    contact = Contact({"first_name": "", "last_name": "Nameless"})
    assert contact.save() is False
    assert contact.errors.full_messages() == ["First name cannot be blank"]


def test_notes_of_a_contact(hero: tuple[type, type]) -> None:
    Contact, Note = hero
    contact = Contact({"first_name": "Noted"})
    assert contact.save()
    note = Note({"body": "Called about the order"}, prefix_options={"contact_id": contact.id})
    assert note.save(), note.errors.full_messages()
    if listed(hero):
        assert [n.body for n in Note.find(contact_id=contact.id)] == ["Called about the order"]
    note.body = "Called twice"
    assert note.save()
    assert Note.find(note.id, contact_id=contact.id).body == "Called twice"
    assert Note.exists(note.id, contact_id=contact.id)
    note.destroy()
    assert not Note.exists(note.id, contact_id=contact.id)
    if listed(hero):
        assert Note.find(contact_id=contact.id) == []
