from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from emporium.core.money import DecimalAmount, Money, MoneyError, from_minor, quantize, to_minor


class Priced(BaseModel):
    price: DecimalAmount


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("999.99", "USD", 99999),
        ("0.01", "USD", 1),
        ("1500", "JPY", 1500),
        ("0.00000001", "BTC", 1),
        ("12.5", "KWD", 12500),
    ],
)
def test_minor_units_round_trip(amount: str, currency: str, minor: int) -> None:
    assert to_minor(Decimal(amount), currency) == minor
    assert from_minor(minor, currency) == Decimal(amount)


def test_refuses_more_precision_than_the_currency_has() -> None:
    with pytest.raises(MoneyError):
        to_minor(Decimal("1.001"), "USD")
    with pytest.raises(MoneyError):
        to_minor(Decimal("1.5"), "JPY")


def test_json_amounts_are_strings_and_floats_are_refused() -> None:
    assert Priced(price="19.99").model_dump(mode="json") == {"price": "19.99"}
    assert Priced(price=Decimal("0.00000005")).model_dump(mode="json") == {"price": "0.00000005"}
    for bad in (19.99, "NaN", "Infinity", "abc", True, None, [1]):
        with pytest.raises(ValidationError):
            Priced(price=bad)


def test_money_arithmetic_stays_exact_and_in_one_currency() -> None:
    total = Money.of("0.10", "USD") + Money.of("0.20", "USD")
    assert total == Money(30, "USD")
    assert str(total.times(3)) == "0.90 USD"
    with pytest.raises(MoneyError):
        _ = Money.of("1", "USD") + Money.of("1", "EUR")


def test_quantize_rounds_half_to_even() -> None:
    assert quantize(Decimal("0.125"), "USD") == Decimal("0.12")
    assert quantize(Decimal("0.135"), "USD") == Decimal("0.14")
