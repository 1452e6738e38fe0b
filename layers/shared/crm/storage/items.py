"""The items of the single table and the keys that place them.

Every item of an account lives under the partition key ``A#<account>``, so no access path can
reach another account's data without naming it. Sort keys:

    ACCOUNT                       the account
    USER#<user id>                a user of the account
    KEY#<key id>                  an API key (secret stored only as a hash)
    SEQ#<kind>                    id allocator for contacts, notes, ...
    COUNT#contacts                number of contacts, and how many are private
    COUNT#contacts#U<user id>     how many private contacts a user owns
    CF#<field id:010>             a custom field definition
    CFNAME#<sha256 of its name>   holds a custom field's name for it (names are unique)
    COUNT#custom_fields           how many custom fields the account has
    C#<contact id:010>            a contact (contacts list in id order with one Query)
    D#<contact id:010>#N#<id:010> a note of the contact
    N#<note id:010>               names the contact of a note, which is so found by its id alone
    D#<contact id:010>#H#<n:010>  the n-th history entry of the contact
    L#..., LO#..., D#<contact>#L#... a call, in its three places (crm.activities)
    M#..., MO#..., D#<contact>#M#... a message, likewise
    P#..., PO#..., D#<contact>#P#... a photo, likewise (its image: crm.storage.files)
    COUNT#calls, COUNT#calls#U<user>, D#<contact>#COUNT#L
                                  how many calls, open and completed: the account's (and of
                                  them, about private contacts), a user's private contacts', a
                                  contact's (crm.activities)
    X#<term>#<contact id:010>     a posting of the search index: the contact is found by the term
                                  (crm.index)
    E#<kind>:<digest>             the contacts with one email address or vCard UID: read by its
                                  exact key, a chunk of them at once (crm.index)
    TAG#<term>, TAGU#<user id>#<term>
                                  how many contacts carry a tag, and of them private ones; how many
                                  of a user's private contacts do (crm.tags)
    I#<import id:010>             an import of a file of contacts (crm.imports.jobs)
    IE#<import id:010>#<line:010> a row of it that failed, for its error report
    COUNT#imports, COUNT#imports#U<user id>
                                  how many imports the account has, and a user has started
    IMPORTKEY#<hash>              names the import of a file dropped in the bucket (one per object)
    EXPORT#<export id:010>        an export of contacts to a file (crm.exports); the table's TTL
                                  removes it when its file expires
    F#<epoch s:010>#<stream sequence number:040>
                                  an entry of the account's change feed (crm.changes): in commit
                                  order, removed by the table's TTL after the feed's retention
    WH#<webhook id:010>           a webhook subscription, with its signing secrets (crm.webhooks)
    WHD#<webhook id:010>#<epoch s:010>#<sequence:040>
                                  a delivery of a feed entry to it (the entry's own place): its
                                  attempts; the table's TTL removes it after DELIVERIES_KEPT_DAYS
    FORMS                         where the account's web forms may be posted from and send back to
    RATE#<key id>#<minute>        how many contacts a form key sent in that minute (crm.forms)
    IDEM#<key>                    a request's Idempotency-Key and its answer (crm.idempotency)
    MERGED#<contact id:010>       a contact merged into another, whose id so answers 404 naming it
    G#<survivor id:010>           a merge under way into that contact: what is left to finish
                                  (crm.merges)

Everything that hangs off a contact sorts under ``D#<contact id>#``, so deleting a contact's
dependants is one Query away, and none of it is read when contacts are listed. The functions and
marks below are the only place these keys are built or taken apart.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    NumberSetAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.connection import TableConnection
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model

from crm.config import settings

ID_WIDTH = 10
PHOTO_LETTER = "P"  # a photo's sort keys' letter (crm.photos), which crm.cascade looks for


ACCOUNT_MARK, CONTACT_MARK = "A#", "C#"


def account_pk(account_id: str) -> str:
    return f"{ACCOUNT_MARK}{account_id}"


def account_of(pk: str) -> str:
    """The account a partition key names: its items' tenant."""
    if not pk.startswith(ACCOUNT_MARK):
        raise ValueError(f"not an account's partition key: {pk!r}")
    return pk[len(ACCOUNT_MARK) :]


