"""Invoice numbers, and which document an order gets.

An order's invoice number is issued once, when the order is confirmed (its payment captured, or staff
confirming a cash-on-delivery order) or its payment is recorded, in that same transaction:
``INV-<year>-<6 digits>`` from a counter row per year (``invoice_counters``). The row is updated inside the
transaction and stays locked until it ends, so concurrent confirmations take consecutive numbers one after
another, and a confirmation that rolls back gives its number back: the series has no gaps, as tax law asks
of invoices (a database SEQUENCE would keep the gap). Taking the counter is the last lock a confirmation
takes, so it is held as briefly as the transaction allows.

Which document: an order with an invoice number gets its invoice. A pending order (an online order waiting
for its payment, a cash-on-delivery order waiting for staff) gets a pro-forma invoice: the same figures,
titled "Pro-forma invoice", with no invoice number and a line saying it is not a tax invoice, which is what
a buyer needs to pay by bank transfer or to have a purchase approved. An order cancelled before it was
confirmed never had a sale to invoice, so it gets no document (409).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.config import Settings
from emporium.core.db import utcnow
from emporium.core.errors import Conflict
from emporium.orders.errors import OrderError
from emporium.orders.invoice import invoice_pdf
from emporium.orders.models import Order, OrderStatus
from emporium.orders.repository import OrderRepository


class NoInvoice(Conflict):
    code = OrderError.NO_INVOICE
    message = "This order was cancelled before it was confirmed, so there is no invoice for it."


def invoice_number(prefix: str, year: int, value: int) -> str:
    return f"{prefix}-{year}-{value:06d}"


def has_document(order: Order) -> bool:
    """Whether the order has an invoice or a pro-forma invoice to show (see the module's docstring)."""
    return order.invoice_number is not None or order.status == OrderStatus.PENDING


async def issue(session: AsyncSession, settings: Settings, order: Order) -> None:
    """Give a locked order its invoice number, unless it has one already."""
    if order.invoice_number is not None:
        return
    now = utcnow()
    value = await OrderRepository(session).next_invoice_value(str(now.year))
    order.invoice_number = invoice_number(settings.invoice_prefix, now.year, value)
    order.invoiced_at = now


async def document(session: AsyncSession, settings: Settings, order: Order) -> bytes:
    """The order's invoice, or its pro-forma invoice, as a PDF; NoInvoice when it has neither."""
    if not has_document(order):
        raise NoInvoice()
    lines = await OrderRepository(session).lines(order.id)
    return invoice_pdf(
        settings,
        order,
        lines,
        issued_at=order.invoiced_at or utcnow(),
    )
