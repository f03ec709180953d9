"""Finding products: search results carry the category pages' cards (pictures included), autocomplete
forgives typos as search does, and a product page marks the variants that cannot be bought before they are
picked."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import delete, select, update

from emporium.catalog.models import Product, ProductImage, ProductVariant
from emporium.catalog.search.facets import value_order
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
    assert 'id="variant-choice"' in big  # the pickers come back with the offer, marked anew
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


# Category facets: option values and the brands of the results, with counts ------------------------------

FACET_BOX = re.compile(
    r'<input class="facet__input" type="checkbox" id="[^"]+" name="([^"]+)" value="([^"]*)"( checked)?>\s*'
    r'<label class="facet__label" for="[^"]+">[^<]*<span class="facet__count">\((\d+)\)</span>'
)

# (name, brand, [(colour, size, on hand, active)]); Wear and Knit are in Apparel, Garden is not.
CLOTHES: list[tuple[str, str | None, list[tuple[str, str, int, bool]]]] = [
    ("Navy Hoodie", "acme", [("Navy", "S", 3, True), ("Navy", "M", 0, True), ("Black", "L", 2, True)]),
    ("Zip Hoodie", "acme", [("Black", "S", 1, True), ("Black", "M", 1, True)]),
    ("Rain Jacket", "zenith", [("Navy", "L", 4, True), ("Yellow", "L", 2, False)]),
    ("Wool Scarf", "zenith", [("Forest Green", "One size", 6, True)]),
    ("Plain Tee", None, [("White", "S", 5, True), ("White", "M", 5, True), ("Navy", "XL", 1, True)]),
    ("Knit Beanie", "orbit", [("Black", "One size", 2, True)]),
]


def facet_counts(html: str) -> dict[tuple[str, str], tuple[int, bool]]:
    """(filter name, value) -> (count, checked) of every checkbox of the page's facets."""
    return {(name, value): (int(n), bool(on)) for name, value, on, n in FACET_BOX.findall(html)}


def recompute(
    made: dict[str, tuple[str | None, list[tuple[str, str, int, bool]]]],
    brands: set[str],
    options: dict[str, set[str]],
) -> tuple[dict[tuple[str, str], int], list[str]]:
    """The facet counts and the listed products, from the catalog as created: a brand counts the products
    matching every chosen option; an option value those matching the brands and every other option."""

    def has(variants: list[tuple[str, str, int, bool]], name: str, values: set[str]) -> bool:
        return any(
            active and (colour if name == "colour" else size) in values
            for colour, size, _, active in variants
        )

    def matches(product: str, skip: str | None) -> bool:
        brand, variants = made[product]
        if skip != "brand" and brands and brand not in brands:
            return False
        return all(has(variants, name, values) for name, values in options.items() if name != skip)

    counts: dict[tuple[str, str], int] = {}
    for product, (brand, variants) in made.items():
        if brand is not None and matches(product, "brand"):
            counts[("brand", brand)] = counts.get(("brand", brand), 0) + 1
        for name in ("colour", "size"):
            values = {(c if name == "colour" else s) for c, s, _, active in variants if active}
            if matches(product, name):
                for value in values:
                    counts[(f"o.{name}", value)] = counts.get((f"o.{name}", value), 0) + 1
    listed = sorted(product for product in made if matches(product, None))
    return counts, listed


async def clothes_shop(catalog: Shop) -> dict[str, tuple[str | None, list[tuple[str, str, int, bool]]]]:
    apparel = await catalog.category("Apparel")
    knitwear = await catalog.category("Knitwear", parent_id=apparel["id"])
    garden = await catalog.category("Garden")
    brand_ids = {slug: (await catalog.brand(slug.capitalize()))["id"] for slug in ("acme", "zenith", "orbit")}
    made: dict[str, tuple[str | None, list[tuple[str, str, int, bool]]]] = {}
    for n, (name, brand, variants) in enumerate(CLOTHES):
        knitted = name in ("Wool Scarf", "Knit Beanie")
        await catalog.product(
            name,
            price=None,
            category_id=(knitwear if knitted else apparel)["id"],
            brand_id=brand_ids[brand] if brand else None,
            variants=[
                {
                    "sku": f"C{n}-{i}",
                    "price": "20.00",
                    "options": {"colour": colour, "size": size},
                    "stock": {"on_hand": on_hand},
                    "is_active": active,
                    "is_default": i == 0,
                }
                for i, (colour, size, on_hand, active) in enumerate(variants)
            ],
        )
        made[name] = (brand, variants)
    # Neither another category's product nor a draft counts.
    await catalog.product(
        "Navy Watering Can",
        price=None,
        category_id=garden["id"],
        brand_id=brand_ids["orbit"],
        variants=[{"sku": "G-1", "price": "9.00", "options": {"colour": "Navy"}, "stock": {"on_hand": 1}}],
    )
    await catalog.product(
        "Draft Hoodie",
        price=None,
        status="draft",
        category_id=apparel["id"],
        brand_id=brand_ids["acme"],
        variants=[{"sku": "D-1", "price": "9.00", "options": {"colour": "Navy", "size": "S"}}],
    )
    return made


