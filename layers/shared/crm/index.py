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
    i:<hash>      the id its source gave it (a vCard's UID), which a re-import finds it by

A private contact's postings carry its owner in ``o``, so a search drops other users' private
contacts without reading them. The contact keeps the terms it was indexed under (its
``search_terms``), so the postings of a change or a delete are exactly the ones to replace,
whatever version of this module wrote them.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Any
from urllib.parse import quote

from crm.errors import Unprocessable
from crm.storage.items import ID_WIDTH, PostingItem, account_pk, posting_sk, starting_with

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
_NOT_DIGIT = re.compile(r"[^0-9]+")


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


def email_term(address: str) -> str:
    """The term of a whole email address (its words run together): the duplicates of an import."""
    return f"w:{_NOT_WORD.sub('', fold(address.strip()))[:WORD_MAX]}"


def uid_term(uid: str) -> str:
    """The term of a source's own id (a vCard's UID): exact, of any length."""
    return f"i:{hashlib.sha256(uid.encode()).hexdigest()[:32]}"


def found_by(principal: Any, term: str) -> list[int]:
    """The ids of the contacts found by ``term`` that this key may see (private ones: their owner's)."""
    prefix = posting_sk(term, 0)[:-ID_WIDTH]
    postings = PostingItem.query(account_pk(principal.account_id), starting_with(PostingItem.sk, prefix))
    return [
        int(p.sk[len(prefix) :]) for p in postings if p.o is None or principal.is_admin or int(p.o) == principal.user_id
    ]


def terms(contact: Any) -> dict[str, str]:
    """Every term ``contact`` is found by, with the field codes of its words ("" for other terms)."""
    found: dict[str, set[str]] = {}
    for name, code in SEARCHED.items():
        value = getattr(contact, name)
        if not value:
            continue
        if name in EMAIL_FIELDS:
            field_words = _email_words(value)
        elif name in PHONE_FIELDS:
            digits = _NOT_DIGIT.sub("", value)[:WORD_MAX]
            field_words = {digits} if digits else set()
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
    if contact.source_uid:
        indexed[uid_term(contact.source_uid)] = ""
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
    """The posting items of a new contact: what ``stage`` saves from no terms, for a batch write."""
    return [
        PostingItem(contact.pk, posting_sk(term, int(contact.id)), f=codes or None, o=owner(contact))
        for term, codes in contact.search_terms.items()
    ]


def stage(
    tx: Any,
    account_id: str,
    contact_id: int,
    old: dict[str, str],
    new: dict[str, str],
    old_owner: int | None,
    new_owner: int | None,
) -> None:
    """Stage the posting writes that take the contact from terms ``old`` to ``new`` in ``tx``."""
    pk = account_pk(account_id)
    for term in old.keys() - new.keys():
        tx.delete(PostingItem(pk, posting_sk(term, contact_id)))
    for term, codes in new.items():
        if old_owner == new_owner and old.get(term) == codes:
            continue  # unchanged
        tx.save(PostingItem(pk, posting_sk(term, contact_id), f=codes or None, o=new_owner))
