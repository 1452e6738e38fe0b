"""The web form: contacts sent from a page of the account's own site, with a form key.

A form key (``contacts-admin keys create --form --project ID``) is public by nature: it sits in
the page's HTML. So what it can do is narrow: create contacts in its account and project, through
``POST /forms/contacts`` only, at most its rate a minute. The account lists the pages its forms
may be posted from (a browser's ``Origin``) and the URLs they may send the browser to afterwards
(``redirect_on_success``), so a copied key does not make a form of someone else's page.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from crm import contacts
from crm.auth import Principal
from crm.errors import Forbidden, TooManyRequests, Unauthorized, Unprocessable
from crm.keys import KEY_FORMAT, authenticate, check_account_id
from crm.observability import count, logger
from crm.storage.db import update_if
from crm.storage.items import FormSettingsItem, RateItem, account_pk, rate_sk
from crm.validation import Sent

SETTINGS_SK = "FORMS"
# What a form may send beside its contact fields. ``commit`` and ``utf8`` are what Rails' form
# helpers add (the submit button, the charset marker).
FORM_FIELDS = {"key", "project_id", "redirect_on_success", "contact", "commit", "utf8"}
# Hidden from people by the page's CSS; a bot that fills every field fills it too.
HONEYPOT = "homepage"
WINDOW_SECONDS = 60
MAX_LISTED = 50  # origins or redirect URLs an account lists
# A redirect is printable ASCII (a client percent-encodes the rest): nothing can split the Location
# header or read differently in the browser than here.
UNSAFE_IN_URL = re.compile(r"[^\x21-\x7e]")
# What a visitor may not decide for the account: who sees the contact and who works on it.
NOT_FROM_FORMS = ("is_private", "visibility", "assigned_to_id")
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Settings:
    origins: frozenset[str] = frozenset()
    redirects: frozenset[str] = frozenset()

    def allows(self, origin: str) -> bool:
        return origin.strip().lower() in self.origins


def _origin(url: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL, lowercased; None if it is not one."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    shown = port and port != DEFAULT_PORTS[parts.scheme]  # a browser's Origin leaves the default out
    return f"{parts.scheme}://{parts.hostname}" + (f":{port}" if shown else "")


def settings_of(account_id: str) -> Settings:
    try:
        item = FormSettingsItem.get(account_pk(account_id), SETTINGS_SK)
    except FormSettingsItem.DoesNotExist:
        return Settings()
    return Settings(frozenset(item.origins or ()), frozenset(item.redirects or ()))


def _checked(origins: list[str], redirects: list[str]) -> tuple[set[str], set[str]]:
    checked_origins = set()
    for origin in origins:
        normal = _origin(origin)
        if normal is None or urlsplit(origin.strip()).path not in ("", "/") or "@" in origin:
            raise ValueError(f"{origin!r} is not an origin: give scheme and host only, e.g. https://www.example.com")
        checked_origins.add(normal)
    for url in redirects:
        if _origin(url) is None or UNSAFE_IN_URL.search(url.strip()):
            raise ValueError(f"{url!r} is not an http(s) URL")
    return checked_origins, {url.strip() for url in redirects}


def allow(account_id: str, origins: list[str], redirects: list[str]) -> Settings:
    """Add origins and redirect URLs to the account's lists (contacts-admin forms allow)."""
    added_origins, added_redirects = _checked(origins, redirects)
    current = settings_of(check_account_id(account_id))
    wanted = Settings(current.origins | added_origins, current.redirects | added_redirects)
    if len(wanted.origins) > MAX_LISTED or len(wanted.redirects) > MAX_LISTED:
        raise ValueError(f"an account lists at most {MAX_LISTED} origins and {MAX_LISTED} redirect URLs")
    _save(account_id, wanted)
    return wanted


def disallow(account_id: str, origins: list[str], redirects: list[str]) -> Settings:
    """Take origins and redirect URLs off the account's lists."""
    current = settings_of(check_account_id(account_id))
    gone_origins = {(_origin(o) or o) for o in origins}
    wanted = Settings(current.origins - gone_origins, current.redirects - {url.strip() for url in redirects})
    _save(account_id, wanted)
    return wanted


def _save(account_id: str, wanted: Settings) -> None:
    # A set attribute cannot be empty in DynamoDB: an empty list is stored as none.
    FormSettingsItem(
        account_pk(account_id),
        SETTINGS_SK,
        origins=set(wanted.origins) or None,
        redirects=set(wanted.redirects) or None,
    ).save()


def cors_headers(settings: Settings, origin: str | None) -> dict[str, str]:
    """The headers that let a page on a listed origin read the answer (which depends on Origin)."""
    if origin and settings.allows(origin):
        return {"Access-Control-Allow-Origin": origin.strip(), "Vary": "Accept, Origin"}
    return {"Vary": "Accept, Origin"}


