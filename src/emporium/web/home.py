"""The home page and the header search box's suggestions."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from fastapi.responses import HTMLResponse

from emporium.catalog.schemas import ProductFilters
from emporium.catalog.search.service import search_service
from emporium.catalog.service import catalog
from emporium.core.pagination import PageParams
from emporium.web.page import ShopPage
from emporium.web.routing import page_router

router = page_router()

FEATURED_COUNT = 8
SUGGEST_MAX_LENGTH = 100


@router.get("/", response_class=HTMLResponse)
async def home(page: ShopPage) -> HTMLResponse:
    """Featured products (the newest when nothing is featured) and the category tree: the statements of
    the API's /products/featured and /categories, plus the layout's customer and cart count."""
    first = PageParams(page=1, limit=FEATURED_COUNT)
    # The first item of list_products' answer is the page of products (then the total and its details).
    products = (
        await catalog.list_products(page.session, page.ctx, ProductFilters(featured=True), "rating", first)
    )[0]
    featured = bool(products)
    if not featured:
        products = (await catalog.list_products(page.session, page.ctx, ProductFilters(), "newest", first))[0]
    return await page.render(
        "web/home.html.j2",
        title=page.settings.shop_name,
        products=products,
        featured=featured,
        categories=await page.categories(),
        shared=True,
    )


def _clean_query(text: str) -> str:
    # PostgreSQL refuses NUL in text; other control characters mean nothing to a search either.
    return "".join(ch for ch in text if ch.isprintable())[:SUGGEST_MAX_LENGTH].strip()


@router.get("/search/suggestions", response_class=HTMLResponse)
async def suggestions(
    page: ShopPage, q: Annotated[str, Query(max_length=SUGGEST_MAX_LENGTH * 2)] = ""
) -> HTMLResponse:
    """An HTML fragment for htmx: what the header search box suggests for the letters typed so far."""
    query = _clean_query(q)
    found = await search_service.autocomplete(page.session, query) if query else []
    return await page.fragment("web/fragments/suggestions.html.j2", query=query, suggestions=found)