def contact_of(sk: str) -> int | None:
    """The contact a contact's own sort key names; None for any other key."""
    number = sk.removeprefix(CONTACT_MARK)
    return int(number) if sk.startswith(CONTACT_MARK) and number.isascii() and number.isdigit() else None


# A prefix's keys are queried as the range from the prefix to the prefix and U+10FFFF, the
# highest code point (a noncharacter, in no key), not with begins_with: on DynamoDB the two read
# the same items at the same cost, but DynamoDB Local walks the whole partition for begins_with
# (x6 slower at 50,000 items, and every item of an account is in its partition) and reads only
# the range for BETWEEN, so `make run` stays as fast at 100,000 contacts as at 100.
PREFIX_END = "\U0010ffff"
PREFIXED = "sk BETWEEN :prefix AND :prefix_end"  # a KeyConditionExpression's range, for raw queries


def prefix_values(prefix: str) -> dict[str, dict[str, str]]:
    """The ExpressionAttributeValues of ``PREFIXED`` for ``prefix``."""
    return {":prefix": {"S": prefix}, ":prefix_end": {"S": prefix + PREFIX_END}}


def starting_with(attribute: UnicodeAttribute, prefix: str) -> Condition:
    """A PynamoDB range key condition: the sort keys that start with ``prefix``."""
    return attribute.between(prefix, prefix + PREFIX_END)


def contact_sk(contact_id: int) -> str:
    return f"{CONTACT_MARK}{contact_id:0{ID_WIDTH}d}"


def dependants_prefix(contact_id: int) -> str:
    return f"D#{contact_id:0{ID_WIDTH}d}#"


def note_sk(contact_id: int, note_id: int) -> str:
    return f"{dependants_prefix(contact_id)}N#{note_id:0{ID_WIDTH}d}"


def history_sk(contact_id: int, number: int) -> str:
    return f"{dependants_prefix(contact_id)}H#{number:0{ID_WIDTH}d}"


def notes_prefix(contact_id: int) -> str:
    return f"{dependants_prefix(contact_id)}N#"


def history_prefix(contact_id: int) -> str:
    return f"{dependants_prefix(contact_id)}H#"


def posting_sk(term: str, contact_id: int) -> str:
    return f"{posting_prefix(term)}{contact_id:0{ID_WIDTH}d}"


def posting_prefix(term: str, whole: bool = True) -> str:
    """Where the postings of ``term`` start; not ``whole``: of every term that starts so."""
    return f"X#{term}#" if whole else f"X#{term}"


def count_sk(what: str, user_id: int | None = None) -> str:
    """``COUNT#contacts`` (imports, calls, custom_fields...): the account's; with ``user_id``, that
    user's share (``COUNT#contacts#U7``: the private contacts user 7 owns)."""
    return f"COUNT#{what}" if user_id is None else f"COUNT#{what}#U{user_id}"


def contact_counts_prefix(contact_id: int) -> str:
    """Where a contact's own counts of its calls, messages and photos sort (crm.activities)."""
    return f"{dependants_prefix(contact_id)}COUNT#"


KEY_MARK, IMPORT_MARK, EXPORT_MARK, CUSTOM_FIELD_MARK = "KEY#", "I#", "EXPORT#", "CF#"
TAG_MARKS = ("TAG#", "TAGU#")  # every tag's counts, and every owner's


def user_sk(user_id: int) -> str:
    return f"USER#{user_id}"


def key_sk(key_id: str) -> str:
    return f"{KEY_MARK}{key_id}"


def rate_sk(key_id: str, window: int) -> str:
    return f"RATE#{key_id}#{window}"


def idempotency_sk(idempotency_key: str) -> str:
    return f"IDEM#{idempotency_key}"


def custom_field_name_sk(digest: str) -> str:
    return f"CFNAME#{digest}"


def import_marker_sk(digest: str) -> str:
    return f"IMPORTKEY#{digest}"


class Item(Model):
    """Base of every item: the table's keys and its binding (see ``crm.storage.db.bind``)."""

    class Meta:
        table_name = settings.table_name
        host = settings.dynamodb_endpoint
        region = settings.region

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)

    @classmethod
    def _get_connection(cls) -> TableConnection:
        # PynamoDB keeps a connection, and so a botocore client, per model class; every item here
        # lives in one table with one key schema, so they share Item's: one client per container.
        return super(Item, Item)._get_connection.__func__(Item)  # type: ignore[attr-defined]


