"""The table's items are declared class by class (so that each attribute is typed and can be
read), and each record's attributes mirror its field table: a field added to crm.fields without
its attribute, or with another kind, fails here rather than at the first write."""

from __future__ import annotations

import pytest
from pynamodb.attributes import BooleanAttribute, JSONAttribute, ListAttribute, NumberAttribute, UnicodeAttribute

from crm.fields import CALL_FIELDS, CONTACT_FIELDS, MESSAGE_FIELDS, PHOTO_FIELDS, Field
from crm.storage.items import STATES, ActivityCountItem, CallItem, ContactItem, MessageItem, PhotoItem

KEYS = {"pk", "sk"}
STORED_AS = {
    "integer": NumberAttribute,
    "boolean": BooleanAttribute,
    "tags": ListAttribute,
    "ids": ListAttribute,
    "records": JSONAttribute,
}
CONTACT_OWN = {"history_count", "notes_count", "photo_id", "source_uid", "search_terms", "phones_e164"}


@pytest.mark.parametrize(
    ("model", "fields", "own"),
    [
        (ContactItem, CONTACT_FIELDS, CONTACT_OWN),
        (CallItem, CALL_FIELDS, {"refs"}),
        (MessageItem, MESSAGE_FIELDS, {"refs"}),
        (PhotoItem, PHOTO_FIELDS, {"refs"}),
    ],
)
def test_each_field_has_its_attribute_of_its_kind(model: type, fields: tuple[Field, ...], own: set[str]) -> None:
    attributes = model.get_attributes()
    assert set(attributes) == {field.attribute for field in fields} | own | KEYS
    for field in fields:
        stored = attributes[field.attribute]
        assert type(stored) is STORED_AS.get(field.kind, UnicodeAttribute), field.name
        assert stored.attr_name == field.name  # stored under the field's own name
        assert stored.null


def test_a_field_named_for_a_python_keyword_is_stored_under_its_name() -> None:
    message = MessageItem("A#acme", "M#0000000001", from_="ada@example.com")
    assert message.serialize()["from"] == {"S": "ada@example.com"}


def test_activity_counts_have_every_state_and_its_private_share() -> None:
    states = {*STATES, *(f"p{state}" for state in STATES)}
    assert set(ActivityCountItem.get_attributes()) == states | {"account_count"} | KEYS
