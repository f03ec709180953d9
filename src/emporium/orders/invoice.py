"""The invoice of an order as a real PDF (fpdf2): the seller (name, address and tax id from the settings),
the invoice number and date, the buyer's and the delivery address as the country's post writes them, the
lines, and totals that add up: subtotal - discount + shipping (+ tax when prices exclude it) = total, with
tax stated once per rate. When prices include tax, the tax is not added again: it is stated under the total
as the part of it that is tax. A pending order's document is a pro-forma invoice (orders/invoicing.py).

Text is drawn with DejaVu Sans when the system has it (any script, the rupee sign); otherwise with the PDF
core font Helvetica, which only knows Latin-1, so other characters are transliterated where Unicode gives
a plain form ("é" stays, "Ł" becomes "L") and shown as "?" where it does not. Amounts are printed as
"12.50 USD", which every font can draw.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from emporium.catalog.names import line_name
from emporium.core.address_format import address_lines
from emporium.core.config import Settings
from emporium.core.money import money_text
from emporium.orders.models import Order, OrderLine
from emporium.orders.names import payment_method_name, payment_status_name
from emporium.pricing.calculations import ppm_to_percent

_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/Library/Fonts/DejaVuSans.ttf",
)
PRO_FORMA_NOTE = (
    "This is not a tax invoice. It states what the order costs; the invoice, with its number, follows "
    "once the order is confirmed."
)


@lru_cache(maxsize=1)
def _unicode_font() -> Path | None:
    for candidate in _FONT_CANDIDATES:
        path = Path(candidate)
        if path.is_file():
            return path
    return None


def _latin1(text: str) -> str:
    out = []
    for char in text:
        if ord(char) < 256:
            out.append(char)
            continue
        plain = unicodedata.normalize("NFKD", char).encode("latin-1", "ignore").decode("latin-1")
        out.append(plain or "?")
    return "".join(out)


class OrderDocument(FPDF):
    def __init__(self) -> None:
        super().__init__(format="A4")
        font = _unicode_font()
        self.body_font = "helvetica"
        self.clean: Callable[[str], str] = _latin1
        if font is not None:
            self.add_font("body", fname=str(font))
            self.body_font = "body"
            self.clean = str
        self.set_auto_page_break(auto=True, margin=18)

    def write_cell(
        self, width: float, text: str, *, align: str = "L", size: int = 10, new_line: bool = False
    ) -> None:
        self.set_font(self.body_font, size=size)
        self.cell(
            width,
            6,
            self.clean(text),
            align=align,
            new_x=XPos.LMARGIN if new_line else XPos.RIGHT,
            new_y=YPos.NEXT if new_line else YPos.TOP,
        )

    def write_fitted(self, width: float, text: str, *, align: str = "L", size: int = 10) -> None:
        """A cell whose text is shortened to its width, so a long name never runs into the next column."""
        self.set_font(self.body_font, size=size)
        text = self.clean(text)
        while len(text) > 1 and self.get_string_width(text) > width - 2:
            text = text[:-2] + "…" if self.body_font == "body" else text[:-4] + "..."
        self.write_cell(width, text, align=align, size=size)

    def paragraph(self, text: str, *, size: int = 9) -> None:
        self.set_font(self.body_font, size=size)
        self.multi_cell(0, 5, self.clean(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


@dataclass(frozen=True)
class TaxPart:
    """The tax of the lines sold at one rate: the net amount it was computed on, and the tax."""

    rate_ppm: int | None
    net_minor: int
    tax_minor: int


def tax_parts(lines: Sequence[OrderLine], *, prices_include_tax: bool) -> list[TaxPart]:
    """Tax per rate, highest rate first; lines sold before rates were recorded form a part without one.
    The parts' tax adds up to the order's, since the order's tax is the sum of its lines'."""
    net: dict[int | None, int] = {}
    tax: dict[int | None, int] = {}
    for line in lines:
        base = line.subtotal_minor - line.discount_minor
        rate = line.tax_rate_ppm
        net[rate] = net.get(rate, 0) + (base - line.tax_minor if prices_include_tax else base)
        tax[rate] = tax.get(rate, 0) + line.tax_minor
    order = sorted(net, key=lambda rate: -1 if rate is None else rate, reverse=True)
    return [TaxPart(rate, net[rate], tax[rate]) for rate in order]


def tax_rate_label(rate_ppm: int | None) -> str:
    """``Tax 8.25%``; ``Tax`` for lines sold before their rate was recorded."""
    return "Tax" if rate_ppm is None else f"Tax {ppm_to_percent(rate_ppm):f}%"


def _seller_lines(settings: Settings) -> list[str]:
    lines = [settings.seller_name or settings.shop_name, *settings.seller_address]
    if settings.seller_tax_id:
        lines.append(f"{settings.seller_tax_id_label}: {settings.seller_tax_id}")
    return lines


def invoice_pdf(
    settings: Settings,
    order: Order,
    lines: Sequence[OrderLine],
    *,
    issued_at: datetime,
) -> bytes:
    """The invoice (an order with an invoice number) or the pro-forma invoice (one without) as PDF bytes."""
    final = order.invoice_number is not None
    title = "Invoice" if final else "Pro-forma invoice"
    pdf = OrderDocument()
    pdf.set_title(f"{title} {order.invoice_number or order.number}")
    pdf.set_author(settings.seller_name or settings.shop_name)
    pdf.set_creation_date(issued_at)
    pdf.add_page()
    _draw_seller(pdf, settings, title)
    _draw_facts(pdf, order, final=final, issued_at=issued_at)
    _draw_addresses(pdf, settings, order)
    _draw_lines(pdf, lines, order.currency)
    _draw_totals(pdf, order, lines, final=final)
    if not final:
        pdf.paragraph(PRO_FORMA_NOTE)
    return bytes(pdf.output())


def _draw_seller(pdf: OrderDocument, settings: Settings, title: str) -> None:
    seller = _seller_lines(settings)
    pdf.write_cell(120, seller[0], size=14)
    pdf.write_cell(0, title, align="R", size=16, new_line=True)
    for text in seller[1:]:
        pdf.write_cell(0, text, size=9, new_line=True)
    pdf.ln(4)


def _draw_facts(pdf: OrderDocument, order: Order, *, final: bool, issued_at: datetime) -> None:
    """The invoice number (a final invoice only), the date, the order and its payment."""
    facts = [
        ("Invoice number", order.invoice_number) if final else None,
        ("Invoice date" if final else "Date", f"{issued_at:%Y-%m-%d}"),
        ("Order", f"{order.number} of {order.created_at:%Y-%m-%d}"),
        ("Payment method", payment_method_name(order.payment_method)),
        ("Payment status", payment_status_name(order.payment_status)),
    ]
    for fact in facts:
        if fact is not None:
            pdf.write_cell(45, f"{fact[0]}:")
            pdf.write_cell(0, str(fact[1]), new_line=True)
    pdf.ln(4)


def _draw_addresses(pdf: OrderDocument, settings: Settings, order: Order) -> None:
    """The billing and the delivery address side by side, as the country's post writes them."""
    pdf.write_cell(95, "Billed to", size=11)
    pdf.write_cell(0, "Delivered to", size=11, new_line=True)
    billing = address_lines(order.billing_address, settings.locale)
    shipping = address_lines(order.shipping_address, settings.locale)
    for i in range(max(len(billing), len(shipping))):
        pdf.write_fitted(95, billing[i] if i < len(billing) else "")
        pdf.write_cell(0, shipping[i] if i < len(shipping) else "", new_line=True)
    pdf.write_cell(0, f"E-mail: {order.contact_email}", size=9, new_line=True)
    pdf.ln(4)


