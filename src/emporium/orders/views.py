"""Shaping orders for the API: amounts as exact decimal strings of the order's currency."""

from __future__ import annotations

from decimal import Decimal

from emporium.core.money import from_minor
from emporium.orders import schemas
from emporium.orders.models import Order, OrderEvent, OrderLine, OrderStatus, PaymentStatus

# Timeline entries staff write for each other (an order's internal notes): never in what a customer reads.
INTERNAL_NOTE = "internal_note"
STAFF_ONLY_EVENTS = frozenset({INTERNAL_NOTE})


def _money(minor: int, currency: str) -> Decimal:
    return from_minor(minor, currency)


def line_read(line: OrderLine, currency: str) -> schemas.OrderLineRead:
    return schemas.OrderLineRead(
        id=line.id,
        product_id=line.product_id,
        variant_id=line.variant_id,
        product_name=line.product_name,
        variant_name=line.variant_name,
        sku=line.sku,
        options=line.options,
        quantity=line.quantity,
        unit_price=_money(line.unit_price_minor, currency),
        subtotal=_money(line.subtotal_minor, currency),
        discount=_money(line.discount_minor, currency),
        tax=_money(line.tax_minor, currency),
        total=_money(line.total_minor, currency),
    )


def event_read(event: OrderEvent) -> schemas.OrderEventRead:
    return schemas.OrderEventRead(
        kind=event.kind,
        from_status=event.from_status,
        to_status=event.to_status,
        note=event.note,
        data=event.data,
        created_at=event.created_at,
    )


def totals_read(order: Order) -> schemas.OrderTotals:
    c = order.currency
    return schemas.OrderTotals(
        subtotal=_money(order.subtotal_minor, c),
        discount=_money(order.discount_minor, c),
        shipping=_money(order.shipping_minor, c),
        tax=_money(order.tax_minor, c),
        total=_money(order.total_minor, c),
        prices_include_tax=order.prices_include_tax,
    )


def order_read(
    order: Order, lines: list[OrderLine], events: list[OrderEvent], *, staff: bool = False
) -> schemas.OrderRead:
    """The order as the API and the account pages show it; internal notes only to ``staff``."""
    shown = events if staff else [e for e in events if e.kind not in STAFF_ONLY_EVENTS]
    return schemas.OrderRead(
        id=order.id,
        number=order.number,
        status=OrderStatus(order.status),
        payment_status=PaymentStatus(order.payment_status),
        payment_method=order.payment_method,
        stock_state=order.stock_state,
        currency=order.currency,
        totals=totals_read(order),
        coupon_code=order.coupon_code,
        shipping_method=order.shipping_method_name,
        shipping_address=order.shipping_address,
        billing_address=order.billing_address,
        contact={"name": order.contact_name, "email": order.contact_email, "phone": order.contact_phone},
        customer_id=order.user_id,
        note=order.customer_note,
        carrier=order.carrier,
        tracking_number=order.tracking_number,
        invoice_number=order.invoice_number,
        expires_at=order.expires_at,
        created_at=order.created_at,
        updated_at=order.updated_at,
        lines=[line_read(line, order.currency) for line in lines],
        timeline=[event_read(event) for event in shown],
    )


def order_summary(order: Order, item_count: int) -> schemas.OrderSummary:
    return schemas.OrderSummary(
        id=order.id,
        number=order.number,
        status=OrderStatus(order.status),
        payment_status=PaymentStatus(order.payment_status),
        payment_method=order.payment_method,
        currency=order.currency,
        total=_money(order.total_minor, order.currency),
        item_count=item_count,
        created_at=order.created_at,
        expires_at=order.expires_at,
    )


def tracked_order(order: Order, lines: list[OrderLine], events: list[OrderEvent]) -> schemas.TrackedOrder:
    return schemas.TrackedOrder(
        number=order.number,
        status=OrderStatus(order.status),
        payment_status=PaymentStatus(order.payment_status),
        currency=order.currency,
        total=_money(order.total_minor, order.currency),
        carrier=order.carrier,
        tracking_number=order.tracking_number,
        created_at=order.created_at,
        lines=[{"name": x.product_name, "variant": x.variant_name, "quantity": x.quantity} for x in lines],
        # Staff notes can name people or internal matters: a guest sees the status changes only.
        timeline=[event_read(e) for e in events if e.kind == "status"],
    )
