"""Every error the storefront answers is a page in the shop's layout: the header with the right cart count,
the categories, a message a person can act on, and a way back. No status leaves a shopper at a bare page."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import APIRouter

from emporium.app import create_app
from emporium.core.context import AppContext
from emporium.web.routing import PageRoute
from tests.inventory.factory import make_product
from tests.support import asgi_client
from tests.web.conftest import csrf_token

pytestmark = pytest.mark.asyncio

CART_COUNT = re.compile(r'id="cart-count"[^>]*>(\d+)<')


async def fill_cart(client: httpx.AsyncClient, ctx: AppContext, quantity: int = 3) -> str:
    async with ctx.db.session() as session:
        made = await make_product(session, "Error page mug", prices=("9.00",), on_hand=10)
        await session.commit()
    csrf = csrf_token((await client.get("/cart")).text)
    body = {"csrf_token": csrf, "variant_id": str(made.variants[0].id), "quantity": str(quantity)}
    assert (await client.post("/cart/add", data=body)).status_code == 303
    return csrf


def assert_in_layout(response: httpx.Response, status: int, cart_count: int) -> None:
    assert response.status_code == status, response.text
    html = response.text
    assert response.headers["content-type"].startswith("text/html")
    assert '<header class="site-header' in html
    assert f'<p class="error-page__status">{status}</p>' in html
    found = CART_COUNT.search(html)
    assert found, "no cart count in the header"
    assert int(found.group(1)) == cart_count
    assert 'href="/"' in html
    assert "Traceback" not in html


async def test_each_storefront_error_is_a_page_with_the_cart_count(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    csrf = await fill_cart(client, ctx, quantity=3)
    referer = {"Referer": "http://testserver/cart"}

    # 400: a link that is not valid (the page a shopper reaches from an old e-mail).
    stale = await client.get("/account/verify-email", params={"token": "not-a-token"})
    assert stale.status_code == 400
    assert '<header class="site-header' in stale.text
    found = CART_COUNT.search(stale.text)
    assert found
    assert found.group(1) == "3"
    # A body the server cannot read gets the layout too (422, as any unreadable form).
    unreadable = await client.post(
        "/cart/add",
        content=b"--x\r\nbroken",
        headers={"Content-Type": "multipart/form-data; boundary=x", "X-CSRF-Token": csrf, **referer},
    )
    assert_in_layout(unreadable, 422, 3)

    # 403: a form without the browser's token.
    forged = await client.post("/cart/add", data={"variant_id": "1", "quantity": "1"}, headers=referer)
    assert_in_layout(forged, 403, 3)
    assert 'href="/cart">Go back</a>' in forged.text

    # 404: a product that does not exist.
    missing = await client.get("/p/no-such-thing", headers=referer)
    assert_in_layout(missing, 404, 3)
    assert "Go back" in missing.text

    # 422 of a page route: an id out of range.
    odd = await client.get("/orders/0/paid", headers=referer)
    assert_in_layout(odd, 422, 3)


async def test_too_many_requests_says_when_to_come_back(make_context: object, ctx: AppContext) -> None:
    context = make_context(order_track_rate_limit="1/minute")  # type: ignore[operator]
    async with asgi_client(create_app(ctx=context)) as client:
        params = {"order_number": "ORD-2000-000001", "contact": "ada@example.com"}
        await client.get("/track", params=params)
        limited = await client.get("/track", params=params)
        # A refused client costs the database nothing, so the page shows the cart without its count.
        assert limited.status_code == 429
        assert '<header class="site-header' in limited.text
        assert 'href="/cart"' in limited.text
        assert 'id="cart-count"' not in limited.text
        assert "Retry-After" in limited.headers
        assert "Please try again in" in limited.text


async def test_a_failure_on_our_side_is_a_page_with_the_cart_count(ctx: AppContext) -> None:
    app = create_app(ctx=ctx)
    broken = APIRouter(route_class=PageRoute)

    @broken.get("/broken-page")
    async def broken_page() -> None:
        raise RuntimeError("a bug")

    app.router.routes.insert(0, broken.routes[0])
    async with asgi_client(app) as client:
        await fill_cart(client, ctx, quantity=2)
        failed = await client.get("/broken-page")
        assert_in_layout(failed, 500, 2)
        assert "a bug" not in failed.text


async def test_a_conflict_is_a_page_in_the_layout(client: httpx.AsyncClient, ctx: AppContext) -> None:
    """409: a checkout key already used for an order, sent with a different order."""
    from tests.web.test_checkout_review import GUEST, open_shop, place_form, to_review

    shop = await open_shop(ctx)
    form = place_form(await to_review(client, shop))
    form["payment_method"] = "cash_on_delivery"
    assert (await client.post("/checkout/place", data=form)).status_code == 303
    # The same key again, with the next cart and other choices: refused as a conflict, in the layout.
    csrf = await fill_cart(client, ctx, quantity=1)
    await client.post("/checkout/review", data={"csrf_token": csrf, **GUEST})
    html = (await client.get("/checkout/review")).text
    again = place_form(html) | {"checkout_key": form["checkout_key"], "payment_method": "bank_transfer"}
    conflict = await client.post("/checkout/place", data=again)
    assert_in_layout(conflict, 409, 1)
    assert "already used for another order" in conflict.text
