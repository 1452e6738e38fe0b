"""The search index: the terms a contact is found by, kept as items beside it.

DynamoDB has no full-text search, so every contact writes one small *posting* item per term,
``X#<term>#<contact id:010>``, in the same transaction as the contact itself. A query then reads
only postings of its terms (``crm.search``): its cost follows the number of contacts its
narrowest term matches, never the number the account holds. Terms:

    w:<word>      a word of a searched field, folded (lower case, no accents, no punctuation);
                  its posting's ``f`` lists the fields it came from, so ``searchby`` needs no
                  other item
    t:<tag>       a tag                       p:<project>   a project id or identifier
    a:<user id>   assigned_to_id              c:1 / c:0     is_company
    k:<name>      the company it works for    u:<updated_at>  the last change (updated_since)

A phone number is found by the digits it was written with, by its national number and by its
international one (crm.phones), so that ``2024561414`` and ``+12024561414`` both find
``+1 (202) 456-1414``.

Some values are also looked up exactly: each email address, whatever its case, each phone
number, however written (by its E.164 form), the id its source gave it (a vCard's UID), which an
import finds its duplicates by, its ``external_id``, and its name at its company (which
``GET /contacts/{id}/duplicates`` finds beside the others). Their terms (``=e:<hash>``,
``=t:<hash>``, ``=i:<hash>``, ``=x:<hash>``, ``=n:<hash>``) name one *lookup* item each,
``E#<term>``, holding the ids of every contact with that value: ``GET /contacts/lookup`` and a
chunk of rows read them with one BatchGetItem, whatever the account's size. At most MAX_SHARED
contacts may share one such value; an ``external_id`` names one contact at most, which the
transaction that gives it to a contact makes sure of (``stage``'s condition), so that two writers
at once cannot both take it.

A private contact's postings carry its owner in ``o``, so a search drops other users' private
contacts without reading them; so do its ids in lookup items. The contact keeps the terms it was
indexed under (its ``search_terms``), so the postings of a change or a delete are exactly the
ones to replace, whatever version of this module wrote them.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from pynamodb.expressions.condition import size

from crm import phones
from crm.errors import Conflict, Unprocessable
from crm.storage.items import LookupItem, PostingItem, account_pk, lookup_sk, posting_sk

# Everything one change can write must fit one transaction (100 actions): the contact, its history
# entry, two counters, and for each term at most a delete and a put.
MAX_TERMS = 48
WORD_MAX = 40  # longer words are indexed (and searched) by their first 40 characters
NAME_MAX = 100

# Where a word was found, as one character per field (posting items stay small). Never reuse a code.
WORD_FIELDS = {
    "first_name": "f",
    "middle_name": "m",
    "last_name": "l",
    "company": "c",
    "job_title": "j",
}
EMAIL_FIELDS = {"email_address": "e", "email_address_2": "g", "email_address_3": "h"}
PHONE_FIELDS = {
    "business_phone": "1",
    "business_phone_2": "2",
    "business_fax": "3",
    "home_phone": "4",
    "home_phone_2": "5",
    "home_fax": "6",
    "mobile_phone": "7",
    "mobile_phone_2": "8",
    "other_phone": "9",
    "other_fax": "0",
    "assistants_phone": "a",
}
SEARCHED = {**WORD_FIELDS, **EMAIL_FIELDS, **PHONE_FIELDS}
# searchby also takes the minimal API's names for groups of fields.
FIELD_GROUPS = {
    "name": ("first_name", "middle_name", "last_name"),
    "email": tuple(EMAIL_FIELDS),
    "phone": tuple(PHONE_FIELDS),
}

# Letters that Unicode does not decompose into a base letter and an accent.
_LETTERS = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe", "\u0131": "i"})
_NOT_WORD = re.compile(r"[\W_]+")


def fold(text: str) -> str:
    """Lower case without accents: ``José`` -> ``jose``, ``Straße`` -> ``strasse``."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_LETTERS)


