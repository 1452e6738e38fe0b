"""Phone numbers read with Google's libphonenumber (the ``phonenumbers`` package), so that one
number is found however it was written: ``+1 (202) 456-1414``, ``202-456-1414`` and
``12024561414`` are one number in the US.

A number is kept as sent; what is derived here indexes it, and shows it in E.164 beside it. A
number without a country code is read in its account's region (crm.accounts); one that does not
parse is still found by its digits, and never refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

DEFAULT_REGION = "US"
_NOT_DIGIT = re.compile(r"[^0-9]+")
# What a phone number is written with: a search made of these alone, with enough digits, is a
# number to look up whole rather than words.
_PHONE_TEXT = re.compile(r"^\+?[0-9 ()./\-]+$")
MIN_DIGITS = 7  # shorter, a search of digits is a prefix, not a number
MAX_TEXT = 64  # libphonenumber refuses longer input; nothing longer is read as a number


@dataclass(frozen=True)
class Number:
    """A number as digits: ``e164`` (``+12024561414``) and its national significant number
    (``2024561414``), when it parses; else only ``digits``, the ones it was written with."""

    digits: str
    e164: str | None = None
    national: str | None = None

    @property
    def key(self) -> str:
        """What the number is the same as another by: E.164, or its digits when it has none."""
        return self.e164 or self.digits

    @property
    def searched(self) -> set[str]:
        """The digit strings a search finds the number by, as prefixes."""
        return {d for d in (self.digits, (self.e164 or "")[1:], self.national) if d}


def digits(text: str) -> str:
    return _NOT_DIGIT.sub("", text)


def regions() -> frozenset[str]:
    """The region codes a number may be read in (ISO 3166-1 alpha-2, as libphonenumber has them)."""
    import phonenumbers

    return frozenset(phonenumbers.SUPPORTED_REGIONS)


@lru_cache(maxsize=4096)
def number(text: str, region: str = DEFAULT_REGION) -> Number:
    """``text`` as a Number, read in ``region`` when it has no country code."""
    # Imported here: ~90 ms of import, paid only by a container that meets a phone number.
    import phonenumbers

    sent = digits(text)
    if len(text) > MAX_TEXT or not sent:
        return Number(sent)
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return Number(sent)
    if not phonenumbers.is_possible_number(parsed):
        return Number(sent)
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return Number(sent, e164, phonenumbers.national_significant_number(parsed))


def looks_like_number(text: str) -> bool:
    """Whether a search is a phone number written whole (``(202) 456-1414``), not words."""
    text = text.strip()
    return bool(_PHONE_TEXT.match(text)) and len(digits(text)) >= MIN_DIGITS


def in_e164(numbers: Mapping[str, str | None], region: str = DEFAULT_REGION) -> dict[str, str]:
    """Each of ``numbers`` (a field's name to its text) that parses, in E.164."""
    shown = {}
    for name, text in numbers.items():
        e164 = number(text, region).e164 if text else None
        if e164:
            shown[name] = e164
    return shown
