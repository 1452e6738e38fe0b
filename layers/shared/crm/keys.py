"""API keys: ``ck.<account>.<key id>.<secret>``, stored only as a SHA-256 of the secret.

The account and key id are public and locate the key with one GetItem; the secret (256 random
bits) is compared in constant time. A key is shown once, when created.

A form key is the kind a web page embeds: it can only create contacts, through the web form's
route, into one project of its account (``crm.forms``); the authorizer refuses it everywhere else.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from pynamodb.exceptions import PutError

from crm import times
from crm.auth import WRITE, FormGrant, Principal, granted_scopes
from crm.storage.items import (
    ACCOUNT_SK,
    KEY_MARK,
    AccountItem,
    KeyItem,
    UserItem,
    account_pk,
    key_sk,
    starting_with,
    user_sk,
)

PREFIX = "ck"
FORM_PER_MINUTE = 10  # a form key's default rate: a person fills a form in far longer than 6 s
PROJECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
ACCOUNT_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
KEY_FORMAT = re.compile(
    r"^ck\.(?P<account>[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?)\.(?P<key_id>[a-z0-9]{4,32})\.(?P<secret>[A-Za-z0-9_-]{16,128})$"
)


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def public_id(account_id: str, key_id: str) -> str:
    return f"{account_id}.{key_id}"


def check_account_id(account_id: str) -> str:
    if not ACCOUNT_ID.match(account_id):
        raise ValueError("account ids are 1 to 40 lowercase letters, digits and dashes")
    return account_id


def _ensure_account(account_id: str, user_id: int, user_name: str | None) -> None:
    now = times.now()
    for item in (
        AccountItem(account_pk(account_id), ACCOUNT_SK, name=account_id, created_at=now),
        UserItem(account_pk(account_id), user_sk(user_id), user_id=user_id, name=user_name, created_at=now),
    ):
        try:
            item.save(condition=type(item).sk.does_not_exist())
        except PutError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise


def create_key(
    account_id: str,
    user_id: int = 1,
    scope: str = "write",
    name: str | None = None,
    key: str | None = None,
    form_project: str | None = None,
    per_minute: int | None = None,
) -> tuple[KeyItem, str]:
    """Create (or, given ``key``, register) a key; returns the item and the key to show once.

    ``form_project`` makes a form key for that project (its scope is ``write``, for that form only);
    ``per_minute`` is its rate (default ``FORM_PER_MINUTE``)."""
    check_account_id(account_id)
    granted_scopes(scope)  # validates the scope name
    if form_project is not None:
        if not PROJECT.match(form_project):
            raise ValueError("a project is 1 to 64 letters, digits, dashes and underscores")
        if scope != WRITE:
            raise ValueError("a form key's scope is write: it creates contacts and nothing else")
        per_minute = FORM_PER_MINUTE if per_minute is None else per_minute
        if not 1 <= per_minute <= 10_000:
            raise ValueError("a form key's rate is 1 to 10000 contacts a minute")
    elif per_minute is not None:
        raise ValueError("only a form key has a rate (--per-minute needs --form)")
    if key is None:
        key = f"{PREFIX}.{account_id}.{secrets.token_hex(6)}.{secrets.token_urlsafe(32)}"
    match = KEY_FORMAT.match(key)
    if not match or match["account"] != account_id:
        raise ValueError(f"a key looks like ck.{account_id}.<4-32 letters or digits>.<16-128 character secret>")
    _ensure_account(account_id, user_id, None)
    item = KeyItem(
        account_pk(account_id),
        key_sk(match["key_id"]),
        key_id=match["key_id"],
        user_id=user_id,
        scope=scope,
        secret_sha256=_sha256(match["secret"]),
        name=name,
        created_at=times.now(),
        form_project=form_project,
        per_minute=per_minute,
    )
    try:
        item.save(condition=KeyItem.sk.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        existing = KeyItem.get(item.pk, item.sk, consistent_read=True)
        same = hmac.compare_digest(existing.secret_sha256, item.secret_sha256)
        if existing.revoked_at or not same or existing.form_project != form_project:
            raise ValueError(f"key id {match['key_id']} is taken in account {account_id}") from None
        return existing, key  # the same key registered again: nothing to do
    return item, key


def authenticate(key: str) -> Principal | None:
    """The principal a key stands for, or None for a malformed, unknown or revoked key. A form
    key's principal has ``form`` set: only the web form may accept it."""
    match = KEY_FORMAT.match(key.strip())
    if not match:
        return None
    try:
        item = KeyItem.get(account_pk(match["account"]), key_sk(match["key_id"]), consistent_read=True)
    except KeyItem.DoesNotExist:
        return None
    if item.revoked_at or not hmac.compare_digest(item.secret_sha256, _sha256(match["secret"])):
        return None
    return Principal(
        account_id=match["account"],
        user_id=int(item.user_id),
        scopes=frozenset(granted_scopes(item.scope)),
        key_id=public_id(match["account"], item.key_id),
        form=FormGrant(item.form_project, int(item.per_minute or FORM_PER_MINUTE)) if item.form_project else None,
    )


def list_keys(account_id: str) -> list[KeyItem]:
    return list(KeyItem.query(account_pk(check_account_id(account_id)), starting_with(KeyItem.sk, KEY_MARK)))


def revoke(key_public_id: str) -> bool:
    """Revoke ``<account>.<key id>``; False if there is no such key."""
    account_id, _, key_id = key_public_id.partition(".")
    try:
        item = KeyItem.get(account_pk(check_account_id(account_id)), key_sk(key_id), consistent_read=True)
    except KeyItem.DoesNotExist:
        return False
    if not item.revoked_at:
        item.update(actions=[KeyItem.revoked_at.set(times.now())])
    return True
