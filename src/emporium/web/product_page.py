"""The product page (/p/{slug}) and its offer fragment (/p/{slug}/offer).

Choosing a size, colour or weight box asks htmx for the offer fragment with the chosen options; it
answers the price, availability, the variant id the "Add to cart" form posts, and the quantity field,
all computed by the catalog as on the API's product page. Without scripts the form posts the default
variant.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fastapi.responses import HTMLResponse
from markupsafe import Markup

from emporium.catalog.errors import CatalogError
from emporium.catalog.rates import crypto_prices, current_rates
from emporium.catalog.schemas import CategoryRead, ImageRead, ProductRead, VariantRead
from emporium.catalog.service import catalog
from emporium.core.errors import NotFound
from emporium.core.money import to_minor
from emporium.reviews.schemas import ReviewRead
from emporium.web import review_block
from emporium.web.page import PageContext, ShopPage
from emporium.web.review_block import ReviewForm
from emporium.web.routing import page_router

router = page_router()

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_SLUG_LENGTH = 220
OPTION_PREFIX = "o."
LOW_STOCK = 5
# Reviews given to search engines with the product (the newest of the first page).
JSON_LD_REVIEWS = 5
IN_STOCK = "https://schema.org/InStock"
OUT_OF_STOCK = "https://schema.org/OutOfStock"
# JSON-LD sits in an HTML script element: these characters could end it or open a comment in it.
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


# How a value of a picker is marked before it is picked (no mark: some variant with it can be bought).
SOLD_OUT = "sold-out"  # sold with the other chosen options, but none left
UNAVAILABLE = "unavailable"  # not sold with the other chosen options at all


@dataclass(frozen=True)
class OptionGroup:
    name: str
    values: list[str]
    # value -> SOLD_OUT or UNAVAILABLE, given what is chosen in the other groups.
    marks: dict[str, str] = field(default_factory=dict)


def option_marks(variants: list[VariantRead], name: str, value: str, chosen: Mapping[str, str]) -> str | None:
    """The mark of ``value`` in the group ``name``: what picking it would give, the other groups' choices
    kept (the variants that have it and every other chosen value)."""
    matching = [
        variant
        for variant in variants
        if str(variant.options.get(name)) == value
        and all(str(variant.options.get(other)) == v for other, v in chosen.items() if other != name)
    ]
    if not matching:
        return UNAVAILABLE
    return None if any(variant.in_stock for variant in matching) else SOLD_OUT


def option_groups(variants: list[VariantRead], chosen: Mapping[str, str] | None = None) -> list[OptionGroup]:
    """Option names and their values, in the order the variants (sorted by position) first use them, each
    value marked when picking it (with ``chosen`` for the other groups) gives nothing to buy."""
    groups: dict[str, list[str]] = {}
    for variant in variants:
        for name, value in variant.options.items():
            values = groups.setdefault(str(name), [])
            if str(value) not in values:
                values.append(str(value))
    picked = chosen or {}
    return [
        OptionGroup(
            name,
            values,
            {
                value: mark
                for value in values
                if (mark := option_marks(variants, name, value, picked)) is not None
            },
        )
        for name, values in groups.items()
    ]


def chosen_variant(product: ProductRead, chosen: Mapping[str, str]) -> VariantRead | None:
    """The variant whose options are all the chosen ones, or None for a combination that is not sold."""
    for variant in product.variants:
        if all(str(variant.options.get(name)) == value for name, value in chosen.items()):
            return variant
    return None


def default_variant(product: ProductRead) -> VariantRead | None:
    return next((v for v in product.variants if v.id == product.default_variant_id), None)


def find_category(tree: list[CategoryRead], slug: str) -> list[CategoryRead] | None:
    """The chain of categories from the top of the tree down to ``slug`` (breadcrumbs), or None."""
    for category in tree:
        if category.slug == slug:
            return [category]
        below = find_category(category.children, slug)
        if below is not None:
            return [category, *below]
    return None


def _absolute(base: str, url: str) -> str:
    return url if url.startswith(("http://", "https://")) else base.rstrip("/") + url


def review_ld(review: ReviewRead) -> dict[str, Any]:
    """A review as schema.org ``Review`` (its text as written; the caller escapes the whole block)."""
    found: dict[str, Any] = {
        "@type": "Review",
        "author": {"@type": "Person", "name": review.author_name},
        "datePublished": review.created_at.date().isoformat(),
        "reviewBody": review.body,
        "reviewRating": {"@type": "Rating", "ratingValue": review.rating, "bestRating": 5, "worstRating": 1},
    }
    if review.title:
        found["name"] = review.title
    return found


def json_ld(product: ProductRead, base_url: str, reviews: Sequence[ReviewRead] = ()) -> Markup:
    """Schema.org ``Product`` data for search engines (with the first few approved ``reviews``), safe to
    place inside ``<script>``."""
    url = f"{base_url.rstrip('/')}/p/{product.slug}"
    default = default_variant(product)
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product.name,
        "url": url,
        "image": [
            _absolute(base_url, image.urls["large"]) for image in product.images if "large" in image.urls
        ],
        "offers": [
            {
                "@type": "Offer",
                "sku": variant.sku,
                "name": variant.name,
                "price": variant.price,
                "priceCurrency": variant.currency,
                "availability": IN_STOCK if variant.in_stock else OUT_OF_STOCK,
                "url": url,
            }
            for variant in product.variants
        ],
    }
    if default is not None:
        data["sku"] = default.sku
    if product.brand is not None:
        data["brand"] = {"@type": "Brand", "name": product.brand.name}
    if product.rating.count:
        data["aggregateRating"] = {
            "@type": "AggregateRating",
            "ratingValue": product.rating.average,
            "reviewCount": product.rating.count,
        }
    if reviews:
        data["review"] = [review_ld(review) for review in reviews]
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for char, escape in _JSON_ESCAPES.items():
        text = text.replace(char, escape)
    # Every character that could close the element is escaped above, so this is data, never markup.
    return Markup(text)  # noqa: S704


async def _product(page: PageContext, slug: str) -> ProductRead:
    """An active product by slug (drafts and archived products are 404, as on the API)."""
    if len(slug) > MAX_SLUG_LENGTH or not SLUG.fullmatch(slug):
        raise NotFound("Product not found.", code=CatalogError.PRODUCT_NOT_FOUND)
    return await catalog.product_detail(page.session, page.ctx, slug=slug)


async def _btc(page: PageContext, variant: VariantRead | None) -> str | None:
    """The variant's price in BTC when the shop shows it (rates come from the cache, not the database)."""
    if variant is None or "BTC" not in page.settings.crypto_display_currencies:
        return None
    rates = await current_rates(page.settings, page.ctx.cache)
    minor = to_minor(Decimal(variant.price), variant.currency)
    return crypto_prices(minor, variant.currency, rates).get("BTC")


