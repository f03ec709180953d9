"""Card numbers never reach the database through a text field (PCI DSS SAQ A: the shop stores none).

The payments API refuses any request carrying card data (``payments/card_data.py``). Free text goes
elsewhere (an order note, a name, an address line, a stock adjustment's reason, a review to come) and a
shopper may well type their card into it, so every such field is declared with ``NoCardNumber``:

    Note = Annotated[str, StringConstraints(max_length=1000), NoCardNumber]

A text is refused when it holds a run of 13 to 19 digits (a single space, dash or dot allowed between them)
that starts as payment cards do (2 to 6), is not part of a longer run of letters and digits, is not a phone
number written with its leading ``+``, and passes the Luhn check. The refusal is a validation error with the
stable code ``CARD_DATA_REFUSED`` (422) and a sentence a shopper can act on; neither the API's answer nor
the storefront's form shown again repeats the number.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

CARD_DATA_REFUSED = "CARD_DATA_REFUSED"
MESSAGE = (
    "Remove the card number: card details are never written here. The payment page asks for them when "
    "you pay."
)
# 13 to 19 digits, one separator at most between two; not glued to letters, digits or a phone's "+".
_CARD_RUN = re.compile(r"(?<![0-9A-Za-z+])[2-6](?:[ .\-]?\d){12,18}(?![0-9A-Za-z])")


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def holds_card_number(text: str) -> bool:
    """Whether ``text`` holds something that reads as a payment card number."""
    for match in _CARD_RUN.finditer(text):
        # The run, and each of its beginnings that ends between two groups: "4242 4242 4242 4242 12" is a
        # card followed by a number. (Not every beginning: one in ten would pass the Luhn check by chance.)
        digits = ""
        for group in re.split(r"[ .\-]", match.group()):
            digits += group
            if 13 <= len(digits) <= 19 and luhn_valid(digits):
                return True
    return False


def refuse_card_number(value: str) -> str:
    if holds_card_number(value):
        # "shop": the message is the shop's own and reaches the shopper as written (core/messages.py).
        raise PydanticCustomError("shop", MESSAGE, {"code": CARD_DATA_REFUSED})
    return value


def blank_card_numbers(fields: dict[str, Any]) -> None:
    """Empty the text values of ``fields`` that hold a card number: a refused form is shown again with what
    was typed, except those."""
    for name, value in fields.items():
        if isinstance(value, str) and holds_card_number(value):
            fields[name] = ""


# Put it last in a text field's ``Annotated[...]``: it sees the text after it was stripped and bounded.
NoCardNumber = AfterValidator(refuse_card_number)
