"""Quotes for paying an order in a crypto currency (Bitcoin, Litecoin, Lightning).

A quote fixes how much of a crypto currency the shopper sends for an order, for
``settings.crypto_quote_minutes``. Amounts are integers of the currency's smallest unit (satoshis for BTC
and LTC, drops for XRP), never floats; the decimal string is for display and for payment URIs.

Unlike the display prices of the catalog (``catalog.rates.current_rates``), a quote never comes from a
cached or fallback table: it fixes what the shop is paid, so it takes a fresh rate from the configured
provider (``provider_for(settings).fetch()``) and refuses with a retryable ``GatewayError`` when the
provider is down, rather than quote from rates that may be hours old. With the static table (no
``EMPORIUM_CRYPTO_RATES_URL``) the table is the truth and a quote always succeeds. Gateways are built from
``Settings`` alone, which is why the quote needs no app cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any

from emporium.catalog.rates import RateProvider, RatesUnavailable, provider_for
from emporium.core.db import utcnow
from emporium.core.money import MoneyError, decimal_string, exponent, from_minor
from emporium.payments.config import GatewaySettings
from emporium.payments.gateways.base import GatewayError

# The currencies a quote can be in; each has its exponent in core.money.
QUOTABLE = frozenset({"BTC", "LTC", "XRP"})


@dataclass(frozen=True)
class Quote:
    crypto: str
    # What the shopper pays, in the smallest unit of ``crypto`` (satoshis for BTC and LTC).
    amount_units: int
    # Units of ``crypto`` per one unit of the shop currency, as the provider gave it.
    rate: Decimal
    shop_amount_minor: int
    shop_currency: str
    quoted_at: datetime
    expires_at: datetime
    rate_source: str

    @property
    def amount(self) -> str:
        """``"0.00104999"``: the amount in major units, with all the currency's places."""
        return units_to_decimal(self.amount_units, self.crypto)

    def details(self) -> dict[str, Any]:
        """What a payment shows of its quote (JSON-safe: strings and integers only)."""
        return {
            "currency": self.crypto,
            "amount": self.amount,
            "amount_units": self.amount_units,
            "rate": decimal_string(self.rate),
            "rate_source": self.rate_source,
            "quoted_at": self.quoted_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
        }


def units_to_decimal(units: int, crypto: str) -> str:
    """``104999, "BTC"`` -> ``"0.00104999"`` (8 places for BTC and LTC)."""
    return decimal_string(from_minor(units, crypto))


def decimal_to_units(amount: Decimal | str | int, crypto: str) -> int:
    """``"0.00104999", "BTC"`` -> ``104999``. Refuses anything more precise than the currency's unit, so a
    node's answer is never rounded into a payment. Read JSON numbers with ``parse_float=Decimal``."""
    if isinstance(amount, bool | float):
        raise MoneyError("crypto amounts are read as decimals, never floats")
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation as exc:
        raise MoneyError(f"not a {crypto} amount: {amount!r}") from exc
    if not value.is_finite():
        raise MoneyError(f"not a {crypto} amount: {amount!r}")
    scaled = value.scaleb(exponent(crypto))
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{crypto} amounts have at most {exponent(crypto)} decimal places")
    return int(scaled)


async def quote(
    settings: GatewaySettings,
    amount_minor: int,
    shop_currency: str,
    crypto: str,
    *,
    provider: RateProvider | None = None,
    now: datetime | None = None,
) -> Quote:
    """How much ``crypto`` pays ``amount_minor`` of ``shop_currency``, fixed until ``expires_at``.

    The amount is rounded up to the next smallest unit, so the shop never receives less than the order
    total. Raises ``GatewayError`` (retryable) when no fresh rate can be had.
    """
    code = crypto.upper()
    if code not in QUOTABLE:
        raise GatewayError(f"cannot quote in {crypto}")
    if amount_minor <= 0:
        raise GatewayError("nothing to quote")
    if provider is None:
        # The provider keeps only the currencies it is asked for: ask for this one, displayed or not.
        provider = provider_for(settings.model_copy(update={"crypto_display_currencies": [code]}))
    try:
        rates = await provider.fetch()
    except RatesUnavailable as exc:
        raise GatewayError(f"no exchange rate for {code} right now: {exc}", retryable=True) from exc
    rate = rates.get(code)
    if rate is None:
        raise GatewayError(f"no exchange rate for {code} right now", retryable=True)
    places = exponent(code)
    major = (from_minor(amount_minor, shop_currency) * rate).quantize(
        Decimal(1).scaleb(-places), rounding=ROUND_CEILING
    )
    units = int(major.scaleb(places))
    if units <= 0:
        raise GatewayError(f"the amount is too small to pay in {code}")
    quoted_at = now or utcnow()
    return Quote(
        crypto=code,
        amount_units=units,
        rate=rate,
        shop_amount_minor=amount_minor,
        shop_currency=shop_currency.upper(),
        quoted_at=quoted_at,
        expires_at=quoted_at + timedelta(minutes=settings.crypto_quote_minutes),
        rate_source=provider.source,
    )
