"""Staff moving orders from the back office: one order at a time, or many at once.

Every move goes through the order state machine (orders/lifecycle.py), as the API's do, and is refused
before anything changes when the order is no longer where the staff member saw it: the form carries the
status it was drawn for, and an order that has moved on since (someone else shipped it a second ago) is a
409 ``ORDER_CHANGED`` that says what it is now. Every change writes an audit entry in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.audit.schemas import Actor, AuditedObject
from emporium.audit.service import audit, diff
from emporium.core.config import Settings
from emporium.core.errors import Conflict
from emporium.notifications.service import notifications
from emporium.orders.errors import OrderError
from emporium.orders.lifecycle import CASH_ON_DELIVERY, TRANSITIONS, IllegalTransition, add_event, lifecycle
from emporium.orders.models import Order, OrderStatus
from emporium.orders.names import order_status_name
from emporium.orders.repository import OrderRepository
from emporium.orders.shipments_csv import RowError, parse_shipments
from emporium.orders.views import INTERNAL_NOTE

S = OrderStatus
# What staff may move an order to by hand; refunded states follow the payments ledger, never a button.
STAFF_TARGETS = frozenset({S.CONFIRMED, S.PROCESSING, S.SHIPPED, S.DELIVERED, S.CANCELLED, S.RETURNED})
BULK_LIMIT = 200
# How a refusal names each move: "it cannot be marked as delivered now".
MOVE_WORDS = {
    S.CONFIRMED: "confirmed",
    S.PROCESSING: "marked as processing",
    S.SHIPPED: "shipped",
    S.DELIVERED: "marked as delivered",
    S.CANCELLED: "cancelled",
    S.RETURNED: "marked as returned",
}


class OrderChanged(Conflict):
    code = OrderError.ORDER_CHANGED


def audited(order: Order) -> AuditedObject:
    return AuditedObject("order", order.id, order.number)


def snapshot(order: Order) -> dict[str, object]:
    """The fields of an order a staff move can change, for the audit entry's before and after."""
    return {
        "status": order.status,
        "payment_status": order.payment_status,
        "stock_state": order.stock_state,
        "carrier": order.carrier,
        "tracking_number": order.tracking_number,
        "invoice_number": order.invoice_number,
    }


def staff_targets(order: Order) -> frozenset[OrderStatus]:
    """Where staff may move this order now; confirming by hand is for cash-on-delivery orders only (an
    online order is confirmed by its payment, a bank transfer by recording it)."""
    targets = TRANSITIONS[OrderStatus(order.status)] & STAFF_TARGETS
    if order.payment_method != CASH_ON_DELIVERY:
        targets -= {S.CONFIRMED}
    return targets


def check_fresh(order: Order, seen_status: str | None) -> None:
    """Refuse a form drawn for an order in another state than the one it is in now."""
    if seen_status is not None and seen_status != order.status:
        now = order_status_name(order.status).lower()
        seen = order_status_name(seen_status).lower()
        raise OrderChanged(
            f"Order {order.number} changed while you were looking at it: it was {seen} and is now {now}. "
            "Nothing was done; check the order and try again."
        )


def _check_allowed(order: Order, target: OrderStatus) -> None:
    if target not in staff_targets(order):
        now = order_status_name(order.status).lower()
        raise IllegalTransition(
            f"Order {order.number} is {now}: it cannot be {MOVE_WORDS.get(target, target.value)} now."
        )


@dataclass
class BulkOutcome:
    """What a bulk action did: the numbers it moved, and those it left with the reason."""

    done: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class BulkShipOutcome:
    """The orders a shipping file shipped, or (nothing shipped) the errors of its rows."""

    shipped: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


