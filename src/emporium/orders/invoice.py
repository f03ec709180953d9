"""The invoice of an order as a real PDF (fpdf2).

Text is drawn with DejaVu Sans when the system has it (any script, the rupee sign); otherwise with the PDF
core font Helvetica, which only knows Latin-1, so other characters are transliterated where Unicode gives
a plain form ("é" stays, "Ł" becomes "L") and shown as "?" where it does not. Amounts are printed as
"12.50 USD", which every font can draw.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from emporium.core.config import Settings
from emporium.core.money import from_minor
from emporium.orders.models import Order, OrderLine

_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/Library/Fonts/DejaVuSans.ttf",
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


class _Invoice(FPDF):
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
            7,
            self.clean(text),
            align=align,
            new_x=XPos.LMARGIN if new_line else XPos.RIGHT,
            new_y=YPos.NEXT if new_line else YPos.TOP,
        )


def _money(minor: int, currency: str) -> str:
    return f"{from_minor(minor, currency):f} {currency}"


def _address_lines(address: dict[str, object]) -> list[str]:
    city = " ".join(str(address[k]) for k in ("postal_code", "city") if address.get(k))
    parts = [
        address.get("full_name"),
        address.get("line1"),
        address.get("line2"),
        city,
        address.get("region"),
        address.get("country"),
    ]
    return [str(p) for p in parts if p]


def invoice_pdf(settings: Settings, order: Order, lines: list[OrderLine]) -> bytes:
    pdf = _Invoice()
    pdf.set_title(f"Invoice {order.number}")
    pdf.set_author(settings.shop_name)
    pdf.set_creation_date(order.created_at)
    pdf.add_page()
    pdf.write_cell(0, settings.shop_name, size=18, new_line=True)
    pdf.write_cell(0, f"Invoice for order {order.number}", size=13, new_line=True)
    pdf.write_cell(0, f"Date: {order.created_at:%Y-%m-%d}    Status: {order.status}", new_line=True)
    pdf.write_cell(0, f"Payment: {order.payment_method} ({order.payment_status})", new_line=True)
    pdf.ln(3)
    pdf.write_cell(95, "Billed to", size=11)
    pdf.write_cell(0, "Shipped to", size=11, new_line=True)
    billing, shipping = _address_lines(order.billing_address), _address_lines(order.shipping_address)
    for i in range(max(len(billing), len(shipping))):
        pdf.write_cell(95, billing[i] if i < len(billing) else "")
        pdf.write_cell(0, shipping[i] if i < len(shipping) else "", new_line=True)
    pdf.ln(4)
    widths = (80, 30, 15, 30, 35)
    for width, title, align in zip(
        widths, ("Item", "SKU", "Qty", "Unit price", "Total"), "LLRRR", strict=True
    ):
        pdf.write_cell(width, title, align=align, size=10)
    pdf.ln(8)
    for line in lines:
        pdf.write_cell(widths[0], f"{line.product_name} - {line.variant_name}"[:48])
        pdf.write_cell(widths[1], line.sku[:18])
        pdf.write_cell(widths[2], str(line.quantity), align="R")
        pdf.write_cell(widths[3], _money(line.unit_price_minor, order.currency), align="R")
        pdf.write_cell(widths[4], _money(line.subtotal_minor, order.currency), align="R", new_line=True)
    pdf.ln(3)
    tax_label = "Tax included" if order.prices_include_tax else "Tax"
    rows = [("Subtotal", order.subtotal_minor)]
    if order.discount_minor:
        rows.append(
            (f"Discount ({order.coupon_code})" if order.coupon_code else "Discount", -order.discount_minor)
        )
    rows += [(f"Shipping ({order.shipping_method_name})", order.shipping_minor), (tax_label, order.tax_minor)]
    for label, minor in rows:
        pdf.write_cell(155, label, align="R")
        pdf.write_cell(35, _money(minor, order.currency), align="R", new_line=True)
    pdf.write_cell(155, "Total", align="R", size=12)
    pdf.write_cell(35, _money(order.total_minor, order.currency), align="R", size=12, new_line=True)
    return bytes(pdf.output())
