"""Acceptance test 3 (issue 23): the primary stopped. Browsing carries on from the replica; checkout answers
the friendly 503 page (storefront) and the standard error body (API); nothing answers 500; the primary
started again, checkout works with the same app, nothing restarted."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from emporium.app import create_app
from emporium.core.context import build_context
from emporium.operations.pgcluster import PgTopology
from tests.orders.factory import make_cart, order_body
from tests.support import asgi_client, error
from tests.topology.shop import caught_up, eventually, read_sessions, shop_settings
from tests.web.test_cart_pages import add, review, review_form, seed

pytestmark = pytest.mark.topology


async def _browse(browser: httpx.AsyncClient, slug: str, product_id: int) -> list[httpx.Response]:
    return [
        await browser.get("/"),
        await browser.get(f"/p/{slug}"),
        await browser.get("/search?q=linen"),
        await browser.get("/api/v1/products"),
        await browser.get(f"/api/v1/products/{product_id}"),
        await browser.get("/api/v1/products/search?q=linen"),
    ]


async def test_browsing_carries_on_from_the_replica_while_the_primary_is_down(topology: PgTopology) -> None:
    ctx = build_context(shop_settings(topology))
    try:
        async with asyncio.timeout(180), asgi_client(create_app(ctx=ctx)) as browser:
            made, method_id = await seed(ctx)
            async with ctx.db.session() as session:
                cart_token = await make_cart(session, [(made.variants[0], 1)])
            async with asgi_client(create_app(ctx=ctx)) as guest:
                await add(guest, made.variants[0].id, 1)
                form = review_form((await review(guest)).text)
                form["payment_method"] = "cash_on_delivery"
                caught_up(topology)
                before = [r.status_code for r in await _browse(browser, made.product.slug, made.product.id)]
                assert before == [200] * 6

                topology.primary.stop()
                served = read_sessions("replica")
                for _ in range(2):
                    for response in await _browse(browser, made.product.slug, made.product.id):
                        assert response.status_code == 200, (response.request.url, response.text[:300])
                        assert "Linen Apron" in response.text
                assert read_sessions("replica") == served + 12

                # Checkout: the storefront's "back soon" page, the API's error body; never a 500.
                placed = await guest.post("/checkout/place", data=form)
                assert placed.status_code == 503, placed.text[:300]
                assert "back soon" in placed.text
                assert "Traceback" not in placed.text
                assert placed.headers["retry-after"] == "30"
                headers = {"X-Cart-Token": cart_token}
                refused = await browser.post("/api/v1/orders", json=order_body(method_id), headers=headers)
                assert error(refused, 503)["code"] == "DATABASE_UNAVAILABLE"
                assert (await guest.get("/cart")).status_code == 503

                # The primary back: the same app places the order once its connections are new.
                topology.primary.start()

                async def primary_answers() -> bool:
                    cart = await browser.get("/api/v1/cart", headers=headers)
                    assert cart.status_code in (200, 503), cart.text[:300]
                    return cart.status_code == 200

                await eventually(primary_answers, 30, "the app reached the restarted primary")
                again = await guest.post("/checkout/place", data=form)
                assert again.status_code == 303, again.text[:300]
                assert again.headers["location"].endswith("/thanks")
                api_order = await browser.post("/api/v1/orders", json=order_body(method_id), headers=headers)
                assert api_order.status_code == 201, api_order.text[:300]
    finally:
        await ctx.close()
