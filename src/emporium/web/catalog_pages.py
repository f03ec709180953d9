"""Category pages (/c/{slug}) and search results (/search): facets in a GET form, sort, pagination.

Filter URLs are canonical (``/c/sweets?brand=acme&sort=price_asc&page=2``): a query written another way
(empty fields of the filter form, another order, unknown parameters) is redirected to its clean spelling,
so that every listing has one shareable address. The product page lives in ``product_page``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import Query
from fastapi.responses import HTMLResponse, RedirectResponse

from emporium.catalog.cache import Pages
from emporium.catalog.errors import CatalogError
from emporium.catalog.schemas import CategoryRead, ProductFilters, SortKey
from emporium.catalog.search.facets import FacetValue, OptionFacet, facets
from emporium.catalog.search.schemas import SearchFilters
from emporium.catalog.search.service import (
    MAX_QUERY_LENGTH,
    PRICE_BAND_EDGES,
    RATING_THRESHOLDS,
    search_service,
)
from emporium.catalog.service import catalog
from emporium.core.errors import NotFound, ValidationFailed
from emporium.core.money import exponent, from_minor
from emporium.core.pagination import PageParams
from emporium.web import product_page
from emporium.web.errors import PageError
from emporium.web.page import PageContext, ShopPage
from emporium.web.product_page import find_category
from emporium.web.routing import page_router
from emporium.web.templating import format_money, page_url

router = page_router()
router.include_router(product_page.router)

PER_PAGE = 24
MAX_PAGE = 10_000
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SORTS: dict[str, str] = {
    "newest": "Newest",
    "popularity": "Most popular",
    "rating": "Best rated",
    "price_asc": "Price: low to high",
    "price_desc": "Price: high to low",
    "name": "Name",
}
DEFAULT_SORT: SortKey = "newest"
TRUE_WORDS = frozenset({"1", "true", "on", "yes"})
# A category page's option filters: ``o.colour=Navy&o.size=M``, as the product page's pickers.
OPTION_PREFIX = "o."
# Values of one filter (brands, one option's values), and option names, a page takes at once.
MAX_CHOICES = 20

# Every parameter is read as text of bounded length and parsed here, so that junk is a 422 page.
Text = Annotated[str | None, Query(max_length=240)]


def _refuse(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{message} Check the address.", details=[{"field": field, "message": message}])


@dataclass(frozen=True)
class PriceBand:
    key: str
    label: str
    min_minor: int
    max_minor: int | None  # inclusive; None: no upper bound


def price_bands(currency: str, locale: str) -> list[PriceBand]:
    """The search facet's fixed bands, ``[0, 10)`` ... ``[500, ∞)`` in major units of the shop currency."""
    scale = 10 ** exponent(currency)
    edges = (0, *PRICE_BAND_EDGES)
    bands = []
    for i, low in enumerate(edges):
        high = edges[i + 1] if i + 1 < len(edges) else None
        low_text = format_money(from_minor(low * scale, currency), currency, locale)
        if high is None:
            key, label, top = f"{low}+", f"{low_text} and over", None
        else:
            high_text = format_money(from_minor(high * scale, currency), currency, locale)
            key = f"{low}-{high}"
            label = f"Under {high_text}" if low == 0 else f"{low_text} to {high_text}"
            top = high * scale - 1
        bands.append(PriceBand(key, label, low * scale, top))
    return bands


def _slug(value: str | None, field: str) -> str | None:
    if value is None or value.strip() == "":
        return None
    text = value.strip().lower()
    if not SLUG.fullmatch(text) or len(text) > 140:
        raise _refuse(field, "That is not a valid name.")
    return text


def _flag(value: str | None, field: str) -> bool | None:
    if value is None or value.strip() == "":
        return None
    if value.strip().lower() in TRUE_WORDS:
        return True
    raise _refuse(field, "That is not a valid choice.")


def _page_number(value: str | None) -> int:
    if value is None or value.strip() == "":
        return 1
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_PAGE:
        raise _refuse("page", f"Pages are numbered from 1 to {MAX_PAGE:,}.")
    return int(text)


def _band(value: str | None, bands: list[PriceBand]) -> PriceBand | None:
    if value is None or value.strip() == "":
        return None
    for band in bands:
        if band.key == value.strip():
            return band
    raise _refuse("price", "That price range does not exist.")