def settings_named_by(key: Any) -> Settings:
    """The form settings of the account a key names, before the key is checked (so that a listed
    page can read why its post was refused); none for a key that names no account."""
    match = KEY_FORMAT.match(key.strip()) if isinstance(key, str) else None
    return settings_of(match["account"]) if match else Settings()


def form_principal(key: Any) -> Principal:
    """The form key's principal; 401 for no or an unknown key, 403 for a key of another kind."""
    principal = authenticate(key) if isinstance(key, str) and key else None
    if principal is None:
        raise Unauthorized("Invalid or missing form key (the form's key field)")
    if principal.form is None:
        raise Forbidden("This route takes a form key (contacts-admin keys create --form); an API key is refused")
    return principal


def check_origin(settings: Settings, origin: str | None) -> None:
    """A browser says which page posted the form; it must be one the account lists."""
    if origin is not None and not settings.allows(origin):
        raise Forbidden(f"This account's forms are not accepted from {origin.strip()[:200]}")


def take_turn(principal: Principal) -> None:
    """Count this submission against the key's rate; 429 with Retry-After when it is spent."""
    assert principal.form is not None
    now = int(time.time())
    window = now - now % WINDOW_SECONDS
    key_id = principal.key_id.split(".", 1)[1]
    item = RateItem(account_pk(principal.account_id), rate_sk(key_id, window))
    allowed = update_if(
        item,
        [RateItem.hits.add(1), RateItem.expires_at.set(window + 2 * WINDOW_SECONDS)],
        RateItem.hits.does_not_exist() | (RateItem.hits < principal.form.per_minute),
    )
    if not allowed:
        logger.info("form rate spent", extra={"key_id": principal.key_id})
        count("FormThrottled")
        raise TooManyRequests(
            f"This form takes at most {principal.form.per_minute} contacts a minute; retry shortly",
            retry_after=window + WINDOW_SECONDS - now,
        )


def _redirect(settings: Settings, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or _origin(value) is None or UNSAFE_IN_URL.search(value.strip()):
        raise Unprocessable("redirect_on_success must be an http(s) URL")
    url = value.strip()
    segments = unquote(urlsplit(url).path).split("/")
    listed = url in settings.redirects or (
        "." not in segments
        and ".." not in segments  # a prefix's scope holds: no way back up out of it
        and any(entry.endswith("/") and url.startswith(entry) for entry in settings.redirects)
    )
    if not listed:
        raise Unprocessable("redirect_on_success is not one of this account's redirect URLs")
    return url


def _contact_fields(principal: Principal, fields: dict[str, Any]) -> dict[str, Any]:
    """The contact the form sends, into the key's project only."""
    assert principal.form is not None
    contact = fields.get("contact")
    if not isinstance(contact, dict):
        raise Unprocessable("Send the contact's fields as contact[first_name], contact[email], ...")
    refused = [name for name in NOT_FROM_FORMS if name in contact]
    if refused:
        raise Unprocessable(f"A form cannot set: {', '.join(refused)}")
    asked = [fields.get("project_id"), contact.get("project_id")]
    given = contact.get("project_ids")
    asked += given if isinstance(given, list) else [given]
    if any(p not in (None, "", principal.form.project) for p in asked):
        raise Forbidden(f"This form key adds contacts to project {principal.form.project} only")
    rest = {name: value for name, value in contact.items() if name not in ("project_id", "project_ids")}
    return {**rest, "project_ids": [principal.form.project]}


def submit(
    principal: Principal, settings: Settings, fields: dict[str, Any], read: Callable[[dict[str, Any]], Sent]
) -> str | None:
    """Create the contact a form sent; its redirect, if any. ``read``: the form's contact fields,
    as the edge reads them into the one model (the form speaks Redmine CRM's names). Only a post
    that passes every check counts against the key's rate, so junk cannot spend it; a filled
    honeypot is counted and answered alike, but stores nothing."""
    unknown = sorted(set(fields) - FORM_FIELDS - {HONEYPOT})
    if unknown:
        raise Unprocessable(f"Unknown fields: {', '.join(unknown)}")
    redirect = _redirect(settings, fields.get("redirect_on_success"))
    contact = read(_contact_fields(principal, fields))
    checked = contacts.draft(principal, contact)
    take_turn(principal)
    if fields.get(HONEYPOT):
        logger.info("form honeypot filled", extra={"key_id": principal.key_id})
        count("FormHoneypot")
        return redirect
    contacts.create(principal, contact, checked)
    count("FormContactCreated")
    return redirect