def words(text: str) -> set[str]:
    """The words a text is found by: each whitespace-separated token joined (``o'brien`` ->
    ``obrien``), and its parts (``jean-pierre`` -> ``jeanpierre``, ``jean``, ``pierre``)."""
    found: set[str] = set()
    for token in fold(text).split():
        found.add(_NOT_WORD.sub("", token))
        found.update(_NOT_WORD.split(token))
    return {word[:WORD_MAX] for word in found if word}


def query_words(text: str) -> list[str]:
    """A search string as the prefixes to look up: each token joined, as it was indexed."""
    joined = (_NOT_WORD.sub("", token)[:WORD_MAX] for token in fold(text).split())
    return list(dict.fromkeys(word for word in joined if word))


def _email_words(address: str) -> set[str]:
    folded = fold(address.strip())
    local, _, domain = folded.partition("@")
    return {w[:WORD_MAX] for w in (_NOT_WORD.sub("", part) for part in (folded, local, domain)) if w}


def exact(kind: str, value: Any) -> str:
    """The term of an exact filter value (tags, projects and company names ignore case and accents)."""
    text = " ".join(fold(str(value)).split())[:NAME_MAX]
    return f"{kind}:{quote(text, safe='')}"


LOOKUP = "="  # the mark of a lookup item's term
MAX_SHARED = 1000  # contacts that one email address, phone number, name at a company or UID may name
SHARED_TOO_OFTEN = (
    f"At most {MAX_SHARED} contacts may share one email address, phone number, name at one company or vCard UID"
)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def email_key(address: str) -> str:
    """The lookup term of an email address: the same whatever its case and the spaces around it."""
    return f"{LOOKUP}e:{_digest(address.strip().lower())}"


def phone_key(number: phones.Number) -> str | None:
    """The lookup term of a phone number, the same however it was written; None for one too short
    to name anyone (an extension)."""
    key = number.key
    return f"{LOOKUP}t:{_digest(key)}" if len(phones.digits(key)) >= phones.MIN_DIGITS else None


def external_key(external_id: str) -> str:
    """The lookup term of an ``external_id``: exact, as sent but for the spaces around it."""
    return f"{LOOKUP}x:{_digest(external_id.strip())}"


UNIQUE = f"{LOOKUP}x:"  # the mark of a term that names one contact at most


def is_unique(term: str) -> bool:
    return term.startswith(UNIQUE)


def name_key(values: Any) -> str | None:
    """The lookup term of a person's name at a company (``Ada Lovelace`` at ``Engines``), whatever
    their case, accents and spacing; None without a name or a company."""
    name = " ".join(fold(str(values.get(part) or "")) for part in ("first_name", "last_name")).split()
    company = " ".join(fold(str(values.get("company") or "")).split())
    return f"{LOOKUP}n:{_digest(' '.join(name) + '|' + company)}" if name and company else None


def uid_key(uid: str) -> str:
    """The lookup term of a source's own id (a vCard's UID), exact, of any length."""
    return f"{LOOKUP}i:{_digest(uid)}"


def lookups(values: Any, uid: str | None, region: str = phones.DEFAULT_REGION) -> list[str]:
    """The lookup terms of a contact's values (a mapping of fields) and its source's UID; its phone
    numbers are read in ``region``."""
    terms = [email_key(values[name]) for name in EMAIL_FIELDS if values.get(name)]
    numbers = (phone_key(phones.number(values[name], region)) for name in PHONE_FIELDS if values.get(name))
    external = (values.get("external_id") or "").strip()
    extra = [*([uid_key(uid)] if uid else []), *([external_key(external)] if external else []), name_key(values)]
    return list(dict.fromkeys([*terms, *filter(None, [*numbers, *extra])]))


def is_lookup(term: str) -> bool:
    return term.startswith(LOOKUP)