async def test_category_facets_count_option_values_and_present_brands(
    client: httpx.AsyncClient, catalog: Shop
) -> None:
    made = await clothes_shop(catalog)
    choices: list[tuple[set[str], dict[str, set[str]]]] = [
        (set(), {}),
        ({"acme"}, {}),
        ({"acme", "zenith"}, {}),
        (set(), {"colour": {"Navy"}}),
        (set(), {"colour": {"Navy", "White"}}),
        ({"zenith"}, {"size": {"L"}}),
        ({"acme"}, {"colour": {"Black"}, "size": {"S", "XL"}}),
        (set(), {"colour": {"Yellow"}}),  # only on an inactive variant: nothing
    ]
    for brands, options in choices:
        query: list[tuple[str, str]] = [("brand", b) for b in sorted(brands)]
        query += [(f"o.{name}", v) for name in sorted(options) for v in sorted(options[name])]
        response = await client.get("/c/apparel", params=query)
        assert response.status_code == 200, (query, response.status_code)
        html = response.text
        expected, listed = recompute(made, brands, options)
        shown = facet_counts(html)
        # Every count the page shows is the recompute's; a value with no product is left out, unless it
        # is chosen (then it stays, to be unchosen).
        chosen = {("brand", b) for b in brands} | {(f"o.{n}", v) for n, vs in options.items() for v in vs}
        assert {key: count for key, (count, _) in shown.items() if count or key not in chosen} == {
            key: count for key, count in expected.items() if count
        }, query
        assert {key for key, (_, on) in shown.items() if on} == chosen, query
        slugs = sorted(name.lower().replace(" ", "-") for name in listed)
        assert sorted(cards(html)) == slugs, query

    everything = facet_counts((await client.get("/c/apparel")).text)
    # Brands present in the results only (Orbit's only product here is a beanie; the watering can is not).
    assert {value for name, value in everything if name == "brand"} == {"acme", "zenith", "orbit"}
    assert everything[("brand", "acme")] == (2, False)
    assert everything[("o.colour", "Navy")] == (3, False)  # not the draft, not the garden's can
    knitwear = facet_counts((await client.get("/c/knitwear")).text)
    assert {value for name, value in knitwear if name == "brand"} == {"zenith", "orbit"}
    assert ("o.colour", "Navy") not in knitwear


async def test_category_facet_choices_live_in_clean_urls(client: httpx.AsyncClient, catalog: Shop) -> None:
    await clothes_shop(catalog)
    # What the GET form sends, in any order: redirected to one sorted spelling.
    messy = await client.get("/c/apparel?o.size=S&brand=zenith&o.colour=Navy&brand=acme&o.size=M&o.size=")
    assert messy.status_code == 303
    clean = "/c/apparel?brand=acme&brand=zenith&o.colour=Navy&o.size=M&o.size=S"
    assert messy.headers["location"] == clean
    html = (await client.get(clean)).text
    assert cards(html) == ["navy-hoodie"]
    # One chip per value, each removing that value only.
    assert 'href="/c/apparel?brand=zenith&amp;o.colour=Navy&amp;o.size=M&amp;o.size=S"' in html  # Acme off
    assert 'href="/c/apparel?brand=acme&amp;brand=zenith&amp;o.size=M&amp;o.size=S"' in html  # Navy off
    assert "Colour: Navy" in html
    for bad in ("o.colour=%00", "o.=x", "brand=%3Cb%3E", "o.size=" + "x" * 101):
        response = await client.get(f"/c/apparel?{bad}")
        assert response.status_code == 422, bad
        assert 'class="error-page"' in response.text
    too_many = "&".join(f"brand=b{n}" for n in range(21))
    assert (await client.get(f"/c/apparel?{too_many}")).status_code == 422


