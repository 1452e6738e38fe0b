"""``contacts-admin upgrade``: an account stored before the tag counts and the notes' ``N#`` items
gets them, and running it again changes nothing."""

from __future__ import annotations

from crm.storage.items import NoteItem, NoteRefItem, TagCountItem, account_pk, starting_with
from crm.upgrade import upgrade
from tests.conftest import Client, Keys


def forget_what_earlier_versions_did_not_keep() -> None:
    pk = account_pk("acme")
    for item in TagCountItem.query(pk, starting_with(TagCountItem.sk, "TAG")):
        item.delete()
    for ref in NoteRefItem.query(pk, starting_with(NoteRefItem.sk, "N#")):
        ref.delete()
    for note in NoteItem.query(pk, starting_with(NoteItem.sk, "D#")):
        if note.sk.rsplit("#", 2)[1] == "N":
            note.update(actions=[NoteItem.refs.remove()])


def tags_of(client: Client) -> dict[str, int]:
    return {tag["name"]: tag["count"] for tag in client.get("/contacts_tags").json()["tags"]}


def test_an_earlier_accounts_tags_and_notes_are_brought_up_to_date(api: Client, keys: Keys) -> None:
    first = api.create(tags=["vip", "cold call"])
    api.create(tags=["vip"], is_private=True)
    note = api.post(f"/contacts/{first['id']}/notes", {"body": "Before the upgrade"}).json()["note"]
    forget_what_earlier_versions_did_not_keep()
    assert tags_of(api) == {}
    assert api.get(f"/notes/{note['id']}").status == 404

    done = upgrade("acme")
    assert (done.contacts, done.tags, done.notes_linked) == (2, 2, 1)
    assert tags_of(api) == {"cold call": 1, "vip": 2}
    assert tags_of(Client(keys.colleague)) == {"cold call": 1, "vip": 1}  # the private one is not theirs
    assert api.get(f"/notes/{note['id']}").json()["note"]["content"] == "Before the upgrade"

    again = upgrade("acme")  # counts as they are, nothing linked twice
    assert (again.tags, again.notes_linked) == (2, 0)
    assert tags_of(api) == {"cold call": 1, "vip": 2}
    # The note's N# item goes with its contact, as a new note's does.
    assert api.delete(f"/contacts/{first['id']}").status == 204
    assert api.get(f"/notes/{note['id']}").status == 404
    assert tags_of(api) == {"vip": 1}