def _rating(value: str | None) -> int | None:
    if value is None or value.strip() == "":
        return None
    text = value.strip()
    if not text.isdigit() or int(text) not in RATING_THRESHOLDS:
        raise _refuse("rating", "That rating does not exist.")
    return int(text)


def _sort(value: str | None) -> SortKey:
    if value is None or value.strip() == "":
        return DEFAULT_SORT
    text = value.strip()
    for key in SORTS:
        if key == text:
            return key  # type: ignore[return-value]
    raise _refuse("sort", "That sort order does not exist.")


def clean_query(text: str) -> str:
    """The typed words without control characters (PostgreSQL refuses NUL), at most the API's length."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())[:MAX_QUERY_LENGTH]


def canonical_redirect(
    page: PageContext, path: str, params: dict[str, Any], number: int
) -> RedirectResponse | None:
    """A redirect to the clean spelling of this listing's address, or None when it is already clean."""
    clean = page_url(path, params, number)
    # Compared decoded, so that two spellings of one character (``*`` and ``%2A``) cannot loop.
    asked = sorted(page.request.query_params.multi_items())
    return None if asked == sorted(parse_qsl(urlsplit(clean).query)) else page.redirect(clean)


def count_text(total: int, exact: bool) -> str:
    return f"{total:,}" if exact else f"{total:,}+"


def _choices(page: PageContext) -> tuple[list[str], dict[str, list[str]]]:
    """The brands (slugs) and option values (``o.<name>=<value>``, several per name) chosen, deduplicated
    and sorted, so that one choice has one address."""
    brands: set[str] = set()
    options: dict[str, set[str]] = {}
    for key, raw in page.request.query_params.multi_items():
        if key == "brand":
            slug = _slug(raw, "brand")
            if slug is not None:
                brands.add(slug)
        elif key.startswith(OPTION_PREFIX):
            name, value = key[len(OPTION_PREFIX) :], raw.strip()
            if not value:
                continue
            if not (0 < len(name) <= 60 and name.isprintable() and len(value) <= 100 and value.isprintable()):
                raise _refuse(key, "That is not a valid choice.")
            options.setdefault(name, set()).add(value)
    if (
        len(brands) > MAX_CHOICES
        or len(options) > MAX_CHOICES
        or any(len(values) > MAX_CHOICES for values in options.values())
    ):
        raise _refuse("brand", f"Choose at most {MAX_CHOICES} values of a filter.")
    return sorted(brands), {name: sorted(options[name]) for name in sorted(options)}


@dataclass(frozen=True)
class CategoryQuery:
    """What a category page's address asks for, parsed (a 422 for anything that is not a choice)."""

    brand_slugs: list[str]
    options: dict[str, list[str]]
    band: PriceBand | None
    in_stock: bool | None
    min_rating: int | None
    sort: SortKey
    number: int

    @classmethod
    def read(
        cls,
        page: PageContext,
        bands: list[PriceBand],
        *,
        price: str | None,
        in_stock: str | None,
        rating: str | None,
        sort: str | None,
        page_number: str | None,
    ) -> CategoryQuery:
        brand_slugs, options = _choices(page)
        return cls(
            brand_slugs=brand_slugs,
            options=options,
            band=_band(price, bands),
            in_stock=_flag(in_stock, "in_stock"),
            min_rating=_rating(rating),
            sort=_sort(sort),
            number=_page_number(page_number),
        )

    def params(self) -> dict[str, Any]:
        """The query string of the clean address, in the order the page writes it."""
        return {
            "brand": self.brand_slugs or None,
            **{OPTION_PREFIX + name: values for name, values in self.options.items()},
            "price": self.band.key if self.band else None,
            "in_stock": 1 if self.in_stock else None,
            "rating": self.min_rating,
            "sort": None if self.sort == DEFAULT_SORT else self.sort,
        }

    def filters(self, category_id: int) -> ProductFilters:
        band = self.band
        return ProductFilters(
            category_id=category_id,
            brand_slugs=tuple(self.brand_slugs) or None,
            options=tuple((name, tuple(values)) for name, values in self.options.items()) or None,
            min_price_minor=band.min_minor if band else None,
            max_price_minor=band.max_minor if band else None,
            in_stock=self.in_stock,
            min_rating=self.min_rating,
        )


