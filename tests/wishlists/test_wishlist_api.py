"""The wishlist API: adding, removing, moving to the cart, price drops, the guest list and its merge at
sign-in, sharing by link, object-level authorization and hostile input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update

from emporium.catalog.models import ProductVariant
from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.inventory.models import StockPool
from emporium.wishlists.models import Wishlist, WishlistItem
from emporium.wishlists.service import token_digest
from emporium.wishlists.tasks import remove_expired
from tests.conftest import Shopper, sign_up
from tests.inventory.factory import make_product
from tests.support import STRONG_PASSWORD, count_statements, data, error

WISHLIST = "/api/v1/wishlist"
LISTS = "/api/v1/wishlists"


async def _rows(ctx: AppContext) -> tuple[int, int]:
    async with ctx.db.session() as session:
        lists = (await session.execute(select(func.count()).select_from(Wishlist))).scalar_one()
        items = (await session.execute(select(func.count()).select_from(WishlistItem))).scalar_one()
    return int(lists), int(items)


async def _items(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = data(await client.get(WISHLIST, headers=headers))["items"]
    return items


async def test_add_remove_and_one_line_per_product(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    async with ctx.db.session() as session:
        tee = await make_product(session, "Wish tee", prices=("12.50", "14.00"), on_hand=5)
    assert data(await client.get(WISHLIST, headers=shopper.headers))["items"] == []
    added = data(
        await client.post(WISHLIST, json={"product_id": tee.product.id}, headers=shopper.headers), 201
    )
    assert added["is_default"] is True
    assert added["name"] == "Wishlist"
    [item] = added["items"]
    assert (item["product_name"], item["variant_id"], item["price"], item["availability"]) == (
        "Wish tee",
        tee.variants[0].id,
        "12.50",
        "in_stock",
    )
    # The same product again, now with its second option: still one line, the option chosen.
    body = {"product_id": tee.product.id, "variant_id": tee.variants[1].id}
    again = data(await client.post(WISHLIST, json=body, headers=shopper.headers), 201)
    assert [(i["id"], i["variant_id"], i["price_when_added"]) for i in again["items"]] == [
        (item["id"], tee.variants[1].id, "14.00")
    ]
    removed = data(await client.delete(f"{WISHLIST}/{item['id']}", headers=shopper.headers))
    assert removed["items"] == []
    error(await client.delete(f"{WISHLIST}/{item['id']}", headers=shopper.headers), 404)


async def test_price_drop_and_availability_are_shown(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    async with ctx.db.session() as session:
        cheaper = await make_product(session, "Cheaper mug", prices=("20.00",), on_hand=9)
        dearer = await make_product(session, "Dearer mug", prices=("8.00",), on_hand=0)
    for made in (cheaper, dearer):
        data(await client.post(WISHLIST, json={"product_id": made.product.id}, headers=shopper.headers), 201)
    async with ctx.db.session() as session:
        await session.execute(
            update(ProductVariant).where(ProductVariant.id == cheaper.variants[0].id).values(price_minor=1500)
        )
        await session.execute(
            update(ProductVariant).where(ProductVariant.id == dearer.variants[0].id).values(price_minor=900)
        )
    items = {i["product_name"]: i for i in await _items(client, shopper.headers)}
    drop = items["Cheaper mug"]
    assert (drop["price_when_added"], drop["price"], drop["price_dropped"]) == ("20.00", "15.00", True)
    rise = items["Dearer mug"]
    assert (rise["price_when_added"], rise["price"], rise["price_dropped"]) == ("8.00", "9.00", False)
    assert (rise["availability"], rise["message"]) == ("sold_out", "Sold out.")


async def test_move_to_cart_and_a_sold_out_item_stays(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    async with ctx.db.session() as session:
        kettle = await make_product(session, "Kettle", prices=("30.00", "35.00"), on_hand=2)
        gone = await make_product(session, "Gone lamp", prices=("40.00",), on_hand=1)
    body = {"product_id": kettle.product.id, "variant_id": kettle.variants[1].id}
    data(await client.post(WISHLIST, json=body, headers=shopper.headers), 201)
    data(await client.post(WISHLIST, json={"product_id": gone.product.id}, headers=shopper.headers), 201)
    items = {i["product_name"]: i for i in await _items(client, shopper.headers)}
    async with ctx.db.session() as session:
        await session.execute(update(StockPool).where(StockPool.id == gone.pools[0].id).values(on_hand=0))

    moved = data(
        await client.post(f"{WISHLIST}/{items['Kettle']['id']}/move-to-cart", headers=shopper.headers)
    )
    assert moved["variant_id"] == kettle.variants[1].id  # the chosen option, not the default
    assert [i["product_name"] for i in moved["wishlist"]["items"]] == ["Gone lamp"]
    cart = data(await client.get("/api/v1/cart", headers=shopper.headers))
    assert [(i["variant_id"], i["quantity"]) for i in cart["items"]] == [(kettle.variants[1].id, 1)]

    refused = error(
        await client.post(f"{WISHLIST}/{items['Gone lamp']['id']}/move-to-cart", headers=shopper.headers), 409
    )
    assert refused["code"] == "SOLD_OUT"
    assert refused["message"] == "Gone lamp is sold out; it stays on your wishlist."
    assert [i["product_name"] for i in await _items(client, shopper.headers)] == ["Gone lamp"]
    cart = data(await client.get("/api/v1/cart", headers=shopper.headers))
    assert len(cart["items"]) == 1


async def test_a_guest_list_follows_its_token_and_merges_at_sign_in(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    async with ctx.db.session() as session:
        both = await make_product(session, "Both scarf", prices=("5.00",))
        guest_only = await make_product(session, "Guest scarf", prices=("6.00",))
    data(await client.post(WISHLIST, json={"product_id": both.product.id}, headers=shopper.headers), 201)
    client.cookies.clear()
    first = await client.post(WISHLIST, json={"product_id": both.product.id})
    token = first.headers["X-Wishlist-Token"]
    assert len(token) >= 40
    assert "httponly" in first.headers["set-cookie"].lower()
    client.cookies.clear()
    guest = {"X-Wishlist-Token": token}
    data(await client.post(WISHLIST, json={"product_id": guest_only.product.id}, headers=guest), 201)
    assert len(await _items(client, guest)) == 2
    # Without the token a guest sees an empty list, never another's.
    assert await _items(client, {}) == []
    assert await _items(client, {"X-Wishlist-Token": "x" * 43}) == []
    # Guests keep one list: naming and sharing lists need an account.
    assert error(await client.get(LISTS, headers=guest), 401)

    login = {"email": shopper.email, "password": STRONG_PASSWORD}
    tokens = data(await client.post("/api/v1/auth/login", json=login, headers=guest))
    signed_in = {"Authorization": f"Bearer {tokens['access_token']}"}
    names = sorted(i["product_name"] for i in await _items(client, signed_in))
    assert names == ["Both scarf", "Guest scarf"]  # no duplicate of the product both lists held
    assert await _items(client, guest) == []  # the guest token stops working
    assert await _rows(ctx) == (1, 2)


async def test_lists_rename_delete_and_the_default_rule(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    async with ctx.db.session() as session:
        pen = await make_product(session, "Pen", prices=("2.00",))
    first = data(await client.post(LISTS, json={"name": "  Birthday  "}, headers=shopper.headers), 201)
    assert (first["name"], first["is_default"]) == ("Birthday", True)  # the first list is the default
    second = data(await client.post(LISTS, json={"name": "Garden"}, headers=shopper.headers), 201)
    assert second["is_default"] is False
    body = {"product_id": pen.product.id, "list_id": second["id"]}
    data(await client.post(WISHLIST, json=body, headers=shopper.headers), 201)
    summaries = data(await client.get(LISTS, headers=shopper.headers))
    assert [(s["name"], s["item_count"]) for s in summaries] == [("Birthday", 0), ("Garden", 1)]
    renamed = data(
        await client.patch(f"{LISTS}/{second['id']}", json={"name": "Shed"}, headers=shopper.headers)
    )
    assert renamed["name"] == "Shed"
    kept = error(await client.delete(f"{LISTS}/{first['id']}", headers=shopper.headers), 409)
    assert kept["code"] == "DEFAULT_LIST_KEPT"
    data(await client.delete(f"{LISTS}/{second['id']}", headers=shopper.headers))
    data(await client.delete(f"{LISTS}/{first['id']}", headers=shopper.headers))
    assert data(await client.get(LISTS, headers=shopper.headers)) == []
    assert await _rows(ctx) == (0, 0)


async def test_share_link_is_read_only_and_revoked_is_404(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    async with ctx.db.session() as session:
        book = await make_product(session, "Atlas", prices=("25.00",))
    wishlist = data(
        await client.post(WISHLIST, json={"product_id": book.product.id}, headers=shopper.headers), 201
    )
    conflict = error(
        await client.patch(f"{LISTS}/{wishlist['id']}", json={"visibility": "link"}, headers=shopper.headers),
        409,
    )
    assert conflict["code"] == "NO_SHARE_LINK"
    shared = data(await client.post(f"{LISTS}/{wishlist['id']}/share", headers=shopper.headers), 201)
    token = shared["token"]
    assert len(token) == 22
    assert shared["url"].endswith(f"/wishlist/shared/{token}")
    async with ctx.db.session() as session:
        stored = (await session.execute(select(Wishlist.share_token_hash))).scalar_one()
    assert stored is not None
    assert token not in stored

    seen = data(await client.get(f"{WISHLIST}/shared/{token}"))
    assert seen["name"] == "Wishlist"
    assert [i["product_name"] for i in seen["items"]] == ["Atlas"]
    assert "ada" not in str(seen).lower()
    # A new link replaces the old one.
    newer = data(
        await client.post(
            f"{LISTS}/{wishlist['id']}/share", json={"visibility": "public"}, headers=shopper.headers
        ),
        201,
    )
    error(await client.get(f"{WISHLIST}/shared/{token}"), 404)
    assert data(await client.get(f"{WISHLIST}/shared/{newer['token']}"))["name"] == "Wishlist"
    data(await client.delete(f"{LISTS}/{wishlist['id']}/share", headers=shopper.headers))
    error(await client.get(f"{WISHLIST}/shared/{newer['token']}"), 404)
    for bad in ("x", "%00", "a" * 22, "a" * 64):
        error(await client.get(f"{WISHLIST}/shared/{bad}"), 404)
    error(await client.get(f"{WISHLIST}/shared/{'a' * 65}"), 422)


async def test_another_customers_list_is_404_through_every_route(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    async with ctx.db.session() as session:
        vase = await make_product(session, "Vase", prices=("18.00",))
    mine = data(
        await client.post(WISHLIST, json={"product_id": vase.product.id}, headers=shopper.headers), 201
    )
    list_id, item_id = mine["id"], mine["items"][0]["id"]
    other = await sign_up(client, "bob@example.com")
    client.cookies.clear()
    before = await _rows(ctx)
    attempts = [
        ("GET", f"{LISTS}/{list_id}", None),
        ("POST", WISHLIST, {"product_id": vase.product.id, "list_id": list_id}),
        ("DELETE", f"{WISHLIST}/{item_id}", None),
        ("POST", f"{WISHLIST}/{item_id}/move-to-cart", None),
        ("PATCH", f"{LISTS}/{list_id}", {"name": "Mine now"}),
        ("DELETE", f"{LISTS}/{list_id}", None),
        ("POST", f"{LISTS}/{list_id}/share", None),
        ("DELETE", f"{LISTS}/{list_id}/share", None),
    ]
    bob = other.headers
    for headers in (bob, {}, {"X-Wishlist-Token": "y" * 43}):
        for method, path, body in attempts:
            response = await client.request(method, path, json=body, headers=headers)
            if headers is not bob and path.startswith(LISTS):
                assert error(response, 401)["code"], (method, path)  # list routes need an account
            else:
                assert error(response, 404)["code"].startswith("WISHLIST"), (method, path)
    # The other customer's attempts changed nothing: not the name, not the items, and no list of theirs.
    assert await _rows(ctx) == before
    assert data(await client.get(f"{LISTS}/{list_id}", headers=shopper.headers))["name"] == "Wishlist"
    assert data(await client.get("/api/v1/cart", headers=other.headers))["items"] == []


async def test_hostile_input_is_refused_with_the_standard_body_and_changes_nothing(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    async with ctx.db.session() as session:
        cup = await make_product(session, "Cup", prices=("3.00",))
        saucer = await make_product(session, "Saucer", prices=("2.00",))
        draft = await make_product(session, "Draft plate", prices=("2.00",), status="draft")
    data(await client.post(WISHLIST, json={"product_id": cup.product.id}, headers=shopper.headers), 201)
    list_id = data(await client.get(WISHLIST, headers=shopper.headers))["id"]
    before = await _rows(ctx)
    bad_bodies: list[tuple[Any, int]] = [
        ({"product_id": "abc"}, 422),
        ({"product_id": "1"}, 422),
        ({"product_id": 1.5}, 422),
        ({"product_id": -1}, 422),
        ({"product_id": 2**63}, 422),
        ({}, 422),
        ([1, 2], 422),
        ({"product_id": 999_999_999}, 404),
        ({"product_id": draft.product.id}, 404),
        ({"product_id": cup.product.id, "variant_id": saucer.variants[0].id}, 404),  # another's variant
        ({"product_id": cup.product.id, "variant_id": 999_999_999}, 404),
        ({"product_id": cup.product.id, "list_id": 999_999_999}, 404),
    ]
    for body, status in bad_bodies:
        error(await client.post(WISHLIST, json=body, headers=shopper.headers), status)
    for name in ("", "   ", "x" * 101, "a\x00b", "line\nbreak", 5):
        error(await client.post(LISTS, json={"name": name}, headers=shopper.headers), 422)
        error(await client.patch(f"{LISTS}/{list_id}", json={"name": name}, headers=shopper.headers), 422)
    error(
        await client.patch(f"{LISTS}/{list_id}", json={"visibility": "everyone"}, headers=shopper.headers),
        422,
    )
    for path in ("abc", "0", "-3", "1.5", str(2**63), "%00"):
        error(await client.delete(f"{WISHLIST}/{path}", headers=shopper.headers), 422)
        error(await client.post(f"{WISHLIST}/{path}/move-to-cart", headers=shopper.headers), 422)
        error(await client.patch(f"{LISTS}/{path}", json={"name": "n"}, headers=shopper.headers), 422)
    garbage = await client.post(
        WISHLIST, content=b"{not json", headers={**shopper.headers, "Content-Type": "application/json"}
    )
    assert error(garbage, 400)["code"] == "MALFORMED_JSON"
    assert await _rows(ctx) == before
    assert data(await client.get(WISHLIST, headers=shopper.headers))["name"] == "Wishlist"


async def test_names_are_data_in_json(client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper) -> None:
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    made = data(await client.post(LISTS, json={"name": payload}, headers=shopper.headers), 201)
    assert made["name"] == payload
    response = await client.get(LISTS, headers=shopper.headers)
    assert response.headers["content-type"].startswith("application/json")
    assert data(response)[0]["name"] == payload


async def test_reading_the_list_costs_the_same_statements_whatever_its_size(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    async with ctx.db.session() as session:
        products = [await make_product(session, f"Item {n}", prices=("4.00", "5.00")) for n in range(12)]
    counts = []
    for batch in (products[:1], products[1:]):
        for made in batch:
            body = {"product_id": made.product.id}
            data(await client.post(WISHLIST, json=body, headers=shopper.headers), 201)
        with count_statements(ctx.db.engine) as statements:
            listed = data(await client.get(WISHLIST, headers=shopper.headers))["items"]
        assert len(listed) == (1 if not counts else 12)
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    # The session check, the list, and its items with products, variants and pools.
    assert counts[1] <= 3, counts


async def test_the_export_holds_the_lists_and_erasure_deletes_them(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    async with ctx.db.session() as session:
        rug = await make_product(session, "Rug", prices=("60.00",))
    data(await client.post(WISHLIST, json={"product_id": rug.product.id}, headers=shopper.headers), 201)
    export = data(await client.get("/api/v1/users/export", headers=shopper.headers))
    [exported] = export["wishlists"]
    assert exported["name"] == "Wishlist"
    assert exported["items"][0]["product_id"] == rug.product.id
    assert exported["items"][0]["price_when_added_minor"] == 6000
    data(
        await client.request(
            "DELETE", "/api/v1/users/account", json={"password": shopper.password}, headers=shopper.headers
        )
    )
    assert await _rows(ctx) == (0, 0)


async def test_expired_guest_lists_are_removed_and_customer_lists_kept(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    async with ctx.db.session() as session:
        jug = await make_product(session, "Jug", prices=("9.00",))
    data(await client.post(WISHLIST, json={"product_id": jug.product.id}, headers=shopper.headers), 201)
    client.cookies.clear()
    old = (await client.post(WISHLIST, json={"product_id": jug.product.id})).headers["X-Wishlist-Token"]
    client.cookies.clear()
    fresh = (await client.post(WISHLIST, json={"product_id": jug.product.id})).headers["X-Wishlist-Token"]
    client.cookies.clear()
    async with ctx.db.session() as session:
        await session.execute(
            update(Wishlist)
            .where(Wishlist.token_hash == token_digest(old))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert await _items(client, {"X-Wishlist-Token": old}) == []  # as good as gone already
    assert await remove_expired(ctx) == 1
    assert await _rows(ctx) == (2, 2)
    assert len(await _items(client, {"X-Wishlist-Token": fresh})) == 1
