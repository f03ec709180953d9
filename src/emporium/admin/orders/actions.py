"""The order page's actions. Each asks for its own permission (a button hidden from a role is refused when
forged), locks the order, runs one service call inside a savepoint and answers:

- done: back to the order page with a message saying what happened;
- refused by the order's state (someone else shipped it a second ago, a refund larger than what is left):
  the order page as it is now, with the reason, and a 409 or 422; the savepoint leaves nothing behind.

Forms carry the status the page was drawn for (``seen_status``), so a form sent after the order moved on
is refused even when the move would still be legal (staff_moves.check_fresh).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import Form
from fastapi.responses import Response
from pydantic import Field

from emporium.admin.orders.detail import OrderPage, load_order, render_order
from emporium.admin.page import AdminContext
from emporium.admin.routing import admin_router
from emporium.core.errors import EmporiumError, ValidationFailed
from emporium.core.money import MoneyError, money_text, to_minor
from emporium.core.params import MAX_ID, IdPath
from emporium.core.permissions import Permission
from emporium.orders.names import order_status_name
from emporium.orders.schemas import Carrier, Label, Note, OrderStatus
from emporium.orders.staff_moves import check_fresh, staff_moves
from emporium.payments.back_office import back_office_money

if TYPE_CHECKING:
    from emporium.orders.models import Order

router = admin_router(prefix="/admin/orders")

_STATUSES = "|".join(s.value for s in OrderStatus)
_PLAIN = r"^[^\x00-\x1f\x7f]+$"
# Notes may span lines; other control characters (NUL above all) are refused.
_MULTILINE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+$"
SeenStatus = Annotated[str, Form(pattern=rf"^({_STATUSES})$")]
Target = Literal["confirmed", "processing", "delivered", "cancelled", "returned"]
Amount = Annotated[str, Form(max_length=24, pattern=r"^\s*\d{1,12}(\.\d{1,8})?\s*$")]
_PAST = {
    "confirmed": "confirmed",
    "processing": "marked as processing",
    "delivered": "marked as delivered",
    "cancelled": "cancelled",
    "returned": "marked as returned",
}


def _minor(text: str, currency: str, field: str) -> int:
    try:
        return to_minor(Decimal(text.strip() or "0"), currency)
    except (InvalidOperation, MoneyError) as exc:
        raise ValidationFailed(
            f"The {field} is not an amount in {currency}.", details=[{"field": field, "message": str(exc)}]
        ) from exc


def _message(exc: EmporiumError) -> str:
    details = "; ".join(str(d.get("message")) for d in exc.details if d.get("message"))
    if exc.message in (ValidationFailed.message,) and details:
        return details
    return exc.message


async def _act(
    page: AdminContext, order: Order, work: Callable[[], Awaitable[str]], *, order_id: int
) -> Response:
    """Run ``work`` in a savepoint: its message on success, the order page with the refusal otherwise."""
    try:
        async with page.session.begin_nested():
            done = await work()
    except EmporiumError as exc:
        if exc.status_code not in (404, 409, 422):
            raise
        fresh = await load_order(page, order_id)
        return await render_order(page, fresh, status_code=exc.status_code, error=_message(exc))
    return page.redirect(f"/admin/orders/{order.id}", flash=done)


@router.post("/{order_id}/move", response_model=None)
async def move(
    page: OrderPage,
    order_id: IdPath,
    target: Annotated[Target, Form()],
    seen_status: SeenStatus,
    note: Annotated[Note | None, Form(pattern=_MULTILINE)] = None,
) -> Response:
    """Confirm a cash-on-delivery order (payments:verify), or process, deliver, return or cancel
    (orders:update)."""
    page.require(Permission.PAYMENTS_VERIFY if target == "confirmed" else Permission.ORDERS_UPDATE)
    order = await load_order(page, order_id, lock=True)

    async def work() -> str:
        await staff_moves.move(
            page.session,
            page.settings,
            order,
            OrderStatus(target),
            actor=page.actor,
            seen_status=seen_status,
            note=note or None,
        )
        return f"Order {order.number} {_PAST[target]}."

    return await _act(page, order, work, order_id=order_id)


@router.post("/{order_id}/ship", response_model=None)
async def ship(
    page: OrderPage,
    order_id: IdPath,
    carrier: Annotated[Carrier, Form(pattern=_PLAIN)],
    tracking_number: Annotated[Label, Form(pattern=_PLAIN)],
    seen_status: SeenStatus,
) -> Response:
    page.require(Permission.ORDERS_UPDATE)
    order = await load_order(page, order_id, lock=True)

    async def work() -> str:
        await staff_moves.ship(
            page.session,
            page.settings,
            order,
            carrier=carrier,
            tracking_number=tracking_number,
            actor=page.actor,
            seen_status=seen_status,
        )
        return f"Order {order.number} shipped with {carrier} ({tracking_number}); the customer was e-mailed."

    return await _act(page, order, work, order_id=order_id)


@router.post("/{order_id}/transfer", response_model=None)
async def record_transfer(
    page: OrderPage,
    order_id: IdPath,
    amount: Amount,
    reference: Annotated[Label, Form(pattern=_PLAIN)],
    seen_status: SeenStatus,
) -> Response:
    """A bank transfer seen on the shop's account (payments:verify): the order is paid and confirmed."""
    page.require(Permission.PAYMENTS_VERIFY)
    order = await load_order(page, order_id, lock=True)

    async def work() -> str:
        check_fresh(order, seen_status)
        await back_office_money.record_bank_transfer(
            page.session,
            page.settings,
            order,
            amount_minor=_minor(amount, order.currency, "amount"),
            reference=reference,
            actor=page.actor,
        )
        return f"Transfer recorded: order {order.number} is {order_status_name(order.status).lower()}."

    return await _act(page, order, work, order_id=order_id)


