"""Adding several lines in one request: what it costs in SQL, how the lines of one pool add up, and how a
list the cart cannot take is refused whole."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from emporium.app import create_app
from emporium.cart.models import CartItem
from emporium.cart.schemas import MAX_LINES_PER_ADD
from emporium.core.context import AppContext
from tests.conftest import MakeContext, Shopper
from tests.inventory.factory import Made, make_pool, make_product
from tests.support import asgi_client, count_statements, data, error

ITEMS = "/api/v1/cart/items"


def _sent(statements: list[str]) -> list[str]:
    """The statements a request sent, without transaction bookkeeping."""
    return [s for s in statements if not s.lstrip().upper().startswith(("BEGIN", "COMMIT"))]


async def _products(ctx: AppContext, count: int, *, on_hand: int = 50) -> list[Made]:
    async with ctx.db.session() as session:
        made = [
            await make_product(session, f"Line {n}", prices=("3.00",), on_hand=on_hand) for n in range(count)
        ]
        await session.commit()
    return made


async def _guest_cart(client: httpx.AsyncClient, variant_id: int) -> dict[str, str]:
    """A guest cart holding one unit of ``variant_id``: the headers that reach it."""
    response = await client.post(ITEMS, json={"variant_id": variant_id, "quantity": 1})
    data(response, 201)
    client.cookies.clear()
    return {"X-Cart-Token": response.headers["X-Cart-Token"]}


async def _lines(ctx: AppContext) -> list[tuple[int, int]]:
    async with ctx.db.session() as session:
        rows = await session.execute(
            select(CartItem.variant_id, CartItem.quantity).order_by(CartItem.variant_id)
        )
        return [(variant_id, quantity) for variant_id, quantity in rows.all()]


async def test_a_line_costs_at_most_five_statements(
    client: httpx.AsyncClient, ctx: AppContext, engine: AsyncEngine, shopper: Shopper
) -> None:
    first, second = await _products(ctx, 2)
    data(await client.post(ITEMS, json={"variant_id": first.variants[0].id}, headers=shopper.headers), 201)
    for body in ({"variant_id": second.variants[0].id}, {"product_id": first.product.id, "quantity": 2}):
        with count_statements(engine) as statements:
            cart = data(await client.post(ITEMS, json=body, headers=shopper.headers), 201)
        # The caller (1), the cart found and renewed (1), the lines and the variants (1), the upsert (1).
        assert len(_sent(statements)) == 4, statements
    assert [(i["variant_id"], i["quantity"]) for i in cart["items"]] == [
        (first.variants[0].id, 3),
        (second.variants[0].id, 1),
    ]
    headers = await _guest_cart(client, first.variants[0].id)
    with count_statements(engine) as statements:
        data(await client.post(ITEMS, json={"variant_id": second.variants[0].id}, headers=headers), 201)
    assert len(_sent(statements)) == 3, statements  # a guest has no caller to load


async def test_twelve_lines_cost_what_one_line_costs(
    client: httpx.AsyncClient, ctx: AppContext, engine: AsyncEngine, shopper: Shopper
) -> None:
    made = await _products(ctx, 13)
    data(await client.post(ITEMS, json={"variant_id": made[0].variants[0].id}, headers=shopper.headers), 201)
    body = {"items": [{"variant_id": m.variants[0].id, "quantity": n + 1} for n, m in enumerate(made[1:])]}
    with count_statements(engine) as statements:
        cart = data(await client.post(ITEMS, json=body, headers=shopper.headers), 201)
    assert len(_sent(statements)) == 4, statements
    assert len(cart["items"]) == 13
    assert cart["item_count"] == 1 + sum(range(1, 13))
    assert (
        cart["totals"]["subtotal"] == f"{3 * cart['item_count']}.00"
    )  # the catalog's price, not the client's


async def test_lines_of_one_pool_add_up_and_a_list_that_does_not_fit_is_refused_whole(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    async with ctx.db.session() as session:
        grams = await make_pool(session, "Barfi", unit="g", on_hand=1250)
        sweet = await make_product(session, "Barfi", prices=("4.00", "7.00"), pool=grams, draws=(250, 500))
        tea = await make_product(session, "Tea", prices=("2.00",), on_hand=5)
        await session.commit()
    small, large = sweet.variants
    headers = await _guest_cart(client, large.id)  # 500 g of 1250 g held
    before = await _lines(ctx)
    # 500 g + 2 x 250 g + 500 g = 1500 g > 1250 g: the second line of the list is the one that does not fit.
    body = {
        "items": [
            {"variant_id": tea.variants[0].id, "quantity": 2},
            {"variant_id": small.id, "quantity": 2},
            {"variant_id": large.id, "quantity": 1},
        ]
    }
    err = error(await client.post(ITEMS, json=body, headers=headers), 409)
    assert err["code"] == "INSUFFICIENT_STOCK"
    assert err["details"] == [{"field": "items.2.quantity", "message": "1 available"}]
    assert "Barfi" in err["message"]
    assert await _lines(ctx) == before  # nothing went in, not even the tea
    body["items"][1]["quantity"] = 1  # 500 g + 250 g + 500 g = 1250 g: fits exactly
    cart = data(await client.post(ITEMS, json=body, headers=headers), 201)
    assert {(i["variant_id"], i["quantity"]) for i in cart["items"]} == {
        (tea.variants[0].id, 2),
        (small.id, 1),
        (large.id, 2),
    }
    assert all(i["purchasable"] for i in cart["items"])


async def test_lines_of_one_variant_are_merged(client: httpx.AsyncClient, ctx: AppContext) -> None:
    (tee,) = await _products(ctx, 1, on_hand=6)
    variant = tee.variants[0].id
    body = {"items": [{"variant_id": variant, "quantity": 1}, {"product_id": tee.product.id, "quantity": 2}]}
    body["items"].append({"variant_id": variant, "quantity": 3})
    cart = data(await client.post(ITEMS, json=body), 201)
    assert [(i["variant_id"], i["quantity"]) for i in cart["items"]] == [(variant, 6)]
    # Merged, the three lines are one line of 7 > 6 in stock: refused, named by the first of them.
    err = error(await client.post(ITEMS, json=body), 409)
    assert err["details"] == [{"field": "items.0.quantity", "message": "6 available"}]


def _bad_bodies(variant: int, inactive: int) -> list[tuple[Any, int, str | None]]:
    line = {"variant_id": variant, "quantity": 1}
    return [
        ({"items": []}, 422, "items"),
        ({"items": [line] * (MAX_LINES_PER_ADD + 1)}, 422, "items"),
        ({"items": [line, {"variant_id": 9_999_999}]}, 404, "items.1.variant_id"),
        ({"items": [line, {"product_id": 9_999_999}]}, 404, "items.1.product_id"),
        ({"items": [line, {"variant_id": inactive}]}, 422, "items.1.variant_id"),
        ({"items": [{"variant_id": variant, "quantity": 0}]}, 422, "items.0.quantity"),
        ({"items": [{"variant_id": variant, "quantity": 1000}]}, 422, "items.0.quantity"),
        ({"items": [{"variant_id": variant, "quantity": "2"}]}, 422, "items.0.quantity"),
        ({"items": [{"variant_id": variant, "quantity": 1.5}]}, 422, "items.0.quantity"),
        (
            {"items": [{"variant_id": variant, "quantity": 600}, {"variant_id": variant, "quantity": 600}]},
            422,
            None,
        ),
        ({"items": [{"quantity": 1}]}, 422, "items.0"),
        ({"items": [line], "variant_id": variant}, 422, None),
        ({"items": "everything"}, 422, "items"),
        ({"items": [5]}, 422, "items.0"),
        ([line], 422, None),
        ({}, 422, None),
        ("not json", 400, None),
    ]


async def test_bad_lists_are_refused_and_change_nothing(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    async with ctx.db.session() as session:
        tee = await make_product(session, "Tee", prices=("5.00", "6.00"), on_hand=2000)
        tee.variants[1].is_active = False
        await session.commit()
    variant, inactive = tee.variants[0].id, tee.variants[1].id
    data(await client.post(ITEMS, json={"variant_id": variant, "quantity": 2}, headers=shopper.headers), 201)
    before = await _lines(ctx)
    for body, status, field in _bad_bodies(variant, inactive):
        if isinstance(body, str):
            response = await client.post(
                ITEMS, content=body, headers={**shopper.headers, "Content-Type": "application/json"}
            )
        else:
            response = await client.post(ITEMS, json=body, headers=shopper.headers)
        err = error(response, status)
        if field is not None:
            assert field in [d.get("field") for d in err["details"]], (body, err)
        assert await _lines(ctx) == before, body


@pytest.mark.parametrize("lines", [1, 3])
async def test_adds_racing_on_one_cart_both_count(make_committed_context: MakeContext, lines: int) -> None:
    """Two requests adding to one cart at once, really committing: neither is lost (the write adds to the
    line it finds rather than overwriting it)."""
    ctx = make_committed_context()
    made = await _products(ctx, lines, on_hand=100)
    variants = [m.variants[0].id for m in made]
    async with asgi_client(create_app(ctx=ctx)) as client:
        headers = await _guest_cart(client, variants[0])
        body = {"items": [{"variant_id": variant, "quantity": 2} for variant in variants]}
        responses = await asyncio.gather(*(client.post(ITEMS, json=body, headers=headers) for _ in range(2)))
    assert [r.status_code for r in responses] == [201, 201], [r.text for r in responses]
    expected = [(variant, 4 + (1 if n == 0 else 0)) for n, variant in enumerate(variants)]
    assert [line for line in await _lines(ctx) if line[0] in variants] == expected


async def test_move_to_cart_adds_through_the_same_read_and_write(
    client: httpx.AsyncClient, ctx: AppContext, engine: AsyncEngine, shopper: Shopper
) -> None:
    """The wishlist's move to cart: one read of the cart's lines with the variant, one upsert."""
    first, second = await _products(ctx, 2)
    data(await client.post(ITEMS, json={"variant_id": first.variants[0].id}, headers=shopper.headers), 201)
    body = {"product_id": second.product.id}
    listed = data(await client.post("/api/v1/wishlist", json=body, headers=shopper.headers), 201)
    item_id = listed["items"][0]["id"]
    with count_statements(engine) as statements:
        data(await client.post(f"/api/v1/wishlist/{item_id}/move-to-cart", headers=shopper.headers))
    cart_reads = [s for s in statements if "FROM product_variants" in s and "cart_items" in s]
    cart_writes = [
        s
        for s in statements
        if s.lstrip().upper().startswith(("INSERT INTO CART_ITEMS", "UPDATE CART_ITEMS"))
    ]
    assert (len(cart_reads), len(cart_writes)) == (1, 1), statements
    assert await _lines(ctx) == [(first.variants[0].id, 1), (second.variants[0].id, 1)]