async def test_category_facets_cost_the_statement_the_brand_list_did(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    await clothes_shop(catalog)
    with count_statements(ctx.db.engine) as statements:
        response = await client.get("/c/apparel?brand=acme&o.colour=Black&o.size=S&in_stock=1")
    assert response.status_code == 200
    # Options match per product: the Navy Hoodie has a black variant and a small one.
    assert sorted(cards(response.text)) == ["navy-hoodie", "zip-hoodie"]
    # Category tree, then the list (page and count) and the facets (which replaced the list of brands).
    assert len(statements) <= 6, statements


async def test_category_facets_follow_catalog_changes_and_read_in_order(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    await clothes_shop(catalog)
    before = facet_counts((await client.get("/c/apparel")).text)
    assert before[("o.colour", "Navy")] == (3, False)
    html = (await client.get("/c/apparel")).text
    sizes = re.findall(r'name="o\.size" value="([^"]+)"', html)
    assert sizes == ["S", "M", "L", "XL", "One size"]  # small to large, then the rest
    # A variant switched off (the Plain Tee's only navy one) is no longer counted: the answer kept under
    # the catalog stamp is not served after a catalog write.
    async with ctx.db.session() as session:
        off = update(ProductVariant).where(ProductVariant.sku == "C4-2").values(is_active=False)
        await session.execute(off)
    after = facet_counts((await client.get("/c/apparel")).text)
    assert after[("o.colour", "Navy")] == (2, False)
    assert ("o.size", "XL") not in after


async def test_category_facets_follow_every_kind_of_variant_write(
    client: httpx.AsyncClient, catalog: Shop, ctx: AppContext
) -> None:
    """On PostgreSQL the facets read each product's option sets from its row (migration 0028), written by
    the variant triggers: statements that bypass the catalog service still show at once."""
    await clothes_shop(catalog)
    variants = ProductVariant.__table__
    hoodie = select(Product.id).where(Product.name == "Navy Hoodie").scalar_subquery()
    writes = [
        # The Plain Tee's navy XL becomes teal: Navy loses a product, Teal and its size stay.
        update(variants).where(variants.c.sku == "C4-2").values(options={"colour": "Teal", "size": "XL"}),
        # The Rain Jacket's yellow variant is switched on.
        update(variants).where(variants.c.sku == "C2-1").values(is_active=True),
        # The Zip Hoodie's small black is deleted; it still has a medium black.
        delete(variants).where(variants.c.sku == "C1-0"),
        # The Knit Beanie's only variant moves to the Navy Hoodie (acme): the beanie has no option left.
        update(variants).where(variants.c.sku == "C5-0").values(product_id=hoodie),
    ]
    async with ctx.db.session() as session:
        for write in writes:
            await session.execute(write)
    found = facet_counts((await client.get("/c/apparel")).text)
    assert found[("o.colour", "Navy")] == (2, False)  # the Navy Hoodie and the Rain Jacket, not the tee
    assert found[("o.colour", "Teal")] == (1, False)
    assert found[("o.colour", "Yellow")] == (1, False)
    assert found[("o.size", "S")] == (2, False)  # the Navy Hoodie and the tee: the Zip Hoodie's is gone
    assert found[("o.size", "XL")] == (1, False)
    assert found[("o.size", "One size")] == (2, False)  # the scarf, and the Navy Hoodie now
    assert found[("o.colour", "Black")] == (2, False)  # both hoodies; the beanie has none
    assert found[("brand", "orbit")] == (1, False)  # the beanie is still there, without options
    teal = facet_counts((await client.get("/c/apparel?o.colour=Teal")).text)
    assert teal[("o.size", "XL")] == (1, False)
    assert cards((await client.get("/c/apparel?o.colour=Teal")).text) == ["plain-tee"]


def test_option_values_read_small_to_large() -> None:
    values = ["XL", "1 kg", "M", "Red", "250 g", "S", "500 g", "blue", "2 l", "750 ml"]
    assert sorted(values, key=lambda v: (value_order(v), v)) == [
        "S",
        "M",
        "XL",
        "250 g",
        "500 g",
        "750 ml",
        "1 kg",
        "2 l",
        "blue",
        "Red",
    ]