LineIds = Annotated[list[Annotated[int, Field(ge=1, le=MAX_ID)]], Form(alias="line_id", default_factory=list)]
Quantities = Annotated[
    list[Annotated[int, Field(ge=0, le=1_000_000)]], Form(alias="quantity", default_factory=list)
]


@router.post("/{order_id}/refund", response_model=None)
async def refund(
    page: OrderPage,
    order_id: IdPath,
    key: Annotated[str, Form(pattern=r"^[A-Za-z0-9_-]{16,64}$")],
    line_ids: LineIds,
    quantities: Quantities,
    shipping: Annotated[str, Form(max_length=24, pattern=r"^\s*(\d{1,12}(\.\d{1,8})?)?\s*$")] = "",
    reason: Annotated[Note | None, Form(pattern=_MULTILINE)] = None,
) -> Response:
    """Refund units of lines and part of the shipping (refunds:create). The amount is computed on the
    server from the lines; ``key`` makes a form sent twice one refund."""
    page.require(Permission.REFUNDS_CREATE)
    if len(line_ids) != len(quantities) or len(set(line_ids)) != len(line_ids):
        raise ValidationFailed("The refund form is not complete; reload the order and try again.")
    order = await load_order(page, order_id, lock=True)

    async def work() -> str:
        tx = await back_office_money.refund_lines(
            page.session,
            page.settings,
            order,
            quantities=dict(zip(line_ids, quantities, strict=True)),
            shipping_minor=_minor(shipping, order.currency, "shipping"),
            reason=reason or None,
            idempotency_key=key,
            actor=page.actor,
        )
        return f"Refunded {money_text(tx.amount_minor, tx.currency)} on order {order.number}."

    return await _act(page, order, work, order_id=order_id)


@router.post("/{order_id}/notes", response_model=None)
async def add_note(
    page: OrderPage,
    order_id: IdPath,
    text: Annotated[Note, Form(min_length=1, pattern=_MULTILINE)],
) -> Response:
    """An internal note: staff see it on the order's timeline, the customer never does."""
    page.require(Permission.ORDERS_UPDATE)
    order = await load_order(page, order_id, lock=True)

    async def work() -> str:
        if not text.strip():
            raise ValidationFailed("Write the note first.")
        await staff_moves.add_note(page.session, order, text, actor=page.actor)
        return "Internal note added."

    return await _act(page, order, work, order_id=order_id)


@router.post("/{order_id}/resend-email", response_model=None)
async def resend_email(page: OrderPage, order_id: IdPath) -> Response:
    page.require(Permission.ORDERS_UPDATE)
    order = await load_order(page, order_id, lock=True)

    async def work() -> str:
        subject = await staff_moves.resend_last_mail(page.session, order, actor=page.actor)
        return f"“{subject}” sent to {order.contact_email} again."

    return await _act(page, order, work, order_id=order_id)
