"""Crypto display prices: static rates by default, an HTTP provider when configured, never a failure."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from emporium.catalog.rates import (
    CURRENT_KEY,
    HttpRates,
    RatesUnavailable,
    crypto_prices,
    current_rates,
    parse_rates,
)
from emporium.core.cache import MemoryCache
from tests.conftest import MakeContext
from tests.support import free_port


class RateServer:
    """A real HTTP server on loopback answering whatever the test sets."""

    def __init__(self) -> None:
        self.port = free_port()
        self.status = 200
        self.body = b"{}"
        self.delay = 0.0
        self.hits = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits += 1
                time.sleep(server.delay)
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)

            def log_message(self, format: str, *args: object) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/rates"

    def answer(self, table: object, status: int = 200) -> None:
        self.body = json.dumps(table).encode()
        self.status = status

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def rate_server() -> Iterator[RateServer]:
    server = RateServer()
    server.start()
    yield server
    server.stop()


async def test_static_table_by_default(make_context: MakeContext) -> None:
    ctx = make_context(crypto_rates={"BTC": "0.00002", "LTC": "0.01", "XRP": "0.5"})
    rates = await current_rates(ctx.settings, ctx.cache)
    assert rates.source == "static"
    assert rates.rates == {"BTC": Decimal("0.00002"), "LTC": Decimal("0.01"), "XRP": Decimal("0.5")}
    again = await current_rates(ctx.settings, ctx.cache)
    assert again.as_of == rates.as_of


def test_crypto_prices_are_exact_and_quantised_per_currency() -> None:
    from emporium.catalog.rates import Rates
    from emporium.core.db import utcnow

    rates = Rates(
        {"BTC": Decimal("0.0000105"), "XRP": Decimal("0.43"), "LTC": Decimal("0.0115")}, utcnow(), "x"
    )
    # 999.99 USD: BTC 0.010499895 -> 8 places (half even), XRP 429.9957 -> 6 places, LTC 11.499885.
    assert crypto_prices(99999, "USD", rates) == {
        "BTC": "0.01049990",
        "LTC": "11.49988500",
        "XRP": "429.995700",
    }


def test_parse_rates_keeps_only_sane_positive_rates() -> None:
    table = {"BTC": "0.1", "LTC": "-1", "XRP": "NaN", "DOGE": "1", "ETH": "2"}
    assert parse_rates(table, ["BTC", "LTC", "XRP", "DOGE"]) == {"BTC": Decimal("0.1")}
    assert parse_rates({"btc": 0.5, "LTC": True, "XRP": [1]}, ["BTC", "LTC", "XRP"]) == {
        "BTC": Decimal("0.5")
    }


async def test_http_provider_rates_are_cached_with_their_time(
    make_context: MakeContext, rate_server: RateServer
) -> None:
    rate_server.answer({"BTC": "0.00003", "LTC": 0.02, "XRP": "0.7"})
    ctx = make_context(crypto_rates_url=rate_server.url)
    first = await current_rates(ctx.settings, ctx.cache)
    assert first.source == "http"
    assert first.rates == {"BTC": Decimal("0.00003"), "LTC": Decimal("0.02"), "XRP": Decimal("0.7")}
    second = await current_rates(ctx.settings, ctx.cache)
    assert second == first
    assert rate_server.hits == 1  # served from the cache


async def test_provider_down_uses_the_last_good_rates(
    make_context: MakeContext, rate_server: RateServer
) -> None:
    rate_server.answer({"BTC": "0.00003", "LTC": "0.02", "XRP": "0.7"})
    ctx = make_context(crypto_rates_url=rate_server.url)
    good = await current_rates(ctx.settings, ctx.cache)
    await ctx.cache.delete(CURRENT_KEY)  # the current rates expired
    rate_server.stop()  # and the provider is gone: connections are refused
    fallback = await current_rates(ctx.settings, ctx.cache)
    assert fallback.rates == good.rates
    assert fallback.as_of == good.as_of  # the page shows how old the rates are


async def test_provider_errors_fall_back_to_the_static_table(
    make_context: MakeContext, rate_server: RateServer
) -> None:
    rate_server.answer({"error": "maintenance"}, status=503)
    ctx = make_context(crypto_rates_url=rate_server.url, crypto_rates={"BTC": "0.5"})
    rates = await current_rates(ctx.settings, ctx.cache)
    assert rates.source == "static"
    assert rates.rates == {"BTC": Decimal("0.5")}
    # The fallback stands in for a while: the failing provider is not asked on every page.
    await current_rates(ctx.settings, ctx.cache)
    assert rate_server.hits == 1


@pytest.mark.parametrize(
    "body", [b"not json", b"[1, 2]", b'{"BTC": "-5"}', b'{"BTC": {"nested": 1}}', b"{" * 5000]
)
async def test_nonsense_answers_are_refused(
    make_context: MakeContext, rate_server: RateServer, body: bytes
) -> None:
    rate_server.body = body
    ctx = make_context(crypto_rates_url=rate_server.url)
    with pytest.raises(RatesUnavailable):
        await HttpRates(ctx.settings, rate_server.url).fetch()


async def test_a_slow_provider_does_not_block(make_context: MakeContext, rate_server: RateServer) -> None:
    rate_server.answer({"BTC": "0.1"})
    rate_server.delay = 1.5
    ctx = make_context(crypto_rates={"BTC": "0.2"})
    started = time.monotonic()
    with pytest.raises(RatesUnavailable):
        await HttpRates(ctx.settings, rate_server.url, timeout=0.3).fetch()
    assert time.monotonic() - started < 1.2


async def test_a_corrupt_cache_entry_is_ignored(make_context: MakeContext) -> None:
    ctx = make_context()
    cache = MemoryCache()
    await cache.set(CURRENT_KEY, "{broken", 60)
    rates = await current_rates(ctx.settings, cache)
    assert rates.source == "static"
