"""What the shopper saw before placing an order, and how it compares with the price the server works out.

The review page shows a quote (lines, shipping method, coupon, tax, total) and carries it, sealed, in its
form; the API's client may send the total it showed as ``expected_total``. Placing the order re-prices the
cart on the server, and when the new quote is not the one that was shown, no order is placed: the shopper is
shown the new quote with what changed (``changes``), never charged an amount they did not see.

Only figures and the shipping method take part in the comparison; names travel along so a change can be
told in words ("Shipping: Express instead of Standard"), but a renamed product is not a changed price.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from emporium.cart.schemas import CartRead
from emporium.catalog.names import line_name
from emporium.core.errors import Conflict
from emporium.core.money import MoneyError, from_minor, to_minor
from emporium.orders.errors import OrderError

# Formats an amount in minor units of the quote's currency, for the shopper.
Money = Callable[[int], str]


@dataclass(frozen=True)
class SeenLine:
    variant_id: int
    quantity: int
    unit_price_minor: int
    name: str = field(default="", compare=False)


@dataclass(frozen=True)
class SeenQuote:
    currency: str
    lines: tuple[SeenLine, ...]
    shipping_method_id: int | None
    coupon_code: str | None
    subtotal_minor: int
    discount_minor: int
    shipping_minor: int
    tax_minor: int
    total_minor: int
    shipping_method_name: str = field(default="", compare=False)

    @classmethod
    def of(cls, cart: CartRead, shipping_method_id: int | None) -> SeenQuote:
        """The quote as a cart view shows it: the one constructor both the page and checkout use, so the
        two can differ only when the figures do."""
        currency = cart.currency
        totals = cart.totals
        return cls(
            currency=currency,
            lines=tuple(
                sorted(
                    (
                        SeenLine(
                            variant_id=item.variant_id,
                            quantity=item.quantity,
                            unit_price_minor=to_minor(item.unit_price, currency),
                            name=line_name(item.product_name, item.variant_name),
                        )
                        for item in cart.items
                    ),
                    key=lambda line: line.variant_id,
                )
            ),
            shipping_method_id=shipping_method_id if cart.shipping_method is not None else None,
            coupon_code=cart.coupon.code if cart.coupon is not None and cart.coupon.applied else None,
            subtotal_minor=to_minor(totals.subtotal, currency),
            discount_minor=to_minor(totals.discount, currency),
            shipping_minor=to_minor(totals.shipping, currency),
            tax_minor=to_minor(totals.tax, currency),
            total_minor=to_minor(totals.total, currency),
            shipping_method_name=cart.shipping_method or "",
        )

    @property
    def total(self) -> Decimal:
        return from_minor(self.total_minor, self.currency)

    # The sealed form field's payload: compact, and read back only after its signature was checked.

    def to_json(self) -> str:
        return json.dumps(
            [
                self.currency,
                [[x.variant_id, x.quantity, x.unit_price_minor, x.name] for x in self.lines],
                self.shipping_method_id,
                self.coupon_code,
                [self.subtotal_minor, self.discount_minor, self.shipping_minor, self.tax_minor],
                self.total_minor,
                self.shipping_method_name,
            ],
            separators=(",", ":"),
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> SeenQuote | None:
        """None for anything that is not a payload ``to_json`` wrote."""
        try:
            currency, lines, method_id, coupon, figures, total, method_name = json.loads(text)
            subtotal, discount, shipping, tax = (int(x) for x in figures)
            return cls(
                currency=str(currency),
                lines=tuple(SeenLine(int(v), int(q), int(p), str(n)) for v, q, p, n in lines),
                shipping_method_id=None if method_id is None else int(method_id),
                coupon_code=None if coupon is None else str(coupon),
                subtotal_minor=subtotal,
                discount_minor=discount,
                shipping_minor=shipping,
                tax_minor=tax,
                total_minor=int(total),
                shipping_method_name=str(method_name),
            )
        except (ValueError, TypeError):
            return None

    def as_details(self) -> list[dict[str, Any]]:
        """The quote in the error body's ``details``: one entry per figure, amounts as decimal strings."""

        def amount(minor: int) -> str:
            return f"{from_minor(minor, self.currency):f}"

        details: list[dict[str, Any]] = [
            {
                "field": f"items.{line.variant_id}",
                "message": f"{line.quantity} x {line.name} at {amount(line.unit_price_minor)}",
                "quantity": line.quantity,
                "unit_price": amount(line.unit_price_minor),
            }
            for line in self.lines
        ]
        details += [
            {
                "field": "shipping_method_id",
                "message": self.shipping_method_name,
                "value": self.shipping_method_id,
            },
            {"field": "coupon", "message": self.coupon_code or "none", "value": self.coupon_code},
        ]
        for name, minor in (
            ("subtotal", self.subtotal_minor),
            ("discount", self.discount_minor),
            ("shipping", self.shipping_minor),
            ("tax", self.tax_minor),
            ("total", self.total_minor),
        ):
            details.append(
                {"field": name, "message": f"{amount(minor)} {self.currency}", "value": amount(minor)}
            )
        return details