def table_client() -> tuple[Any, str]:
    """The low-level DynamoDB client PynamoDB holds for the table, and the table's name: for the
    reads and batches its models do not express (raw key ranges, projections, BatchWriteItem)."""
    return Item._get_connection().connection.client, Item.Meta.table_name


ACCOUNT_SK = "ACCOUNT"  # the account's own item


class AccountItem(Item):
    name = UnicodeAttribute()
    created_at = UnicodeAttribute()
    default_region = UnicodeAttribute(null=True)  # its phone numbers' (crm.accounts); null: US


class UserItem(Item):
    user_id = NumberAttribute()
    name = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()


class KeyItem(Item):
    key_id = UnicodeAttribute()
    user_id = NumberAttribute()
    scope = UnicodeAttribute()
    secret_sha256 = UnicodeAttribute()
    name = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    revoked_at = UnicodeAttribute(null=True)
    # A form key (web form): it may only create contacts in this project, through /forms/contacts,
    # at most ``per_minute`` a minute.
    form_project = UnicodeAttribute(null=True)
    per_minute = NumberAttribute(null=True)


class SequenceItem(Item):
    value = NumberAttribute(default=0)


class CountItem(Item):
    contacts = NumberAttribute(default=0)
    private = NumberAttribute(default=0)
    imports = NumberAttribute(default=0)


class ContactItem(Item):
    """A contact: one attribute per field of crm.fields.CONTACT_FIELDS, in its order
    (tests/test_models.py checks that they stay alike), then what only the API keeps."""

    id = NumberAttribute(null=True)
    user_id = NumberAttribute(null=True)
    created_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
    last_action_at = UnicodeAttribute(null=True)
    version = NumberAttribute(null=True)
    title = UnicodeAttribute(null=True)
    first_name = UnicodeAttribute(null=True)
    middle_name = UnicodeAttribute(null=True)
    last_name = UnicodeAttribute(null=True)
    suffix = UnicodeAttribute(null=True)
    company = UnicodeAttribute(null=True)
    job_title = UnicodeAttribute(null=True)
    department = UnicodeAttribute(null=True)
    gender = UnicodeAttribute(null=True)
    spouse = UnicodeAttribute(null=True)
    children = UnicodeAttribute(null=True)
    assistant = UnicodeAttribute(null=True)
    is_company = BooleanAttribute(null=True)
    assistants_phone = UnicodeAttribute(null=True)
    birthday = UnicodeAttribute(null=True)
    anniversary = UnicodeAttribute(null=True)
    background = UnicodeAttribute(null=True)
    email_address = UnicodeAttribute(null=True)
    email_address_2 = UnicodeAttribute(null=True)
    email_address_3 = UnicodeAttribute(null=True)
    preferred_email_index = NumberAttribute(null=True)
    business_phone = UnicodeAttribute(null=True)
    business_phone_2 = UnicodeAttribute(null=True)
    business_fax = UnicodeAttribute(null=True)
    home_phone = UnicodeAttribute(null=True)
    home_phone_2 = UnicodeAttribute(null=True)
    home_fax = UnicodeAttribute(null=True)
    mobile_phone = UnicodeAttribute(null=True)
    mobile_phone_2 = UnicodeAttribute(null=True)
    other_phone = UnicodeAttribute(null=True)
    other_fax = UnicodeAttribute(null=True)
    skype_name = UnicodeAttribute(null=True)
    preferred_phone_index = NumberAttribute(null=True)
    business_street = UnicodeAttribute(null=True)
    business_street_2 = UnicodeAttribute(null=True)
    business_city = UnicodeAttribute(null=True)
    business_state = UnicodeAttribute(null=True)
    business_postal_code = UnicodeAttribute(null=True)
    business_country = UnicodeAttribute(null=True)
    home_street = UnicodeAttribute(null=True)
    home_street_2 = UnicodeAttribute(null=True)
    home_city = UnicodeAttribute(null=True)
    home_state = UnicodeAttribute(null=True)
    home_postal_code = UnicodeAttribute(null=True)
    home_country = UnicodeAttribute(null=True)
    other_street = UnicodeAttribute(null=True)
    other_street_2 = UnicodeAttribute(null=True)
    other_city = UnicodeAttribute(null=True)
    other_state = UnicodeAttribute(null=True)
    other_postal_code = UnicodeAttribute(null=True)
    other_country = UnicodeAttribute(null=True)
    url = UnicodeAttribute(null=True)
    url_2 = UnicodeAttribute(null=True)
    url_3 = UnicodeAttribute(null=True)
    user_1 = UnicodeAttribute(null=True)
    user_2 = UnicodeAttribute(null=True)
    user_3 = UnicodeAttribute(null=True)
    user_4 = UnicodeAttribute(null=True)
    tags = ListAttribute(of=UnicodeAttribute, null=True)
    project_ids = ListAttribute(of=UnicodeAttribute, null=True)
    assigned_to_id = NumberAttribute(null=True)
    is_private = BooleanAttribute(null=True)
    custom_fields = JSONAttribute(null=True)
    external_id = UnicodeAttribute(null=True)
    # Internal: how many history entries and notes the contact has (totals for their lists).
    history_count = NumberAttribute(default=0)
    notes_count = NumberAttribute(default=0)
    # Internal: the contact's current photo, shown as ``photo_url`` (crm.photos).
    photo_id = NumberAttribute(null=True)
    # Internal: the id its source gave it (a vCard's UID), which a re-import matches (crm.imports).
    source_uid = UnicodeAttribute(null=True)
    # Internal: the search terms the contact is indexed under, with their field codes (crm.index).
    search_terms = JSONAttribute(null=True)
    # Its phone numbers that parse, in E.164 (crm.phones), by field: shown, never sent.
    phones_e164 = JSONAttribute(null=True)


