"""Category pages, search results and product pages: filters in clean URLs, did-you-mean, 404 and 422
pages for bad addresses, escaping, JSON-LD and the SQL budget."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from emporium.cart.service import CART_TOKEN_COOKIE
from emporium.catalog.models import Product, ProductImage
from emporium.core.context import AppContext
from emporium.web import catalog_pages
from tests.catalog.conftest import Shop
from tests.support import count_statements
from tests.web.test_review_pages import approved_review

JSON_LD = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)
CARD_LINK = re.compile(r'<a class="product-card__link" href="/p/([a-z0-9-]+)">')


def cards(html: str) -> list[str]:
    """The product slugs of a listing, in order."""
    return CARD_LINK.findall(html)


def assert_error_page(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert 'class="error-page"' in response.text


async def rate(ctx: AppContext, product_id: int, average: str, count: int) -> None:
    async with ctx.db.session() as session:
        await session.execute(
            update(Product)
            .where(Product.id == product_id)
            .values(rating_average=Decimal(average), rating_count=count)
        )


async def sweet_shop(catalog: Shop, ctx: AppContext) -> dict[str, Any]:
    """Sweets (with Toffee below it) and Garden; two brands; prices, stock and ratings that differ."""
    sweets = await catalog.category("Sweets", description="Boiled, chewed and melted.")
    toffee = await catalog.category("Toffee", parent_id=sweets["id"])
    garden = await catalog.category("Garden")
    acme = await catalog.brand("Acme")
    zenith = await catalog.brand("Zenith")
    made = {
        "lemon": await catalog.product(
            "Lemon Drops", price="4.00", category_id=sweets["id"], brand_id=acme["id"]
        ),
        "fudge": await catalog.product(
            "Butter Fudge", price="12.50", category_id=toffee["id"], brand_id=zenith["id"]
        ),
        "brittle": await catalog.product(
            "Peanut Brittle", price="30.00", category_id=toffee["id"], brand_id=acme["id"], on_hand=0
        ),
        "spade": await catalog.product("Garden Spade", price="19.00", category_id=garden["id"]),
    }
    await rate(ctx, made["fudge"]["id"], "4.60", 5)
    await rate(ctx, made["lemon"]["id"], "3.20", 2)
    return made


# Category pages ---------------------------------------------------------------------------------------


async def test_category_lists_itself_and_its_descendants(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    await sweet_shop(catalog, ctx)
    response = await client.get("/c/sweets")
    assert response.status_code == 200
    html = response.text
    assert sorted(cards(html)) == ["butter-fudge", "lemon-drops", "peanut-brittle"]
    assert "3 products" in html
    assert '<h1 class="listing__title">Sweets</h1>' in html
    assert 'href="/c/toffee"' in html  # the subcategory facet
    # Breadcrumbs: Home > Sweets > Toffee on the subcategory's page.
    toffee = (await client.get("/c/toffee")).text
    crumbs = toffee.split('class="breadcrumbs"', 1)[1].split("</nav>", 1)[0]
    assert '<a href="/">Home</a>' in crumbs
    assert '<a href="/c/sweets">Sweets</a>' in crumbs
    assert '<span aria-current="page">Toffee</span>' in crumbs
    assert sorted(cards(toffee)) == ["butter-fudge", "peanut-brittle"]
    assert '<link rel="canonical" href="http://shop.test/c/toffee">' in toffee


async def test_category_filters_and_sort_live_in_the_url(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    await sweet_shop(catalog, ctx)
    by_brand = (await client.get("/c/sweets?brand=acme&sort=price_asc")).text
    assert cards(by_brand) == ["lemon-drops", "peanut-brittle"]
    assert 'value="acme" checked' in by_brand
    assert '<option value="price_asc" selected>' in by_brand
    # Each active filter is a link that removes it, keeping the others.
    assert 'href="/c/sweets?sort=price_asc"' in by_brand

    assert cards((await client.get("/c/sweets?sort=price_desc")).text) == [
        "peanut-brittle",
        "butter-fudge",
        "lemon-drops",
    ]
    assert cards((await client.get("/c/sweets?price=10-25")).text) == ["butter-fudge"]
    assert cards((await client.get("/c/sweets?price=0-10")).text) == ["lemon-drops"]
    assert sorted(cards((await client.get("/c/sweets?in_stock=1")).text)) == ["butter-fudge", "lemon-drops"]
    assert cards((await client.get("/c/sweets?rating=4")).text) == ["butter-fudge"]
    assert sorted(cards((await client.get("/c/sweets?rating=3")).text)) == ["butter-fudge", "lemon-drops"]
    nothing = (await client.get("/c/sweets?brand=zenith&price=25-50")).text
    assert cards(nothing) == []
    assert "Nothing matches these filters" in nothing


async def test_the_filter_form_is_redirected_to_its_clean_url(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    await sweet_shop(catalog, ctx)
    # What the GET form sends: every field, empty ones included, in the form's order.
    response = await client.get("/c/sweets?sort=newest&brand=acme&price=&rating=&utm_source=x")
    assert response.status_code == 303
    assert response.headers["location"] == "/c/sweets?brand=acme"
    clean = await client.get("/c/sweets?brand=acme")
    assert clean.status_code == 200
    assert (await client.get("/c/sweets?sort=newest")).headers["location"] == "/c/sweets"
    assert (await client.get("/c/sweets?page=1")).headers["location"] == "/c/sweets"


async def test_category_pagination_and_the_capped_count(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sweet_shop(catalog, ctx)
    monkeypatch.setattr(catalog_pages, "PER_PAGE", 2)
    first = (await client.get("/c/sweets?sort=price_asc")).text
    assert cards(first) == ["lemon-drops", "butter-fudge"]
    assert 'href="/c/sweets?sort=price_asc&amp;page=2"' in first
    second = (await client.get("/c/sweets?sort=price_asc&page=2")).text
    assert cards(second) == ["peanut-brittle"]
    assert 'rel="prev" href="/c/sweets?sort=price_asc"' in second
    assert '<link rel="canonical" href="http://shop.test/c/sweets?sort=price_asc&amp;page=2">' in second
    assert_error_page(await client.get("/c/sweets?sort=price_asc&page=3"), 404)

    # A count that stopped at the cap says so: "2+" (as "10,000+" would be for a big shop).
    monkeypatch.setattr(ctx.settings, "catalog_count_cap", 2)
    capped = (await client.get("/c/sweets")).text
    assert "2+ products" in capped


async def test_bad_category_addresses_are_pages_not_errors(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    await sweet_shop(catalog, ctx)
    for path in ("/c/no-such-thing", "/c/%3Cscript%3E", "/c/Sweets%00", "/c/" + "a" * 500):
        assert_error_page(await client.get(path), 404)
    for query in (
        "page=0",
        "page=-1",
        "page=abc",
        "page=99999999999999999999",
        "price=bogus",
        "price=10-26",
        "sort=drop%20table",
        "rating=9",
        "in_stock=maybe",
        "brand=%00",
        "brand=%3Cscript%3E",
        "brand=" + "a" * 300,
    ):
        assert_error_page(await client.get(f"/c/sweets?{query}"), 422)


async def test_category_sql_budget(client: httpx.AsyncClient, catalog: Shop, ctx: AppContext) -> None:
    await sweet_shop(catalog, ctx)
    with count_statements(ctx.db.engine) as statements:
        response = await client.get("/c/sweets?brand=acme&in_stock=1&sort=rating")
    assert response.status_code == 200
    # Category tree, brands, then the catalog's list: count, page, tags, first images.
    assert len(statements) <= 6, statements


# Search -----------------------------------------------------------------------------------------------


async def test_search_results_and_facets(client: httpx.AsyncClient, catalog: Shop, ctx: AppContext) -> None:
    await sweet_shop(catalog, ctx)
    html = (await client.get("/search?q=fudge")).text
    assert cards(html) == ["butter-fudge"]
    assert "Results for “fudge”" in html
    assert 'name="category" value="toffee"' in html  # a facet of the match, with its count
    assert 'Toffee <span class="facet__count">(1)</span>' in html
    assert "did-you-mean" not in html
    # Facet filters narrow the match and stay in the URL.
    brittle = (await client.get("/search?q=peanut+brittle&in_stock=1")).text
    assert cards(brittle) == []
    assert "No products match" in brittle
    assert cards((await client.get("/search?q=garden&category=garden")).text) == ["garden-spade"]
    assert cards((await client.get("/search?q=garden&category=sweets")).text) == []


async def test_search_results_filter_by_rating(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    await sweet_shop(catalog, ctx)
    html = (await client.get("/search?q=acme")).text
    assert sorted(cards(html)) == ["lemon-drops", "peanut-brittle"]
    assert '3 stars and up <span class="facet__count">(1)</span>' in html
    assert 'value="4"' not in html.split('name="rating"', 1)[1].split("</fieldset>", 1)[0]  # none rated 4
    rated = (await client.get("/search?q=acme&rating=3")).text
    assert cards(rated) == ["lemon-drops"]
    assert "3 stars and up" in rated.split('class="listing__bar"', 1)[1]  # the chip that removes it
    assert cards((await client.get("/search?q=acme&rating=4")).text) == []
    for bad in ("9", "0", "x", "3.5"):
        assert_error_page(await client.get(f"/search?q=acme&rating={bad}"), 422)


async def test_did_you_mean_links_to_the_corrected_search(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    await sweet_shop(catalog, ctx)
    html = (await client.get("/search?q=budder+fudg")).text
    assert "Nothing matched “budder fudg”" in html
    assert 'Did you mean <a href="/search?q=butter+fudge"><strong>butter fudge</strong></a>?' in html
    assert cards(html) == ["butter-fudge"]


async def test_empty_and_hostile_searches_are_friendly(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    await sweet_shop(catalog, ctx)
    empty = await client.get("/search")
    assert empty.status_code == 200
    assert "What are you looking for?" in empty.text
    assert (await client.get("/search?q=")).headers["location"] == "/search"
    for q in (
        "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "%00%01",
        "%22AND%20OR%20NEAR(%20*",
        "'%3B%20DROP%20TABLE%20products%3B--",
        "%E2%80%AE%F0%9F%8D%AC",
        "x" * 900,
    ):
        response = await client.get(f"/search?q={q}", follow_redirects=True)
        assert response.status_code == 200, (q, response.text[-500:])
        assert "<script>alert(1)</script>" not in response.text
    script = (await client.get("/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E")).text
    assert "Results for “&lt;script&gt;alert(1)&lt;/script&gt;”" in script
    assert_error_page(await client.get("/search?q=fudge&brand=%3Cb%3E"), 422)
    assert_error_page(await client.get("/search?q=fudge&page=0"), 422)
    assert_error_page(await client.get("/search?q=" + "x" * 1200), 422)


# Product page -----------------------------------------------------------------------------------------


async def boxed_sweet(catalog: Shop, ctx: AppContext, images: int = 0) -> dict[str, Any]:
    """One sweet in three boxes of one pool (250 g, 500 g, 1 kg) and two flavours, with ``images``."""
    sweets = await catalog.category("Sweets")
    made = await catalog.product(
        "Rose Fudge",
        price=None,
        category_id=sweets["id"],
        description="Made **by hand**.",
        variants=[
            {
                "sku": "RF-250",
                "price": "5.00",
                "options": {"weight": "250 g", "flavour": "Rose"},
                "is_default": True,
                "stock": {"on_hand": 3},
            },
            {
                "sku": "RF-500",
                "price": "9.00",
                "compare_at_price": "10.00",
                "options": {"weight": "500 g", "flavour": "Rose"},
                "stock": {"on_hand": 40},
            },
            {
                "sku": "RF-1K",
                "price": "16.00",
                "options": {"weight": "1 kg", "flavour": "Rose"},
                "stock": {"on_hand": 0},
            },
            {
                "sku": "RFV-250",
                "price": "5.50",
                "options": {"weight": "250 g", "flavour": "Violet"},
                "stock": {"on_hand": 7},
            },
        ],
    )
    async with ctx.db.session() as session:
        for n in range(images):
            session.add(
                ProductImage(
                    product_id=made["id"],
                    position=n,
                    alt_text=f"Rose fudge, view {n + 1}",
                    content_hash=f"{n:064d}",
                    width=800,
                    height=600,
                    files={s: f"products/{made['id']}/{n}-{s}.webp" for s in ("thumb", "medium", "large")},
                )
            )
    return made


async def test_product_page_shows_pickers_price_and_the_cart_form(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    made = await boxed_sweet(catalog, ctx, images=3)
    response = await client.get("/p/rose-fudge")
    assert response.status_code == 200
    html = response.text
    assert '<h1 class="product__name">Rose Fudge</h1>' in html
    assert "<strong>by hand</strong>" in html  # the catalog's sanitised description
    # Pickers: one radio group per option, the default variant's values chosen.
    assert 'name="o.weight" value="250 g" checked' in html
    assert 'name="o.weight" value="1 kg">' in html
    assert 'name="o.flavour" value="Rose" checked' in html
    assert 'hx-get="/p/rose-fudge/offer"' in html
    assert "$5.00" in html
    assert "≈ 0.00005250 BTC" in html  # the default variant at the shop's configured rate
    assert "Only 3 left" in html
    # The form the cart route takes: CSRF token (a shared page's field is empty: shop.js fills it with
    # the visitor fragment's token), variant and quantity.
    form = html.split('<form class="buy" method="post" action="/cart/add">', 1)[1].split("</form>", 1)[0]
    assert '<input type="hidden" name="csrf_token" value="">' in form
    variants = {v["sku"]: v["id"] for v in made["variants"]}
    assert f'name="variant_id" value="{variants["RF-250"]}"' in form
    assert 'name="quantity" value="1" min="1" max="3"' in form
    assert '<label class="field__label" for="quantity">Quantity</label>' in form
    # Pictures with thumbnails, lazy below the first, with sizes and alt text.
    assert html.count('class="gallery__thumb"') == 3
    assert f'src="/media/products/{made["id"]}/1-thumb.webp"' in html
    assert 'alt="Rose fudge, view 2"' in html
    assert 'width="800" height="600" loading="lazy"' in html
    assert re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/ld\+json)", html) == []
    assert " style=" not in html


async def test_the_offer_fragment_follows_the_chosen_options(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    made = await boxed_sweet(catalog, ctx)
    variants = {v["sku"]: v["id"] for v in made["variants"]}
    big = await client.get("/p/rose-fudge/offer?o.weight=500+g&o.flavour=Rose&quantity=7")
    assert big.status_code == 200
    assert "<html" not in big.text  # a fragment for htmx
    assert "$9.00" in big.text
    assert "$10.00" in big.text
    assert "In stock" in big.text
    assert f'name="variant_id" value="{variants["RF-500"]}"' in big.text
    assert 'value="7" min="1" max="40"' in big.text
    assert "0.00009450 BTC" in big.text

    gone = (await client.get("/p/rose-fudge/offer?o.weight=1+kg&o.flavour=Rose")).text
    assert '<p class="offer__stock offer__stock--out">Sold out</p>' in gone
    assert "Add to cart</button>" not in gone
    assert "disabled>Sold out</button>" in gone
    violet = (await client.get("/p/rose-fudge/offer?o.weight=250+g&o.flavour=Violet&quantity=99")).text
    assert "$5.50" in violet
    assert 'value="7" min="1" max="7"' in violet
    missing = (await client.get("/p/rose-fudge/offer?o.weight=1+kg&o.flavour=Violet")).text
    assert "Not available in this combination" in missing
    assert "variant_id" not in missing
    # Unknown option names and junk quantities are ignored rather than failing.
    odd = await client.get("/p/rose-fudge/offer?o.colour=%00&quantity=-5&o.weight=%3Cb%3E")
    assert odd.status_code == 200
    assert "Not available in this combination" in odd.text
    assert "<b>" not in odd.text


async def test_unknown_draft_and_archived_products_are_404_pages(
    client: httpx.AsyncClient, catalog: Shop
) -> None:
    await catalog.product("Draft Tin", status="draft")
    archived = await catalog.product("Old Tin")
    await catalog.client.patch(
        f"/api/v1/products/{archived['id']}", json={"status": "archived"}, headers=catalog.headers
    )
    for path in (
        "/p/draft-tin",
        "/p/old-tin",
        "/p/no-such-product",
        "/p/%3Cscript%3E",
        "/p/42",
        "/p/a%00b",
        "/p/" + "a" * 400,
        "/p/draft-tin/offer",
    ):
        assert_error_page(await client.get(path), 404)


async def test_script_in_names_and_descriptions_is_text(client: httpx.AsyncClient, catalog: Shop) -> None:
    await catalog.product(
        '<script>alert("name")</script> Tin',
        slug="evil-tin",
        description='<p>Nice</p><script>alert("desc")</script><img src=x onerror=alert(1)>',
        description_format="html",
        brand_id=(await catalog.brand('<img src=x onerror="alert(2)">'))["id"],
    )
    html = (await client.get("/p/evil-tin")).text
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in html  # the brand, as text
    assert "&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt; Tin" in html
    assert "<p>Nice</p>" in html
    # Inside the JSON-LD block the name is escaped so that it cannot close the element.
    block = JSON_LD.search(html)
    assert block is not None
    assert "</script>" not in block.group(1)
    assert json.loads(block.group(1))["name"] == '<script>alert("name")</script> Tin'
    listing = (await client.get("/search?q=tin")).text
    assert "<script>alert" not in listing


async def test_json_ld_describes_the_product(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    made = await boxed_sweet(catalog, ctx, images=2)
    html = (await client.get("/p/rose-fudge")).text
    blocks = JSON_LD.findall(html)
    assert len(blocks) == 1
    data = json.loads(blocks[0])
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "Product"
    assert data["name"] == "Rose Fudge"
    assert data["sku"] == "RF-250"
    assert data["url"] == "http://shop.test/p/rose-fudge"
    assert data["image"] == [f"http://shop.test/media/products/{made['id']}/{n}-large.webp" for n in range(2)]
    offers = {offer["sku"]: offer for offer in data["offers"]}
    assert set(offers) == {"RF-250", "RF-500", "RF-1K", "RFV-250"}
    assert offers["RF-500"]["price"] == "9.00"
    assert offers["RF-500"]["priceCurrency"] == "USD"
    assert offers["RF-500"]["availability"] == "https://schema.org/InStock"
    assert offers["RF-1K"]["availability"] == "https://schema.org/OutOfStock"


async def test_product_page_sql_budget_whatever_the_variants_and_images(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    made = await boxed_sweet(catalog, ctx, images=6)
    small = await catalog.product("Plain Tin")
    for n in range(12):
        await approved_review(ctx, made["id"], n % 5 + 1, f"Review {n}")
    # A cart cookie, as a returning guest has: the header's count is one more statement.
    client.cookies.set(CART_TOKEN_COOKIE, "a-guest-cart-token")
    for path, budget in (("/p/rose-fudge", 7), (f"/p/{small['slug']}", 6)):
        with count_statements(ctx.db.engine) as statements:
            html = (await client.get(path)).text
        # Category tree, cart count, then the catalog's product: product, variants with pools, tags, images;
        # a reviewed product's first page of reviews with their per-star counts is one more.
        assert len(statements) <= budget, statements
    assert html.count('<article class="review"') == 0
    assert (await client.get("/p/rose-fudge")).text.count('<article class="review"') == 10
    with count_statements(ctx.db.engine) as statements:
        assert (await client.get("/p/rose-fudge/offer?o.weight=500+g")).status_code == 200
    assert len(statements) <= 4, statements


async def test_home_and_navigation_link_to_these_pages(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    await sweet_shop(catalog, ctx)
    home = (await client.get("/")).text
    for slug in cards(home):
        assert (await client.get(f"/p/{slug}")).status_code == 200
    for slug in re.findall(r'href="/c/([a-z0-9-]+)"', home):
        assert (await client.get(f"/c/{slug}")).status_code == 200
