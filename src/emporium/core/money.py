"""Exact money: integer minor units in the database, ``Decimal`` in Python, decimal strings in JSON.

A float never holds money. Each currency's exponent (2 for USD, 0 for JPY, 8 for BTC) decides how many
minor units make one major unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import lru_cache
from typing import Annotated

from babel import Locale
from babel.numbers import format_currency
from pydantic import BeforeValidator, PlainSerializer

# ISO 4217 exponents for the currencies the shop may price in, plus the crypto display currencies.
EXPONENTS: dict[str, int] = {
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "INR": 2,
    "CAD": 2,
    "AUD": 2,
    "CHF": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "PLN": 2,
    "CZK": 2,
    "BRL": 2,
    "MXN": 2,
    "ZAR": 2,
    "SGD": 2,
    "HKD": 2,
    "NZD": 2,
    "CNY": 2,
    "AED": 2,
    "JPY": 0,
    "KRW": 0,
    "HUF": 2,
    "KWD": 3,
    "BHD": 3,
    "BTC": 8,
    "LTC": 8,
    "XRP": 6,
}


class MoneyError(ValueError):
    """An amount that cannot be money: not a number, too precise for its currency, or out of range."""


def exponent(currency: str) -> int:
    try:
        return EXPONENTS[currency.upper()]
    except KeyError as exc:
        raise MoneyError(f"unknown currency {currency!r}") from exc


def to_minor(amount: Decimal, currency: str) -> int:
    """``Decimal("999.99"), "USD"`` -> ``99999``. Refuses amounts more precise than the currency allows."""
    places = exponent(currency)
    scaled = amount.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{currency} amounts have at most {places} decimal places")
    return int(scaled)


def to_minor_units(amount: Decimal, currency: str, field: str) -> int:
    """``to_minor`` for request data: an amount too precise for the currency is a 422 naming ``field``."""
    from emporium.core.errors import ValidationFailed

    try:
        return to_minor(amount, currency)
    except MoneyError as exc:
        raise ValidationFailed(details=[{"field": field, "message": str(exc)}]) from exc


def decimal_string(amount: Decimal) -> str:
    """Plain notation always: ``0.00000005``, never ``5E-8``."""
    return format(amount, "f")


def from_minor(minor: int, currency: str) -> Decimal:
    places = exponent(currency)
    return Decimal(minor).scaleb(-places).quantize(Decimal(1).scaleb(-places))


# Babel parses the locale's pattern on every call (a fifth of a millisecond): a category page shows about
# forty amounts, and a catalog repeats its prices. Equal amounts print alike (the currency's own decimal
# places), so an amount is a safe key.
@lru_cache(maxsize=16384)
def display_money(amount: Decimal, currency: str, locale: str, style: str = "symbol") -> str:
    """``Decimal("1234.50"), "USD", "en_US"`` → ``$1,234.50``: Babel writes the currency's symbol and its own
    number of decimal places, from the exact amount. ``style="code"`` writes the ISO code in the symbol's
    place, where the locale puts it (``USD 1,234.50``, ``1.234,50 USD``)."""
    if style == "code":
        pattern = Locale.parse(locale).currency_formats["standard"].pattern
        coded = pattern.replace("\u00a4", "\u00a4\u00a4 " if pattern.startswith("\u00a4") else "\u00a4\u00a4")
        return str(format_currency(amount, currency, format=coded, locale=locale))
    return str(format_currency(amount, currency, locale=locale))


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round to the currency's minor unit, half to even (used for derived amounts such as tax)."""
    return amount.quantize(Decimal(1).scaleb(-exponent(currency)), rounding=ROUND_HALF_EVEN)


def parse_decimal(value: object) -> Decimal:
    """Accept decimal strings and integers from clients; refuse floats, which cannot hold money exactly."""
    if isinstance(value, bool | float):
        raise MoneyError('send amounts as decimal strings, e.g. "19.99"')
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int | str):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise MoneyError("not a decimal amount") from exc
    else:
        raise MoneyError("not a decimal amount")
    if not result.is_finite():
        raise MoneyError("not a finite amount")
    return result


# A JSON amount: read from a string or integer, written as a string.
DecimalAmount = Annotated[
    Decimal, BeforeValidator(parse_decimal), PlainSerializer(decimal_string, return_type=str)
]


@dataclass(frozen=True, order=True)
class Money:
    minor: int
    currency: str

    @classmethod
    def of(cls, amount: Decimal | str, currency: str) -> Money:
        return cls(to_minor(parse_decimal(amount), currency), currency.upper())

    @property
    def amount(self) -> Decimal:
        return from_minor(self.minor, self.currency)

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.minor - other.minor, self.currency)

    def times(self, quantity: int) -> Money:
        return Money(self.minor * quantity, self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError(f"cannot combine {self.currency} and {other.currency}")

    def __str__(self) -> str:
        return f"{self.amount:f} {self.currency}"


def money_text(minor: int, currency: str) -> str:
    """``1250, "USD"`` → ``12.50 USD``: plain and exact, for files, PDFs and log lines (pages use Babel's
    ``display_money``)."""
    return str(Money(minor, currency))
