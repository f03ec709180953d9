"""Shared pages: what a visitor without a session gets from home, category, product and search is the same
for everybody, sets no cookie, is public with an ETag, and is kept under the catalog stamp; the visitor
fragment brings the per-visitor parts; no form works from another site."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select, update

from emporium.app import create_app
from emporium.catalog.models import Category, ProductVariant
from emporium.core.context import AppContext
from emporium.inventory.models import StockPool
from emporium.web.page import SHARED_PAGE_CACHE
from tests.conftest import MakeContext, sign_up
from tests.inventory.factory import Made, make_category, make_product
from tests.support import asgi_client, count_statements
from tests.web.conftest import token_of, visitor_token
from tests.web.test_account_pages import web_sign_in

SHARED = ("/", "/c/kitchen", "/p/copper-pan", "/search?q=copper")


async def kitchen(ctx: AppContext, products: int = 1) -> list[Made]:
    async with ctx.db.session() as session:
        category = await make_category(session, "Kitchen")
        category.slug = "kitchen"  # the factory's slugs carry a number
        made = [await make_product(session, "Copper Pan", prices=("45.00",), category=category, on_hand=9)]
        made[0].product.slug = "copper-pan"
        for n in range(products - 1):
            made.append(await make_product(session, f"Copper Pot {n}", prices=("12.00",), category=category))
        await session.commit()
    return made


@pytest.mark.parametrize("path", SHARED)
async def test_an_anonymous_page_sets_no_cookie_and_is_public(
    client: httpx.AsyncClient, ctx: AppContext, path: str
) -> None:
    await kitchen(ctx)
    response = await client.get(path)
    assert response.status_code == 200, response.text
    assert "set-cookie" not in response.headers
    assert client.cookies == {}
    cache = response.headers["cache-control"]
    assert cache == SHARED_PAGE_CACHE
    assert re.fullmatch(r"public, max-age=\d+, s-maxage=\d+, stale-while-revalidate=\d+", cache)
    assert "cookie" not in response.headers.get("vary", "").lower()
    assert re.fullmatch(r'"[0-9a-f]{32}"', response.headers["etag"])
    # Nothing of a visitor: no token, no cart count; the header asks the visitor fragment for them.
    assert 'name="csrf-token"' not in response.text
    assert 'id="cart-count"' not in response.text
    assert 'hx-get="/visitor"' in response.text
    # The same page again: the same ETag, and 304 with no body when the browser sends it back.
    again = await client.get(path)
    assert again.headers["etag"] == response.headers["etag"]
    assert again.text == response.text
    revalidated = await client.get(path, headers={"If-None-Match": response.headers["etag"]})
    assert revalidated.status_code == 304
    assert revalidated.content == b""
    assert revalidated.headers["etag"] == response.headers["etag"]
    assert revalidated.headers["cache-control"] == SHARED_PAGE_CACHE
    other = await client.get(path, headers={"If-None-Match": '"0123456789abcdef0123456789abcdef"'})
    assert other.status_code == 200


async def test_a_kept_page_is_answered_without_sql(client: httpx.AsyncClient, ctx: AppContext) -> None:
    await kitchen(ctx)
    for path in SHARED:
        assert (await client.get(path)).status_code == 200
        with count_statements(ctx.db.engine, ctx.db.direct_reads) as statements:
            assert (await client.get(path)).status_code == 200
        assert statements == [], path


async def test_a_new_price_or_stock_gives_the_page_a_new_etag(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    (pan,) = await kitchen(ctx)
    first = await client.get("/p/copper-pan")
    listed = await client.get("/c/kitchen")
    assert "$45.00" in first.text
    async with ctx.db.session() as session:
        await session.execute(
            update(ProductVariant).where(ProductVariant.id == pan.variants[0].id).values(price_minor=3900)
        )
        await session.commit()
    repriced = await client.get("/p/copper-pan", headers={"If-None-Match": first.headers["etag"]})
    assert repriced.status_code == 200
    assert "$39.00" in repriced.text
    assert "$45.00" not in repriced.text
    assert repriced.headers["etag"] != first.headers["etag"]
    relisted = await client.get("/c/kitchen", headers={"If-None-Match": listed.headers["etag"]})
    assert relisted.status_code == 200
    assert relisted.headers["etag"] != listed.headers["etag"]
    # A stock change the page shows no differently (9 to 8 on hand: still "In stock") changes it too.
    async with ctx.db.session() as session:
        await session.execute(update(StockPool).where(StockPool.id == pan.pools[0].id).values(on_hand=8))
        await session.commit()
    restocked = await client.get("/p/copper-pan", headers={"If-None-Match": repriced.headers["etag"]})
    assert restocked.status_code == 200
    assert restocked.headers["etag"] != repriced.headers["etag"]


async def test_a_signed_in_page_is_private(client: httpx.AsyncClient, ctx: AppContext) -> None:
    await kitchen(ctx)
    await sign_up(client, "ada@example.com", first_name="Ada")
    await web_sign_in(client, "ada@example.com")
    for path in SHARED:
        response = await client.get(path)
        assert response.status_code == 200
        assert response.headers["cache-control"] == "private, no-store"
        assert "etag" not in response.headers
        assert "Ada" in response.text
        assert 'name="csrf-token"' in response.text


async def test_the_visitor_fragment_brings_the_visitors_own_parts(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    (pan,) = await kitchen(ctx)
    fragment = await client.get("/visitor", headers={"HX-Current-URL": "http://testserver/p/copper-pan"})
    assert fragment.status_code == 200
    assert fragment.headers["cache-control"].startswith("private")
    assert "shop_csrf" in fragment.headers["set-cookie"]
    assert 'href="/account/sign-in?next=/p/copper-pan"' in fragment.text
    assert 'id="cart-count"' in fragment.text
    token = await visitor_token(client)
    # A first-time visitor's first post (add to cart from the shared product page) carries that token.
    added = await client.post(
        "/cart/add",
        data={"csrf_token": token, "variant_id": str(pan.variants[0].id), "quantity": "2"},
        headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
    )
    assert added.status_code == 303, added.text
    counted = await client.get("/visitor")
    assert re.search(r'id="cart-count"[^>]*>2<', counted.text)
    # The product page itself is still the shared one: a guest cart does not make it private.
    page = await client.get("/p/copper-pan")
    assert page.headers["cache-control"] == SHARED_PAGE_CACHE
    assert "set-cookie" not in page.headers


async def test_only_the_visitor_fragment_gives_a_first_time_visitor_its_csrf_cookie(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    """The product page loads its heart beside the visitor fragment: were both to make a seed, the cookie
    that arrived last would not match the token the page holds, and "Add to cart" would be refused."""
    (pan,) = await kitchen(ctx)
    heart = await client.get(f"/wishlist/heart/{pan.product.id}")
    assert heart.status_code == 200
    assert "set-cookie" not in heart.headers
    token = await visitor_token(client)
    assert token not in heart.text
    added = await client.post(
        "/cart/add",
        data={"csrf_token": token, "variant_id": str(pan.variants[0].id), "quantity": "1"},
        headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
    )
    assert added.status_code == 303, added.text


async def test_a_browser_without_script_adds_to_the_cart_from_a_shared_page(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    """A shared page carries no token and script brings it; without script a browser that holds nothing of
    the shop may post once on its own word that the shop's page sent it, and never from another site."""
    (pan,) = await kitchen(ctx)
    form = {"variant_id": str(pan.variants[0].id), "quantity": "1", "csrf_token": ""}
    elsewhere = await client.post("/cart/add", data=form, headers={"Sec-Fetch-Site": "cross-site"})
    assert elsewhere.status_code == 403
    unsaid = await client.post("/cart/add", data=form)  # no word on where it came from: the token is needed
    assert unsaid.status_code == 403
    added = await client.post("/cart/add", data=form, headers={"Sec-Fetch-Site": "same-origin"})
    assert added.status_code == 303, added.text
    assert "shop_csrf" in added.headers.get("set-cookie", "")
    # Now the browser holds a cart and a seed: its next form needs the token like any other.
    again = await client.post("/cart/add", data=form, headers={"Sec-Fetch-Site": "same-origin"})
    assert again.status_code == 403


