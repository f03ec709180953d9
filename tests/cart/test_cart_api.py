"""The cart API for guests and customers: tokens, pool-aware availability, notices, merge at sign-in."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from emporium.cart.models import Cart, CartItem
from emporium.cart.tasks import remove_expired
from emporium.catalog.models import Product, ProductVariant
from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.inventory.models import StockPool
from tests.conftest import Shopper, sign_up
from tests.inventory.factory import make_pool, make_product
from tests.orders.factory import make_coupon, make_shipping, make_tax
from tests.support import STRONG_PASSWORD, count_statements, data, error


async def _add(
    client: httpx.AsyncClient, body: dict[str, object], token: str | None = None, **headers: str
) -> httpx.Response:
    if token:
        headers["X-Cart-Token"] = token
    return await client.post("/api/v1/cart/items", json=body, headers=headers)


async def test_a_guest_gets_a_token_and_the_cart_follows_it(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    async with ctx.db.session() as session:
        tee = await make_product(session, "Guest tee", prices=("12.50",), on_hand=5)
    first = await _add(client, {"variant_id": tee.variants[0].id, "quantity": 2})
    cart = data(first, 201)
    token = first.headers["X-Cart-Token"]
    assert len(token) >= 40
    assert "httponly" in first.headers["set-cookie"].lower()
    assert [(i["sku"], i["quantity"], i["line_total"]) for i in cart["items"]] == [
        (tee.variants[0].sku, 2, "25.00")
    ]
    assert cart["totals"]["subtotal"] == "25.00"

    again = data(await _add(client, {"product_id": tee.product.id, "quantity": 1}, token), 201)
    assert again["items"][0]["quantity"] == 3  # the default variant, added to the same line
    client.cookies.clear()
    shown = data(await client.get("/api/v1/cart", headers={"X-Cart-Token": token}))
    assert shown["item_count"] == 3
    # Without the token a guest sees an empty cart, never someone else's.
    assert data(await client.get("/api/v1/cart"))["items"] == []
    assert data(await client.get("/api/v1/cart", headers={"X-Cart-Token": "x" * 43}))["items"] == []


async def test_lines_are_checked_against_their_pool(client: httpx.AsyncClient, ctx: AppContext) -> None:
    async with ctx.db.session() as session:
        grams = await make_pool(session, "Barfi", unit="g", on_hand=1250)
        sweet = await make_product(session, "Barfi", prices=("4.00", "7.00"), pool=grams, draws=(250, 500))
    small, large = sweet.variants
    response = await _add(client, {"variant_id": large.id, "quantity": 2})
    token = response.headers["X-Cart-Token"]
    cart = data(await _add(client, {"variant_id": small.id, "quantity": 1}, token), 201)  # 1000 g + 250 g
    assert {i["variant_id"]: i["units_available"] for i in cart["items"]} == {large.id: 2, small.id: 1}
    refused = await _add(client, {"variant_id": small.id, "quantity": 1}, token)
    err = error(refused, 409)
    assert err["code"] == "INSUFFICIENT_STOCK"
    assert err["details"] == [{"field": "quantity", "message": "1 available"}]
    line = next(i for i in cart["items"] if i["variant_id"] == large.id)
    assert error(
        await client.put(
            f"/api/v1/cart/items/{line['id']}", json={"quantity": 3}, headers={"X-Cart-Token": token}
        ),
        409,
    )
    reduced = data(
        await client.put(
            f"/api/v1/cart/items/{line['id']}", json={"quantity": 1}, headers={"X-Cart-Token": token}
        )
    )
    assert {i["variant_id"]: i["units_available"] for i in reduced["items"]} == {large.id: 2, small.id: 3}


@pytest.mark.parametrize("quantity", [0, -1, 1.5, "3", 10**9, None, True])
async def test_bad_quantities_are_refused(
    client: httpx.AsyncClient, ctx: AppContext, quantity: object
) -> None:
    async with ctx.db.session() as session:
        tee = await make_product(session, "Quantity tee", prices=("1.00",), on_hand=5)
    err = error(await _add(client, {"variant_id": tee.variants[0].id, "quantity": quantity}), 422)
    assert err["details"][0]["field"] == "quantity"
    async with ctx.db.session() as session:
        assert (await session.execute(select(func.count()).select_from(CartItem))).scalar_one() == 0


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"variant_id": 1, "product_id": 1},
        {"variant_id": "1"},
        {"variant_id": 0},
        {"variant_id": 2**70},
        {"variant_id": 999_999_999},
        {"product_id": 999_999_999},
    ],
)
async def test_bad_targets_are_refused(client: httpx.AsyncClient, body: dict[str, object]) -> None:
    response = await _add(client, body)
    assert response.status_code in {404, 422}
    error(response, response.status_code)


async def test_what_is_not_for_sale_cannot_be_added(client: httpx.AsyncClient, ctx: AppContext) -> None:
    async with ctx.db.session() as session:
        archived = await make_product(session, "Archived tee", prices=("1.00",), status="archived")
        draft = await make_product(session, "Draft tee", prices=("1.00",), status="draft")
    for made in (archived, draft):
        assert error(await _add(client, {"variant_id": made.variants[0].id}), 422)["code"] == "NOT_FOR_SALE"


async def test_another_customers_item_is_not_found(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    async with ctx.db.session() as session:
        tee = await make_product(session, "Own tee", prices=("1.00",))
    mine = data(await _add(client, {"variant_id": tee.variants[0].id}, **shopper.headers), 201)
    item_id = mine["items"][0]["id"]
    other = await sign_up(client, "thief@example.com")
    assert error(
        await client.put(f"/api/v1/cart/items/{item_id}", json={"quantity": 2}, headers=other.headers), 404
    )
    assert error(await client.delete(f"/api/v1/cart/items/{item_id}", headers=other.headers), 404)
    guest = await _add(client, {"variant_id": tee.variants[0].id})
    guest_token = guest.headers["X-Cart-Token"]
    client.cookies.clear()
    assert error(
        await client.delete(f"/api/v1/cart/items/{item_id}", headers={"X-Cart-Token": guest_token}), 404
    )
    assert data(await client.get("/api/v1/cart", headers=shopper.headers))["items"][0]["quantity"] == 1


async def test_notices_when_a_price_changes_or_a_line_becomes_unavailable(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    async with ctx.db.session() as session:
        pricey = await make_product(session, "Pricey tee", prices=("10.00",), on_hand=5)
        gone = await make_product(session, "Gone tee", prices=("5.00",), on_hand=5)
        drained = await make_product(session, "Drained tee", prices=("5.00",), on_hand=5)
    first = await _add(client, {"variant_id": pricey.variants[0].id})
    token = first.headers["X-Cart-Token"]
    for made in (gone, drained):
        await _add(client, {"variant_id": made.variants[0].id, "quantity": 2}, token)
    async with ctx.db.session() as session:
        await session.execute(
            update(ProductVariant).where(ProductVariant.id == pricey.variants[0].id).values(price_minor=1200)
        )
        await session.execute(update(Product).where(Product.id == gone.product.id).values(status="archived"))
        await session.execute(update(StockPool).where(StockPool.id == drained.pools[0].id).values(reserved=4))
    cart = data(await client.get("/api/v1/cart", headers={"X-Cart-Token": token}))
    by_name = {i["product_name"]: i for i in cart["items"]}
    assert by_name["Pricey tee"]["unit_price"] == "12.00"
    assert by_name["Pricey tee"]["notices"] == ["The price changed from 10.00 to 12.00 USD."]
    assert by_name["Gone tee"]["purchasable"] is False
    assert by_name["Drained tee"]["purchasable"] is False
    assert by_name["Drained tee"]["units_available"] == 1
    assert len(cart["notices"]) == 3

    check = data(await client.post("/api/v1/cart/validate-inventory", headers={"X-Cart-Token": token}))
    assert check["purchasable"] is False
    reasons = {line["variant_id"]: line["code"] for line in check["lines"]}
    assert reasons == {
        pricey.variants[0].id: None,
        gone.variants[0].id: "PRODUCT_NOT_ACTIVE",
        drained.variants[0].id: "INSUFFICIENT_STOCK",
    }
    # Updating the line acknowledges the new price.
    line_id = by_name["Pricey tee"]["id"]
    updated = data(
        await client.put(
            f"/api/v1/cart/items/{line_id}", json={"quantity": 1}, headers={"X-Cart-Token": token}
        )
    )
    assert next(i for i in updated["items"] if i["id"] == line_id)["notices"] == []


async def test_coupons_apply_and_tell_why_not(client: httpx.AsyncClient, ctx: AppContext) -> None:
    async with ctx.db.session() as session:
        tee = await make_product(session, "Coupon cart tee", prices=("20.00",), on_hand=5)
        await make_coupon(session, "TENPC")
        await make_coupon(
            session,
            "BIGSPEND",
            kind="fixed_amount",
            percent_off_ppm=None,
            amount_off_minor=500,
            min_subtotal_minor=10_000,
        )
        await make_coupon(session, "OLD", ends_at=utcnow() - timedelta(days=1))
    token = (await _add(client, {"variant_id": tee.variants[0].id})).headers["X-Cart-Token"]
    headers = {"X-Cart-Token": token}
    applied = data(await client.post("/api/v1/cart/coupon", json={"code": " tenpc "}, headers=headers))
    assert applied["coupon"] == {"code": "TENPC", "applied": True, "problem": None}
    assert (applied["totals"]["discount"], applied["totals"]["total"]) == ("2.00", "18.00")
    for code, reason in (("BIGSPEND", "at least 100.00"), ("OLD", "expired"), ("NOPE", "not valid")):
        err = error(await client.post("/api/v1/cart/coupon", json={"code": code}, headers=headers), 422)
        assert err["code"] == "COUPON_NOT_APPLICABLE"
        assert reason in err["message"]
    assert data(await client.get("/api/v1/cart", headers=headers))["coupon"]["code"] == "TENPC"
    removed = data(await client.delete("/api/v1/cart/coupon", headers=headers))
    assert removed["coupon"] is None
    assert removed["totals"]["discount"] == "0.00"
    assert error(await client.post("/api/v1/cart/coupon", json={"code": "x" * 65}, headers=headers), 422)


async def test_an_estimate_with_tax_and_shipping(client: httpx.AsyncClient, ctx: AppContext) -> None:
    async with ctx.db.session() as session:
        tee = await make_product(session, "Estimate tee", prices=("30.00",), on_hand=5)
        method = await make_shipping(session, countries=("DE",), price="4.90")
        await make_tax(session, "DE", "19")
    token = (await _add(client, {"variant_id": tee.variants[0].id})).headers["X-Cart-Token"]
    query = f"?country=de&shipping_method_id={method.id}"
    cart = data(await client.get(f"/api/v1/cart{query}", headers={"X-Cart-Token": token}))
    assert cart["totals"] == {
        "subtotal": "30.00",
        "discount": "0.00",
        "shipping": "4.90",
        "tax": "5.70",
        "total": "40.60",
        "prices_include_tax": False,
    }
    assert cart["shipping_method"] == method.name
    assert error(await client.get("/api/v1/cart?country=Germany"), 422)


async def test_sign_in_merges_the_guest_cart(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    async with ctx.db.session() as session:
        both = await make_product(session, "Both tee", prices=("5.00",), on_hand=4)
        guest_only = await make_product(session, "Guest only tee", prices=("6.00",), on_hand=3)
    data(await _add(client, {"variant_id": both.variants[0].id, "quantity": 1}, **shopper.headers), 201)
    client.cookies.clear()
    response = await _add(client, {"variant_id": both.variants[0].id, "quantity": 3})
    token = response.headers["X-Cart-Token"]
    await _add(client, {"variant_id": guest_only.variants[0].id, "quantity": 2}, token)
    client.cookies.clear()

    login = {"email": shopper.email, "password": STRONG_PASSWORD}
    tokens = data(await client.post("/api/v1/auth/login", json=login, headers={"X-Cart-Token": token}))
    merged = data(
        await client.get("/api/v1/cart", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    )
    quantities = {i["product_name"]: i["quantity"] for i in merged["items"]}
    assert quantities == {"Both tee": 4, "Guest only tee": 2}  # 1 + 3, capped by the 4 in stock

    # The guest token stops working.
    assert data(await client.get("/api/v1/cart", headers={"X-Cart-Token": token}))["items"] == []


async def test_merge_is_capped_by_stock(client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper) -> None:
    async with ctx.db.session() as session:
        scarce = await make_product(session, "Scarce tee", prices=("5.00",), on_hand=3)
    data(await _add(client, {"variant_id": scarce.variants[0].id, "quantity": 2}, **shopper.headers), 201)
    client.cookies.clear()
    token = (await _add(client, {"variant_id": scarce.variants[0].id, "quantity": 3})).headers["X-Cart-Token"]
    client.cookies.clear()
    login = {"email": shopper.email, "password": STRONG_PASSWORD}
    tokens = data(await client.post("/api/v1/auth/login", json=login, headers={"X-Cart-Token": token}))
    merged = data(
        await client.get("/api/v1/cart", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    )
    assert [i["quantity"] for i in merged["items"]] == [3]


async def test_expired_carts_are_removed_and_fresh_ones_kept(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    async with ctx.db.session() as session:
        tee = await make_product(session, "Expiry tee", prices=("5.00",))
    old = (await _add(client, {"variant_id": tee.variants[0].id})).headers["X-Cart-Token"]
    client.cookies.clear()
    fresh = (await _add(client, {"variant_id": tee.variants[0].id})).headers["X-Cart-Token"]
    client.cookies.clear()
    async with ctx.db.session() as session:
        cart_id = data(await client.get("/api/v1/cart", headers={"X-Cart-Token": old}))["id"]
        await session.execute(
            update(Cart).where(Cart.id == cart_id).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert data(await client.get("/api/v1/cart", headers={"X-Cart-Token": old}))["items"] == []
    assert await remove_expired(ctx) == 1
    async with ctx.db.session() as session:
        assert (await session.execute(select(func.count()).select_from(Cart))).scalar_one() == 1
    assert data(await client.get("/api/v1/cart", headers={"X-Cart-Token": fresh}))["item_count"] == 1


async def test_the_cart_costs_a_fixed_number_of_statements(
    client: httpx.AsyncClient, ctx: AppContext, engine: object
) -> None:
    async with ctx.db.session() as session:
        made = [await make_product(session, f"Count tee {i}", prices=("2.00",)) for i in range(8)]
        await make_coupon(session, "COUNTME")
    token = (await _add(client, {"variant_id": made[0].variants[0].id})).headers["X-Cart-Token"]
    for product in made[1:]:
        await _add(client, {"variant_id": product.variants[0].id}, token)
    await client.post("/api/v1/cart/coupon", json={"code": "COUNTME"}, headers={"X-Cart-Token": token})
    client.cookies.clear()
    with count_statements(engine) as statements:  # type: ignore[arg-type]
        cart = data(await client.get("/api/v1/cart", headers={"X-Cart-Token": token}))
    assert len(cart["items"]) == 8
    assert len(statements) <= 4, "\n".join(statements)


async def test_emptying_the_cart(client: httpx.AsyncClient, ctx: AppContext) -> None:
    async with ctx.db.session() as session:
        tee = await make_product(session, "Empty tee", prices=("5.00",))
    token = (await _add(client, {"variant_id": tee.variants[0].id, "quantity": 2})).headers["X-Cart-Token"]
    emptied = data(await client.delete("/api/v1/cart", headers={"X-Cart-Token": token}))
    assert (emptied["items"], emptied["totals"]["total"]) == ([], "0.00")
    assert data(await client.delete("/api/v1/cart"))["items"] == []