def _quantity(raw: str | None, variant: VariantRead | None) -> int:
    """The quantity kept across a change of variant, within 1 and what can be bought."""
    number = int(raw) if raw and raw.isascii() and raw.isdigit() and len(raw) <= 6 else 1
    ceiling = variant.availability if variant and variant.availability > 0 else 1
    return max(1, min(number, ceiling))


def _offer_context(
    product: ProductRead,
    variant: VariantRead | None,
    btc: str | None,
    quantity: int,
    chosen: Mapping[str, str],
) -> dict[str, Any]:
    """What the pickers and the offer show: both are drawn again when a choice changes, since the marks
    of one group's values depend on what the others have chosen."""
    return {
        "product": product,
        "variant": variant,
        "btc": btc,
        "quantity": quantity,
        "low_stock": LOW_STOCK,
        "groups": option_groups(product.variants, chosen),
        "chosen": dict(chosen),
        "option_prefix": OPTION_PREFIX,
    }


def _gallery(product: ProductRead) -> list[ImageRead]:
    return [image for image in product.images if image.urls]


@router.get("/p/{slug}", response_class=HTMLResponse)
async def product_detail(page: ShopPage, slug: str) -> HTMLResponse:
    """Images, variant pickers, price (and BTC), availability, quantity and "Add to cart"; the reviews."""
    return await render_product(page, await _product(page, slug))


async def render_product(
    page: PageContext, product: ProductRead, *, status_code: int = 200, review_form: ReviewForm | None = None
) -> HTMLResponse:
    """The product page (also after a refused review, with the form as it was sent)."""
    variant = default_variant(product)
    reviews_view = await review_block.reviews_view(page, product, form=review_form)
    categories = await page.categories()
    breadcrumbs = (find_category(categories, product.category.slug) or []) if product.category else []
    base_url = page.settings.public_url
    description = product.seo_description or f"{product.name} at {page.settings.shop_name}."
    return await page.render(
        "web/catalog/product.html.j2",
        status_code=status_code,
        title=product.seo_title or product.name,
        meta_description=description[:300],
        canonical_url=f"{base_url.rstrip('/')}/p/{product.slug}",
        breadcrumbs=breadcrumbs,
        images=_gallery(product),
        # Sanitised by the catalog when it was written (nh3: no script, style or event handler survives).
        description_html=Markup(product.description_html),  # noqa: S704
        json_ld=json_ld(product, base_url, reviews_view.items[:JSON_LD_REVIEWS]),
        reviews_view=reviews_view,
        **_offer_context(
            product,
            variant,
            product.price_in_crypto.get("BTC"),
            1,
            {str(k): str(v) for k, v in variant.options.items()} if variant else {},
        ),
        # After a refused review the page shows that customer's form: never the shared page.
        shared=review_form is None,
    )


@router.get("/p/{slug}/offer", response_class=HTMLResponse)
async def offer(page: ShopPage, slug: str) -> HTMLResponse:
    """The pickers and the offer for the chosen options (``o.size=M&o.colour=Red``): an htmx fragment."""
    product = await _product(page, slug)
    names = {group.name for group in option_groups(product.variants)}
    chosen = {
        key[len(OPTION_PREFIX) :]: value
        for key, value in page.request.query_params.items()
        if key.startswith(OPTION_PREFIX) and key[len(OPTION_PREFIX) :] in names
    }
    variant = chosen_variant(product, chosen) if chosen else default_variant(product)
    if not chosen and variant is not None:
        chosen = {str(name): str(value) for name, value in variant.options.items()}
    quantity = _quantity(page.request.query_params.get("quantity"), variant)
    context = _offer_context(product, variant, await _btc(page, variant), quantity, chosen)
    return await page.fragment("web/catalog/_choice.html.j2", **context)