class PostingItem(Item):
    """The contact at the end of the sort key is found by the term in it (crm.index)."""

    f = UnicodeAttribute(null=True)  # codes of the fields a word was found in
    o = NumberAttribute(null=True)  # owner of a private contact


def lookup_sk(term: str) -> str:
    return f"E#{term}"


class LookupItem(Item):
    """The contacts a value names exactly (crm.index): everyone's ids in ``p``; a private one's as
    ``<owner>:<id>`` in ``q``, so a key that may not see it passes it by without reading it."""

    p = NumberSetAttribute(null=True)
    q = UnicodeSetAttribute(null=True)


class TagCountItem(Item):
    name = UnicodeAttribute(null=True)  # the tag as last written
    n = NumberAttribute(default=0)  # contacts with it
    p = NumberAttribute(default=0)  # of them, private ones (on TAG# items)


def tag_sk(term: str, owner: int | None = None) -> str:
    return f"{TAG_MARKS[0]}{term}" if owner is None else f"{TAG_MARKS[1]}{owner}#{term}"


def merged_sk(contact_id: int) -> str:
    return f"MERGED#{contact_id:0{ID_WIDTH}d}"


class MergedItem(Item):
    """A contact merged into another (crm.merges): kept, so that its id answers 404 naming the
    contact it became part of."""

    into = NumberAttribute()
    o = NumberAttribute(null=True)  # its owner, if it was private: only who could see it learn where it went
    merged_at = UnicodeAttribute()
    terms = JSONAttribute(null=True)  # the terms it was indexed under, whose postings the merge removes


def merge_sk(survivor_id: int) -> str:
    return f"G#{survivor_id:0{ID_WIDTH}d}"


class MergeItem(Item):
    """A merge committed but not finished (crm.merges): the contacts it took in, and the terms the
    survivor's postings were written for before it; deleted once everything has moved."""

    merged = ListAttribute(of=NumberAttribute)
    old_terms = JSONAttribute(null=True)
    merged_at = UnicodeAttribute()


class NoteItem(Item):
    id = NumberAttribute()
    contact_id = NumberAttribute()
    user_id = NumberAttribute()
    subject = UnicodeAttribute(null=True)  # Redmine CRM's
    body = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = NumberAttribute(default=1)
    refs = ListAttribute(of=UnicodeAttribute, null=True)  # its NoteRefItem, which goes with it


class NoteRefItem(Item):
    """``N#<note id>``: the contact of a note, so that Redmine's ``/notes/{id}`` finds it by one read."""

    contact_id = NumberAttribute()


def note_ref_sk(note_id: int) -> str:
    return f"N#{note_id:0{ID_WIDTH}d}"


def with_ref(note: NoteItem) -> list[Item]:
    """A new note and its ``N#`` item, to be written together; the note's ``refs`` name it, so the
    cleanup of a deleted contact deletes both."""
    ref = note_ref_sk(int(note.id))
    note.refs = [ref]
    return [note, NoteRefItem(note.pk, ref, contact_id=int(note.contact_id))]


