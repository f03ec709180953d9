"""Acceptance test 2 (issue 23): replay paused on the replica. Catalog reads carry on from the replica; a
shopper who just added to the cart sees it; once the replica is further behind than the bound, reads go to
the primary; replay resumed, they come back. Both servers are real; which one answered is proved by what
only one of them holds and by the app's counter of routed reads."""

from __future__ import annotations

import asyncio

import pytest

from emporium.app import create_app
from emporium.core.context import build_context
from emporium.core.read_routing import WROTE_COOKIE
from emporium.operations.pgcluster import PgTopology
from tests.support import asgi_client
from tests.topology.conftest import DATABASE
from tests.topology.shop import MAX_LAG_SECONDS, caught_up, eventually, read_sessions, shop_settings
from tests.web.test_cart_pages import add, seed

pytestmark = pytest.mark.topology


async def test_paused_replay_keeps_browsing_on_the_replica_until_the_lag_bound(topology: PgTopology) -> None:
    assert topology.replica is not None
    ctx = build_context(shop_settings(topology))
    try:
        async with asyncio.timeout(180), asgi_client(create_app(ctx=ctx)) as browser:
            made, _ = await seed(ctx)
            product = f"/p/{made.product.slug}"
            caught_up(topology)

            # An anonymous product page and API list are read from the replica.
            before = read_sessions("replica")
            assert (await browser.get(product)).status_code == 200
            assert (await browser.get("/api/v1/products")).status_code == 200
            assert read_sessions("replica") == before + 2

            # Replay paused with nothing new to apply: the replica is not behind, reads stay there.
            topology.replica.pause_replay()
            before = read_sessions("replica")
            page = await browser.get(product)
            assert page.status_code == 200
            assert "Linen Apron" in page.text
            assert read_sessions("replica") == before + 1

            # A shopper adds to the cart: written on the primary, not applied on the paused replica. The
            # shopper sees it on the cart and, marked as having just written, on every page.
            async with asgi_client(create_app(ctx=ctx)) as shopper:
                added = await add(shopper, made.variants[0].id, 1)
                assert added.status_code < 400, added.text
                assert shopper.cookies.get(WROTE_COOKIE)
                assert "Linen Apron" in (await shopper.get("/cart")).text
                on_page = await shopper.get(product)
                assert on_page.status_code == 200
                assert "private" in on_page.headers["cache-control"]
                # The header's cart count comes from the visitor fragment the page asks for (web/visitor.py).
                header = await shopper.get("/visitor", headers={"HX-Request": "true"})
                assert 'aria-label="1 item in your cart"' in header.text
            assert topology.replica.sql("SELECT count(*) FROM cart_items", DATABASE) == "0"

            # A rename only the primary has: once the replica is past the bound, anonymous reads show it.
            topology.primary.sql(
                f"UPDATE products SET name = 'Linen Apron Renamed' WHERE id = {made.product.id}", DATABASE
            )
            on_primary = read_sessions("primary")

            async def renamed() -> bool:
                return "Linen Apron Renamed" in (await browser.get(product)).text

            await eventually(renamed, MAX_LAG_SECONDS + 15, "the anonymous page read from the primary")
            assert read_sessions("primary") > on_primary
            stale = topology.replica.sql(f"SELECT name FROM products WHERE id = {made.product.id}", DATABASE)
            assert stale == "Linen Apron"  # so the page above came from the primary

            # Replay resumed: once caught up, the reads go back to the replica.
            topology.replica.resume_replay()
            caught_up(topology)

            async def from_replica() -> bool:
                before = read_sessions("replica")
                page = await browser.get(product)
                return read_sessions("replica") > before and "Linen Apron Renamed" in page.text

            await eventually(from_replica, 15, "reads back on the replica")
    finally:
        await ctx.close()
