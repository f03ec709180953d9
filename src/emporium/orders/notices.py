"""What an order tells its customer and the staff, through core/notify.py: the event of each move, its
context (what the templates say) and its key (one notice per order and occurrence, however often it is
planned). The e-mails keep the wording they always had (templates/emails/order_*.j2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.config import Settings
from emporium.core.money import from_minor
from emporium.core.notify import Recipient, notify, notify_staff
from emporium.core.permissions import Permission
from emporium.notifications.providers.base import Attachment
from emporium.orders import invoicing
from emporium.orders.models import Order, OrderStatus
from emporium.orders.names import order_status_name, payment_method_name
from emporium.orders.repository import OrderRepository

_EVENT_OF_STATUS = {
    OrderStatus.SHIPPED: "order.shipped",
    OrderStatus.DELIVERED: "order.delivered",
    OrderStatus.CANCELLED: "order.cancelled",
    OrderStatus.REFUNDED: "order.refunded",
}


def recipients(order: Order) -> list[Recipient]:
    """The customer of the order: their account when they have one, at the order's contact details."""
    return [Recipient(user_id=order.user_id, email=order.contact_email, phone=order.contact_phone)]


def money(order: Order, minor: int) -> str:
    return f"{from_minor(minor, order.currency):f} {order.currency}"


def order_context(settings: Settings, order: Order) -> dict[str, Any]:
    base = settings.public_url.rstrip("/")
    return {
        "shop_name": settings.shop_name,
        "order_id": order.id,
        "name": order.contact_name,
        "number": order.number,
        "status": order_status_name(order.status).lower(),
        "carrier": order.carrier,
        "tracking_number": order.tracking_number,
        "total": money(order, order.total_minor),
        "payment_method": payment_method_name(order.payment_method),
        "order_url": f"{base}/account/orders/{order.id}",
        "track_url": f"{base}/track?order_number={order.number}",
    }


def placed(session: AsyncSession, settings: Settings, order: Order, context: Mapping[str, Any]) -> None:
    """The confirmation to the customer and the new order to staff."""
    full = {**context, "order_id": order.id}
    notify(
        session, "order.placed", key=f"order.placed:{order.id}", recipients=recipients(order), context=full
    )
    staff = {**order_context(settings, order), "admin_url": _admin_url(settings, order)}
    notify_staff(
        session,
        "staff.order_placed",
        key=f"staff.order_placed:{order.id}",
        context=staff,
        permission=Permission.ORDERS_READ,
    )


def moved(session: AsyncSession, settings: Settings, order: Order, target: OrderStatus) -> None:
    event = _EVENT_OF_STATUS.get(target, "order.status_changed")
    key = f"{event}:{order.id}" if target in _EVENT_OF_STATUS else f"{event}:{order.id}:{target}"
    notify(session, event, key=key, recipients=recipients(order), context=order_context(settings, order))


def payment_received(session: AsyncSession, settings: Settings, order: Order) -> None:
    context = {
        **order_context(settings, order),
        "amount": money(order, order.total_minor),
        "receipt_attached": invoicing.has_document(order),
    }
    notify(
        session,
        "payment.received",
        key=f"payment.received:{order.id}",
        recipients=recipients(order),
        context=context,
    )


def payment_failed(
    session: AsyncSession, settings: Settings, order: Order, *, reason: str | None, attempt: str
) -> None:
    """``attempt`` names the failed payment: every failure is told once (a retry may fail again)."""
    base = settings.public_url.rstrip("/")
    context = {
        **order_context(settings, order),
        "reason": reason,
        "pay_url": f"{base}/orders/{order.number}/payment-failed",
    }
    notify(
        session,
        "payment.failed",
        key=f"payment.failed:{order.id}:{attempt}"[:150],
        recipients=recipients(order),
        context=context,
    )


def payment_awaiting(session: AsyncSession, settings: Settings, order: Order) -> None:
    """Staff who verify payments: a bank transfer to look for."""
    context = {**order_context(settings, order), "admin_url": _admin_url(settings, order)}
    notify_staff(
        session,
        "staff.payment_awaiting",
        key=f"staff.payment_awaiting:{order.id}:{order.payment_method}",
        context=context,
        permission=Permission.PAYMENTS_VERIFY,
    )


def _admin_url(settings: Settings, order: Order) -> str:
    return f"{settings.public_url.rstrip('/')}/admin/orders/{order.id}"


async def receipt(session: AsyncSession, settings: Settings, context: Mapping[str, Any]) -> list[Attachment]:
    """The payment receipt: the order's invoice PDF (orders/invoicing.py), when it has one."""
    order = await OrderRepository(session).order(int(context["order_id"]))
    if order is None or not invoicing.has_document(order):
        return []
    content = await invoicing.document(session, settings, order)
    name = (order.invoice_number or order.number).replace("/", "-")
    return [Attachment(filename=f"{name}.pdf", content_type="application/pdf", content=content)]
