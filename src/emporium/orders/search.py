"""Staff search of orders: filters, one search box, keyset pages in four sorts, and the export of a search.

The search box takes what staff have at hand when a customer calls: the order number (whole, or the digits
at its end), an e-mail address or part of it, part of the name, or the phone number in any format (seed
003). What was typed is read as one kind first (core/search_text.py), and only that kind's lookup runs, on
an index: a whole order number by number; a whole e-mail address by the stored address (kept in lower
case); a phone number by the E.164 numbers it can be; anything else as words found anywhere in the name or
the address (trigram indexes on PostgreSQL), digits alone at the number's end too. Orders store phones in
E.164 (core/phones.py), so a typed number is turned into the E.164 numbers it can be: the international
number it spells (with "+", "00" or nothing in front), or a national number of any country whose numbering
plan it fits. The database then compares exact values on the indexed column; an order from before phones
were normalised is still found when its phone was stored as typed now.

Pages are keyset pages (core/keyset.py): a page costs one statement whatever its size or depth, and the
cursor carries the sort value of the last row, so a cursor made for another sort is refused.
"""

from __future__ import annotations

import re
from datetime import datetime

import phonenumbers
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.errors import ValidationFailed
from emporium.core.keyset import Cursor, KeysetPage, decode_cursor, encode_cursor
from emporium.core.phones import TYPED_PHONE, e164_candidates
from emporium.core.search_text import SearchKind, classify
from emporium.orders.schemas import OrderRow, OrderSearch, OrderSort, TextMatch
from emporium.orders.search_repository import OrderSearchRepository

# Export cap: beyond it staff are asked to narrow the search rather than get a file cut short.
EXPORT_LIMIT = 50_000
_EXPORT_BATCH = 500
_NUMBER_TAIL = re.compile(r"\d{1,6}")
_MIN_PHONE_DIGITS = 7


def phone_candidates(typed: str) -> frozenset[str]:
    """The E.164 numbers ``typed`` can stand for (see the module docstring); empty when it is no phone."""
    text = typed.strip()
    digits = re.sub(r"\D", "", text)
    if not TYPED_PHONE.fullmatch(text) or len(digits) < _MIN_PHONE_DIGITS:
        return frozenset()
    if not text.startswith("+") and digits.startswith("00"):
        return e164_candidates("+" + digits[2:], ())  # "00" dialled in place of "+"
    return e164_candidates(text, phonenumbers.SUPPORTED_REGIONS)


def text_match(q: str) -> TextMatch:
    """The search box read as one kind, with what that kind's lookup compares."""
    text = q.strip()
    phones = phone_candidates(text)
    kind = classify(text, phones)
    if kind is SearchKind.ORDER_NUMBER:
        return TextMatch(text=text, kind=kind, number=text.upper())
    if kind is SearchKind.PHONE:
        # Older rows may hold the phone as it was typed: the typed text is a candidate too.
        return TextMatch(text=text, kind=kind, phones=phones | {text})
    if kind is SearchKind.EMAIL:
        return TextMatch(text=text, kind=kind)
    tail = f"-{text.zfill(6)}" if _NUMBER_TAIL.fullmatch(text) else None
    return TextMatch(text=text, kind=kind, number_tail=tail)


def _cursor_for(search: OrderSearch, row: OrderRow) -> str:
    if search.sort in (OrderSort.TOTAL_HIGH, OrderSort.TOTAL_LOW):
        return encode_cursor(row.total_minor, row.id)
    return encode_cursor(row.created_at, row.id)


def _bad_cursor() -> ValidationFailed:
    message = "This page link is not valid; start again from the first page."
    return ValidationFailed(message, details=[{"field": "after", "message": message}])


def sort_key(search: OrderSearch, cursor: Cursor | None) -> tuple[datetime | int, int] | None:
    """The cursor's (sort value, id), checked against the sort it must have been made for."""
    if cursor is None:
        return None
    if search.sort in (OrderSort.TOTAL_HIGH, OrderSort.TOTAL_LOW):
        if not isinstance(cursor.value, int):
            raise _bad_cursor()
        return cursor.value, cursor.id
    if not isinstance(cursor.value, str):
        raise _bad_cursor()
    try:
        when = datetime.fromisoformat(cursor.value)
    except ValueError as exc:
        raise _bad_cursor() from exc
    if when.tzinfo is None:
        raise _bad_cursor()
    return when, cursor.id


class OrderSearchService:
    async def page(
        self, session: AsyncSession, search: OrderSearch, *, after: str | None, limit: int
    ) -> KeysetPage[OrderRow]:
        """One page of the search (one statement) and the cursor of the next, if there is one."""
        try:
            cursor = decode_cursor(after)
        except ValidationFailed as exc:
            raise _bad_cursor() from exc
        key = sort_key(search, cursor)
        match = text_match(search.q) if search.q else None
        rows = await OrderSearchRepository(session).rows(search, match, key, limit + 1)
        shown = rows[:limit]
        more = len(rows) > limit
        return KeysetPage(rows=shown, next_cursor=_cursor_for(search, shown[-1]) if more and shown else None)

    async def export(self, session: AsyncSession, search: OrderSearch) -> list[OrderRow] | None:
        """Every order of the search in the table's order, read in keyset batches; None when more than
        ``EXPORT_LIMIT`` match (the caller asks for a narrower search)."""
        repo = OrderSearchRepository(session)
        match = text_match(search.q) if search.q else None
        found: list[OrderRow] = []
        key: tuple[datetime | int, int] | None = None
        while True:
            batch = await repo.rows(search, match, key, _EXPORT_BATCH)
            found.extend(batch)
            if len(found) > EXPORT_LIMIT:
                return None
            if len(batch) < _EXPORT_BATCH:
                return found
            last = batch[-1]
            total_sort = search.sort in (OrderSort.TOTAL_HIGH, OrderSort.TOTAL_LOW)
            key = (last.total_minor if total_sort else last.created_at, last.id)


order_search = OrderSearchService()
