"""A price change staff apply to many products at once: up or down, by an amount or by a percentage.

Pure integer arithmetic on minor units. A percentage is kept in hundredths of a percent (basis points), so
9.99 up by 12.5 % is ``999 * 11250 / 10000`` = 1123.875 cents exactly, then rounded half up to a whole minor
unit of the currency: 11.24. An amount must be a whole number of minor units of the shop's currency.

A compare-at ("was") price changes by the same rule, so a sale keeps its size; one that would no longer be
above the new price is dropped rather than shown as a "was" price lower than the price. A price never goes
below zero: ``check`` refuses the whole change, naming how many products it would take there.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from emporium.catalog.schemas import MAX_PRICE
from emporium.core.errors import ValidationFailed
from emporium.core.money import MoneyError, exponent, from_minor, to_minor

Mode = Literal["amount", "percent"]
Direction = Literal["up", "down"]
MAX_PERCENT_UP = Decimal(1000)
# Down by 100 % or more would give every product away.
MAX_PERCENT_DOWN = Decimal("99.99")


def refused(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details=[{"field": field, "message": message}])


@dataclass(frozen=True)
class PriceChange:
    mode: Mode
    direction: Direction
    # Minor units for an amount; basis points (hundredths of a percent) for a percentage.
    step: int

    @classmethod
    def parse(cls, mode: str, direction: str, value: str, currency: str) -> PriceChange:
        """The change a form describes; a refusal names the field and says what to give instead."""
        if mode not in ("amount", "percent"):
            raise refused("price_mode", "Choose an amount or a percentage.")
        if direction not in ("up", "down"):
            raise refused("price_direction", "Choose whether prices go up or down.")
        way: Direction = "up" if direction == "up" else "down"
        try:
            number = Decimal(value.strip())
        except InvalidOperation as exc:
            raise refused("price_value", "Give the change as a number, e.g. 5 or 12.5.") from exc
        if not number.is_finite() or number <= 0:
            raise refused("price_value", "Give a change above zero.")
        if mode == "percent":
            return cls(mode="percent", direction=way, step=_basis_points(number, way))
        if number > MAX_PRICE:
            raise refused("price_value", f"A price changes by at most {MAX_PRICE:,} at a time.")
        try:
            minor = to_minor(number, currency)
        except MoneyError as exc:
            raise refused(
                "price_value", f"Amounts in {currency} have at most {exponent(currency)} decimal places."
            ) from exc
        return cls(mode="amount", direction=way, step=minor)

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> PriceChange:
        return cls(mode=params["mode"], direction=params["direction"], step=int(params["step"]))

    def params(self) -> dict[str, Any]:
        return {"mode": self.mode, "direction": self.direction, "step": self.step}

    def price(self, minor: int) -> int:
        """The new price of ``minor`` (negative when an amount takes it below zero; ``check`` refuses it)."""
        sign = 1 if self.direction == "up" else -1
        if self.mode == "amount":
            return minor + sign * self.step
        scaled = minor * (10_000 + sign * self.step)
        return (scaled + 5_000) // 10_000

    def prices(self, price: int, compare_at: int | None) -> tuple[int, int | None]:
        """The new price and compare-at price of a variant."""
        new_price = self.price(price)
        new_compare = None if compare_at is None else self.price(compare_at)
        if new_compare is not None and new_compare <= new_price:
            new_compare = None
        return new_price, new_compare

    def describe(self, currency: str) -> str:
        """``up by 10 %``, ``down by 2.50 USD``."""
        how = "up" if self.direction == "up" else "down"
        if self.mode == "percent":
            return f"{how} by {Decimal(self.step).scaleb(-2).normalize():f} %"
        return f"{how} by {from_minor(self.step, currency)} {currency}"

    def check(self, lowest: int | None, highest: int | None, currency: str) -> None:
        """Refuse a change that takes the lowest price below zero or the highest beyond the largest price."""
        if lowest is not None and self.price(lowest) < 0:
            raise refused(
                "price_value",
                f"This would take a price of {from_minor(lowest, currency)} {currency} below zero; "
                "lower the amount or narrow the products.",
            )
        limit = to_minor(MAX_PRICE, currency)
        if highest is not None and self.price(highest) > limit:
            raise refused("price_value", f"This would take a price above {MAX_PRICE:,} {currency}.")


def _basis_points(number: Decimal, direction: str) -> int:
    scaled = number.scaleb(2)
    if scaled != scaled.to_integral_value():
        raise refused("price_value", "Give a percentage with at most two decimal places, e.g. 12.5.")
    ceiling = MAX_PERCENT_UP if direction == "up" else MAX_PERCENT_DOWN
    if number > ceiling:
        raise refused(
            "price_value",
            f"Prices go {direction} by at most {ceiling} % at a time.",
        )
    return int(scaled)
