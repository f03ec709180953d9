"""Guessing the phone of one order stops after a few tries, whatever the client address: tracking counts
attempts per order number as well as per address (orders/tracking.py)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from fastapi import FastAPI

from emporium.app import create_app
from tests.conftest import MakeContext
from tests.orders.test_tracking import _guest_order
from tests.support import data, error

TRACK = "/api/v1/orders/track"
RIGHT_PHONE = "+12025550143"


def _clients(app: FastAPI) -> Callable[[str], httpx.AsyncClient]:
    def client_from(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 4000))
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    return client_from


async def test_a_phone_guess_stops_after_the_per_order_limit_from_any_address(
    make_context: MakeContext,
) -> None:
    ctx = make_context(order_track_rate_limit="1000/minute", order_track_order_limit="3/hour")
    app = create_app(ctx=ctx)
    client_from = _clients(app)
    async with client_from("192.0.2.1") as shop:
        order = await _guest_order(shop, ctx)
        other = await _guest_order(shop, ctx)
    number = str(order["number"])
    for n in range(3):
        async with client_from(f"198.51.100.{n}") as guesser:
            params = {"order_number": number, "phone": f"+1202555{n:04d}"}
            error(await guesser.get(TRACK, params=params), 404)
    async with client_from("203.0.113.77") as fresh:
        # Even the right phone, from an address never seen: answering it would confirm the guess.
        refused = await fresh.get(TRACK, params={"order_number": number.lower(), "phone": RIGHT_PHONE})
        assert error(refused, 429)["code"] == "TOO_MANY_ATTEMPTS"
        assert 1 <= int(refused.headers["Retry-After"]) <= 2 * 3600
        page = await fresh.get("/track", params={"order_number": number, "contact": RIGHT_PHONE})
        assert page.status_code == 429
        assert "Retry-After" in page.headers
        assert "Too many attempts to track this order" in page.text
        # Another order is not held up by the guesses at this one.
        elsewhere = {"order_number": str(other["number"]), "phone": RIGHT_PHONE}
        tracked = data(await fresh.get(TRACK, params=elsewhere))
        assert tracked["number"] == other["number"]


async def test_the_owner_finding_their_order_clears_its_count(make_context: MakeContext) -> None:
    ctx = make_context(order_track_rate_limit="1000/minute", order_track_order_limit="3/hour")
    async with _clients(create_app(ctx=ctx))("192.0.2.1") as client:
        order = await _guest_order(client, ctx)
        wrong = {"order_number": str(order["number"]), "phone": "+12025550000"}
        right = {"order_number": str(order["number"]), "phone": RIGHT_PHONE}
        for _ in range(2):
            error(await client.get(TRACK, params=wrong), 404)
        data(await client.get(TRACK, params=right))
        data(await client.get(TRACK, params=right))
        for _ in range(3):
            error(await client.get(TRACK, params=wrong), 404)
        assert error(await client.get(TRACK, params=right), 429)["code"] == "TOO_MANY_ATTEMPTS"
