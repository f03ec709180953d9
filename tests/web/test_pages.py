"""Storefront pages: security headers, the home page and its SQL budget, error pages, robots and sitemaps."""

from __future__ import annotations

import re
from xml.etree import ElementTree

import httpx

from emporium.app import create_app
from emporium.core.context import AppContext
from emporium.web.routing import page_router
from tests.catalog.conftest import Shop
from tests.conftest import sign_up
from tests.support import asgi_client, count_statements, error

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SITEMAP_NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def assert_page_headers(response: httpx.Response) -> None:
    assert response.headers["content-security-policy"] == CSP
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"


async def test_pages_carry_the_strict_policy(client: httpx.AsyncClient) -> None:
    for path in ("/", "/account/sign-in", "/no-such-page"):
        assert_page_headers(await client.get(path))


async def test_no_page_has_inline_script_or_style(client: httpx.AsyncClient, catalog: Shop) -> None:
    await catalog.product("Tea Pot", is_featured=True)
    html = (await client.get("/")).text
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    assert "<style" not in html
    assert " style=" not in html
    assert re.search(r" on[a-z]+=", html) is None


async def test_home_shows_featured_products_and_the_category_tree(
    client: httpx.AsyncClient, catalog: Shop
) -> None:
    kitchen = await catalog.category("Kitchen")
    await catalog.category("Cookware", parent_id=kitchen["id"])
    await catalog.product("Copper Kettle", price="1234.50", is_featured=True, category_id=kitchen["id"])
    await catalog.product("Plain Mug", price="4.00")
    response = await client.get("/")
    assert response.status_code == 200
    html = response.text
    assert "Featured products" in html
    assert 'href="/p/copper-kettle"' in html
    assert "$1,234.50" in html  # Babel, for the shop's locale and currency
    assert "Plain Mug" not in html  # not featured
    assert 'href="/c/kitchen"' in html
    assert 'href="/c/cookware"' in html
    assert '<html lang="en-US">' in html
    assert '<link rel="canonical" href="http://shop.test/">' in html
    # The same page for every visitor without a session: shareable (tests/web/test_shared_pages.py).
    assert response.headers["cache-control"].startswith("public, ")


async def test_without_featured_products_the_home_page_shows_the_newest(
    client: httpx.AsyncClient, catalog: Shop
) -> None:
    await catalog.product("Plain Mug", price="4.00")
    html = (await client.get("/")).text
    assert "New in" in html
    assert "Plain Mug" in html


async def test_product_names_are_escaped(client: httpx.AsyncClient, catalog: Shop) -> None:
    await catalog.product('<script>alert("x")</script> Mug', is_featured=True)
    html = (await client.get("/")).text
    assert '<script>alert("x")</script>' not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Mug" in html


async def test_home_page_sql_budget(client: httpx.AsyncClient, ctx: AppContext, catalog: Shop) -> None:
    for n in range(12):
        await catalog.product(f"Featured {n}", is_featured=True)
    await client.get("/")  # the first request of a process warms caches that are not the page's
    with count_statements(ctx.db.engine) as statements:
        assert (await client.get("/")).status_code == 200
    # The category tree, then the featured page: count, products, tags, first images.
    assert len(statements) <= 5, statements

    shopper = await sign_up(client, "budget@example.com")
    token = (await client.get("/account/sign-in")).text
    await _sign_in(client, shopper.email, shopper.password, token)
    with count_statements(ctx.db.engine) as statements:
        response = await client.get("/")
    assert "budget@example.com" in response.text
    # ... and for a signed-in customer their session and their cart.
    assert len(statements) <= 7, statements


async def _sign_in(client: httpx.AsyncClient, email: str, password: str, page: str) -> None:
    from tests.web.conftest import csrf_token

    response = await client.post(
        "/account/sign-in", data={"email": email, "password": password, "csrf_token": csrf_token(page)}
    )
    assert response.status_code == 303, response.text


