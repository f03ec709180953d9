"""The order state machine and what each move does to stock, coupons and the customer's inbox.

    pending -> confirmed -> processing -> shipped -> delivered
    pending | confirmed | processing -> cancelled
    shipped | delivered -> returned
    cancelled | returned -> refunded | partially_refunded (by the payments ledger, not by hand)

Stock: an order is placed with its stock reserved. Confirming it (payment captured, or staff confirming a
cash-on-delivery order) turns the reservation into a deduction; cancelling releases a reservation or puts
deducted stock back. Every move is an order event (who, when, from, to, note) and queues the customer's
e-mail in the same transaction. Confirming, or a payment captured, issues the invoice number
(orders/invoicing.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.config import Settings
from emporium.core.errors import Conflict
from emporium.inventory.reservations import reservations
from emporium.orders import invoicing, notices
from emporium.orders.errors import OrderError
from emporium.orders.models import Order, OrderEvent, OrderLine, OrderStatus, PaymentStatus, StockState
from emporium.orders.repository import OrderRepository
from emporium.pricing.service import pricing

S = OrderStatus

TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING: frozenset({S.CONFIRMED, S.CANCELLED}),
    S.CONFIRMED: frozenset({S.PROCESSING, S.SHIPPED, S.CANCELLED}),
    S.PROCESSING: frozenset({S.SHIPPED, S.CANCELLED}),
    S.SHIPPED: frozenset({S.DELIVERED, S.RETURNED}),
    S.DELIVERED: frozenset({S.RETURNED}),
    S.RETURNED: frozenset({S.REFUNDED, S.PARTIALLY_REFUNDED}),
    S.CANCELLED: frozenset({S.REFUNDED, S.PARTIALLY_REFUNDED}),
    S.PARTIALLY_REFUNDED: frozenset({S.REFUNDED}),
    S.REFUNDED: frozenset(),
}
CUSTOMER_CANCELLABLE = frozenset({S.PENDING, S.CONFIRMED, S.PROCESSING})
CASH_ON_DELIVERY = "cash_on_delivery"
# Payment methods whose orders wait for staff instead of expiring unpaid.
OFFLINE_METHODS = frozenset({CASH_ON_DELIVERY, "bank_transfer"})
_CAPTURED = frozenset({PaymentStatus.PAID, PaymentStatus.AUTHORIZED, PaymentStatus.PARTIALLY_REFUNDED})

# Hooks of other domains (registered by their install in the wiring step, emporium/install.py; registering a
# hook twice keeps one), run inside the order's transaction:
# after an order is placed (the payments domain prepares the payment: bank transfer instructions, a crypto
# address), and when an order whose payment was captured is cancelled (the payments domain refunds it).
OrderHook = Callable[[AsyncSession, Settings, Order], Awaitable[None]]
PLACED_HOOKS: list[OrderHook] = []
CANCELLATION_HOOKS: list[OrderHook] = []
# After every move, with the status it left (the payments domain records cash taken at delivery).
MovedHook = Callable[[AsyncSession, Settings, Order, OrderStatus, int | None], Awaitable[None]]
MOVED_HOOKS: list[MovedHook] = []


def register_moved_hook(hook: MovedHook) -> None:
    if hook not in MOVED_HOOKS:
        MOVED_HOOKS.append(hook)


def register_placed_hook(hook: OrderHook) -> None:
    if hook not in PLACED_HOOKS:
        PLACED_HOOKS.append(hook)


def register_cancellation_hook(hook: OrderHook) -> None:
    if hook not in CANCELLATION_HOOKS:
        CANCELLATION_HOOKS.append(hook)


class IllegalTransition(Conflict):
    code = OrderError.ILLEGAL_TRANSITION


class OrderNotPaid(Conflict):
    code = OrderError.ORDER_NOT_PAID
    message = "The order cannot be confirmed before its payment is received."


def draws_of(lines: list[OrderLine]) -> dict[int, int]:
    draws: dict[int, int] = defaultdict(int)
    for line in lines:
        draws[line.pool_id] += line.stock_draw
    return dict(draws)


def quantities_of(lines: list[OrderLine]) -> dict[int, int]:
    sold: dict[int, int] = defaultdict(int)
    for line in lines:
        sold[line.product_id] += line.quantity
    return dict(sold)


def add_event(
    session: AsyncSession,
    order: Order,
    kind: str,
    *,
    actor_user_id: int | None,
    from_status: str | None = None,
    to_status: str | None = None,
    note: str | None = None,
    data: dict[str, Any] | None = None,
) -> OrderEvent:
    event = OrderEvent(
        order_id=order.id,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        note=note,
        data=data or {},
        actor_user_id=actor_user_id,
    )
    session.add(event)
    return event


class Lifecycle:
    async def move(
        self,
        session: AsyncSession,
        settings: Settings,
        order: Order,
        target: OrderStatus,
        *,
        actor_user_id: int | None,
        note: str | None = None,
        kind: str = "status",
    ) -> None:
        """Move a locked order to ``target`` or refuse with 409; applies the stock and payment effects."""
        current = OrderStatus(order.status)
        if target not in TRANSITIONS[current]:
            raise IllegalTransition(f"An order that is {current} cannot become {target}.")
        repo = OrderRepository(session)
        if target is S.CONFIRMED and order.stock_state == StockState.RESERVED:
            if order.payment_method != CASH_ON_DELIVERY and order.payment_status not in _CAPTURED:
                raise OrderNotPaid()
            await self._deduct(session, repo, order, actor_user_id)
        elif target is S.CANCELLED:
            await self._give_back(session, repo, order, actor_user_id)
        order.status = target
        order.expires_at = None
        for moved in MOVED_HOOKS:
            await moved(session, settings, order, current, actor_user_id)
        add_event(
            session,
            order,
            kind,
            actor_user_id=actor_user_id,
            from_status=current,
            to_status=target,
            note=note,
        )
        notices.moved(session, settings, order, target)
        if target is S.CONFIRMED:
            # Last, so the invoice counter's lock is held for as little of the transaction as possible.
            await invoicing.issue(session, settings, order)
        if target is S.CANCELLED and order.payment_status in _CAPTURED:
            add_event(
                session, order, "refund_due", actor_user_id=actor_user_id, data={"total": order.total_minor}
            )
            for hook in CANCELLATION_HOOKS:
                await hook(session, settings, order)

    async def confirm_payment(
        self, session: AsyncSession, settings: Settings, order: Order, *, actor_user_id: int | None = None
    ) -> bool:
        """The payment of a locked order was captured: mark it paid and confirm a pending order. False when
        the order was cancelled meanwhile (the caller refunds the money)."""
        if order.status == S.CANCELLED:
            return False
        order.payment_status = PaymentStatus.PAID
        add_event(session, order, "payment", actor_user_id=actor_user_id, data={"payment_status": "paid"})
        notices.payment_received(session, settings, order)
        if order.status == S.PENDING:
            await self.move(session, settings, order, S.CONFIRMED, actor_user_id=actor_user_id)
        else:
            # Paid after staff confirmed it (or while it moved on): invoiced already, or now.
            await invoicing.issue(session, settings, order)
        return True

    async def _deduct(
        self, session: AsyncSession, repo: OrderRepository, order: Order, actor_user_id: int | None
    ) -> None:
        lines = await repo.lines(order.id)
        await reservations.deduct(
            session, draws_of(lines), reason=f"sold: order {order.number}", actor_user_id=actor_user_id
        )
        await repo.count_sold(quantities_of(lines))
        order.stock_state = StockState.DEDUCTED

    async def _give_back(
        self, session: AsyncSession, repo: OrderRepository, order: Order, actor_user_id: int | None
    ) -> None:
        lines = await repo.lines(order.id)
        if order.stock_state == StockState.RESERVED:
            await reservations.release(session, draws_of(lines))
            order.stock_state = StockState.RELEASED
        elif order.stock_state == StockState.DEDUCTED:
            await reservations.restock(
                session,
                draws_of(lines),
                reason=f"cancelled: order {order.number}",
                actor_user_id=actor_user_id,
            )
            await repo.count_sold(quantities_of(lines), sign=-1)
            order.stock_state = StockState.RESTOCKED
        if order.coupon_id is not None and order.payment_status not in _CAPTURED:
            await pricing.release(session, order.id)


lifecycle = Lifecycle()
