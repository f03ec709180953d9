"""The back office's product list: every status, searched and filtered, a keyset page at a time (the SQL is in
staff_list_repository.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.catalog.schemas import StaffProductFilters, StaffSort, StockState
from emporium.catalog.staff_list_repository import StaffListRepository
from emporium.catalog.variants import money_string
from emporium.core.keyset import KeysetPage, decode_cursor, encode_cursor

# Beyond this the list says "1,000+": counting a whole 100,000-product catalog (or probing the stock of
# each) costs more than the page; the bulk preview counts exactly.
COUNT_CAP = 1_000


@dataclass(frozen=True)
class StaffProductRow:
    id: int
    name: str
    slug: str
    status: str
    is_featured: bool
    currency: str
    price_min: str | None
    price_max: str | None
    brand_name: str | None
    category_name: str | None
    variant_count: int
    sku: str | None
    units: int
    stock: StockState
    created_at: datetime


def _row(row: Mapping[Any, Any]) -> StaffProductRow:
    stock: StockState = "out" if not row["sellable"] else ("low" if row["low"] else "in")
    return StaffProductRow(
        id=row["id"],
        name=row["name"],
        slug=row["slug"],
        status=row["status"],
        is_featured=bool(row["is_featured"]),
        currency=row["currency"],
        price_min=money_string(row["price_min_minor"], row["currency"]),
        price_max=money_string(row["price_max_minor"], row["currency"]),
        brand_name=row["brand_name"],
        category_name=row["category_name"],
        variant_count=int(row["variant_count"] or 0),
        sku=row["sku"],
        units=int(row["units"] or 0),
        stock=stock,
        created_at=row["created_at"],
    )


class StaffProducts:
    async def page(
        self,
        session: AsyncSession,
        filters: StaffProductFilters,
        sort: StaffSort,
        after: str | None,
        limit: int,
    ) -> KeysetPage[StaffProductRow]:
        """A page of the list; a cursor that does not decode is a 422 (core/keyset.py)."""
        rows = await StaffListRepository(session).page(filters, sort, decode_cursor(after), limit)
        shown = rows[:limit]
        next_cursor = None
        if len(rows) > limit and shown:
            last = shown[-1]
            next_cursor = encode_cursor(last["sort_value"], last["id"])
        return KeysetPage(rows=[_row(row) for row in shown], next_cursor=next_cursor)

    async def count(self, session: AsyncSession, filters: StaffProductFilters) -> tuple[int, bool]:
        """How many products match, and whether that is exact (at most ``COUNT_CAP`` are counted)."""
        counted = await StaffListRepository(session).count(filters, at_most=COUNT_CAP)
        return min(counted, COUNT_CAP), counted <= COUNT_CAP


staff_products = StaffProducts()
