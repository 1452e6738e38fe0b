"""Contacts found by a value exactly (``GET /contacts/lookup``): an email address whatever its
case, a phone number however it is written, an ``external_id``. Each value names one lookup item
(crm.index), read by its key, so a lookup costs the same in an account of ten contacts or of ten
million."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from crm import accounts, index, phones, search
from crm.auth import Principal
from crm.errors import BadRequest
from crm.paging import Page, PageRequest, page_of

VALUE_MAX = 255  # as the fields the values are kept in
BY = ("email", "phone", "external_id")


def terms(principal: Principal, params: Mapping[str, str]) -> list[str]:
    """The lookup terms a request asks for; 400 unless it gives a value to look up."""
    given = {name: params[name].strip() for name in BY if (params.get(name) or "").strip()}
    if not given:
        raise BadRequest(f"Give a value to look up: {', '.join(BY[:-1])} or {BY[-1]}")
    for name, value in given.items():
        if len(value) > VALUE_MAX:
            raise BadRequest(f"{name} is at most {VALUE_MAX} characters")
    found = []
    if "email" in given:
        found.append(index.email_key(given["email"]))
    if "phone" in given:
        term = index.phone_key(phones.number(given["phone"], accounts.default_region(principal.account_id)))
        if term is None:
            raise BadRequest(f"phone must have at least {phones.MIN_DIGITS} digits")
        found.append(term)
    if "external_id" in given:
        found.append(index.external_key(given["external_id"]))
    return found


def lookup(principal: Principal, params: Mapping[str, str], page: PageRequest) -> Page:
    """The contacts the key may see that have every value asked for, in id order, a page of them."""
    wanted = terms(principal, params)
    named = index.named(principal, wanted)
    ids = set.intersection(*(set(named[t].visible) if t in named else set() for t in wanted))
    shown = page_of(sorted(ids), page)
    return replace(shown, items=search.contacts(principal, shown.items))
