"""The packing slip of an order as a PDF (fpdf2, drawn like the invoice): what goes in the parcel and where it
goes. It names the shop, the order, the shipping method, the delivery address and phone, and each line
with its SKU, options and quantity; it carries no prices, since the slip travels inside the parcel (a gift
shows no amounts). The customer's note to the shop is printed for the packer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from emporium.catalog.names import line_name
from emporium.core.address_format import address_lines
from emporium.core.config import Settings
from emporium.orders.invoice import OrderDocument
from emporium.orders.models import Order, OrderLine


def _options(line: OrderLine) -> str:
    return ", ".join(f"{name}: {value}" for name, value in sorted((line.options or {}).items()))


def packing_slip_pdf(
    settings: Settings, order: Order, lines: Sequence[OrderLine], *, printed_at: datetime
) -> bytes:
    pdf = OrderDocument()
    pdf.set_title(f"Packing slip {order.number}")
    pdf.set_author(settings.seller_name or settings.shop_name)
    pdf.set_creation_date(printed_at)
    pdf.add_page()
    pdf.write_cell(120, settings.seller_name or settings.shop_name, size=14)
    pdf.write_cell(0, "Packing slip", align="R", size=16, new_line=True)
    pdf.ln(4)
    for label, value in (
        ("Order", f"{order.number} of {order.created_at:%Y-%m-%d}"),
        ("Shipping", order.shipping_method_name),
        ("Printed", f"{printed_at:%Y-%m-%d %H:%M} UTC"),
    ):
        pdf.write_cell(35, f"{label}:")
        pdf.write_fitted(155, value)
        pdf.ln(6)
    pdf.ln(3)
    pdf.write_cell(0, "Deliver to", size=11, new_line=True)
    for text in address_lines(order.shipping_address, settings.locale):
        pdf.write_cell(0, text, new_line=True)
    phone = (order.shipping_address or {}).get("phone") or order.contact_phone
    if phone:
        pdf.write_cell(0, f"Phone: {phone}", size=9, new_line=True)
    pdf.ln(4)
    _draw_lines(pdf, lines)
    if order.customer_note:
        pdf.ln(3)
        pdf.write_cell(0, "Note from the customer", size=11, new_line=True)
        pdf.paragraph(order.customer_note)
    return bytes(pdf.output())


def _draw_lines(pdf: OrderDocument, lines: Sequence[OrderLine]) -> None:
    widths = (14, 16, 110, 50)
    for width, heading, align in zip(widths, ("Packed", "Qty", "Item", "SKU"), "LRLL", strict=True):
        pdf.write_cell(width, heading, align=align, size=10)
    pdf.ln(7)
    for line in lines:
        pdf.write_cell(widths[0], "[  ]")
        pdf.write_cell(widths[1], str(line.quantity), align="R")
        pdf.write_cell(2, "")
        pdf.write_fitted(widths[2] - 2, line_name(line.product_name, line.variant_name))
        pdf.write_fitted(widths[3], line.sku, size=8)
        pdf.ln(6)
        options = _options(line)
        if options:
            pdf.write_cell(widths[0] + widths[1] + 2, "")
            pdf.write_fitted(widths[2] - 2, options, size=8)
            pdf.ln(5)
    pdf.ln(2)
    pdf.write_cell(widths[0], "")
    pdf.write_cell(widths[1], str(sum(line.quantity for line in lines)), align="R", size=11)
    pdf.write_cell(2, "")
    pdf.write_cell(0, "items in all", size=11, new_line=True)