async def test_no_form_works_from_another_site(client: httpx.AsyncClient, ctx: AppContext) -> None:
    (pan,) = await kitchen(ctx)
    token = await token_of(client, "/p/copper-pan")
    body = {"csrf_token": token, "variant_id": str(pan.variants[0].id), "quantity": "1"}
    refused = [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "http://testserver", "Sec-Fetch-Site": "cross-site"},
    ]
    for headers in refused:
        response = await client.post("/cart/add", data=body, headers=headers)
        assert response.status_code == 403, headers
    # From this shop but without its token, or with a token made for another browser.
    missing = {k: v for k, v in body.items() if k != "csrf_token"}
    assert (await client.post("/cart/add", data=missing)).status_code == 403
    async with asgi_client(create_app(ctx=ctx)) as other:
        stranger = await visitor_token(other)
        assert stranger != token
        stolen = await client.post("/cart/add", data={**body, "csrf_token": stranger})
        assert stolen.status_code == 403
        # A visitor that has no CSRF cookie yet cannot post at all, not even with a valid-looking token.
        fresh = await other.post(
            "/account/sign-in", data={"email": "a@b.c", "password": "x", "csrf_token": token}
        )
        assert fresh.status_code == 403
    # The same form from this shop is taken.
    taken = await client.post("/cart/add", data=body, headers={"Origin": "http://testserver"})
    assert taken.status_code == 303


