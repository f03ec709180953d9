"""The rule that keeps card numbers out of free text: what it refuses and what it lets through."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import BaseModel, ValidationError

from emporium.core.card_numbers import MESSAGE, NoCardNumber, holds_card_number


@pytest.mark.parametrize(
    "text",
    [
        "4242424242424242",
        "4242 4242 4242 4242",
        "4242-4242-4242-4242",
        "4242.4242.4242.4242",
        "  my card: 4111 1111 1111 1111, exp 12/30, cvc 123",
        "Amex 378282246310005",
        "3782 822463 10005",
        "Mastercard 2223003122003222 thanks",
        "6011111111111117",
        "(4000056655665556)",
        "4242424242424242 12/30",
        "5555555555554444 99",
    ],
)
def test_card_numbers_are_found(text: str) -> None:
    assert holds_card_number(text)


@pytest.mark.parametrize(
    "text",
    [
        "Ada Lovelace",
        "Flat 12, 221B Baker Street",
        "4242 4242 4242 4241",  # fails the Luhn check
        "Call +86 138 0013 8000 on arrival",  # a phone written with its +
        "+4242424242424242",
        "order 1234567890123452",  # 1 starts no payment card
        "ref AB4242424242424242",  # part of a longer id
        "4242424242424242XY",
        "424242424242",  # 12 digits: too short
        "ISBN 978-0-306-40615-7",
        "2026-12-06 10:30",
    ],
)
def test_other_digits_are_not(text: str) -> None:
    assert not holds_card_number(text)


class _Note(BaseModel):
    note: Annotated[str, NoCardNumber] | None = None


def test_a_field_refuses_with_the_stable_code_and_a_human_message() -> None:
    assert _Note(note="Leave it at the door").note == "Leave it at the door"
    assert _Note().note is None
    with pytest.raises(ValidationError) as refused:
        _Note(note="card 4242 4242 4242 4242")
    (error,) = refused.value.errors()
    assert error["loc"] == ("note",)
    assert error["msg"] == MESSAGE
    assert error["ctx"] == {"code": "CARD_DATA_REFUSED"}
    assert "4242" not in str(error["msg"])
