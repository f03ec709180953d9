"""``/admin/orders/{id}``: one order for staff. Its lines and totals, addresses, the customer, the payment
ledger with what remains refundable (per line too), the timeline of events and e-mails, internal notes,
the audit entries, the invoice and packing slip, and the actions the state machine allows now, each shown
only to a role that may take it (actions.py asks again when a form is sent)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi.responses import HTMLResponse, Response

from emporium.admin.page import AdminContext, AdminWith
from emporium.admin.routing import admin_router
from emporium.analytics.periods import shop_zone
from emporium.audit.service import audit
from emporium.catalog.names import line_name
from emporium.core.address_format import address_lines
from emporium.core.money import money_text
from emporium.core.params import IdPath
from emporium.core.permissions import Permission
from emporium.notifications.service import SentMail, notifications
from emporium.orders.names import order_status_name, payment_method_name
from emporium.orders.schemas import OrderStatus, PaymentStatus
from emporium.orders.service import order_not_found, orders
from emporium.orders.staff_moves import staff_targets
from emporium.payments.back_office import back_office_money
from emporium.payments.fetch import fetch
from emporium.web.page import NO_STORE

if TYPE_CHECKING:
    from emporium.orders.models import Order, OrderEvent

router = admin_router(prefix="/admin/orders")

OrderPage = Annotated[AdminContext, AdminWith(Permission.ORDERS_READ)]
S = OrderStatus
# The moves offered as plain buttons (shipping has its own form, confirming is for cash on delivery).
MOVE_BUTTONS: tuple[tuple[OrderStatus, str, bool], ...] = (
    (S.PROCESSING, "Mark as processing", False),
    (S.DELIVERED, "Mark as delivered", False),
    (S.RETURNED, "Mark as returned", False),
    (S.CANCELLED, "Cancel the order", True),
)
_EVENT_TITLES = {
    "placed": "Order placed",
    "shipment": "Shipment recorded",
    "note": "Note",
    "internal_note": "Internal note",
    "payment": "Payment received",
    "payment_failed": "Payment failed",
    "payment_partial": "Part of the payment received",
    "payment_method_changed": "Payment method changed",
    "payment_after_cancel": "Payment received after cancellation",
    "payment_duplicate": "Paid twice",
    "refund": "Refund",
    "refund_due": "Refund due",
}


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    title: str
    detail: str
    note: str | None
    who: str
    internal: bool = False
    mail_state: str | None = None


def _who(event: OrderEvent, order: Order) -> str:
    if event.actor_user_id is None:
        return "automatic"
    return "the customer" if event.actor_user_id == order.user_id else "staff"


def _event_item(event: OrderEvent, order: Order) -> TimelineItem:
    if event.kind == "status" or (event.to_status and event.kind not in _EVENT_TITLES):
        title = f"{order_status_name(event.from_status or '')} → {order_status_name(event.to_status or '')}"
    else:
        title = _EVENT_TITLES.get(event.kind) or event.kind.replace("_", " ").capitalize()
    data = event.data or {}
    detail = ""
    if event.kind == "shipment":
        detail = f"{data.get('carrier') or '—'}, tracking {data.get('tracking_number') or '—'}"
    elif event.kind in ("refund", "refund_due"):
        amount = data.get("amount", data.get("total"))
        detail = money_text(amount, order.currency) if isinstance(amount, int) else ""
    elif event.kind == "payment_method_changed":
        detail = f"{payment_method_name(data.get('from', ''))} → {payment_method_name(data.get('to', ''))}"
    return TimelineItem(
        at=event.created_at,
        title=title,
        detail=detail,
        note=event.note,
        who=_who(event, order),
        internal=event.kind == "internal_note",
    )


_CHANNEL_TITLES = {"email": "E-mail", "sms": "Text message", "whatsapp": "WhatsApp message", "push": "Push"}


def _mail_item(mail: SentMail) -> TimelineItem:
    audience = "staff" if mail.to_staff else "the customer"
    return TimelineItem(
        at=mail.created_at,
        title=f"{_CHANNEL_TITLES.get(mail.channel, mail.channel)} to {audience}",
        detail=mail.subject,
        note=mail.last_error if mail.state == "failed" else None,
        who="automatic",
        mail_state=mail.state,
    )


def timeline(events: list[OrderEvent], mails: list[SentMail], order: Order) -> list[TimelineItem]:
    """Events and e-mails in one list, oldest first."""
    items = [_event_item(e, order) for e in events] + [_mail_item(m) for m in mails]
    return sorted(items, key=lambda item: item.at)


def actions(page: AdminContext, order: Order, refundable_minor: int, has_mail: bool) -> dict[str, Any]:
    """What the page offers this staff member for this order now."""
    targets = staff_targets(order)
    update = page.can(Permission.ORDERS_UPDATE)
    verify = page.can(Permission.PAYMENTS_VERIFY)
    return {
        "confirm_cod": verify and S.CONFIRMED in targets,
        "record_transfer": verify
        and order.payment_method == "bank_transfer"
        and order.payment_status == PaymentStatus.PENDING_VERIFICATION
        and order.status == S.PENDING,
        "moves": [(t.value, label, danger) for t, label, danger in MOVE_BUTTONS if update and t in targets],
        "ship": update and S.SHIPPED in targets,
        "refund": page.can(Permission.REFUNDS_CREATE) and refundable_minor > 0,
        "note": update,
        "resend": update and has_mail,
    }


async def render_order(
    page: AdminContext, order: Order, *, status_code: int = 200, error: str | None = None
) -> HTMLResponse:
    session = page.session
    lines = await orders.lines(session, order)
    events = await orders.events(session, order)
    # Every message about the order on every channel, each with its state (and its error once failed).
    mails = await notifications.deliveries_about_order(session, order.number)
    money = await back_office_money.refund_view(session, order, lines)
    ledger = await fetch.transactions_of(session, order.id)
    entries = await audit.for_object(session, "order", order.id)
    locale = page.settings.locale
    return await page.render(
        "admin/orders/order.html.j2",
        title=f"Order {order.number}",
        status_code=status_code,
        breadcrumbs=[("Orders", "/admin/orders"), (order.number, None)],
        error=error,
        order=order,
        lines=[
            (line, line_name(line.product_name, line.variant_name), money.lines[line.id]) for line in lines
        ],
        money=money,
        money_text=money_text,
        ledger=ledger,
        shipping_lines=address_lines(order.shipping_address or {}, locale),
        billing_lines=address_lines(order.billing_address or {}, locale),
        timeline=timeline(events, mails, order),
        entries=entries,
        actions=actions(
            page, order, money.refundable_minor, any(m.channel == "email" and not m.to_staff for m in mails)
        ),
        refund_key=secrets.token_urlsafe(18),
        zone=shop_zone(page.settings),
    )


async def load_order(page: AdminContext, order_id: int, *, lock: bool = False) -> Order:
    order = await orders.order(page.session, order_id, lock=lock)
    if order is None:
        raise order_not_found()
    return order


@router.get("/{order_id}", response_class=HTMLResponse, response_model=None)
async def order_page(page: OrderPage, order_id: IdPath) -> Response:
    return await render_order(page, await load_order(page, order_id))


def _pdf(content: bytes, filename: str) -> Response:
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "Cache-Control": NO_STORE,
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/{order_id}/invoice.pdf", response_model=None)
async def invoice(page: OrderPage, order_id: IdPath) -> Response:
    """The invoice, or a pending order's pro-forma invoice (409 page for an order that has none)."""
    order = await load_order(page, order_id)
    return _pdf(await orders.invoice(page.session, page.settings, order), f"invoice-{order.number}.pdf")


@router.get("/{order_id}/packing-slip.pdf", response_model=None)
async def packing_slip(page: OrderPage, order_id: IdPath) -> Response:
    order = await load_order(page, order_id)
    return _pdf(
        await orders.packing_slip(page.session, page.settings, order), f"packing-slip-{order.number}.pdf"
    )