@dataclass(frozen=True)
class Named:
    """What a lookup item names: the ids a key may see (private ones: their owner's), and how
    many contacts it names in all."""

    visible: frozenset[int]
    total: int
    private: int = 0  # of the total, private contacts (their owner:id entries)

    def unchanged(self) -> Any:
        """The condition that the item still names as many contacts of each kind."""
        public = self.total - self.private
        p = LookupItem.p.does_not_exist() if not public else size(LookupItem.p) == public
        return p & (LookupItem.q.does_not_exist() if not self.private else size(LookupItem.q) == self.private)


NOBODY = Named(frozenset(), 0)  # what a term no item names yet names


def named(principal: Any, lookup_terms: Iterable[str], consistent: bool = True) -> dict[str, Named]:
    """The contacts each lookup term names, read by exact keys (BatchGetItem, 100 to a request);
    a term that names none is left out."""
    pk = account_pk(principal.account_id)
    keys = [(pk, lookup_sk(term)) for term in dict.fromkeys(lookup_terms)]
    found: dict[str, Named] = {}
    for item in LookupItem.batch_get(keys, consistent_read=consistent) if keys else ():
        visible = set(item.p or ())
        for entry in item.q or ():
            owner, _, contact_id = entry.partition(":")
            if principal.is_admin or int(owner) == principal.user_id:
                visible.add(int(contact_id))
        private = len(item.q or ())
        if total := len(item.p or ()) + private:
            found[item.sk[len(lookup_sk("")) :]] = Named(frozenset(int(i) for i in visible), total, private)
    return found


def taken_by(contact_id: int | None) -> str:
    """Why an ``external_id`` cannot be given: the contact that has it, if the key may see it."""
    if contact_id:
        return f"Contact {contact_id} has this external_id already"
    return "A contact this key may not see has this external_id already"


def taken(found: Named) -> Conflict:
    """The 409 of an ``external_id`` another contact has."""
    return Conflict(taken_by(min(found.visible) if found.visible else None))


def check_shared(
    principal: Any, old: dict[str, str], new: dict[str, str], leaving: frozenset[int] = frozenset()
) -> dict[str, Named]:
    """422 if a value the contact is about to take (an email address, a UID) names MAX_SHARED
    contacts already: a lookup item stays small enough to read in one unit or two; 409 if its
    ``external_id`` is another contact's. ``leaving``: contacts that give their values up in the
    same change (a merge's), which count for neither. Returns what the new terms name."""
    added = [term for term in new.keys() - old.keys() if is_lookup(term)]
    found = named(principal, added, consistent=any(map(is_unique, added))) if added else {}
    for term, names in found.items():
        others = names.total - len(names.visible & leaving)
        if is_unique(term) and others:
            raise taken(Named(names.visible - leaving, others))
        if others >= MAX_SHARED:
            raise Unprocessable(SHARED_TOO_OFTEN)
    return found


def terms(contact: Any, region: str = phones.DEFAULT_REGION) -> dict[str, str]:
    """Every term ``contact`` is found by, with the field codes of its words ("" for other terms);
    its phone numbers are read in ``region``, its account's (crm.accounts)."""
    found: dict[str, set[str]] = {}
    for name, code in SEARCHED.items():
        value = getattr(contact, name)
        if not value:
            continue
        if name in EMAIL_FIELDS:
            field_words = _email_words(value)
        elif name in PHONE_FIELDS:
            field_words = {digits[:WORD_MAX] for digits in phones.number(value, region).searched}
        else:
            field_words = words(value)
        for word in field_words:
            found.setdefault(f"w:{word}", set()).add(code)
    indexed = {term: "".join(sorted(codes)) for term, codes in found.items()}
    for tag in contact.tags or ():
        indexed[exact("t", tag)] = ""
    for project in contact.project_ids or ():
        indexed[exact("p", project)] = ""
    if contact.assigned_to_id is not None:
        indexed[f"a:{int(contact.assigned_to_id)}"] = ""
    indexed["c:1" if contact.is_company else "c:0"] = ""
    if (contact.company or "").strip():
        indexed[exact("k", contact.company)] = ""
    indexed[f"u:{contact.updated_at}"] = ""
    looked_up = (*EMAIL_FIELDS, *PHONE_FIELDS, "external_id", "first_name", "last_name", "company")
    values = {name: getattr(contact, name) for name in looked_up}
    indexed.update(dict.fromkeys(lookups(values, contact.source_uid, region), ""))
    if len(indexed) > MAX_TERMS:
        raise Unprocessable(
            f"A contact can be found by at most {MAX_TERMS} words, tags and projects together; "
            f"this one would have {len(indexed)}"
        )
    return indexed