class PriceChanged(Conflict):
    code = OrderError.PRICE_CHANGED
    message = "The order's price changed since it was shown: no order was placed. Review the new total."

    def __init__(self, seen: SeenQuote, changes: list[str]) -> None:
        super().__init__(
            f"{self.message} The total is now {seen.total:f} {seen.currency}.",
            details=seen.as_details(),
        )
        self.seen = seen
        self.changes = changes


def expected_total_minor(expected: Decimal, currency: str) -> int | None:
    """The client's expected total in minor units; None when it cannot be an amount of ``currency`` (more
    decimal places than it has), which can never match."""
    try:
        return to_minor(expected, currency)
    except MoneyError:
        return None


def changes(shown: SeenQuote, now: SeenQuote, money: Money) -> list[str]:
    """What differs between the quote shown and the quote now, in words, most specific first.
    ``money(minor)`` formats an amount of the quote's currency."""
    return [
        *_line_changes(shown, now, money),
        *_shipping_changes(shown, now, money),
        *_coupon_changes(shown, now, money),
        *_figure_changes(shown, now, money),
    ]


def _line_changes(shown: SeenQuote, now: SeenQuote, money: Money) -> list[str]:
    """Lines added, repriced or of another quantity, then lines gone."""
    told: list[str] = []
    before = {line.variant_id: line for line in shown.lines}
    after = {line.variant_id: line for line in now.lines}
    for variant_id, line in after.items():
        old = before.get(variant_id)
        if old is None:
            told.append(f"{line.name} was added to your order.")
        elif old.unit_price_minor != line.unit_price_minor:
            told.append(
                f"The price of {line.name} changed from {money(old.unit_price_minor)} "
                f"to {money(line.unit_price_minor)}."
            )
        elif old.quantity != line.quantity:
            told.append(f"{line.name}: the quantity is now {line.quantity} (it was {old.quantity}).")
    told += [f"{line.name} is no longer in your order." for v, line in before.items() if v not in after]
    return told


def _shipping_changes(shown: SeenQuote, now: SeenQuote, money: Money) -> list[str]:
    if shown.shipping_method_id != now.shipping_method_id:
        return [
            f"Shipping: {now.shipping_method_name or 'none'} ({money(now.shipping_minor)}) instead of "
            f"{shown.shipping_method_name or 'none'} ({money(shown.shipping_minor)})."
        ]
    if shown.shipping_minor != now.shipping_minor:
        return [f"Shipping now costs {money(now.shipping_minor)} (it was {money(shown.shipping_minor)})."]
    return []


def _coupon_changes(shown: SeenQuote, now: SeenQuote, money: Money) -> list[str]:
    if shown.coupon_code != now.coupon_code:
        return [
            f"Coupon {shown.coupon_code} no longer applies."
            if now.coupon_code is None
            else f"Coupon {now.coupon_code} now applies."
        ]
    if shown.discount_minor != now.discount_minor:
        return [f"The discount is now {money(now.discount_minor)} (it was {money(shown.discount_minor)})."]
    return []


def _figure_changes(shown: SeenQuote, now: SeenQuote, money: Money) -> list[str]:
    """Tax and currency when they changed; the total always, last."""
    told: list[str] = []
    if shown.tax_minor != now.tax_minor:
        told.append(f"Tax is now {money(now.tax_minor)} (it was {money(shown.tax_minor)}).")
    if shown.currency != now.currency:
        told.append(f"Prices are now in {now.currency}.")
    told.append(f"The total is now {money(now.total_minor)} (it was {money(shown.total_minor)}).")
    return told
