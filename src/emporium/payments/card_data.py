"""PCI DSS SAQ A: card numbers, CVCs and expiry dates never reach the API. A request that carries one
(under a card-like name, or any string that is a Luhn-valid card number) is refused before it is parsed,
and nothing of it is logged."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import Request

from emporium.core.card_numbers import CARD_DATA_REFUSED, luhn_valid
from emporium.core.errors import ValidationFailed

CARD_FIELDS = frozenset(
    {
        "card",
        "card_number",
        "cardnumber",
        "number",
        "pan",
        "cvc",
        "cvv",
        "cvv2",
        "cvc2",
        "security_code",
        "exp",
        "expiry",
        "expiration",
        "exp_month",
        "exp_year",
        "expiry_month",
        "expiry_year",
        "expiration_date",
    }
)
_DIGITS = re.compile(r"[\d \-]{12,23}")


def _carries_card(value: Any) -> bool:
    if isinstance(value, dict):
        return any(
            str(key).lower().replace("-", "_") in CARD_FIELDS or _carries_card(item)
            for key, item in value.items()
        )
    if isinstance(value, list):
        return any(_carries_card(item) for item in value)
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return luhn_valid(re.sub(r"\D", "", value))
    return False


async def refuse_card_data(request: Request) -> None:
    body = await request.body()
    if not body:
        return
    try:
        parsed = json.loads(body)
    except ValueError:
        return  # not JSON: the route's own parsing answers with its error
    if _carries_card(parsed):
        raise ValidationFailed(
            "Card details must never be sent to this API: the payment page of the gateway collects them.",
            code=CARD_DATA_REFUSED,
        )