class HistoryItem(Item):
    number = NumberAttribute()
    contact_id = NumberAttribute()
    action = UnicodeAttribute()  # created, updated, deleted
    subject = UnicodeAttribute(default="contact")  # what changed: the contact, a note, a call, ...
    note_id = NumberAttribute(null=True)
    record_id = NumberAttribute(null=True)  # the call's (message's, ...) id
    user_id = NumberAttribute()
    key_id = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    version = NumberAttribute(null=True)
    changes = JSONAttribute()  # [{"field": ..., "old_value": ..., "new_value": ...}]
    owner = NumberAttribute(null=True)  # the contact's owner if it was private: who alone sees the change


FEED_MARK = "F#"
SEQUENCE_WIDTH = 40  # a stream record's sequence number is at most 40 digits


def feed_sk(epoch_seconds: int, sequence: str) -> str:
    """Sorted as committed: by the stream record's time, then its sequence number (which grows
    with it in a partition, and every item of an account is in one)."""
    return f"{FEED_MARK}{epoch_seconds:010d}#{int(sequence):0{SEQUENCE_WIDTH}d}"


class FeedItem(Item):
    """A change of the account's, as ``GET /changes`` shows it, written from the history entry
    that recorded it (crm.changes)."""

    entry_id = UnicodeAttribute()
    type = UnicodeAttribute()
    resource = UnicodeAttribute()
    resource_id = NumberAttribute()
    contact_id = NumberAttribute()
    user_id = NumberAttribute()
    key_id = UnicodeAttribute(null=True)
    at = UnicodeAttribute()
    changes = JSONAttribute(null=True)
    o = NumberAttribute(null=True)  # as a posting's: the owner of a private contact
    expires_at = NumberAttribute()


WEBHOOK_MARK, DELIVERY_MARK = "WH#", "WHD#"


def webhook_sk(webhook_id: int) -> str:
    return f"{WEBHOOK_MARK}{webhook_id:0{ID_WIDTH}d}"


def delivery_sk(webhook_id: int, feed_place: str) -> str:
    """A delivery's key: its webhook's, then its feed entry's place (``feed_sk`` without its mark),
    so a webhook's deliveries list in the feed's order."""
    return f"{DELIVERY_MARK}{webhook_id:0{ID_WIDTH}d}#{feed_place}"


def deliveries_of(webhook_id: int) -> str:
    return f"{DELIVERY_MARK}{webhook_id:0{ID_WIDTH}d}#"


class WebhookItem(Item):
    """A subscription to the account's changes: where they are posted, which, and how signed."""

    id = NumberAttribute()
    url = UnicodeAttribute()
    events = ListAttribute(of=UnicodeAttribute)  # feed entry types
    fields = ListAttribute(of=UnicodeAttribute, null=True)  # an update fires only if one changed
    secret = UnicodeAttribute()  # whsec_...: signs every delivery
    previous_secret = UnicodeAttribute(null=True)  # the one before a rotation, still signing until:
    previous_until = NumberAttribute(null=True)  # epoch seconds
    enabled = BooleanAttribute(default=True)
    disabled_reason = UnicodeAttribute(null=True)
    failing_since = NumberAttribute(null=True)  # epoch seconds of the first failure since a success
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class DeliveryItem(Item):
    """One feed entry to be posted to one webhook, and how its attempts went. ``body`` is the
    exact bytes every attempt sends (as the signature covers them)."""

    webhook_id = NumberAttribute()
    delivery_id = UnicodeAttribute()
    event = UnicodeAttribute()
    entry_id = UnicodeAttribute()
    contact_id = NumberAttribute()
    body = UnicodeAttribute()
    status = UnicodeAttribute()  # pending, succeeded, failed
    attempts = NumberAttribute(default=0)
    first_at = NumberAttribute()  # epoch seconds it was first queued: retries stop a day after
    last_attempt_at = UnicodeAttribute(null=True)
    last_status_code = NumberAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    next_attempt_at = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    expires_at = NumberAttribute()