def _draw_lines(pdf: OrderDocument, lines: Sequence[OrderLine], currency: str) -> None:
    widths = (80, 30, 12, 33, 35)
    for width, heading, align in zip(
        widths, ("Item", "SKU", "Qty", "Unit price", "Amount"), "LLRRR", strict=True
    ):
        pdf.write_cell(width, heading, align=align, size=10)
    pdf.ln(7)
    for line in lines:
        pdf.write_fitted(widths[0], line_name(line.product_name, line.variant_name))
        pdf.write_fitted(widths[1], line.sku, size=8)
        pdf.write_cell(widths[2], str(line.quantity), align="R")
        pdf.write_cell(widths[3], money_text(line.unit_price_minor, currency), align="R")
        pdf.write_cell(widths[4], money_text(line.subtotal_minor, currency), align="R", new_line=True)
    pdf.ln(3)


def _total_rows(order: Order, parts: list[TaxPart]) -> list[tuple[str, int]]:
    """What adds up to the total: subtotal, discount, shipping, and tax per rate when prices exclude it."""
    currency = order.currency
    rows: list[tuple[str, int]] = [("Subtotal", order.subtotal_minor)]
    if order.discount_minor:
        label = f"Discount ({order.coupon_code})" if order.coupon_code else "Discount"
        rows.append((label, -order.discount_minor))
    rows.append((f"Shipping ({order.shipping_method_name})", order.shipping_minor))
    if not order.prices_include_tax:
        rows += [
            (f"{tax_rate_label(part.rate_ppm)} on {money_text(part.net_minor, currency)}", part.tax_minor)
            for part in parts
        ]
    return rows


def _draw_totals(pdf: OrderDocument, order: Order, lines: Sequence[OrderLine], *, final: bool) -> None:
    """The rows that add up, the total, and (prices including tax) the part of the total that is tax."""
    currency = order.currency
    parts = tax_parts(lines, prices_include_tax=order.prices_include_tax)
    for label, minor in _total_rows(order, parts):
        pdf.write_cell(152, label, align="R")
        pdf.write_cell(38, money_text(minor, currency), align="R", new_line=True)
    pdf.write_cell(152, "Total" if final else "Amount due", align="R", size=12)
    pdf.write_cell(38, money_text(order.total_minor, currency), align="R", size=12, new_line=True)
    if order.prices_include_tax:
        for part in parts:
            label = f"Includes {tax_rate_label(part.rate_ppm)} on {money_text(part.net_minor, currency)}"
            pdf.write_cell(152, label, align="R", size=9)
            pdf.write_cell(38, money_text(part.tax_minor, currency), align="R", size=9, new_line=True)
    pdf.ln(6)
