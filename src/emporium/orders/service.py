"""Reading orders (a customer's own, staff lists, guest tracking) and the moves customers and staff make."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.audit.schemas import Actor
from emporium.audit.service import audit, diff
from emporium.core.config import Settings
from emporium.core.db import utcnow
from emporium.core.errors import NotFound
from emporium.core.pagination import PageParams
from emporium.core.phones import same_phone
from emporium.orders import invoicing, schemas
from emporium.orders.errors import OrderError
from emporium.orders.invoice import TaxPart, tax_parts
from emporium.orders.lifecycle import CUSTOMER_CANCELLABLE, IllegalTransition, add_event, lifecycle
from emporium.orders.models import Order, OrderEvent, OrderLine, OrderStatus
from emporium.orders.packing_slip import packing_slip_pdf
from emporium.orders.repository import OrderRepository
from emporium.orders.schemas import OrderFilters
from emporium.orders.staff_moves import audited, snapshot
from emporium.orders.views import order_read, order_summary, tracked_order


def order_not_found() -> NotFound:
    return NotFound("No such order.", code=OrderError.ORDER_NOT_FOUND)


def phone_digits(phone: str | None) -> str:
    return re.sub(r"\D", "", phone or "")


class OrderService:
    async def read(
        self,
        session: AsyncSession,
        order: Order,
        *,
        staff: bool = False,
        lines: list[OrderLine] | None = None,
    ) -> schemas.OrderRead:
        """The order with its lines and timeline; the timeline's internal notes only for ``staff``.
        ``lines``: the order's lines when the caller holds them all (it has just written them)."""
        repo = OrderRepository(session)
        if lines is None:
            lines = await repo.lines(order.id)
        return order_read(order, lines, await repo.events(order.id), staff=staff)

    async def order(self, session: AsyncSession, order_id: int, *, lock: bool = False) -> Order | None:
        """The order (locked FOR UPDATE with ``lock``) whoever it belongs to: who may see it is for
        orders/auth.py to say."""
        return await OrderRepository(session).order(order_id, lock=lock)

    async def order_by_number(self, session: AsyncSession, number: str) -> Order | None:
        """The order with this number, whoever it belongs to (see ``order``)."""
        return await OrderRepository(session).order_by_number(number)

    async def due_for_expiry(self, session: AsyncSession, now: datetime, limit: int) -> list[int]:
        """Ids of pending orders past their deadline, locked (rows another runner holds are skipped)."""
        return await OrderRepository(session).due_for_expiry(now, limit)

    async def read_with_tax(
        self, session: AsyncSession, order: Order
    ) -> tuple[schemas.OrderRead, list[TaxPart]]:
        """The order as ``read`` gives it, and its tax per rate (for the pages that show it)."""
        repo = OrderRepository(session)
        lines = await repo.lines(order.id)
        read = order_read(order, lines, await repo.events(order.id))
        return read, tax_parts(lines, prices_include_tax=order.prices_include_tax)

    async def lines(self, session: AsyncSession, order: Order) -> list[OrderLine]:
        return await OrderRepository(session).lines(order.id)

    async def events(self, session: AsyncSession, order: Order) -> list[OrderEvent]:
        return await OrderRepository(session).events(order.id)

    async def invoice(self, session: AsyncSession, settings: Settings, order: Order) -> bytes:
        """The order's invoice or pro-forma invoice as a PDF (orders/invoicing.py)."""
        return await invoicing.document(session, settings, order)

    async def packing_slip(self, session: AsyncSession, settings: Settings, order: Order) -> bytes:
        """The order's packing slip as a PDF (orders/packing_slip.py): what goes in the parcel, no prices."""
        lines = await OrderRepository(session).lines(order.id)
        return packing_slip_pdf(settings, order, lines, printed_at=utcnow())

    async def page(
        self, session: AsyncSession, filters: OrderFilters, page: PageParams
    ) -> tuple[list[schemas.OrderSummary], int]:
        rows, total = await OrderRepository(session).page(filters, limit=page.limit, offset=page.offset)
        return [order_summary(order, count) for order, count in rows], total

    async def track(
        self, session: AsyncSession, number: str, *, phone: str | None, email: str | None
    ) -> schemas.TrackedOrder:
        """Seed 003 search by phone: the order only when its number AND the phone or e-mail match; any
        mismatch looks exactly like an unknown number."""
        repo = OrderRepository(session)
        order = await repo.order_by_number(number.strip().upper())
        if order is None:
            raise order_not_found()
        if phone is not None:
            # New orders hold E.164; older ones any format: both sides are parsed, a national number in
            # the delivery country (no data migration rewrites old rows).
            country = (order.shipping_address or {}).get("country")
            matches = same_phone(phone, order.contact_phone, [country if isinstance(country, str) else None])
        else:
            matches = (email or "").strip().lower() == order.contact_email
        if not matches:
            raise order_not_found()
        return tracked_order(order, await repo.lines(order.id), await repo.events(order.id))

    async def cancel_own(
        self,
        session: AsyncSession,
        settings: Settings,
        order: Order,
        *,
        actor_user_id: int | None,
        reason: str | None,
    ) -> schemas.OrderRead:
        if OrderStatus(order.status) not in CUSTOMER_CANCELLABLE:
            raise IllegalTransition(f"An order that is {order.status} can no longer be cancelled.")
        await lifecycle.move(
            session, settings, order, OrderStatus.CANCELLED, actor_user_id=actor_user_id, note=reason
        )
        await session.flush()
        return await self.read(session, order)

    async def staff_update(
        self,
        session: AsyncSession,
        settings: Settings,
        order: Order,
        data: schemas.OrderUpdate,
        *,
        actor: Actor,
    ) -> schemas.OrderRead:
        """The API's staff update of a locked order: carrier and tracking, a move along the state machine, a
        note; audited in the same transaction like the back office's moves (orders/staff_moves.py)."""
        before = snapshot(order)
        if data.carrier is not None or data.tracking_number is not None:
            order.carrier = data.carrier or order.carrier
            order.tracking_number = data.tracking_number or order.tracking_number
            add_event(
                session,
                order,
                "shipment",
                actor_user_id=actor.user_id,
                data={"carrier": order.carrier, "tracking_number": order.tracking_number},
            )
        if data.status is not None:
            await lifecycle.move(
                session,
                settings,
                order,
                OrderStatus(data.status),
                actor_user_id=actor.user_id,
                note=data.note,
            )
        elif data.note is not None:
            add_event(session, order, "note", actor_user_id=actor.user_id, note=data.note)
        changes = dict(diff(before, snapshot(order)))
        if data.note:
            changes["note"] = (None, data.note)
        action = f"order.{data.status}" if data.status else "order.updated"
        audit.record(session, actor, action, audited(order), changes)
        await session.flush()
        return await self.read(session, order, staff=True)

    async def bought_products(self, session: AsyncSession, user_id: int, product_ids: list[int]) -> set[int]:
        """Which of ``product_ids`` the customer has on a paid or delivered order (a verified purchase)."""
        if not product_ids:
            return set()
        return await OrderRepository(session).has_bought(user_id, product_ids)


orders = OrderService()
