"""The contacts that may be the same person as one (``GET /contacts/{id}/duplicates``): those
that share its email address, its phone number (however written) or its name at its company.

Each of the contact's values names its contacts in one lookup item (crm.index), so the search
reads the contact, its lookup items by their keys (one BatchGetItem) and the contacts they name:
never a scan, whatever the account's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm import index, search
from crm.auth import Principal
from crm.contact_reads import load_visible

# A lookup term's kind (its letter after the mark) and the reason it gives, strongest first: an
# external_id is one contact's alone, so it gives none (but for a contact stored before it was).
REASONS = {"x": "external_id", "e": "email", "t": "phone", "n": "name_and_company"}
STRENGTH = tuple(REASONS.values())
MAX_SHOWN = 100


@dataclass(frozen=True)
class Duplicate:
    contact: Any
    reasons: tuple[str, ...]  # strongest first


def _kind(term: str) -> str | None:
    return REASONS.get(term[len(index.LOOKUP)]) if index.is_lookup(term) else None


def of(principal: Principal, contact_id: int) -> list[Duplicate]:
    """The contacts the key may see that share a value with this one, those with the strongest
    reasons first (then the most reasons, then by id); at most MAX_SHOWN."""
    item = load_visible(principal, contact_id)
    terms = [term for term in item.search_terms or {} if _kind(term)]
    reasons: dict[int, set[str]] = {}
    for term, named in index.named(principal, terms).items():
        for other in named.visible - {contact_id}:
            reasons.setdefault(other, set()).add(_kind(term) or "")
    ordered = {i: tuple(sorted(found, key=STRENGTH.index)) for i, found in reasons.items()}
    ranked = sorted(ordered, key=lambda i: (STRENGTH.index(ordered[i][0]), -len(ordered[i]), i))[:MAX_SHOWN]
    return [Duplicate(contact, ordered[int(contact.id)]) for contact in search.contacts(principal, ranked)]
