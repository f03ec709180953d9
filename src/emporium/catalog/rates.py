"""Exchange rates for the display prices in crypto currencies (seed 001 ``priceInCrypto``).

A rate is how many units of a crypto currency one unit of the shop currency buys (``{"BTC": "0.0000105"}``
for USD means one dollar buys 0.0000105 BTC). Rates come from a provider: the configured static table by
default (``EMPORIUM_CRYPTO_RATES``), or an HTTP endpoint answering that same JSON object when
``EMPORIUM_CRYPTO_RATES_URL`` is set. They are cached with the time they were obtained:

- ``catalog:crypto_rates`` holds the current rates for ``crypto_rates_ttl_seconds``;
- ``catalog:crypto_rates:last`` keeps the last good answer of the provider for a week.

When the provider is down or answers nonsense, the last good rates (or the static table when there are
none) are served and kept as current for a short back-off, so a failing provider costs at most one short
timeout per back-off period and never fails a page. Prices are display only: orders are paid through the
payment gateways, which quote their own amounts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Protocol

import httpx
import structlog

from emporium.core.cache import Cache
from emporium.core.config import Settings
from emporium.core.db import utcnow
from emporium.core.money import EXPONENTS, decimal_string, from_minor, quantize

log = structlog.get_logger(__name__)

CURRENT_KEY = "catalog:crypto_rates"
LAST_GOOD_KEY = "catalog:crypto_rates:last"
LAST_GOOD_TTL_SECONDS = 7 * 24 * 3600
# How long fallback rates stand in for the provider before it is asked again.
FAILURE_BACKOFF_SECONDS = 30
HTTP_TIMEOUT_SECONDS = 2.0
MAX_RESPONSE_BYTES = 64 * 1024


class RatesUnavailable(Exception):
    """The provider could not give rates (down, slow, or an answer that is not a rate table)."""


@dataclass(frozen=True)
class Rates:
    rates: dict[str, Decimal]
    as_of: datetime
    source: str

    def to_json(self) -> str:
        return json.dumps(
            {
                "rates": {code: decimal_string(rate) for code, rate in self.rates.items()},
                "as_of": self.as_of.isoformat(),
                "source": self.source,
            }
        )

    @classmethod
    def from_json(cls, raw: str) -> Rates:
        value = json.loads(raw)
        return cls(
            rates={code: Decimal(rate) for code, rate in value["rates"].items()},
            as_of=datetime.fromisoformat(value["as_of"]),
            source=str(value["source"]),
        )


def parse_rates(table: Mapping[str, object], wanted: list[str]) -> dict[str, Decimal]:
    """The usable rates of ``table`` for the ``wanted`` currencies: positive finite decimals only.

    Floats are read through their text form (a JSON provider may send numbers); the rates are display
    only, but they still never pass through binary floating point arithmetic here.
    """
    rates: dict[str, Decimal] = {}
    for code in wanted:
        code = code.upper()
        if code not in EXPONENTS:
            continue
        raw = table.get(code, table.get(code.lower()))
        if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
            continue
        try:
            rate = Decimal(str(raw).strip())
        except InvalidOperation:
            continue
        if rate.is_finite() and rate > 0 and rate < Decimal("1e12"):
            rates[code] = rate
    return rates


class RateProvider(Protocol):
    source: str

    async def fetch(self) -> dict[str, Decimal]: ...


class StaticRates:
    """The table in the settings."""

    source = "static"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def fetch(self) -> dict[str, Decimal]:
        return parse_rates(self.settings.crypto_rates, self.settings.crypto_display_currencies)


class HttpRates:
    """``GET url`` answering ``{"BTC": "0.0000105", "LTC": "0.0115", "XRP": "0.43"}``."""

    source = "http"

    def __init__(self, settings: Settings, url: str, timeout: float = HTTP_TIMEOUT_SECONDS) -> None:
        self.settings = settings
        self.url = url
        self.timeout = timeout

    async def fetch(self) -> dict[str, Decimal]:
        try:
            async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as client:
                response = await client.get(self.url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise RatesUnavailable(f"rate provider unreachable: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise RatesUnavailable(f"rate provider answered {response.status_code}")
        if len(response.content) > MAX_RESPONSE_BYTES:
            raise RatesUnavailable("rate provider answer too large")
        try:
            table = json.loads(response.content, parse_float=Decimal)
        except ValueError as exc:
            raise RatesUnavailable("rate provider answer is not JSON") from exc
        if not isinstance(table, dict):
            raise RatesUnavailable("rate provider answer is not an object")
        rates = parse_rates(table, self.settings.crypto_display_currencies)
        if not rates:
            raise RatesUnavailable("rate provider answer holds no usable rate")
        return rates


def provider_for(settings: Settings) -> RateProvider:
    if settings.crypto_rates_url:
        return HttpRates(settings, settings.crypto_rates_url)
    return StaticRates(settings)


async def _cached(cache: Cache, key: str) -> Rates | None:
    try:
        raw = await cache.get(key)
    except Exception as exc:  # a cache that is down must not take the product pages with it
        log.warning("crypto_rates_cache_unavailable", error=repr(exc))
        return None
    if raw is None:
        return None
    try:
        return Rates.from_json(raw)
    except (ValueError, KeyError, TypeError, InvalidOperation):
        await _store(cache, key, None, 0)
        return None


async def _store(cache: Cache, key: str, value: str | None, ttl_seconds: int) -> None:
    try:
        if value is None:
            await cache.delete(key)
        else:
            await cache.set(key, value, ttl_seconds)
    except Exception as exc:
        log.warning("crypto_rates_cache_unavailable", error=repr(exc))


async def current_rates(settings: Settings, cache: Cache, provider: RateProvider | None = None) -> Rates:
    """The rates to display now. Never raises because of the provider."""
    fresh = await _cached(cache, CURRENT_KEY)
    if fresh is not None:
        return fresh
    provider = provider or provider_for(settings)
    try:
        rates = Rates(await provider.fetch(), utcnow(), provider.source)
    except RatesUnavailable as exc:
        log.warning("crypto_rates_unavailable", reason=str(exc))
        fallback = await _cached(cache, LAST_GOOD_KEY)
        if fallback is None:
            fallback = Rates(await StaticRates(settings).fetch(), utcnow(), "static")
        await _store(
            cache,
            CURRENT_KEY,
            fallback.to_json(),
            min(FAILURE_BACKOFF_SECONDS, settings.crypto_rates_ttl_seconds),
        )
        return fallback
    await _store(cache, CURRENT_KEY, rates.to_json(), settings.crypto_rates_ttl_seconds)
    await _store(cache, LAST_GOOD_KEY, rates.to_json(), LAST_GOOD_TTL_SECONDS)
    return rates


def crypto_prices(price_minor: int, currency: str, rates: Rates) -> dict[str, str]:
    """``{"BTC": "0.00104999", ...}``: the shop price converted and rounded to each crypto's exponent."""
    amount = from_minor(price_minor, currency)
    return {code: decimal_string(quantize(amount * rate, code)) for code, rate in sorted(rates.rates.items())}
