"""The wishlist pages, driven over HTTP as a browser would: the hearts, the guest and account lists, moving
to the cart, managing and sharing lists, escaping, and the catalog pages' statement budgets kept."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import func, select, update

from emporium.catalog.models import ProductVariant
from emporium.core.context import AppContext
from emporium.inventory.models import StockPool
from emporium.wishlists.models import Wishlist, WishlistItem
from tests.inventory.factory import make_category, make_product
from tests.support import count_statements
from tests.web.conftest import token_of, visitor_token
from tests.web.test_account_pages import customer, web_sign_in

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
HTMX = {"HX-Request": "true"}


def heart_pressed(html: str) -> str | None:
    found = re.search(r'class="heart[^"]*"[^>]*aria-pressed="(true|false)"', html)
    return found.group(1) if found else None


async def _counts(ctx: AppContext) -> tuple[int, int]:
    async with ctx.db.session() as session:
        lists = (await session.execute(select(func.count()).select_from(Wishlist))).scalar_one()
        items = (await session.execute(select(func.count()).select_from(WishlistItem))).scalar_one()
    return int(lists), int(items)


async def test_a_guest_hearts_a_product_and_sees_it_on_their_list(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    async with ctx.db.session() as session:
        category = await make_category(session, "Kitchen")
        made = await make_product(session, "Copper Pan", prices=("45.00",), category=category)
        await session.commit()
    page = await client.get(f"/c/{category.slug}")
    assert 'class="heart heart--card"' in page.text
    assert f'hx-vals=\'{{"product_id": "{made.product.id}"}}\'' in page.text
    # A shared page: its visitor fragment brings the token shop.js sends.
    token = await visitor_token(client)
    # Without the CSRF header htmx would send, the heart is refused.
    assert (await client.post("/wishlist/add", data={"product_id": str(made.product.id)})).status_code == 403
    pressed = await client.post(
        "/wishlist/add", data={"product_id": str(made.product.id)}, headers={**HTMX, "X-CSRF-Token": token}
    )
    assert pressed.status_code == 200
    assert heart_pressed(pressed.text) == "true"
    assert "wishlist_token=" in pressed.headers["set-cookie"]
    assert "<html" not in pressed.text  # a fragment, swapped in place
    listing = (await client.get("/wishlist")).text
    assert "Copper Pan" in listing
    assert "> to cart</button>" in listing
    # The product page draws its heart without state, then asks for it.
    product_page = (await client.get(f"/p/{made.product.slug}")).text
    assert f'hx-get="/wishlist/heart/{made.product.id}"' in product_page
    assert heart_pressed((await client.get(f"/wishlist/heart/{made.product.id}")).text) == "true"
    unpressed = await client.post(
        "/wishlist/remove", data={"product_id": str(made.product.id)}, headers={**HTMX, "X-CSRF-Token": token}
    )
    assert heart_pressed(unpressed.text) == "false"
    assert "Copper Pan" not in (await client.get("/wishlist")).text


async def test_a_refused_heart_says_why_in_place(client: httpx.AsyncClient, ctx: AppContext) -> None:
    token = await token_of(client, "/wishlist")
    headers = {**HTMX, "X-CSRF-Token": token}
    refused = await client.post("/wishlist/add", data={"product_id": "999999999"}, headers=headers)
    assert refused.status_code == 404
    assert "No such product." in refused.text
    assert heart_pressed(refused.text) == "false"
    bad = await client.post("/wishlist/add", data={"product_id": "abc", "csrf_token": token})
    assert bad.status_code == 422
    assert 'class="error-page"' in bad.text
    assert await _counts(ctx) == (0, 0)


async def test_move_to_cart_from_the_page_and_sold_out_stays(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    async with ctx.db.session() as session:
        kettle = await make_product(session, "Whistling Kettle", prices=("30.00",), on_hand=3)
        lamp = await make_product(session, "Brass Lamp", prices=("80.00",), on_hand=0)
        await session.commit()
    _, token = await customer(client)
    for made in (kettle, lamp):
        response = await client.post(
            "/wishlist/add", data={"product_id": str(made.product.id), "csrf_token": token}
        )
        assert response.status_code == 303
        assert response.headers["location"].startswith("/account/wishlist")
    async with ctx.db.session() as session:
        items = dict((await session.execute(select(WishlistItem.product_id, WishlistItem.id))).all())
    page = await client.get("/account/wishlist")
    assert page.status_code == 200
    assert 'id="cart-count" aria-label="0 items in your cart">0<' in page.text
    sold_out = await client.post(f"/wishlist/items/{items[lamp.product.id]}/move", data={"csrf_token": token})
    assert sold_out.status_code == 409
    assert "Brass Lamp is sold out; it stays on your wishlist." in sold_out.text
    assert "Brass Lamp</a>" in sold_out.text
    moved = await client.post(f"/wishlist/items/{items[kettle.product.id]}/move", data={"csrf_token": token})
    assert moved.status_code == 200
    assert "Whistling Kettle is in your cart now." in moved.text
    assert 'aria-label="1 item in your cart">1<' in moved.text
    assert "Whistling Kettle</a>" not in moved.text
    assert await _counts(ctx) == (1, 1)


async def test_price_drop_and_availability_on_the_page(client: httpx.AsyncClient, ctx: AppContext) -> None:
    async with ctx.db.session() as session:
        rug = await make_product(session, "Wool Rug", prices=("120.00",), on_hand=2)
        await session.commit()
    token = await token_of(client, "/wishlist")
    await client.post("/wishlist/add", data={"product_id": str(rug.product.id), "csrf_token": token})
    async with ctx.db.session() as session:
        await session.execute(
            update(ProductVariant).where(ProductVariant.id == rug.variants[0].id).values(price_minor=9900)
        )
        await session.execute(update(StockPool).where(StockPool.id == rug.pools[0].id).values(on_hand=0))
        await session.commit()
    html = (await client.get("/wishlist")).text
    assert re.search(r"was <s>\$120\.00</s>, now <strong class=\"price\">\$99\.00</strong>", html), html
    assert "Sold out." in html


async def test_lists_are_managed_shared_and_names_escaped(client: httpx.AsyncClient, ctx: AppContext) -> None:
    async with ctx.db.session() as session:
        globe = await make_product(session, "Desk Globe", prices=("35.00",))
        await session.commit()
    _, token = await customer(client)
    await client.post("/wishlist/add", data={"product_id": str(globe.product.id), "csrf_token": token})
    async with ctx.db.session() as session:
        list_id = (await session.execute(select(Wishlist.id))).scalar_one()
    renamed = await client.post(
        f"/account/wishlist/lists/{list_id}/rename", data={"name": XSS, "csrf_token": token}
    )
    assert renamed.status_code == 303
    page = (await client.get("/account/wishlist")).text
    assert XSS not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    for bad in ("", " ", "x" * 101, "two\nlines"):
        refused = await client.post(
            f"/account/wishlist/lists/{list_id}/rename", data={"name": bad, "csrf_token": token}
        )
        assert refused.status_code == 422
        assert "Give the list a name" in refused.text

    shared = await client.post(
        f"/account/wishlist/lists/{list_id}/share", data={"visibility": "link", "csrf_token": token}
    )
    assert shared.status_code == 200
    link = re.search(
        r'id="share-url" type="text" readonly value="http://[^"]+(/wishlist/shared/[A-Za-z0-9_-]{22})"',
        shared.text,
    )
    assert link, shared.text
    client.cookies.clear()
    visitor = await client.get(link.group(1))
    assert visitor.status_code == 200
    assert "Desk Globe" in visitor.text
    assert XSS not in visitor.text
    assert "&lt;script&gt;" in visitor.text
    assert "to cart</button>" not in visitor.text
    assert "/wishlist/items/" not in visitor.text
    assert "Ada" not in visitor.text
    assert "ada@example.com" not in visitor.text
    assert '<meta name="robots" content="noindex, nofollow">' in visitor.text
    assert visitor.headers["referrer-policy"] == "no-referrer"

    token = await web_sign_in(client, "ada@example.com")
    await client.post(f"/account/wishlist/lists/{list_id}/unshare", data={"csrf_token": token})
    client.cookies.clear()
    assert (await client.get(link.group(1))).status_code == 404
    assert (await client.get("/wishlist/shared/nonsense")).status_code == 404


async def test_another_customers_list_is_404_on_every_page_route(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    async with ctx.db.session() as session:
        clock = await make_product(session, "Wall Clock", prices=("50.00",))
        await session.commit()
    _, token = await customer(client)
    await client.post("/wishlist/add", data={"product_id": str(clock.product.id), "csrf_token": token})
    async with ctx.db.session() as session:
        list_id, item_id = (await session.execute(select(WishlistItem.wishlist_id, WishlistItem.id))).one()
    client.cookies.clear()
    _, token = await customer(client, "bob@example.com")
    before = await _counts(ctx)
    assert (await client.get(f"/account/wishlist?list={list_id}")).status_code == 404
    for path, body in (
        (f"/wishlist/items/{item_id}/remove", {}),
        (f"/wishlist/items/{item_id}/move", {}),
        (f"/account/wishlist/lists/{list_id}/rename", {"name": "Mine"}),
        (f"/account/wishlist/lists/{list_id}/delete", {}),
        (f"/account/wishlist/lists/{list_id}/share", {}),
        (f"/account/wishlist/lists/{list_id}/unshare", {}),
    ):
        response = await client.post(path, data={**body, "csrf_token": token})
        assert response.status_code == 404, path
    assert await _counts(ctx) == before
    async with ctx.db.session() as session:
        assert (await session.execute(select(Wishlist.name, Wishlist.share_token_hash))).one() == (
            "Wishlist",
            None,
        )


async def test_guest_list_merges_at_the_sign_in_form_without_duplicates(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    async with ctx.db.session() as session:
        both = await make_product(session, "Tea Towel", prices=("6.00",))
        only = await make_product(session, "Egg Cup", prices=("4.00",))
        await session.commit()
    _, token = await customer(client)
    await client.post("/wishlist/add", data={"product_id": str(both.product.id), "csrf_token": token})
    await client.post("/account/sign-out", data={"csrf_token": token})
    client.cookies.clear()
    token = await token_of(client, "/wishlist")
    for made in (both, only):
        await client.post("/wishlist/add", data={"product_id": str(made.product.id), "csrf_token": token})
    assert await _counts(ctx) == (2, 3)
    await web_sign_in(client, "ada@example.com")
    page = (await client.get("/account/wishlist")).text
    assert page.count("Tea Towel</a>") == 1
    assert "Egg Cup</a>" in page
    assert await _counts(ctx) == (1, 2)


async def test_catalog_pages_keep_their_statement_budgets(client: httpx.AsyncClient, ctx: AppContext) -> None:
    async with ctx.db.session() as session:
        category = await make_category(session, "Bath")
        for n in range(8):
            await make_product(session, f"Soap {n}", prices=("3.00",), category=category)
        await session.commit()
    token = await token_of(client, f"/c/{category.slug}")
    with count_statements(ctx.db.engine) as without:
        assert (await client.get(f"/c/{category.slug}")).status_code == 200
    # A browser with a wishlist reads the category page with no more statements: the card hearts carry
    # no state.
    async with ctx.db.session() as session:
        first = (await session.execute(select(func.min(WishlistItem.id)))).scalar_one()
    assert first is None
    soap = (await client.get(f"/c/{category.slug}")).text
    product_id = re.search(r'"product_id": "(\d+)"', soap)
    assert product_id
    await client.post("/wishlist/add", data={"product_id": product_id.group(1), "csrf_token": token})
    with count_statements(ctx.db.engine) as with_list:
        assert (await client.get(f"/c/{category.slug}")).status_code == 200
    assert len(with_list) == len(without), (without, with_list)


async def test_lists_are_created_and_deleted_on_the_page(client: httpx.AsyncClient, ctx: AppContext) -> None:
    _, token = await customer(client)
    made = await client.post("/account/wishlist/lists", data={"name": "Birthday", "csrf_token": token})
    assert made.status_code == 303
    garden = await client.post("/account/wishlist/lists", data={"name": "Garden", "csrf_token": token})
    garden_id = int(garden.headers["location"].rsplit("=", 1)[1])
    page = (await client.get(garden.headers["location"])).text
    assert '<h2 class="wishlist__title" id="wishlist-title">Garden</h2>' in page
    default = '<span class="wishlist-lists__count">(0)</span> <span class="badge badge--muted">default</span>'
    assert f"Birthday {default}" in page
    async with ctx.db.session() as session:
        default_id = (await session.execute(select(Wishlist.id).where(Wishlist.is_default))).scalar_one()
    kept = await client.post(f"/account/wishlist/lists/{default_id}/delete", data={"csrf_token": token})
    assert kept.status_code == 409
    assert "Your default list stays while you have other lists" in kept.text
    gone = await client.post(f"/account/wishlist/lists/{garden_id}/delete", data={"csrf_token": token})
    assert gone.status_code == 303
    assert await _counts(ctx) == (1, 0)
    refused = await client.post("/account/wishlist/lists", data={"name": "x" * 101, "csrf_token": token})
    assert refused.status_code == 422
    assert 'id="new-list-name-error"' in refused.text
    # A guest is sent to sign in first.
    client.cookies.clear()
    token = await token_of(client, "/wishlist")
    guest = await client.post("/account/wishlist/lists", data={"name": "Mine", "csrf_token": token})
    assert guest.status_code == 303
    assert guest.headers["location"].startswith("/account/sign-in")
    assert (await client.get("/account/wishlist")).status_code == 303
