"""PayPal's wire format: money objects, request ids, HATEOAS links, captures and error bodies."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx

from emporium.core.money import MoneyError, decimal_string, from_minor, parse_decimal, to_minor
from emporium.payments.gateways.base import GatewayError

# PayPal takes these currencies in whole units only, whatever their ISO exponent says.
WHOLE_UNIT_CURRENCIES = frozenset({"HUF", "TWD"})


class PayPalError(GatewayError):
    """PayPal refused a call: its HTTP status, error ``name`` and first ``issue``."""

    def __init__(self, status: int, name: str, issue: str | None, message: str) -> None:
        super().__init__(message, retryable=status >= 500 or status == 429)
        self.status, self.name, self.issue = status, name, issue


def paypal_amount(amount_minor: int, currency: str) -> dict[str, str]:
    """PayPal's money object: a decimal string in the currency's unit, never a float."""
    value = from_minor(amount_minor, currency)
    if currency.upper() in WHOLE_UNIT_CURRENCIES:
        if value != value.to_integral_value():
            raise GatewayError(f"PayPal takes {currency} amounts in whole units only")
        value = value.quantize(Decimal(1))
    return {"currency_code": currency.upper(), "value": decimal_string(value)}


def minor_of(money: Any) -> tuple[int, str]:
    """``{"currency_code": "USD", "value": "45.00"}`` -> ``(4500, "USD")``; MoneyError when unreadable."""
    if not isinstance(money, dict):
        raise MoneyError("not a PayPal amount")
    currency = str(money.get("currency_code", ""))
    value = money.get("value")
    if not isinstance(value, str):
        raise MoneyError("PayPal amounts are decimal strings")
    return to_minor(parse_decimal(value), currency), currency.upper()


def request_id(kind: str, key: str) -> str:
    # PayPal keeps request ids of at most 108 characters; a digest keeps any key short and stable.
    return f"emporium-{kind}-{hashlib.sha256(key.encode()).hexdigest()[:40]}"


def link_of(resource: Mapping[str, Any], *rels: str) -> str | None:
    for link in resource.get("links") or []:
        if isinstance(link, dict) and link.get("rel") in rels and isinstance(link.get("href"), str):
            return str(link["href"])
    return None


def first_capture(order: Mapping[str, Any]) -> dict[str, Any] | None:
    units = order.get("purchase_units") or []
    if not units or not isinstance(units[0], dict):
        return None
    captures = (units[0].get("payments") or {}).get("captures") or []
    return captures[0] if captures and isinstance(captures[0], dict) else None


def error_of(response: httpx.Response) -> PayPalError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    details = body.get("details") or []
    first = details[0] if details and isinstance(details[0], dict) else {}
    issue = first.get("issue")
    name = str(body.get("name") or body.get("error") or f"HTTP_{response.status_code}")
    text = first.get("description") or body.get("message") or body.get("error_description") or name
    return PayPalError(
        response.status_code,
        name,
        str(issue) if issue else None,
        f"PayPal answered {response.status_code} {name}{f' ({issue})' if issue else ''}: {text}",
    )
