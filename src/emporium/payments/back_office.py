"""Money staff move from the back office's order page: refunds by line and shipping, and bank transfers seen
on the shop's account. Both go through the payments service the API uses, and write an audit entry in the
same transaction.

A refund by line is built on the ledger's refund by amount: staff say how many units of which lines, and
how much of the shipping, go back; the amount is computed here from what each line was sold for (its
total after discount, with its tax), never taken from the form. Units of a line are refunded at their share
of the line's total, the last unit taking the remainder of the rounding, so refunding every unit of a line
gives back exactly its total. Each refund's lines are kept (``refund_lines``), so what remains refundable of
each line is known; the ledger still caps the whole (a refund by amount through the API counts against it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.audit.schemas import Actor, AuditedObject
from emporium.audit.service import audit, diff
from emporium.core.config import Settings
from emporium.core.errors import ValidationFailed
from emporium.core.money import money_text
from emporium.orders.models import Order, OrderLine
from emporium.orders.service import orders
from emporium.payments.gateways.offline.recording import staff_money
from emporium.payments.models import PaymentTransaction, RefundLine
from emporium.payments.repository import PaymentRepository
from emporium.payments.service import RefundTooLarge, payments

SHIPPING = "shipping"


@dataclass(frozen=True)
class LineRefundable:
    line_id: int
    quantity: int
    total_minor: int
    refunded_quantity: int
    refunded_minor: int

    @property
    def remaining_quantity(self) -> int:
        return self.quantity - self.refunded_quantity

    @property
    def remaining_minor(self) -> int:
        return self.total_minor - self.refunded_minor

    def share(self, more: int) -> int:
        """What ``more`` units of the line give back after those already refunded."""
        done = self.refunded_quantity
        return (self.total_minor * (done + more)) // self.quantity - (
            self.total_minor * done
        ) // self.quantity


@dataclass(frozen=True)
class RefundView:
    """What an order's money looks like to staff about to refund: the ledger, and what is left per line."""

    currency: str
    captured_minor: int
    refunded_minor: int
    refundable_minor: int
    lines: dict[int, LineRefundable]
    shipping_minor: int
    shipping_refunded_minor: int

    @property
    def shipping_remaining_minor(self) -> int:
        return self.shipping_minor - self.shipping_refunded_minor


def _state(order: Order) -> dict[str, object]:
    return {"status": order.status, "payment_status": order.payment_status}


def _audit_refund(
    session: AsyncSession,
    actor: Actor,
    order: Order,
    before: dict[str, object],
    amount_minor: int,
    reason: str | None,
    *,
    items: str | None = None,
) -> None:
    """The audit entry of a refund, by line or by amount: what went back, and the order's moves."""
    changes: dict[str, tuple[object, object]] = {"refund": (None, money_text(amount_minor, order.currency))}
    if items:
        changes["refunded_items"] = (None, items)
    changes.update(diff(before, _state(order)))
    if reason:
        changes["reason"] = (None, reason)
    audit.record(session, actor, "order.refunded", AuditedObject("order", order.id, order.number), changes)


def _refused(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details=[{"field": field, "message": message}])