def owner(contact: Any) -> int | None:
    """Who alone (with admins) may find the contact: its owner if it is private, else nobody."""
    return int(contact.user_id) if contact.is_private else None


def postings(contact: Any) -> list[Any]:
    """The posting items of a new contact: what ``stage`` saves from no terms, for a batch write
    (its lookups are ``add_lookups``')."""
    return [
        PostingItem(contact.pk, posting_sk(term, int(contact.id)), f=codes or None, o=owner(contact))
        for term, codes in contact.search_terms.items()
        if not is_lookup(term)
    ]


def _naming(contact_id: int, owner: int | None) -> tuple[Any, Any]:
    """A lookup item's set that names the contact, and its entry in it."""
    return (LookupItem.p, contact_id) if owner is None else (LookupItem.q, f"{owner}:{contact_id}")


def _lookup_change(contact_id: int, old_owner: int | None, new_owner: int | None, adds: bool, drops: bool) -> list[Any]:
    # Owners never change (a contact's user_id is read-only), so a move is between p and q: one
    # update expression may not touch one set twice.
    actions = []
    if drops:
        attribute, entry = _naming(contact_id, old_owner)
        actions.append(attribute.delete({entry}))
    if adds:
        attribute, entry = _naming(contact_id, new_owner)
        actions.append(attribute.add({entry}))
    return actions


def add_lookups(contact: Any) -> list[tuple[Any, list[Any], Any]]:
    """The lookup items that must name a new contact, each with its update (adding to a set, so
    that a replay changes nothing; a batch write cannot add to a set) and its condition: a unique
    term's item may name no other contact."""
    attribute, entry = _naming(int(contact.id), owner(contact))
    changes = [attribute.add({entry})]
    alone = NOBODY.unchanged()
    return [
        (
            LookupItem(contact.pk, lookup_sk(term)),
            changes,
            (alone | attribute.contains(entry)) if is_unique(term) else None,
        )
        for term in contact.search_terms
        if is_lookup(term)
    ]


def stage(
    tx: Any,
    account_id: str,
    contact_id: int,
    old: dict[str, str],
    new: dict[str, str],
    old_owner: int | None,
    new_owner: int | None,
    exclusive: Mapping[str, Named] | None = None,
) -> None:
    """Stage the posting writes that take the contact from terms ``old`` to ``new`` in ``tx``. A
    unique lookup term new to the contact must name no contact yet, and one of ``exclusive`` as
    many as it did when read (an upsert's), else the transaction fails (ConditionFailed)."""
    as_read = exclusive or {}
    pk = account_pk(account_id)
    for term in old.keys() - new.keys():
        if is_lookup(term):
            tx.update(LookupItem(pk, lookup_sk(term)), actions=_lookup_change(contact_id, old_owner, None, False, True))
        else:
            tx.delete(PostingItem(pk, posting_sk(term, contact_id)))
    for term, codes in new.items():
        if old_owner == new_owner and term in old and old[term] == codes:
            continue  # unchanged
        if is_lookup(term):
            change = _lookup_change(contact_id, old_owner, new_owner, adds=True, drops=term in old)
            condition = None
            if term not in old and (is_unique(term) or term in as_read):
                condition = as_read.get(term, NOBODY).unchanged()
            tx.update(LookupItem(pk, lookup_sk(term)), actions=change, condition=condition)
        else:
            tx.save(PostingItem(pk, posting_sk(term, contact_id), f=codes or None, o=new_owner))
