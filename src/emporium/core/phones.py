"""Phone numbers in one form: E.164 (``+442079460958``), parsed by ``phonenumbers``.

A shopper types a number any way (``(202) 555-0100``, ``+1 202 555 0100``); the number is read with the
address's country as the region a national number belongs to, and stored in E.164 so staff search and
guest tracking compare like with like. Numbers saved before this rule may be in any format: ``same_phone``
parses both sides, so they still match without rewriting old rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import phonenumbers

from emporium.core.messages import PHONE_MESSAGE

# What a typed number may hold before it is parsed: digits, a leading +, and the usual separators.
TYPED_PHONE = re.compile(r"\+?[0-9(][0-9 ()./-]{5,30}")


def to_e164(text: str, region: str | None = None) -> str | None:
    """``text`` in E.164 when it is a valid number (national numbers read as ``region``'s), else None."""
    text = text.strip()
    if not TYPED_PHONE.fullmatch(text):
        return None
    try:
        number = phonenumbers.parse(text, region.upper() if region else None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def e164_candidates(typed: str, regions: Iterable[str]) -> frozenset[str]:
    """The E.164 numbers a phone typed in a search box may stand for: the international number it spells
    (with "+" in front, or without it), or a national number of each of ``regions``. Empty when the text
    does not read as a phone number."""
    text = typed.strip()
    if not TYPED_PHONE.fullmatch(text):
        return frozenset()
    if text.startswith("+"):
        found = {to_e164(text)}
    else:
        found = {to_e164("+" + _digits(text)), *(to_e164(text, region) for region in regions)}
    return frozenset(number for number in found if number)


def normalise_phone(text: str, region: str | None = None) -> str:
    """E.164, or ValueError with the message a shopper reads."""
    found = to_e164(text, region)
    if found is None:
        raise ValueError(PHONE_MESSAGE)
    return found


def region_of(e164: str) -> str | None:
    """The country of a number already in E.164 ("GB" for +44...), or None."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None


def _digits(text: str | None) -> str:
    return re.sub(r"\D", "", text or "")


def same_phone(given: str, stored: str | None, regions: Iterable[str | None] = ()) -> bool:
    """Whether ``given`` is the number ``stored``.

    ``stored`` is read as E.164, or with each of ``regions`` when an older row holds a national number.
    ``given`` matches as the whole international number (with or without its "+"), or read in the stored
    number's own country (a shopper types it as at home), or with each of ``regions``. A stored value no
    parser understands falls back to comparing its digits, the rule older orders were tracked by.
    """
    if not stored:
        return False
    candidates = [None, *regions]
    stored_e164 = next((n for n in (to_e164(stored, r) for r in candidates) if n), None)
    if stored_e164 is None:
        digits = _digits(given)
        return len(digits) >= 6 and digits == _digits(stored)
    if _digits(given) == stored_e164[1:]:
        return True  # the whole international number, typed without its "+"
    return any(to_e164(given, region) == stored_e164 for region in (region_of(stored_e164), *candidates))