class CustomFieldItem(Item):
    """A custom field the account's contacts may carry (their values live on the contact)."""

    id = NumberAttribute()
    name = UnicodeAttribute()
    field_format = UnicodeAttribute()  # string, integer, date, boolean, list
    possible_values = ListAttribute(of=UnicodeAttribute, null=True)
    is_required = BooleanAttribute(default=False)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = NumberAttribute(default=1)


def custom_field_sk(field_id: int) -> str:
    return f"{CUSTOM_FIELD_MARK}{field_id:0{ID_WIDTH}d}"


class CustomFieldNameItem(Item):
    """``CFNAME#<hash of the folded name>``: holds a custom field's name for it, so names stay unique."""

    field_id = NumberAttribute()


class CustomFieldCountItem(Item):
    """``COUNT#custom_fields``: how many custom fields the account has (crm.custom_fields caps it),
    and the generation of its definitions, which every change of one moves on (a container's copy
    of them is good while it is the same)."""

    custom_fields = NumberAttribute(default=0)
    generation = NumberAttribute(default=0)


# The states crm.activities counts records in: a call is open or completed; a message is its
# channel's and direction's first letters (email inbound: ei); a photo is waiting for its upload,
# ready or rejected.
STATES = ("o", "c", "a", "ei", "eo", "si", "so", "oi", "oo", "w", "r", "x")


class ActivityCountItem(Item):
    """How many records of a kind the account (or one contact, or the private contacts of one user)
    holds, by state (crm.activities): one attribute per state of STATES, and, as p<state>, the
    account's count of those about private contacts, so that a list's total for a key counts what
    it may see."""

    o = NumberAttribute(default=0)
    c = NumberAttribute(default=0)
    a = NumberAttribute(default=0)
    ei = NumberAttribute(default=0)
    eo = NumberAttribute(default=0)
    si = NumberAttribute(default=0)
    so = NumberAttribute(default=0)
    oi = NumberAttribute(default=0)
    oo = NumberAttribute(default=0)
    w = NumberAttribute(default=0)
    r = NumberAttribute(default=0)
    x = NumberAttribute(default=0)
    po = NumberAttribute(default=0)
    pc = NumberAttribute(default=0)
    pa = NumberAttribute(default=0)
    pei = NumberAttribute(default=0)
    peo = NumberAttribute(default=0)
    psi = NumberAttribute(default=0)
    pso = NumberAttribute(default=0)
    poi = NumberAttribute(default=0)
    poo = NumberAttribute(default=0)
    pw = NumberAttribute(default=0)
    pr = NumberAttribute(default=0)
    px = NumberAttribute(default=0)
    # A contact's: the sort key of the account's count, which loses the contact's when it goes.
    account_count = UnicodeAttribute(null=True)


class _Record(Item):
    """What every call, message and photo item has beside its fields."""

    # On the contact's copy: the record's other copies, which go when the contact goes (crm.cascade).
    refs = ListAttribute(of=UnicodeAttribute, null=True)


class CallItem(_Record):
    """A call to make or made: one attribute per field of crm.fields.CALL_FIELDS."""

    id = NumberAttribute(null=True)
    contact_id = NumberAttribute(null=True)
    user_id = NumberAttribute(null=True)
    subject = UnicodeAttribute(null=True)
    body = UnicodeAttribute(null=True)
    due_at = UnicodeAttribute(null=True)
    duration_seconds = NumberAttribute(null=True)
    outcome = UnicodeAttribute(null=True)
    completed_at = UnicodeAttribute(null=True)
    assigned_to_id = NumberAttribute(null=True)
    created_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
    version = NumberAttribute(null=True)


class MessageItem(_Record):
    """An email or text with a contact: one attribute per field of crm.fields.MESSAGE_FIELDS
    (``from`` is a Python keyword: the attribute is ``from_``, stored as ``from``)."""

    id = NumberAttribute(null=True)
    contact_id = NumberAttribute(null=True)
    user_id = NumberAttribute(null=True)
    channel = UnicodeAttribute(null=True)
    direction = UnicodeAttribute(null=True)
    subject = UnicodeAttribute(null=True)
    body = UnicodeAttribute(null=True)
    sent_at = UnicodeAttribute(null=True)
    from_ = UnicodeAttribute(null=True, attr_name="from")
    to = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
    version = NumberAttribute(null=True)


