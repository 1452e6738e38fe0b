"""An account's own settings (``contacts-admin accounts``): the region its phone numbers are read
in when they carry no country code (crm.phones)."""

from __future__ import annotations

import time

from crm import phones
from crm.storage.items import ACCOUNT_SK, AccountItem, account_pk

SETTINGS_TTL = 60.0  # seconds a container trusts what it read: a change reaches every one within it
_read: dict[str, tuple[float, str]] = {}


def default_region(account_id: str) -> str:
    """The account's region for phone numbers, read once a minute per container."""
    now = time.monotonic()
    cached = _read.get(account_id)
    if cached and now - cached[0] < SETTINGS_TTL:
        return cached[1]
    try:
        region = AccountItem.get(account_pk(account_id), ACCOUNT_SK).default_region or phones.DEFAULT_REGION
    except AccountItem.DoesNotExist:
        region = phones.DEFAULT_REGION
    _read[account_id] = (now, region)
    return region


def set_default_region(account_id: str, region: str) -> str:
    """Set the account's region (a code libphonenumber knows, such as GB); the region as set."""
    region = region.strip().upper()
    if region not in phones.regions():
        raise ValueError(f"{region!r} is not a region libphonenumber knows (use ISO 3166-1 codes, such as US or GB)")
    try:
        item = AccountItem.get(account_pk(account_id), ACCOUNT_SK)
    except AccountItem.DoesNotExist:
        raise ValueError(f"no account {account_id!r}: create a key for it first") from None
    item.update(actions=[AccountItem.default_region.set(region)])
    _read.pop(account_id, None)
    return region


def forget() -> None:
    """Read every account's settings afresh on next use (a test's new table)."""
    _read.clear()