class BackOfficeMoney:
    async def refund_view(
        self, session: AsyncSession, order: Order, lines: Sequence[OrderLine]
    ) -> RefundView:
        repo = PaymentRepository(session)
        balance = await repo.balance(order.id)
        refunded = await repo.refunded_by_line(order.id)
        shipping_refunded = refunded.get(None, (0, 0))[1]
        return RefundView(
            currency=order.currency,
            captured_minor=balance.captured_minor,
            refunded_minor=balance.refunded_minor + balance.refunding_minor,
            refundable_minor=max(balance.refundable_minor, 0),
            lines={
                line.id: LineRefundable(
                    line_id=line.id,
                    quantity=line.quantity,
                    total_minor=line.total_minor,
                    refunded_quantity=refunded.get(line.id, (0, 0))[0],
                    refunded_minor=refunded.get(line.id, (0, 0))[1],
                )
                for line in lines
            },
            shipping_minor=order.shipping_minor,
            shipping_refunded_minor=shipping_refunded,
        )

    def _refund_rows(
        self, view: RefundView, quantities: Mapping[int, int], shipping_minor: int
    ) -> list[tuple[int | None, int, int]]:
        """(line id or None for shipping, units, amount) of a refund, each checked against what is left."""
        rows: list[tuple[int | None, int, int]] = []
        for line_id, more in sorted(quantities.items()):
            line = view.lines.get(line_id)
            if line is None:
                raise _refused(f"line_{line_id}", "That line is not part of this order.")
            if more < 0 or more > line.remaining_quantity:
                raise _refused(
                    f"line_{line_id}",
                    f"At most {line.remaining_quantity} of that line can still be refunded.",
                )
            if more:
                rows.append((line_id, more, line.share(more)))
        if shipping_minor < 0 or shipping_minor > view.shipping_remaining_minor:
            left = money_text(view.shipping_remaining_minor, view.currency)
            raise _refused(SHIPPING, f"At most {left} of the shipping can still be refunded.")
        if shipping_minor:
            rows.append((None, 0, shipping_minor))
        if not rows or sum(amount for _, _, amount in rows) <= 0:
            raise _refused("lines", "Choose the units or the shipping amount to refund.")
        return rows

    async def refund_lines(
        self,
        session: AsyncSession,
        settings: Settings,
        order: Order,
        *,
        quantities: Mapping[int, int],
        shipping_minor: int,
        reason: str | None,
        idempotency_key: str,
        actor: Actor,
    ) -> PaymentTransaction:
        """Refund units of a locked order's lines and part of its shipping. The same key (a form sent
        twice) returns the first refund and records nothing more."""
        repo = PaymentRepository(session)
        earlier = await repo.transaction_by_key(order.id, f"refund:{idempotency_key}")
        if earlier is not None:
            return earlier
        lines = await orders.lines(session, order)
        view = await self.refund_view(session, order, lines)
        rows = self._refund_rows(view, quantities, shipping_minor)
        amount = sum(amount for _, _, amount in rows)
        if amount > view.refundable_minor:
            left = money_text(view.refundable_minor, order.currency)
            raise RefundTooLarge(
                f"That is {money_text(amount, order.currency)}, but only {left} can still be refunded."
            )
        before = _state(order)
        tx = await payments.refund(
            session,
            settings,
            order,
            amount_minor=amount,
            reason=reason,
            idempotency_key=idempotency_key,
            actor_user_id=actor.user_id,
        )
        session.add_all(
            RefundLine(
                transaction_id=tx.id,
                order_id=order.id,
                order_line_id=line_id,
                quantity=units,
                amount_minor=part,
            )
            for line_id, units, part in rows
        )
        skus = {line.id: line.sku for line in lines}
        what = ", ".join(f"{skus[line_id]} x{units}" if line_id else SHIPPING for line_id, units, _ in rows)
        _audit_refund(session, actor, order, before, amount, reason, items=what)
        await session.flush()
        return tx

    async def refund_amount(
        self,
        session: AsyncSession,
        settings: Settings,
        order: Order,
        *,
        amount_minor: int | None,
        reason: str | None,
        idempotency_key: str,
        actor: Actor,
        request_digest: str | None = None,
    ) -> PaymentTransaction:
        """The API's refund of an amount (all that is left when None), audited like a refund by line; a
        replay of the same key is not audited twice."""
        earlier = await PaymentRepository(session).transaction_by_key(order.id, f"refund:{idempotency_key}")
        before = _state(order)
        tx = await payments.refund(
            session,
            settings,
            order,
            amount_minor=amount_minor,
            reason=reason,
            idempotency_key=idempotency_key,
            actor_user_id=actor.user_id,
            request_digest=request_digest,
        )
        if earlier is None:
            _audit_refund(session, actor, order, before, tx.amount_minor, reason)
        return tx

    async def record_bank_transfer(
        self,
        session: AsyncSession,
        settings: Settings,
        order: Order,
        *,
        amount_minor: int,
        reference: str,
        actor: Actor,
    ) -> None:
        """A bank transfer seen on the shop's account, for a locked order (payments' staff-recorded money)."""
        before = _state(order)
        assert actor.user_id is not None
        await staff_money.record_bank_transfer(
            session,
            settings,
            order,
            amount_minor=amount_minor,
            reference=reference,
            actor_user_id=actor.user_id,
        )
        audit.record(
            session,
            actor,
            "order.transfer_recorded",
            AuditedObject("order", order.id, order.number),
            {
                "transfer": (None, f"{money_text(amount_minor, order.currency)} ref {reference}"),
                **diff(before, _state(order)),
            },
        )
        await session.flush()


back_office_money = BackOfficeMoney()
