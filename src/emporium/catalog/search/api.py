"""Product search and autocomplete: /api/v1/products/search and /api/v1/products/autocomplete.

Registered before the catalog router, so these paths win over /products/{id_or_slug}.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from emporium.catalog.cache import Pages
from emporium.catalog.search.schemas import SearchEnvelope, SearchFilters, Suggestion
from emporium.catalog.search.service import MAX_QUERY_LENGTH, search_service
from emporium.core.context import Ctx
from emporium.core.errors import ValidationFailed, errors_doc
from emporium.core.money import MoneyError, parse_decimal, to_minor
from emporium.core.pagination import Page
from emporium.core.params import API_PREFIX
from emporium.core.responses import Envelope, ok
from emporium.core.session import DbSession

router = APIRouter(prefix=API_PREFIX, tags=["search"])

# Ten trillion in major units: far above any price, far below what a BIGINT of minor units holds.
MAX_PRICE_MINOR = 10**15

SearchText = Annotated[str, Query(min_length=1, max_length=MAX_QUERY_LENGTH, description="What to look for.")]
# PostgreSQL cannot take NUL in text: refused here rather than failing in the query.
Ref = Annotated[
    str | None, Query(min_length=1, max_length=140, pattern=r"^[^\x00]+$", description="Id or slug.")
]
Price = Annotated[str | None, Query(max_length=40, description='A decimal amount, e.g. "19.99".')]
# The rating facet counts products rated at least 4, 3, 2 and 1; this filter narrows to one of them.
MinRating = Annotated[int | None, Query(ge=1, le=5, description="Only products rated at least this, 1 to 5.")]


def _price_minor(field: str, value: str | None, currency: str) -> int | None:
    if value is None:
        return None
    try:
        minor = to_minor(parse_decimal(value), currency)
    except MoneyError as exc:
        raise ValidationFailed(details=[{"field": field, "message": str(exc)}]) from exc
    if not 0 <= minor <= MAX_PRICE_MINOR:
        raise ValidationFailed(details=[{"field": field, "message": "out of range"}])
    return minor


@router.get(
    "/products/search",
    response_model_exclude_none=False,
    response_model=SearchEnvelope,
    responses=errors_doc(422),
)
async def search_products(
    pages: Pages,
    session: DbSession,
    ctx: Ctx,
    page: Page,
    q: SearchText,
    category: Ref = None,
    brand: Ref = None,
    min_price: Price = None,
    max_price: Price = None,
    in_stock: bool | None = None,
    min_rating: MinRating = None,
) -> BaseModel | Response:
    """Active products ranked by relevance over name, tags, brand, category and description, with facet
    counts for the whole matching set. When the words as typed match nothing, the closest known spelling
    is searched instead and named in ``did_you_mean``. Answers are cached under the catalog stamp, like
    the catalog pages."""
    currency = ctx.settings.currency
    filters = SearchFilters(
        category=category,
        brand=brand,
        min_price_minor=_price_minor("min_price", min_price, currency),
        max_price_minor=_price_minor("max_price", max_price, currency),
        in_stock=in_stock,
        min_rating=min_rating,
    )

    async def produce() -> SearchEnvelope:
        result = await search_service.search(session, q, filters, page, settings=ctx.settings)
        return SearchEnvelope(
            data=result.hits,
            pagination=result.pagination,
            facets=result.facets,
            query=q,
            did_you_mean=result.did_you_mean,
        )

    parts = [q, vars(filters), page.page, page.limit]
    return await pages.respond("search", parts, SearchEnvelope, produce)


@router.get("/products/autocomplete", response_model=Envelope[list[Suggestion]], responses=errors_doc(422))
async def autocomplete(
    pages: Pages,
    session: DbSession,
    q: Annotated[str, Query(min_length=1, max_length=100, description="The first letters typed.")],
) -> BaseModel | Response:
    """At most ten suggestions: product names, then categories and brands (cached like search)."""

    async def produce() -> Envelope[list[Suggestion]]:
        return ok(await search_service.autocomplete(session, q))

    return await pages.respond("autocomplete", [q], Envelope[list[Suggestion]], produce)