async def test_a_signed_in_form_refuses_another_sessions_token(
    client: httpx.AsyncClient, ctx: AppContext, make_context: MakeContext
) -> None:
    await sign_up(client, "ada@example.com")
    mine = await web_sign_in(client, "ada@example.com")
    async with asgi_client(create_app(ctx=ctx)) as other:
        await sign_up(other, "bob@example.com")
        theirs = await web_sign_in(other, "bob@example.com")
    assert mine != theirs
    refused = await client.post("/account/sign-out", data={"csrf_token": theirs})
    assert refused.status_code == 403
    forged = await client.post(
        "/account/sign-out", data={"csrf_token": mine}, headers={"Origin": "https://evil.example"}
    )
    assert forged.status_code == 403
    assert (await client.post("/account/sign-out", data={"csrf_token": mine})).status_code == 303


async def test_statements_per_page_do_not_grow_with_the_page(make_context: MakeContext) -> None:
    """Drawn with the caches off: 2 products on each page, then 14 (the home page shows 8 of them)."""
    ctx = make_context(catalog_cache_ttl_seconds=0)
    counts: dict[str, list[int]] = {path: [] for path in SHARED}
    await kitchen(ctx, 2)
    async with asgi_client(create_app(ctx=ctx)) as client:
        for size in (2, 14):
            if size > 2:
                async with ctx.db.session() as session:
                    shelf = (
                        await session.execute(select(Category).where(Category.slug == "kitchen"))
                    ).scalar_one()
                    for n in range(size - 2):
                        await make_product(session, f"Copper Lid {n}", prices=("3.00",), category=shelf)
                    await session.commit()
            for path in SHARED:
                assert (await client.get(path)).status_code == 200  # opens the pools, loads rates
                with count_statements(ctx.db.engine, ctx.db.direct_reads) as statements:
                    response = await client.get(path)
                assert response.status_code == 200
                counts[path].append(len(statements))
        assert (await client.get("/search?q=copper")).text.count('href="/p/copper-lid-') >= 12
    for path, (few, many) in counts.items():
        assert few == many, (path, counts)
