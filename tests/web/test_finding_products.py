"""Finding products: search results carry the category pages' cards (pictures included), autocomplete
forgives typos as search does, and a product page marks the variants that cannot be bought before they are
picked."""

from __future__ import annotations

import re

import httpx

from emporium.catalog.models import ProductImage
from emporium.core.context import AppContext
from tests.catalog.conftest import Shop
from tests.support import count_statements
from tests.web.test_catalog_pages import boxed_sweet, cards, sweet_shop

AUTOCOMPLETE = "/api/v1/products/autocomplete"
SEARCH = "/api/v1/products/search"


def card_of(html: str, slug: str) -> str:
    """The whole product card linking to ``slug``."""
    for card in re.findall(r'<article class="card product-card">.*?</article>', html, re.S):
        if f'href="/p/{slug}"' in card:
            return str(card)
    raise AssertionError(f"no card for {slug}")


async def picture(ctx: AppContext, product_id: int, position: int = 0) -> None:
    async with ctx.db.session() as session:
        session.add(
            ProductImage(
                product_id=product_id,
                position=position,
                alt_text=f"Picture {position}",
                content_hash=f"{product_id:032d}{position:032d}",
                width=640,
                height=480,
                files={s: f"products/{product_id}/{position}-{s}.webp" for s in ("thumb", "medium", "large")},
            )
        )


# Search results show pictures ------------------------------------------------------------------------


async def test_search_results_show_the_category_pages_card_with_its_picture(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    made = await sweet_shop(catalog, ctx)
    fudge = made["fudge"]["id"]
    # The first picture by position is the card's, whatever the order of insertion.
    await picture(ctx, fudge, position=2)
    await picture(ctx, fudge, position=0)

    found = (await client.get("/search?q=fudge")).text
    assert cards(found) == ["butter-fudge"]
    card = card_of(found, "butter-fudge")
    assert f'<img src="/media/products/{fudge}/0-medium.webp"' in card
    assert 'width="640" height="480"' in card
    # The very card of the category page: one macro, the same data.
    assert card == card_of((await client.get("/c/toffee")).text, "butter-fudge")
    # A product without pictures keeps the placeholder on both.
    lemon = card_of((await client.get("/search?q=lemon")).text, "lemon-drops")
    assert "<img" not in lemon
    assert 'class="product-card__placeholder"' in lemon

    body = (await client.get(SEARCH, params={"q": "fudge"})).json()
    image = body["data"][0]["image"]
    assert image["urls"]["medium"] == f"/media/products/{fudge}/0-medium.webp"
    assert (image["position"], image["width"], image["height"]) == (0, 640, 480)
    assert (await client.get(SEARCH, params={"q": "lemon"})).json()["data"][0]["image"] is None


async def test_pictures_cost_search_no_statement(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    made = await sweet_shop(catalog, ctx)
    for product in made.values():
        await picture(ctx, product["id"])
    with count_statements(ctx.db.engine) as statements:
        body = (await client.get(SEARCH, params={"q": "acme"})).json()
    assert len(statements) == 1, statements
    assert all(hit["image"] is not None for hit in body["data"])


# Autocomplete forgives typos -------------------------------------------------------------------------


async def suggested(client: httpx.AsyncClient, q: str) -> list[str]:
    response = await client.get(AUTOCOMPLETE, params={"q": q})
    assert response.status_code == 200, response.text
    return [item["text"] for item in response.json()["data"]]


async def test_autocomplete_tolerates_typos_as_search_does(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    await sweet_shop(catalog, ctx)
    assert await suggested(client, "butter fu") == ["Butter Fudge"]
    # A typo in a finished word, in the word being typed, and both.
    assert await suggested(client, "budder fud") == ["Butter Fudge"]
    assert await suggested(client, "brittel") == ["Peanut Brittle"]
    assert await suggested(client, "peanut britl") == ["Peanut Brittle"]
    assert await suggested(client, "penut brit") == ["Peanut Brittle"]
    # The half-typed word is measured against beginnings: "spda" is one edit from "spad(e)".
    assert await suggested(client, "garden spda") == ["Garden Spade"]
    # Categories and brands still follow the products, by the letters typed.
    assert await suggested(client, "toff") == ["Toffee"]
    assert await suggested(client, "zenith") == ["Zenith"]
    # Too far from anything, or too short to correct: nothing.
    assert await suggested(client, "xylophone") == []
    assert await suggested(client, "qz") == []
    # The header box's fragment uses the same suggestions.
    fragment = (await client.get("/search/suggestions", params={"q": "budder fud"})).text
    assert "Butter Fudge" in fragment


async def test_autocomplete_is_one_statement_and_a_corrected_one_two_or_three(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    await sweet_shop(catalog, ctx)
    with count_statements(ctx.db.engine) as statements:
        assert await suggested(client, "butter") == ["Butter Fudge"]
    # Products, categories and brands in one statement (two before, when products left room).
    assert len(statements) == 1, statements
    with count_statements(ctx.db.engine) as statements:
        assert await suggested(client, "budder fud") == ["Butter Fudge"]
    # PostgreSQL finds the corrections in the first statement; SQLite reads its candidates on their own.
    assert len(statements) == (3 if ctx.db.engine.dialect.name == "sqlite" else 2), statements


# A product page marks what cannot be bought ----------------------------------------------------------


def option_label(html: str, value: str) -> str:
    match = re.search(
        r'<label class="option__label[^"]*" for="[^"]+"><span class="option__value">'
        + re.escape(value)
        + r"</span>.*?</label>",
        html,
        re.S,
    )
    assert match is not None, value
    return match.group(0)


async def test_sold_out_and_missing_variants_are_marked_before_they_are_picked(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    await boxed_sweet(catalog, ctx)  # Rose: 250 g (3 left), 500 g (40), 1 kg (none); Violet: 250 g (7)
    html = (await client.get("/p/rose-fudge")).text  # 250 g Rose chosen
    assert "option__label--sold-out" in option_label(html, "1 kg")
    assert "Sold out" in option_label(html, "1 kg")
    for value in ("250 g", "500 g", "Rose", "Violet"):
        assert "option__mark" not in option_label(html, value), value
    # Few left: said, in the warning colour's class, never as "In stock".
    assert '<p class="offer__stock offer__stock--low">Only 3 left</p>' in html
    assert "offer__stock--in" not in html

    # With 500 g chosen, Violet is not sold at all; with Violet chosen, only 250 g is.
    big = (await client.get("/p/rose-fudge/offer?o.weight=500+g&o.flavour=Rose")).text
    assert 'id="choice"' in big  # the pickers come back with the offer, marked anew
    assert "option__label--unavailable" in option_label(big, "Violet")
    assert "Not available" in option_label(big, "Violet")
    assert '<p class="offer__stock offer__stock--in">In stock</p>' in big
    violet = (await client.get("/p/rose-fudge/offer?o.weight=250+g&o.flavour=Violet")).text
    assert "option__label--unavailable" in option_label(violet, "500 g")
    assert "option__label--unavailable" in option_label(violet, "1 kg")
    assert 'value="Violet" checked' in violet

    # The sold-out variant itself: "Sold out", and a button that cannot be pressed.
    gone = (await client.get("/p/rose-fudge/offer?o.weight=1+kg&o.flavour=Rose")).text
    assert '<p class="offer__stock offer__stock--out">Sold out</p>' in gone
    assert re.search(r"<button[^>]*\bdisabled>Sold out</button>", gone)
    assert ">Add to cart</button>" not in gone
    assert 'value="1 kg" checked' in gone
