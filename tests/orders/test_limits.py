"""Nobody ties up the stock with orders they never mean to take: open orders are capped per e-mail, phone and
client address, guest checkouts are rate limited, and cash-on-delivery and bank-transfer orders staff have
not confirmed expire and give their stock back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import func, select, update

from emporium.app import create_app
from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.inventory.models import StockPool
from emporium.orders.models import Order
from emporium.orders.tasks import expire_unpaid
from emporium.payments.service import payments
from emporium.settings import AppSettings
from tests.conftest import MakeContext
from tests.inventory.factory import Made, make_product, staff_headers
from tests.orders.factory import make_cart, make_shipping, order_body
from tests.support import data, error
from tests.web.test_checkout_review import open_shop, orders, place_form, refused, reserved, to_review


@asynccontextmanager
async def _client(ctx: AppContext, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(
        app=create_app(ctx=ctx), raise_app_exceptions=False, client=(address, 4000)
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def _pool(ctx: AppContext, pool_id: int) -> tuple[int, int]:
    async with ctx.db.session() as session:
        pool = await session.get(StockPool, pool_id, populate_existing=True)
        assert pool is not None
        return pool.on_hand, pool.reserved


async def _orders(ctx: AppContext) -> int:
    async with ctx.db.session() as session:
        return int((await session.execute(select(func.count()).select_from(Order))).scalar_one())


class Shop:
    def __init__(self, ctx: AppContext, made: Made, method_id: int) -> None:
        self.ctx = ctx
        self.made = made
        self.method_id = method_id

    async def guest_order(
        self,
        http: httpx.AsyncClient,
        n: int,
        *,
        phone: str | None = None,
        email: str | None = None,
        **extra: Any,
    ) -> httpx.Response:
        """Guest ``n`` fills a cart with one unit and checks out."""
        async with self.ctx.db.session() as session:
            token = await make_cart(session, [(self.made.variants[0], 1)])
        guest = {
            "name": f"Guest {n}",
            "phone": phone or f"+1 202 555 {100 + n:04d}",
            "email": email or f"guest{n}@example.com",
        }
        body = order_body(self.method_id, **{"payment_method": "cash_on_delivery", "guest": guest, **extra})
        return await http.post("/api/v1/orders", json=body, headers={"X-Cart-Token": token})


async def _shop(ctx: AppContext, on_hand: int = 20) -> Shop:
    async with ctx.db.session() as session:
        made = await make_product(session, "Hoarded tee", prices=("10.00",), on_hand=on_hand)
        method = await make_shipping(session)
    return Shop(ctx, made, method.id)


async def test_twenty_anonymous_cod_orders_hit_the_caps(make_context: MakeContext) -> None:
    ctx = make_context(open_orders_per_email=3, open_orders_per_phone=3, open_orders_per_client_address=10)
    shop = await _shop(ctx)
    pool_id = shop.made.pools[0].id

    # Twenty guests behind one address, each with their own phone and e-mail: the address holds ten.
    async with _client(ctx, "203.0.113.7") as http:
        answers = [await shop.guest_order(http, n) for n in range(20)]
    assert [a.status_code for a in answers] == [201] * 10 + [409] * 10
    refused = error(answers[-1], 409)
    assert refused["code"] == "TOO_MANY_OPEN_ORDERS"
    assert [d["field"] for d in refused["details"]] == ["client_address"]
    # The refused ten reserved nothing and wrote nothing: half the stock is still there to buy.
    assert await _pool(ctx, pool_id) == (20, 10)
    assert await _orders(ctx) == 10

    # One phone from many addresses, and one e-mail from many addresses: three each.
    for key, value in (("phone", "+1 202 555 0199"), ("email", "hoarder@example.com")):
        answers = []
        for n in range(5):
            async with _client(ctx, f"198.51.100.{n + 1 if key == 'phone' else n + 101}") as http:
                answers.append(await shop.guest_order(http, 20 + n, **{key: value}))
        assert [a.status_code for a in answers] == [201, 201, 201, 409, 409], key
        refused = error(answers[-1], 409)
        assert refused["code"] == "TOO_MANY_OPEN_ORDERS"
        assert [d["field"] for d in refused["details"]] == [key]
    assert await _pool(ctx, pool_id) == (20, 16)
    assert await _orders(ctx) == 16


async def test_a_cancelled_order_frees_its_place_under_the_cap(make_context: MakeContext) -> None:
    ctx = make_context(open_orders_per_email=1)
    shop = await _shop(ctx)
    async with _client(ctx, "203.0.113.8") as http:
        first = data(await shop.guest_order(http, 1, email="once@example.com"), 201)
        assert error(await shop.guest_order(http, 2, email="ONCE@example.com"), 409)["code"] == (
            "TOO_MANY_OPEN_ORDERS"
        )
        token = {"X-Order-Token": first["access_token"]}
        data(await http.put(f"/api/v1/orders/{first['id']}/cancel", headers=token))
        data(await shop.guest_order(http, 3, email="once@example.com"), 201)


async def test_a_guest_checkout_is_rate_limited_per_address_and_per_phone(make_context: MakeContext) -> None:
    ctx = make_context(
        guest_checkout_rate_limit="3/minute",
        open_orders_per_email=0,
        open_orders_per_phone=0,
        open_orders_per_client_address=0,
    )
    shop = await _shop(ctx)
    async with _client(ctx, "203.0.113.9") as http:
        for n in range(3):
            data(await shop.guest_order(http, n), 201)
        limited = await shop.guest_order(http, 3)
    assert error(limited, 429)["code"] == "RATE_LIMITED"
    assert int(limited.headers["Retry-After"]) >= 1
    # Another address with a phone already used three times from elsewhere is refused too; a new phone is not.
    for n in range(3):
        async with _client(ctx, f"192.0.2.{n + 1}") as http:
            data(await shop.guest_order(http, 10 + n, phone="+1 202 555 0177"), 201)
    async with _client(ctx, "192.0.2.50") as http:
        assert (
            error(await shop.guest_order(http, 20, phone="+1 (202) 555-0177"), 429)["code"] == "RATE_LIMITED"
        )
        data(await shop.guest_order(http, 21), 201)
    assert await _pool(ctx, shop.made.pools[0].id) == (20, 7)


async def _past_deadline(ctx: AppContext, order_id: int) -> None:
    async with ctx.db.session() as session:
        await session.execute(
            update(Order).where(Order.id == order_id).values(expires_at=utcnow() - timedelta(seconds=1))
        )


async def test_an_expired_cod_or_bank_transfer_order_releases_its_stock(make_context: MakeContext) -> None:
    ctx = make_context(payment_methods=["cash_on_delivery", "bank_transfer"], offline_order_timeout_hours=48)
    shop = await _shop(ctx, on_hand=5)
    pool_id = shop.made.pools[0].id
    async with _client(ctx, "203.0.113.10") as http:
        cod = data(await shop.guest_order(http, 1), 201)
        transfer = data(await shop.guest_order(http, 2, payment_method="bank_transfer"), 201)
    for order in (cod, transfer):
        lapses = order["expires_at"]
        assert lapses is not None
        hours = (datetime.fromisoformat(lapses.replace("Z", "+00:00")) - utcnow()) / timedelta(hours=1)
        assert 47.9 < hours <= 48
    assert await _pool(ctx, pool_id) == (5, 2)
    assert await expire_unpaid(ctx) == 0  # not due yet

    await _past_deadline(ctx, cod["id"])
    await _past_deadline(ctx, transfer["id"])
    assert await expire_unpaid(ctx) == 2
    assert await _pool(ctx, pool_id) == (5, 0)
    async with ctx.db.session() as session:
        rows = (
            await session.execute(select(Order).where(Order.id.in_([cod["id"], transfer["id"]])))
        ).scalars()
        assert {(o.status, o.stock_state, o.expires_at) for o in rows} == {("cancelled", "released", None)}
    async with _client(ctx, "10.0.0.1") as http:
        staff = await staff_headers(http, ctx, email="cod-staff@example.com", role="support")
        shown = data(await http.get(f"/api/v1/admin/orders/{cod['id']}", headers=staff))
    assert shown["timeline"][-1]["kind"] == "expired"
    assert shown["timeline"][-1]["note"] == "Not confirmed in time."


async def test_a_staff_confirmed_cod_order_does_not_expire(make_context: MakeContext) -> None:
    ctx = make_context(payment_methods=["cash_on_delivery"])
    shop = await _shop(ctx, on_hand=5)
    pool_id = shop.made.pools[0].id
    async with _client(ctx, "203.0.113.11") as http:
        cod = data(await shop.guest_order(http, 1), 201)
        staff = await staff_headers(http, ctx, email="confirming-staff@example.com", role="support")
        confirmed = data(
            await http.put(f"/api/v1/admin/orders/{cod['id']}", json={"status": "confirmed"}, headers=staff)
        )
    assert (confirmed["status"], confirmed["stock_state"], confirmed["expires_at"]) == (
        "confirmed",
        "deducted",
        None,
    )
    # Even a deadline left behind by mistake does not cancel an order staff confirmed.
    await _past_deadline(ctx, cod["id"])
    assert await expire_unpaid(ctx) == 0
    async with ctx.db.session() as session:
        order = await session.get(Order, cod["id"], populate_existing=True)
        assert order is not None
        assert (order.status, order.stock_state) == ("confirmed", "deducted")
    assert await _pool(ctx, pool_id) == (4, 0)


async def test_staff_list_unconfirmed_orders_by_age(make_context: MakeContext) -> None:
    ctx = make_context(payment_methods=["test", "cash_on_delivery", "bank_transfer"])
    shop = await _shop(ctx)
    async with _client(ctx, "203.0.113.12") as http:
        newer = data(await shop.guest_order(http, 1), 201)
        older = data(await shop.guest_order(http, 2, payment_method="bank_transfer"), 201)
        data(await shop.guest_order(http, 3, payment_method="test"), 201)  # waits for payment, not staff
        confirmed = data(await shop.guest_order(http, 4), 201)
        async with ctx.db.session() as session:
            await session.execute(
                update(Order).where(Order.id == older["id"]).values(created_at=utcnow() - timedelta(hours=30))
            )
        staff = await staff_headers(http, ctx, email="queue-staff@example.com", role="support")
        data(
            await http.put(
                f"/api/v1/admin/orders/{confirmed['id']}", json={"status": "confirmed"}, headers=staff
            )
        )

        listed = data(await http.get("/api/v1/admin/orders?unconfirmed=true&sort=oldest", headers=staff))
        assert [o["number"] for o in listed] == [older["number"], newer["number"]]
        assert all(o["expires_at"] is not None for o in listed)
        newest = data(await http.get("/api/v1/admin/orders?unconfirmed=true", headers=staff))
        assert [o["number"] for o in newest] == [newer["number"], older["number"]]
        assert error(await http.get("/api/v1/admin/orders?sort=cheapest", headers=staff), 422)


async def test_an_order_switched_to_cash_on_delivery_keeps_a_deadline(make_context: MakeContext) -> None:
    ctx = make_context(payment_methods=["test", "cash_on_delivery"], offline_order_timeout_hours=6)
    shop = await _shop(ctx, on_hand=5)
    async with _client(ctx, "203.0.113.13") as http:
        placed = data(await shop.guest_order(http, 1, payment_method="test"), 201)
    async with ctx.db.session() as session:
        order = await payments.lock_order(session, placed["id"])
        await payments.change_method(session, ctx.settings, order, "cash_on_delivery", actor_user_id=None)
        assert order.expires_at is not None
        assert timedelta(hours=5.9) < order.expires_at - utcnow() <= timedelta(hours=6)
    await _past_deadline(ctx, placed["id"])
    assert await expire_unpaid(ctx) == 1
    assert await _pool(ctx, shop.made.pools[0].id) == (5, 0)


async def test_the_storefront_says_why_an_order_over_the_cap_was_not_placed(
    make_context: MakeContext,
) -> None:
    ctx = make_context(open_orders_per_email=1)
    shop = await open_shop(ctx)
    async with _client(ctx, "203.0.113.20") as http:
        first = await http.post("/checkout/place", data=place_form(await to_review(http, shop)))
        assert first.status_code == 303, first.text
        assert first.headers["location"] != "/checkout/review"
        page = await refused(http, place_form(await to_review(http, shop)))
    assert "Your order was not placed: You have too many orders waiting" in page
    assert len(await orders(ctx)) == 1
    assert await reserved(ctx, shop) == 1


async def test_the_storefront_answers_a_guest_past_the_checkout_limit_with_429(
    make_context: MakeContext,
) -> None:
    ctx = make_context(guest_checkout_rate_limit="1/minute")
    shop = await open_shop(ctx)
    async with _client(ctx, "203.0.113.21") as http:
        first = await http.post("/checkout/place", data=place_form(await to_review(http, shop)))
        assert first.status_code == 303, first.text
        limited = await http.post("/checkout/place", data=place_form(await to_review(http, shop)))
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert "Too many orders were placed from here" in limited.text
    assert len(await orders(ctx)) == 1


def test_settings_refuse_a_malformed_guest_checkout_limit() -> None:
    with pytest.raises(ValidationError, match="EMPORIUM_GUEST_CHECKOUT_RATE_LIMIT"):
        AppSettings(guest_checkout_rate_limit="ten a day")
    with pytest.raises(ValidationError, match="open_orders_per_email"):
        AppSettings(open_orders_per_email=-1)
