"""What staff typed into a back-office search box, read before anything is queried.

A search box takes an order number, an e-mail address, a phone number or words (a name, a piece of an
address or of a product's name). Each kind has one lookup an index answers: the number by the orders'
unique index, an address by equality on the stored (lower-case) address, a phone by its E.164 candidates on
the phone column, words by contains-matches that PostgreSQL serves from trigram indexes (migration 0018).
Reading the kind first keeps a search for one thing from also running the lookups of the others.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from enum import StrEnum


class SearchKind(StrEnum):
    ORDER_NUMBER = "order_number"
    EMAIL = "email"
    PHONE = "phone"
    WORDS = "words"


# ORD-2026-000123: letters, the year, the year's count (zero-padded to six digits, longer past a million).
ORDER_NUMBER = re.compile(r"[A-Z]{2,6}-\d{4}-\d{1,9}")
# A whole address, local@domain.tld; a piece of one ("ada@", "@example.com") is searched as words.
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")


def is_order_number(text: str) -> bool:
    """Whether ``text`` is written as an order number (in any case, spaces around it ignored)."""
    return ORDER_NUMBER.fullmatch(text.strip().upper()) is not None


def classify(text: str, phones: Collection[str] = ()) -> SearchKind:
    """The kind of ``text``. ``phones`` are the E.164 numbers the caller reads it as, by its own rule (the
    shop's region, or every region): a text is a phone number only when it reads as one."""
    if is_order_number(text):
        return SearchKind.ORDER_NUMBER
    if EMAIL.fullmatch(text.strip()):
        return SearchKind.EMAIL
    if phones:
        return SearchKind.PHONE
    return SearchKind.WORDS
