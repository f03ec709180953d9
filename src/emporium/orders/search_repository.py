"""The SQL of the staff order search (orders/search.py): one statement per page, filters and the search box
as conditions, and a keyset condition on the sort's (value, id)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.db import plan_for_each_value
from emporium.core.search_text import SearchKind
from emporium.orders.models import Order, OrderLine, SavedOrderFilter, order_number_tail
from emporium.orders.schemas import OrderRow, OrderSearch, OrderSort, TextMatch

SortKey = tuple[datetime | int, int]


def _filters(search: OrderSearch) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if search.status:
        conditions.append(Order.status == search.status)
    if search.payment_status:
        conditions.append(Order.payment_status == search.payment_status)
    if search.payment_method:
        conditions.append(Order.payment_method == search.payment_method)
    if search.created_from is not None:
        conditions.append(Order.created_at >= search.created_from)
    if search.created_before is not None:
        conditions.append(Order.created_at < search.created_before)
    if search.coupon:
        conditions.append(Order.coupon_code == search.coupon.upper())
    if search.country:
        conditions.append(Order.shipping_address["country"].as_string() == search.country.upper())
    return conditions


def _text(match: TextMatch) -> ColumnElement[bool]:
    """The search box's condition, one kind's alone, so each is answered from an index (migration 0018)."""
    if match.kind is SearchKind.ORDER_NUMBER and match.number:
        return Order.number == match.number
    if match.kind is SearchKind.PHONE:
        return Order.contact_phone.in_(sorted(match.phones))
    lowered = match.text.lower()
    if match.kind is SearchKind.EMAIL:
        # Addresses are stored in lower case (checkout): equality on the column's own index.
        return Order.contact_email == lowered
    found: list[ColumnElement[bool]] = [
        func.lower(Order.contact_name).contains(lowered, autoescape=True),
        func.lower(Order.contact_email).contains(lowered, autoescape=True),
    ]
    if match.number_tail:
        # The tail's expression, as its index has it: an ends-with LIKE could use no index.
        found.append(order_number_tail == match.number_tail)
    return or_(*found)


def _after(sort: OrderSort, key: SortKey) -> ColumnElement[bool]:
    value, row_id = key
    column = Order.total_minor if sort in (OrderSort.TOTAL_HIGH, OrderSort.TOTAL_LOW) else Order.created_at
    if sort in (OrderSort.NEWEST, OrderSort.TOTAL_HIGH):
        return or_(column < value, and_(column == value, Order.id < row_id))
    return or_(column > value, and_(column == value, Order.id > row_id))


def _ordered(query: Select[Any], sort: OrderSort) -> Select[Any]:
    if sort is OrderSort.NEWEST:
        return query.order_by(Order.created_at.desc(), Order.id.desc())
    if sort is OrderSort.OLDEST:
        return query.order_by(Order.created_at, Order.id)
    if sort is OrderSort.TOTAL_HIGH:
        return query.order_by(Order.total_minor.desc(), Order.id.desc())
    return query.order_by(Order.total_minor, Order.id)


def _row(order: Order, items: int) -> OrderRow:
    country = (order.shipping_address or {}).get("country")
    return OrderRow(
        id=order.id,
        number=order.number,
        created_at=order.created_at,
        customer_id=order.user_id,
        name=order.contact_name,
        email=order.contact_email,
        phone=order.contact_phone,
        status=order.status,
        payment_status=order.payment_status,
        payment_method=order.payment_method,
        country=country if isinstance(country, str) else None,
        coupon_code=order.coupon_code,
        item_count=int(items),
        total_minor=order.total_minor,
        currency=order.currency,
    )


class OrderSearchRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def rows(
        self, search: OrderSearch, match: TextMatch | None, after: SortKey | None, limit: int
    ) -> list[OrderRow]:
        """Up to ``limit`` orders of the search after ``after`` in its sort, with their item counts."""
        items = (
            select(func.coalesce(func.sum(OrderLine.quantity), 0))
            .where(OrderLine.order_id == Order.id)
            .scalar_subquery()
        )
        conditions = _filters(search)
        if match is not None:
            conditions.append(_text(match))
            if match.kind is SearchKind.WORDS:
                await plan_for_each_value(self.session)
        if after is not None:
            conditions.append(_after(search.sort, after))
        query = _ordered(select(Order, items).where(*conditions), search.sort).limit(limit)
        result = await self.session.execute(query)
        return [_row(row[0], row[1]) for row in result.all()]


class SavedFilterRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of(self, user_id: int) -> list[SavedOrderFilter]:
        result = await self.session.execute(
            select(SavedOrderFilter)
            .where(SavedOrderFilter.user_id == user_id)
            .order_by(SavedOrderFilter.name, SavedOrderFilter.id)
        )
        return list(result.scalars())

    async def named(self, user_id: int, name: str) -> SavedOrderFilter | None:
        result = await self.session.execute(
            select(SavedOrderFilter).where(SavedOrderFilter.user_id == user_id, SavedOrderFilter.name == name)
        )
        return result.scalar_one_or_none()

    async def count(self, user_id: int) -> int:
        result = await self.session.execute(
            select(func.count()).select_from(SavedOrderFilter).where(SavedOrderFilter.user_id == user_id)
        )
        return int(result.scalar_one())

    async def delete(self, user_id: int, filter_id: int) -> str | None:
        """Delete the owner's filter; its name, or None when ``user_id`` has no filter of that id."""
        result = await self.session.execute(
            delete(SavedOrderFilter)
            .where(SavedOrderFilter.id == filter_id, SavedOrderFilter.user_id == user_id)
            .returning(SavedOrderFilter.name)
        )
        return result.scalar_one_or_none()