async def test_signed_in_pages_are_never_stored(client: httpx.AsyncClient) -> None:
    shopper = await sign_up(client, "private@example.com")
    await _sign_in(client, shopper.email, shopper.password, (await client.get("/account/sign-in")).text)
    response = await client.get("/")
    assert response.headers["cache-control"] == "private, no-store"
    assert "private@example.com" in response.text


async def test_unknown_page_is_the_shop_404_but_the_api_keeps_its_json(client: httpx.AsyncClient) -> None:
    page = await client.get("/no-such-page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "We could not find that page" in page.text
    assert 'class="site-header"' in page.text
    assert error(await client.get("/api/v1/no-such-thing"), 404)["code"] == "NOT_FOUND"
    assert error(await client.get("/api/v1/products/no-such-product"), 404)["code"] == "PRODUCT_NOT_FOUND"


async def test_a_crash_in_a_page_is_the_shop_500_without_details(ctx: AppContext) -> None:
    app = create_app(ctx=ctx)
    crashing = page_router()

    @crashing.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret detail")

    app.include_router(crashing)
    async with asgi_client(app) as client:
        response = await client.get("/boom")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.text
    assert "secret detail" not in response.text
    assert "Traceback" not in response.text
    assert_page_headers(response)


async def test_robots_names_the_sitemap(client: httpx.AsyncClient) -> None:
    response = await client.get("/robots.txt")
    assert response.status_code == 200
    assert "Sitemap: http://shop.test/sitemap.xml" in response.text
    assert "Disallow: /account/" in response.text


async def _locations(client: httpx.AsyncClient, url: str) -> list[str]:
    response = await client.get(url.removeprefix("http://shop.test"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    root = ElementTree.fromstring(response.content)  # noqa: S314 - the app's own sitemap
    return [loc.text or "" for loc in root.iterfind(".//s:loc", SITEMAP_NS)]


async def test_sitemap_lists_active_products_and_categories_but_no_drafts(
    client: httpx.AsyncClient, catalog: Shop
) -> None:
    shoes = await catalog.category("Shoes")
    hidden = await catalog.category("Secret", is_active=False)
    await catalog.product("Trail Runner", category_id=shoes["id"])
    await catalog.product("Unreleased Boot", status="draft")
    files = await _locations(client, "/sitemap.xml")
    assert files == ["http://shop.test/sitemaps/pages.xml", "http://shop.test/sitemaps/products-1.xml"]
    pages = await _locations(client, files[0])
    assert pages == [
        "http://shop.test/",
        "http://shop.test/c/shoes",
        *(f"http://shop.test/pages/{slug}" for slug in ("privacy", "terms", "shipping-returns", "about")),
    ]
    assert f"http://shop.test/c/{hidden['slug']}" not in pages
    products = await _locations(client, files[1])
    assert "http://shop.test/p/trail-runner" in products
    assert "http://shop.test/p/unreleased-boot" not in products
    assert (await client.get("/sitemaps/products-2.xml")).status_code == 404


async def test_sitemap_files_split_at_the_protocol_limit(
    client: httpx.AsyncClient, catalog: Shop, monkeypatch: object
) -> None:
    import pytest

    from emporium.web import seo

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setattr(seo, "URLS_PER_FILE", 2)
    monkeypatch.setattr(seo, "BATCH", 1)
    for name in ("A One", "B Two", "C Three"):
        await catalog.product(name)
    files = await _locations(client, "/sitemap.xml")
    assert files[1:] == [
        "http://shop.test/sitemaps/products-1.xml",
        "http://shop.test/sitemaps/products-2.xml",
    ]
    first, second = await _locations(client, files[1]), await _locations(client, files[2])
    assert len(first) == 2
    assert len(second) == 1
    assert {u.rsplit("/", 1)[1] for u in first + second} == {"a-one", "b-two", "c-three"}
