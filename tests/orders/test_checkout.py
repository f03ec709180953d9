"""POST /orders: one transaction that prices, reserves, records and empties the cart; nothing left behind
when it refuses."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from emporium.cart.models import Cart, CartItem
from emporium.core.context import AppContext
from emporium.inventory.models import StockPool
from emporium.orders.models import Order, OrderLine
from emporium.pricing.models import Coupon, CouponRedemption
from tests.conftest import Shopper
from tests.inventory.factory import make_pool, make_product
from tests.orders.factory import ADDRESS, make_cart, make_coupon, make_shipping, make_tax, order_body, usd
from tests.support import count_executed, data, error

pytestmark = pytest.mark.asyncio


async def _pool(ctx: AppContext, pool_id: int) -> tuple[int, int]:
    async with ctx.db.session() as session:
        pool = await session.get(StockPool, pool_id, populate_existing=True)
        assert pool is not None
        return pool.on_hand, pool.reserved


async def _count(ctx: AppContext, model: type) -> int:
    async with ctx.db.session() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_a_guest_checks_out_and_the_stock_is_reserved(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    async with ctx.db.session() as session:
        tee = await make_product(session, "Tee", prices=("19.99", "24.50"), on_hand=5)
        method = await make_shipping(session, price="4.00")
        await make_tax(session, "US", "10")
        token = await make_cart(session, [(tee.variants[0], 2), (tee.variants[1], 1)])

    body = order_body(method.id, total="0.01", price="0.01")  # amounts from a client are ignored
    order = data(await client.post("/api/v1/orders", json=body, headers={"X-Cart-Token": token}), 201)

    assert re.fullmatch(r"ORD-\d{4}-\d{6}", order["number"])
    assert order["status"] == "pending"
    assert order["payment_status"] == "awaiting"
    assert order["stock_state"] == "reserved"
    # 2 x 19.99 + 24.50 = 64.48; tax 10 % per line: 4.00 + 2.45 (half even) = 6.45; shipping 4.00.
    assert order["totals"] == {
        "subtotal": "64.48",
        "discount": "0.00",
        "shipping": "4.00",
        "tax": "6.45",
        "total": "74.93",
        "prices_include_tax": False,
    }
    assert [(line["sku"], line["quantity"], line["unit_price"]) for line in order["lines"]] == [
        (tee.variants[0].sku, 2, "19.99"),
        (tee.variants[1].sku, 1, "24.50"),
    ]
    assert order["contact"] == {
        "name": "Grace Hopper",
        "email": "grace@example.com",
        "phone": "+12025550143",  # typed as "+1 (202) 555-0143", stored in E.164
    }
    assert order["expires_at"] is not None
    assert [event["kind"] for event in order["timeline"]] == ["placed"]
    assert await _pool(ctx, tee.pools[0].id) == (5, 2)
    assert await _pool(ctx, tee.pools[1].id) == (5, 1)
    async with ctx.db.session() as session:
        left = await session.execute(select(func.count()).select_from(CartItem))
        assert left.scalar_one() == 0


async def test_the_confirmation_mail_reaches_the_customer(
    client: httpx.AsyncClient, ctx: AppContext, smtp: object
) -> None:
    async with ctx.db.session() as session:
        tee = await make_product(session, "Mail tee", prices=("10.00",))
        method = await make_shipping(session)
        token = await make_cart(session, [(tee.variants[0], 1)])
    order = data(
        await client.post("/api/v1/orders", json=order_body(method.id), headers={"X-Cart-Token": token}), 201
    )
    await ctx.jobs.run_until_idle()
    mails = smtp.sink.to("grace@example.com")  # type: ignore[attr-defined]
    assert len(mails) == 1
    assert order["number"] in mails[0].subject
    assert "15.00 USD" in mails[0].text


async def test_a_customer_checks_out_with_a_saved_address(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    address = data(await client.post("/api/v1/users/addresses", json=ADDRESS, headers=shopper.headers), 201)
    me = data(await client.get("/api/v1/users/profile", headers=shopper.headers))
    async with ctx.db.session() as session:
        tee = await make_product(session, "Saved tee", prices=("12.00",))
        method = await make_shipping(session, kind="pickup", price="0")
        await make_cart(session, [(tee.variants[0], 3)], user_id=me["id"])
    body = {
        "address_id": address["id"],
        "shipping_method_id": method.id,
        "payment_method": "cash_on_delivery",
    }
    order = data(await client.post("/api/v1/orders", json=body, headers=shopper.headers), 201)
    assert order["customer_id"] == me["id"]
    assert order["contact"]["email"] == "ada@example.com"
    assert order["shipping_address"]["line1"] == ADDRESS["line1"]
    assert order["expires_at"] is not None  # cash on delivery waits for staff, for a while (test_limits.py)
    assert order["totals"]["total"] == "36.00"

    mine = (await client.get("/api/v1/orders", headers=shopper.headers)).json()
    assert [o["number"] for o in mine["data"]] == [order["number"]]
    assert mine["data"][0]["item_count"] == 3
    assert mine["pagination"] == {"page": 1, "limit": 20, "total": 1, "pages": 1, "total_exact": True}


async def test_another_customers_address_is_not_found(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    from tests.conftest import sign_up

    other = await sign_up(client, "other@example.com")
    theirs = data(await client.post("/api/v1/users/addresses", json=ADDRESS, headers=other.headers), 201)
    me = data(await client.get("/api/v1/users/profile", headers=shopper.headers))
    async with ctx.db.session() as session:
        tee = await make_product(session, "Addr tee", prices=("12.00",), on_hand=3)
        method = await make_shipping(session)
        await make_cart(session, [(tee.variants[0], 1)], user_id=me["id"])
    body = {"address_id": theirs["id"], "shipping_method_id": method.id, "payment_method": "test"}
    assert (
        error(await client.post("/api/v1/orders", json=body, headers=shopper.headers), 404)["code"]
        == "ADDRESS_NOT_FOUND"
    )
    assert await _pool(ctx, tee.pools[0].id) == (3, 0)


async def test_an_empty_or_missing_cart_is_refused(client: httpx.AsyncClient, ctx: AppContext) -> None:
    async with ctx.db.session() as session:
        method = await make_shipping(session)
        token = await make_cart(session, [])
    assert error(await client.post("/api/v1/orders", json=order_body(method.id)), 422)["code"] == "CART_EMPTY"
    refused = await client.post("/api/v1/orders", json=order_body(method.id), headers={"X-Cart-Token": token})
    assert error(refused, 422)["code"] == "CART_EMPTY"
    wrong = await client.post(
        "/api/v1/orders", json=order_body(method.id), headers={"X-Cart-Token": "nope" * 10}
    )
    assert error(wrong, 422)["code"] == "CART_EMPTY"
    assert await _count(ctx, Order) == 0


async def test_out_of_stock_refuses_the_whole_order_and_keeps_nothing(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    async with ctx.db.session() as session:
        plenty = await make_product(session, "Plenty", prices=("5.00",), on_hand=50)
        scarce = await make_product(session, "Scarce", prices=("5.00",), on_hand=1)
        method = await make_shipping(session)
        await make_coupon(session, "TENOFF")
        token = await make_cart(
            session, [(plenty.variants[0], 3), (scarce.variants[0], 1)], coupon_code="TENOFF"
        )
        # Someone else takes the last unit after this cart was filled.
        pool = await session.get(StockPool, scarce.pools[0].id)
        assert pool is not None
        pool.reserved = 1

    refused = await client.post("/api/v1/orders", json=order_body(method.id), headers={"X-Cart-Token": token})
    err = error(refused, 422)
    assert err["code"] == "CART_NOT_PURCHASABLE"
    assert "INSUFFICIENT_STOCK" in err["details"][0]["message"]
    assert await _pool(ctx, plenty.pools[0].id) == (50, 0)
    assert await _count(ctx, Order) == 0
    assert await _count(ctx, CouponRedemption) == 0
    async with ctx.db.session() as session:
        coupon = (await session.execute(select(Coupon).where(Coupon.code == "TENOFF"))).scalar_one()
        assert coupon.used_count == 0
        assert (await session.execute(select(func.count()).select_from(CartItem))).scalar_one() == 2


async def test_two_boxes_of_one_sweet_count_against_one_gram_pool(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    async with ctx.db.session() as session:
        grams = await make_pool(session, "Gulab jamun", unit="g", on_hand=1500)
        sweet = await make_product(
            session, "Gulab jamun", prices=("4.00", "15.00"), pool=grams, draws=(250, 1000)
        )
        method = await make_shipping(session)
        fits = await make_cart(session, [(sweet.variants[0], 2), (sweet.variants[1], 1)])  # 500 g + 1000 g
        too_much = await make_cart(session, [(sweet.variants[0], 1)])  # nothing left after the first
    data(await client.post("/api/v1/orders", json=order_body(method.id), headers={"X-Cart-Token": fits}), 201)
    assert await _pool(ctx, grams.id) == (1500, 1500)
    refused = await client.post(
        "/api/v1/orders", json=order_body(method.id), headers={"X-Cart-Token": too_much}
    )
    assert refused.status_code in {409, 422}
    assert await _pool(ctx, grams.id) == (1500, 1500)


async def test_a_coupon_is_applied_and_counted(client: httpx.AsyncClient, ctx: AppContext) -> None:
    async with ctx.db.session() as session:
        tee = await make_product(session, "Coupon tee", prices=("40.00",))
        method = await make_shipping(session, price="5.00")
        await make_coupon(session, "HALF", percent_off_ppm=500_000, usage_limit=1)
        token = await make_cart(session, [(tee.variants[0], 1)], coupon_code="half")
    order = data(
        await client.post("/api/v1/orders", json=order_body(method.id), headers={"X-Cart-Token": token}), 201
    )
    assert order["coupon_code"] == "HALF"
    assert order["totals"]["discount"] == "20.00"
    assert order["totals"]["total"] == "25.00"
    async with ctx.db.session() as session:
        coupon = (await session.execute(select(Coupon).where(Coupon.code == "HALF"))).scalar_one()
        assert coupon.used_count == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"payment_method": "bitcoin-by-carrier-pigeon"}, "payment_method"),
        ({"shipping_method_id": 0}, "shipping_method_id"),
        ({"shipping_method_id": "7"}, "shipping_method_id"),
        ({"shipping_method_id": 2**70}, "shipping_method_id"),
        ({"guest": None}, "guest"),
        ({"guest": {"name": "X", "phone": "12", "email": "not-an-email"}}, "guest.phone"),
        ({"shipping_address": {**ADDRESS, "country": "USA"}}, "shipping_address.country"),
        ({"shipping_address": {**ADDRESS, "line1": "a\x00b"}}, "shipping_address"),
        ({"shipping_address": {**ADDRESS, "city": "x" * 5000}}, "shipping_address.city"),
        ({"address_id": 5}, ""),
        ({"note": ["not", "text"]}, "note"),
    ],
)
async def test_hostile_bodies_get_a_clear_error_and_leave_nothing(
    client: httpx.AsyncClient, ctx: AppContext, change: dict[str, object], field: str
) -> None:
    async with ctx.db.session() as session:
        tee = await make_product(session, "Hostile tee", prices=("10.00",), on_hand=2)
        method = await make_shipping(session)
        token = await make_cart(session, [(tee.variants[0], 1)])
    body = {**order_body(method.id), **change}
    response = await client.post("/api/v1/orders", json=body, headers={"X-Cart-Token": token})
    assert 400 <= response.status_code < 500, response.text
    err = error(response, response.status_code)
    if field:
        assert any(d["field"].startswith(field) for d in err["details"]), err
    assert await _pool(ctx, tee.pools[0].id) == (2, 0)
    assert await _count(ctx, Order) == 0


async def test_unknown_shipping_method_is_refused(client: httpx.AsyncClient, ctx: AppContext) -> None:
    async with ctx.db.session() as session:
        tee = await make_product(session, "Ship tee", prices=("10.00",), on_hand=2)
        india_only = await make_shipping(session, countries=("IN",))
        token = await make_cart(session, [(tee.variants[0], 1)])
    for method_id in (india_only.id, 999_999):
        response = await client.post(
            "/api/v1/orders", json=order_body(method_id), headers={"X-Cart-Token": token}
        )
        assert error(response, 422)["code"] == "SHIPPING_METHOD_UNAVAILABLE"
    assert await _pool(ctx, tee.pools[0].id) == (2, 0)


async def test_an_archived_product_in_the_cart_is_refused(client: httpx.AsyncClient, ctx: AppContext) -> None:
    async with ctx.db.session() as session:
        old = await make_product(session, "Old tee", prices=("10.00",), on_hand=2, status="archived")
        method = await make_shipping(session)
        token = await make_cart(session, [(old.variants[0], 1)])
    response = await client.post(
        "/api/v1/orders", json=order_body(method.id), headers={"X-Cart-Token": token}
    )
    err = error(response, 422)
    assert err["code"] == "CART_NOT_PURCHASABLE"
    assert await _pool(ctx, old.pools[0].id) == (2, 0)


async def test_the_same_idempotency_key_gives_the_same_order(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    async with ctx.db.session() as session:
        tee = await make_product(session, "Retry tee", prices=("10.00",), on_hand=5)
        method = await make_shipping(session)
        token = await make_cart(session, [(tee.variants[0], 1)])
    headers = {"X-Cart-Token": token, "Idempotency-Key": "checkout-0001-abcdef"}
    first = await client.post("/api/v1/orders", json=order_body(method.id), headers=headers)
    again = await client.post("/api/v1/orders", json=order_body(method.id), headers=headers)
    assert data(first, 201)["id"] == data(again, 201)["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    other_body = order_body(method.id, note="leave it at the door")
    assert error(await client.post("/api/v1/orders", json=other_body, headers=headers), 409)["code"] == (
        "IDEMPOTENCY_KEY_REUSED"
    )
    assert await _count(ctx, Order) == 1
    assert await _pool(ctx, tee.pools[0].id) == (5, 1)
    bad_key = {"X-Cart-Token": token, "Idempotency-Key": "short"}
    assert error(await client.post("/api/v1/orders", json=order_body(method.id), headers=bad_key), 422)


async def _budget_checkout(
    client: httpx.AsyncClient, ctx: AppContext, engine: AsyncEngine, line_count: int
) -> list[str]:
    """A guest's checkout of ``line_count`` lines with tax (made by the first one) and a coupon: what the
    database executed."""
    async with ctx.db.session() as session:
        items = []
        for i in range(line_count):
            made = await make_product(session, f"Budget {line_count}-{i}", prices=("3.00",), on_hand=9)
            items.append((made.variants[0], 2))
        method = await make_shipping(session)
        if line_count == 2:
            await make_tax(session, "US", "7.25")
        await make_coupon(session, f"BUDGET{line_count}", usage_limit=100, per_customer_limit=5)
        token = await make_cart(session, items, coupon_code=f"BUDGET{line_count}")
    headers = {"X-Cart-Token": token, "Idempotency-Key": f"budget-key-{line_count:04d}"}
    with count_executed(engine) as executed:
        order = data(await client.post("/api/v1/orders", json=order_body(method.id), headers=headers), 201)
    assert len(order["lines"]) == line_count
    assert [line["quantity"] for line in order["lines"]] == [2] * line_count
    return executed


async def test_checkout_sql_statements_do_not_grow_with_lines(
    client: httpx.AsyncClient, ctx: AppContext, engine: AsyncEngine
) -> None:
    """Counted as the database runs them (an executemany is one statement per row): the cart read, the
    pools reserved and the lines inserted are one statement each whatever the number of lines."""
    await _budget_checkout(client, ctx, engine, 2)  # fills the process's caches, as a served shop has
    one = await _budget_checkout(client, ctx, engine, 1)
    twelve = await _budget_checkout(client, ctx, engine, 12)
    assert len(twelve) == len(one), "\n".join(twelve)
    # 20, and 2 for the stock edges (journeys/edges.py: the pools' last free stock read and written, so a
    # variant coming back into stock or a pool falling under its threshold is told once), and 1 for the
    # staff's own notice of the new order (a second outbox job beside the customer's).
    assert len(one) <= 23, "\n".join(one)
    assert sum(s.lstrip().upper().startswith("INSERT INTO ORDER_LINES") for s in twelve) == 1


async def test_a_twelve_line_purchase_is_at_most_sixty_statements(
    client: httpx.AsyncClient, ctx: AppContext, engine: AsyncEngine, shopper: Shopper
) -> None:
    """End to end, counted as the database runs them: a customer puts 12 lines in the cart (one line,
    then a list of 11, as "Order again" and the wishlist send them) and checks out."""
    async with ctx.db.session() as session:
        made = [await make_product(session, f"Twelve {n}", prices=("2.50",), on_hand=5) for n in range(12)]
        method = await make_shipping(session)
        await make_tax(session, "US", "7.25")
    body = order_body(method.id)
    del body["guest"]
    with count_executed(engine) as executed:
        first = {"variant_id": made[0].variants[0].id, "quantity": 1}
        data(await client.post("/api/v1/cart/items", json=first, headers=shopper.headers), 201)
        rest = {"items": [{"variant_id": m.variants[0].id, "quantity": 2} for m in made[1:]]}
        data(await client.post("/api/v1/cart/items", json=rest, headers=shopper.headers), 201)
        headers = shopper.headers | {"Idempotency-Key": "twelve-lines-0001"}
        order = data(await client.post("/api/v1/orders", json=body, headers=headers), 201)
    assert len(order["lines"]) == 12
    assert order["totals"]["subtotal"] == "57.50"  # 2.50 + 11 x 2 x 2.50, the catalog's prices
    assert len(executed) <= 60, "\n".join(executed)
    assert [await _pool(ctx, m.pools[0].id) for m in made] == [(5, 1)] + [(5, 2)] * 11


async def test_order_lines_keep_what_was_sold(client: httpx.AsyncClient, ctx: AppContext) -> None:
    async with ctx.db.session() as session:
        tee = await make_product(session, "Kept tee", prices=("10.00",))
        method = await make_shipping(session)
        token = await make_cart(session, [(tee.variants[0], 1)])
    order = data(
        await client.post("/api/v1/orders", json=order_body(method.id), headers={"X-Cart-Token": token}), 201
    )
    async with ctx.db.session() as session:
        variant = tee.variants[0]
        row = await session.get(type(variant), variant.id)
        assert row is not None
        row.price_minor = usd("99.00")
        row.name = "Renamed"
    async with ctx.db.session() as session:
        line = (
            await session.execute(select(OrderLine).where(OrderLine.order_id == order["id"]))
        ).scalar_one()
        assert (line.unit_price_minor, line.variant_name) == (usd("10.00"), "Kept tee #1")
    assert await _count(ctx, Cart) >= 1