class PhotoItem(_Record):
    """A contact's photo (its image is in S3): one attribute per field of crm.fields.PHOTO_FIELDS."""

    id = NumberAttribute(null=True)
    contact_id = NumberAttribute(null=True)
    user_id = NumberAttribute(null=True)
    caption = UnicodeAttribute(null=True)
    content_type = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)
    size = NumberAttribute(null=True)
    error = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
    version = NumberAttribute(null=True)


def import_sk(import_id: int) -> str:
    return f"{IMPORT_MARK}{import_id:0{ID_WIDTH}d}"


def import_errors_prefix(import_id: int) -> str:
    # Not under I#: listing imports reads only imports.
    return f"IE#{import_id:0{ID_WIDTH}d}#"


def import_error_sk(import_id: int, line: int) -> str:
    return f"{import_errors_prefix(import_id)}{line:0{ID_WIDTH}d}"


class ImportItem(Item):
    """An import of a file of contacts: what was asked, where it stands, and its checkpoint."""

    id = NumberAttribute()
    user_id = NumberAttribute()  # whose contacts the rows become
    key_id = UnicodeAttribute(null=True)
    is_admin = BooleanAttribute(default=False)  # the key's reach: an admin's import sees every contact
    status = UnicodeAttribute()  # waiting_for_upload, running, completed, failed
    format = UnicodeAttribute()
    filename = UnicodeAttribute()
    on_duplicate = UnicodeAttribute()
    object_key = UnicodeAttribute()
    object_version = UnicodeAttribute(null=True)  # the version of the file it imports (the bucket is versioned)
    size = NumberAttribute(null=True)
    rows_total = NumberAttribute(default=0)
    rows_imported = NumberAttribute(default=0)
    rows_updated = NumberAttribute(default=0)
    rows_skipped = NumberAttribute(default=0)
    rows_failed = NumberAttribute(default=0)
    errors = JSONAttribute(null=True)  # the first failed rows: [{"line": n, "messages": [...]}]
    warnings = ListAttribute(of=UnicodeAttribute, null=True)
    error = UnicodeAttribute(null=True)  # why a failed import failed
    report_key = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    started_at = UnicodeAttribute(null=True)
    finished_at = UnicodeAttribute(null=True)
    # The worker's checkpoint: rows done, the plan of the chunk under way, runs at this point.
    cursor = NumberAttribute(default=0)
    tags_counted = NumberAttribute(null=True)  # groups of the chunk's tag counts applied (crm.tags)
    plan = JSONAttribute(null=True)
    attempts = NumberAttribute(default=0)


class ImportErrorItem(Item):
    """A failed row of an import: its line and the messages the API would give for it. The table's
    TTL removes it (``expires_at``, epoch seconds) when its import's report has expired too."""

    line = NumberAttribute()
    messages = ListAttribute(of=UnicodeAttribute)
    expires_at = NumberAttribute()


class ImportKeyItem(Item):
    """The import a dropped file became, so a repeated event finds it instead of starting another."""

    import_id = NumberAttribute()


def export_sk(export_id: int) -> str:
    return f"{EXPORT_MARK}{export_id:0{ID_WIDTH}d}"


class ExportItem(Item):
    """An export of contacts to a file: what was asked, whose reach it has, where it stands."""

    id = NumberAttribute()
    user_id = NumberAttribute()
    key_id = UnicodeAttribute(null=True)
    is_admin = BooleanAttribute(default=False)  # the key's reach: an admin's export has every contact
    status = UnicodeAttribute()  # running, completed, failed
    format = UnicodeAttribute()
    columns = UnicodeAttribute(null=True)  # a CSV export's layout
    filters = JSONAttribute(null=True)  # GET /contacts' parameters, as text
    object_key = UnicodeAttribute()
    rows_exported = NumberAttribute(default=0)
    size = NumberAttribute(null=True)
    error = UnicodeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    started_at = UnicodeAttribute(null=True)
    finished_at = UnicodeAttribute(null=True)
    expires_at = NumberAttribute()  # epoch seconds: the table's TTL, as the file's lifecycle rule


class FormSettingsItem(Item):
    """The pages an account's web forms may be posted from (CORS origins), and the URLs they may
    send the browser to after a success."""

    origins = UnicodeSetAttribute(null=True)
    redirects = UnicodeSetAttribute(null=True)


class RateItem(Item):
    """Submissions of one form key in one minute; the table's TTL removes it afterwards."""

    hits = NumberAttribute(default=0)
    expires_at = NumberAttribute()