class StaffMoves:
    async def move(
        self,
        session: AsyncSession,
        settings: Settings,
        order: Order,
        target: OrderStatus,
        *,
        actor: Actor,
        seen_status: str | None,
        note: str | None = None,
    ) -> None:
        """Move a locked order to ``target`` through the state machine, audited."""
        check_fresh(order, seen_status)
        _check_allowed(order, target)
        before = snapshot(order)
        await lifecycle.move(session, settings, order, target, actor_user_id=actor.user_id, note=note)
        self._audit(session, actor, order, f"order.{target.value}", before, {"note": note} if note else {})
        await session.flush()

    async def ship(
        self,
        session: AsyncSession,
        settings: Settings,
        order: Order,
        *,
        carrier: str,
        tracking_number: str,
        actor: Actor,
        seen_status: str | None,
    ) -> None:
        """Ship a locked order with its carrier and tracking number; the customer's e-mail carries both."""
        check_fresh(order, seen_status)
        _check_allowed(order, S.SHIPPED)
        before = snapshot(order)
        order.carrier, order.tracking_number = carrier, tracking_number
        add_event(
            session,
            order,
            "shipment",
            actor_user_id=actor.user_id,
            data={"carrier": carrier, "tracking_number": tracking_number},
        )
        await lifecycle.move(session, settings, order, S.SHIPPED, actor_user_id=actor.user_id)
        self._audit(session, actor, order, "order.shipped", before)
        await session.flush()

    async def add_note(self, session: AsyncSession, order: Order, text: str, *, actor: Actor) -> None:
        """An internal note on the order's timeline: staff read it, the customer never does."""
        add_event(session, order, INTERNAL_NOTE, actor_user_id=actor.user_id, note=text)
        audit.record(session, actor, "order.note_added", audited(order), {"note": (None, text)})
        await session.flush()

    async def resend_last_mail(self, session: AsyncSession, order: Order, *, actor: Actor) -> str:
        """Send the customer the last e-mail about the order again; its subject."""
        sent = await notifications.resend_last_about_order(session, order.contact_email, order.number)
        audit.record(session, actor, "order.email_resent", audited(order), {"email": (None, sent.subject)})
        await session.flush()
        return sent.subject

    async def bulk_process(
        self, session: AsyncSession, settings: Settings, order_ids: list[int], *, actor: Actor
    ) -> BulkOutcome:
        """Mark each order as processing where the state machine allows it; the rest are reported."""
        outcome = BulkOutcome()
        found = await OrderRepository(session).locked(order_ids[:BULK_LIMIT])
        known = {order.id for order in found}
        for missing in sorted(set(order_ids[:BULK_LIMIT]) - known):
            outcome.refused.append((f"#{missing}", "no such order"))
        for order in found:
            if S.PROCESSING not in staff_targets(order):
                outcome.refused.append((order.number, f"it is {order_status_name(order.status).lower()}"))
                continue
            await self.move(session, settings, order, S.PROCESSING, actor=actor, seen_status=None)
            outcome.done.append(order.number)
        return outcome

    async def bulk_ship(
        self, session: AsyncSession, settings: Settings, raw: bytes, *, actor: Actor
    ) -> BulkShipOutcome:
        """Ship every order of a shipping file (orders/shipments_csv.py), all or nothing: every row is
        checked first (the file, each field, that the order exists and may be shipped now), and one bad
        row ships nothing, so the file stays the unit of work and, once fixed, is uploaded again whole."""
        rows, errors = parse_shipments(raw)
        numbers = [row.number for row in rows]
        found = {order.number: order for order in await OrderRepository(session).locked_by_numbers(numbers)}
        for row in rows:
            order = found.get(row.number)
            if order is None:
                errors.append(RowError(row.line, f"there is no order {row.number}"))
            elif S.SHIPPED not in staff_targets(order):
                now = order_status_name(order.status).lower()
                errors.append(RowError(row.line, f"order {row.number} is {now}: it cannot be shipped"))
        if errors:
            return BulkShipOutcome(errors=sorted(errors, key=lambda e: e.line))
        outcome = BulkShipOutcome()
        for row in rows:
            order = found[row.number]
            await self.ship(
                session,
                settings,
                order,
                carrier=row.carrier,
                tracking_number=row.tracking_number,
                actor=actor,
                seen_status=None,
            )
            outcome.shipped.append(order.number)
        return outcome

    def _audit(
        self,
        session: AsyncSession,
        actor: Actor,
        order: Order,
        action: str,
        before: Mapping[str, object],
        extra: Mapping[str, object] | None = None,
    ) -> None:
        changes = dict(diff(before, snapshot(order)))
        for name, value in (extra or {}).items():
            changes[name] = (None, value)
        audit.record(session, actor, action, audited(order), changes)


staff_moves = StaffMoves()
