"""Every SQL statement of the orders domain."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, insert, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.accounts.models import Address
from emporium.catalog.models import Product
from emporium.orders.models import (
    InvoiceCounter,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    PaymentStatus,
)
from emporium.orders.schemas import OrderFilters


class OrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

    async def next_number(self) -> int:
        """The next value of the order number sequence (never counted from rows; gaps are fine)."""
        if self._dialect == "postgresql":
            result = await self.session.execute(text("SELECT nextval('order_number_seq')"))
        else:
            # SQLite has no sequences: an AUTOINCREMENT key never hands out a value twice (migration 0004).
            result = await self.session.execute(
                text("INSERT INTO order_number_seq DEFAULT VALUES RETURNING id")
            )
        return int(result.scalar_one())

    async def next_invoice_value(self, series: str) -> int:
        """The next number of an invoice series, taken by updating its counter row: the UPDATE holds the
        row's write lock (what FOR UPDATE takes) until the transaction ends, so concurrent confirmations
        queue here, and a rollback gives the number back. A series' first number inserts its row; two
        first numbers racing insert once (ON CONFLICT DO NOTHING) and then both update it."""
        bump = (
            update(InvoiceCounter)
            .where(InvoiceCounter.series == series)
            .values(last_value=InvoiceCounter.last_value + 1)
            .returning(InvoiceCounter.last_value)
        )
        value = (await self.session.execute(bump)).scalar_one_or_none()
        if value is None:
            upsert = postgresql_insert if self._dialect == "postgresql" else sqlite_insert
            await self.session.execute(
                upsert(InvoiceCounter).values(series=series, last_value=0).on_conflict_do_nothing()
            )
            value = (await self.session.execute(bump)).scalar_one()
        return int(value)

    async def insert_lines(self, lines: Sequence[Mapping[str, Any]]) -> list[OrderLine]:
        """Every line of a new order in one multi-row INSERT ... RETURNING, whatever their number; the
        lines come back as rows of the session, in id order (as ``lines`` reads them), so the new order is
        shown without reading them again. Without RETURNING the rows would go as an executemany, which
        the server runs as one statement per line; asking for RETURNING in the parameters' order would
        make SQLite's driver send one INSERT per line too."""
        result = await self.session.scalars(insert(OrderLine).returning(OrderLine), list(lines))
        return sorted(result, key=lambda line: line.id)

    async def own_address(self, user_id: int, address_id: int) -> Address | None:
        result = await self.session.execute(
            select(Address).where(Address.id == address_id, Address.user_id == user_id)
        )
        return result.scalar_one_or_none()

    async def order(self, order_id: int, *, lock: bool = False) -> Order | None:
        query = select(Order).where(Order.id == order_id)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def locked(self, order_ids: Sequence[int]) -> list[Order]:
        """The orders of these ids that exist, locked FOR UPDATE in id order (so two bulk actions over
        overlapping orders queue instead of deadlocking)."""
        result = await self.session.execute(
            select(Order)
            .where(Order.id.in_(sorted(set(order_ids))))
            .order_by(Order.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return list(result.scalars())

    async def locked_by_numbers(self, numbers: Sequence[str]) -> list[Order]:
        """The orders of these numbers that exist, locked FOR UPDATE in id order."""
        result = await self.session.execute(
            select(Order)
            .where(Order.number.in_(sorted(set(numbers))))
            .order_by(Order.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return list(result.scalars())

    async def order_by_number(self, number: str) -> Order | None:
        return (await self.session.execute(select(Order).where(Order.number == number))).scalar_one_or_none()

    async def lines(self, order_id: int) -> list[OrderLine]:
        result = await self.session.execute(
            select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.id)
        )
        return list(result.scalars())

    async def events(self, order_id: int) -> list[OrderEvent]:
        result = await self.session.execute(
            select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)
        )
        return list(result.scalars())

    def _filtered(self, filters: OrderFilters) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if filters.status:
            conditions.append(Order.status == filters.status)
        if filters.payment_status:
            conditions.append(Order.payment_status == filters.payment_status)
        if filters.created_from:
            conditions.append(Order.created_at >= filters.created_from)
        if filters.created_until:
            conditions.append(Order.created_at < filters.created_until)
        if filters.customer_id:
            conditions.append(Order.user_id == filters.customer_id)
        if filters.email:
            conditions.append(Order.contact_email == filters.email.lower())
        if filters.number:
            conditions.append(Order.number == filters.number.upper())
        if filters.awaiting_staff:
            conditions.append(Order.status == OrderStatus.PENDING)
            conditions.append(Order.payment_method.in_(sorted(filters.awaiting_staff)))
        return conditions

    async def page(
        self, filters: OrderFilters, *, limit: int, offset: int
    ) -> tuple[list[tuple[Order, int]], int]:
        """Orders newest (or oldest) first with their item counts, and the total matching (two statements)."""
        conditions = self._filtered(filters)
        items = (
            select(func.coalesce(func.sum(OrderLine.quantity), 0))
            .where(OrderLine.order_id == Order.id)
            .scalar_subquery()
        )
        rows = await self.session.execute(
            select(Order, items)
            .where(*conditions)
            .order_by(
                *(
                    (Order.created_at, Order.id)
                    if filters.oldest_first
                    else (Order.created_at.desc(), Order.id.desc())
                )
            )
            .limit(limit)
            .offset(offset)
        )
        total = await self.session.execute(select(func.count()).select_from(Order).where(*conditions))
        return [(order, int(count)) for order, count in rows.all()], int(total.scalar_one())

    async def open_orders(
        self, *, email: str | None, phone: str | None, client_address: str | None
    ) -> dict[str, int]:
        """Pending orders placed with this e-mail, this phone and from this client address, in one statement:
        ``{"email": n, "phone": n, "client_address": n}`` (a key given as None is not counted)."""
        keys = {
            "email": (Order.contact_email, email),
            "phone": (Order.contact_phone, phone),
            "client_address": (Order.client_address, client_address),
        }
        given = {name: column == value for name, (column, value) in keys.items() if value}
        if not given:
            return {}
        row = (
            await self.session.execute(
                select(*(func.count().filter(match) for match in given.values())).where(
                    Order.status == OrderStatus.PENDING, or_(*given.values())
                )
            )
        ).one()
        return {name: int(count) for name, count in zip(given, row, strict=True)}

    async def due_for_expiry(self, now: datetime, limit: int) -> list[int]:
        """Pending orders past their deadline (unpaid online orders, offline orders staff have not confirmed),
        skipping rows another runner holds."""
        result = await self.session.execute(
            select(Order.id)
            .where(
                Order.status == OrderStatus.PENDING,
                # A bank transfer waits for staff to record it in pending_verification.
                Order.payment_status.in_(
                    (PaymentStatus.AWAITING, PaymentStatus.FAILED, PaymentStatus.PENDING_VERIFICATION)
                ),
                Order.expires_at.is_not(None),
                Order.expires_at <= now,
            )
            .order_by(Order.expires_at, Order.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [int(order_id) for order_id in result.scalars()]

    async def count_sold(self, quantities: dict[int, int], sign: int = 1) -> None:
        """Move products' units-sold counters (the "popularity" sort) in one statement: up when an order's
        stock is deducted, down when that stock is put back."""
        if not quantities:
            return
        amount = case({pid: sign * q for pid, q in quantities.items()}, value=Product.id)
        await self.session.execute(
            update(Product)
            .where(Product.id.in_(sorted(quantities)))
            .values(sold_count=Product.sold_count + amount)
            .execution_options(synchronize_session=False)
        )

    async def for_customer(self, user_id: int) -> Sequence[Order]:
        result = await self.session.execute(
            select(Order).where(Order.user_id == user_id).order_by(Order.created_at, Order.id)
        )
        return result.scalars().all()

    async def erase_contact(self, user_id: int) -> None:
        """Scrub a customer's contact details and delivery address from their orders (the books stay)."""
        await self.session.execute(
            update(Order)
            .where(Order.user_id == user_id)
            .values(
                contact_email=f"erased-{user_id}@erased.invalid",
                contact_phone=None,
                shipping_address={"erased": True},
                customer_note=None,
            )
            .execution_options(synchronize_session=False)
        )

    async def has_bought(self, user_id: int, product_ids: Sequence[int]) -> set[int]:
        """Which of ``product_ids`` the customer has on an order that was paid or delivered."""
        paid = or_(Order.payment_status == PaymentStatus.PAID, Order.status == OrderStatus.DELIVERED)
        result = await self.session.execute(
            select(OrderLine.product_id)
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.user_id == user_id, OrderLine.product_id.in_(list(product_ids)), paid)
            .distinct()
        )
        return set(result.scalars())