async def _category_chain(page: PageContext, slug: str) -> list[CategoryRead]:
    """The category named by ``slug`` with its ancestors, root first; a 404 when there is none."""
    chain = find_category(await page.categories(), slug) if SLUG.fullmatch(slug) else None
    if chain is None:
        raise NotFound("There is no such category.", code=CatalogError.CATEGORY_NOT_FOUND)
    return chain


def _page_title(name: str, number: int) -> str:
    return name if number == 1 else f"{name}, page {number}"


def _option_facets(
    found: list[OptionFacet], chosen: dict[str, list[str]]
) -> list[tuple[str, list[tuple[FacetValue, bool]]]]:
    """Each option's values with whether they are chosen, chosen options no product has any more included."""
    return [
        (facet.name, _with_chosen(facet.values, chosen.get(facet.name, [])))
        for facet in _with_chosen_names(found, chosen)
    ]


@router.get("/c/{slug}", response_class=HTMLResponse, response_model=None)
async def category_page(
    pages: Pages,
    page: ShopPage,
    slug: str,
    price: Text = None,
    in_stock: Text = None,
    rating: Text = None,
    sort: Text = None,
    page_number: Annotated[str | None, Query(alias="page", max_length=12)] = None,
) -> HTMLResponse | RedirectResponse:
    """The products of a category and its descendants, filtered by brands, option values (size, colour,
    weight: several at once), price band, stock and rating; the brand and option facets list what the
    products have, with counts."""
    chain = await _category_chain(page, slug)
    category = chain[-1]
    bands = price_bands(page.settings.currency, page.settings.locale)
    asked = CategoryQuery.read(
        page, bands, price=price, in_stock=in_stock, rating=rating, sort=sort, page_number=page_number
    )
    params, number = asked.params(), asked.number
    path = f"/c/{category.slug}"
    redirect = canonical_redirect(page, path, params, number)
    if redirect is not None:
        return redirect

    filters = asked.filters(category.id)
    listing = PageParams(page=number, limit=PER_PAGE)
    products, total, exact = await catalog.list_products(page.session, page.ctx, filters, asked.sort, listing)
    if number > 1 and not products:
        raise NotFound("That page of the list is empty.", code=PageError.PAGE_NOT_FOUND)
    found = await facets.for_category(page.session, pages, filters)
    brand_names = {brand.value: brand.label for brand in found.brands}
    description = category.description or f"{category.name} at {page.settings.shop_name}."
    return await page.render(
        "web/catalog/category.html.j2",
        title=_page_title(category.name, number),
        meta_description=description[:300],
        canonical_url=page.settings.public_url.rstrip("/") + page_url(path, params, number),
        category=category,
        breadcrumbs=chain,
        products=products,
        total=total,
        count=count_text(total, exact),
        current_page=number,
        pages=max(1, -(-total // PER_PAGE)),
        path=path,
        params=params,
        brands=_with_chosen(found.brands, asked.brand_slugs),
        option_facets=_option_facets(found.options, asked.options),
        bands=bands,
        ratings=RATING_THRESHOLDS,
        sorts=SORTS,
        sort=asked.sort,
        chips=_chips(path, params, names=brand_names, bands=bands),
        shared=True,
    )


def _with_chosen(values: list[FacetValue], chosen: list[str]) -> list[tuple[FacetValue, bool]]:
    """The facet's values, each with whether it is chosen; a chosen value no product has any more is
    kept (with a count of 0), so that it can be unchosen."""
    present = {value.value for value in values}
    missing = [FacetValue(value=v, label=v, count=0) for v in chosen if v not in present]
    return [(value, value.value in chosen) for value in [*values, *missing]]


def _with_chosen_names(found: list[OptionFacet], chosen: dict[str, list[str]]) -> list[OptionFacet]:
    names = {facet.name for facet in found}
    return [*found, *(OptionFacet(name=name, values=[]) for name in chosen if name not in names)]


def _chip_label(name: str, value: Any, names: dict[str, str], band_labels: dict[str, str]) -> str:
    """How an active filter of one value is named on its "remove" link."""
    if name in ("brand", "category"):
        return str(names.get(value, value))  # brand or category names, by slug
    if name == "price":
        return str(band_labels.get(value, value))
    if name == "in_stock":
        return "In stock"
    if name == "rating":
        return f"{value} star{'' if value == 1 else 's'} and up"
    return str(value)


def _value_chips(
    path: str, params: dict[str, Any], name: str, values: list[str], names: dict[str, str]
) -> list[tuple[str, str]]:
    """One "remove" link per value of a filter of several values, which removes that value only."""
    chips = []
    for one in values:
        rest = [other for other in values if other != one] or None
        option = name.startswith(OPTION_PREFIX)
        shown = f"{name[len(OPTION_PREFIX) :].capitalize()}: {one}" if option else names.get(one, one)
        chips.append((str(shown), page_url(path, {**params, name: rest})))
    return chips


def _chips(
    path: str, params: dict[str, Any], *, names: dict[str, str], bands: list[PriceBand]
) -> list[tuple[str, str]]:
    """(label, URL without that filter) for each active filter: the "remove" links above the results. A
    filter of several values gives one link per value, which removes that value only."""
    labels = {band.key: band.label for band in bands}
    chips = []
    for name, value in params.items():
        if value is None or name in ("sort", "q"):
            continue
        if isinstance(value, list):
            chips += _value_chips(path, params, name, value, names)
        else:
            chips.append((_chip_label(name, value, names, labels), page_url(path, {**params, name: None})))
    return chips


@router.get("/search", response_class=HTMLResponse, response_model=None)
async def search_page(
    page: ShopPage,
    q: Annotated[str | None, Query(max_length=1000)] = None,
    category: Text = None,
    brand: Text = None,
    price: Text = None,
    in_stock: Text = None,
    rating: Text = None,
    page_number: Annotated[str | None, Query(alias="page", max_length=12)] = None,
) -> HTMLResponse | RedirectResponse:
    """Search results ranked by relevance, with the facets of the whole match and "did you mean"."""
    query = clean_query(q or "")
    currency = page.settings.currency
    bands = price_bands(currency, page.settings.locale)
    category_slug = _slug(category, "category")
    brand_slug = _slug(brand, "brand")
    band = _band(price, bands)
    stocked = _flag(in_stock, "in_stock")
    min_rating = _rating(rating)
    number = _page_number(page_number)
    params: dict[str, Any] = {
        "q": query or None,
        "category": category_slug,
        "brand": brand_slug,
        "price": band.key if band else None,
        "in_stock": 1 if stocked else None,
        "rating": min_rating,
    }
    redirect = canonical_redirect(page, "/search", params, number)
    if redirect is not None:
        return redirect
    if not query:
        return await page.render(
            "web/catalog/search.html.j2", title="Search", query="", result=None, params=params, shared=True
        )

    filters = SearchFilters(
        category=category_slug,
        brand=brand_slug,
        min_price_minor=band.min_minor if band else None,
        max_price_minor=band.max_minor if band else None,
        in_stock=stocked,
        min_rating=min_rating,
    )
    listing = PageParams(page=number, limit=PER_PAGE)
    result = await search_service.search(page.session, query, filters, listing, settings=page.settings)
    if number > 1 and not result.hits:
        raise NotFound("That page of the results is empty.", code=PageError.PAGE_NOT_FOUND)
    facet_names = {f.slug: f.name for f in (*result.facets.categories, *result.facets.brands)}
    band_counts = {b.key: b.count for b in result.facets.price_bands}
    return await page.render(
        "web/catalog/search.html.j2",
        title=f"Search: {query}",
        meta_description=f"Search results for {query} at {page.settings.shop_name}.",
        canonical_url=page.settings.public_url.rstrip("/") + page_url("/search", params, number),
        query=query,
        result=result,
        total=result.pagination.total,
        count=count_text(result.pagination.total, True),
        current_page=number,
        pages=max(1, result.pagination.pages),
        path="/search",
        params=params,
        bands=[(b, band_counts.get(b.key, 0)) for b in bands],
        chips=_chips("/search", params, names=facet_names, bands=bands),
        suggest_url=page_url("/search", {**params, "q": result.did_you_mean})
        if result.did_you_mean
        else None,
        shared=True,
    )
