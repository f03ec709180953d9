"""A category page's facets: the brands and option values (size, colour, weight) of its products, with
how many products each would show.

A count follows every other choice of the shopper and ignores its own facet's, so that choosing a second
brand or colour (facets take several values at once) shows what it adds; see ``facet_index``. The answer is
kept under the catalog stamp like the catalog's pages, since counting every variant of a large category
costs far more than its page of products.
"""

from __future__ import annotations

import re

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.catalog.cache import CatalogPages
from emporium.catalog.schemas import ProductFilters
from emporium.catalog.search.facet_repository import facet_rows


class FacetValue(BaseModel):
    value: str  # what the filter sends: a brand's slug, an option's value
    label: str
    count: int


class OptionFacet(BaseModel):
    name: str
    values: list[FacetValue]


class CategoryFacets(BaseModel):
    brands: list[FacetValue]
    options: list[OptionFacet]


# Values are listed in the order a shopper reads them: clothing sizes small to large, amounts by how much
# (250 g, 500 g, 1 kg), then the rest alphabetically.
SIZES = ("xxxs", "xxs", "xs", "s", "m", "l", "xl", "xxl", "2xl", "xxxl", "3xl", "4xl", "5xl")
UNITS = {"mg": 0.001, "g": 1.0, "kg": 1000.0, "ml": 1.0, "cl": 10.0, "l": 1000.0, "oz": 28.35, "lb": 453.6}
_AMOUNT = re.compile(r"^(\d+(?:[.,]\d+)?)\s*([a-z]*)$")


def value_order(value: str) -> tuple[int, float, str]:
    text = value.strip().lower()
    if text in SIZES:
        return 0, float(SIZES.index(text)), text
    amount = _AMOUNT.match(text)
    if amount and (not amount.group(2) or amount.group(2) in UNITS):
        return 1, float(amount.group(1).replace(",", ".")) * UNITS.get(amount.group(2), 1.0), text
    return 2, 0.0, text


def _key(filters: ProductFilters) -> dict[str, object]:
    return {
        "category": filters.category_id,
        "brands": filters.brand_slugs,
        "options": filters.options,
        "prices": (filters.min_price_minor, filters.max_price_minor),
        "rating": filters.min_rating,
        "in_stock": filters.in_stock,
    }


class Facets:
    async def for_category(
        self, session: AsyncSession, pages: CatalogPages, filters: ProductFilters
    ) -> CategoryFacets:
        """Brands by count (then name); option names by name, their values by ``value_order``."""

        async def produce() -> CategoryFacets:
            brands: list[FacetValue] = []
            options: dict[str, list[FacetValue]] = {}
            for row in await facet_rows(session, filters):
                value = FacetValue(value=row["value"], label=row["label"], count=int(row["n"]))
                if row["kind"] == "brand":
                    brands.append(value)
                else:
                    options.setdefault(str(row["name"]), []).append(value)
            return CategoryFacets(
                brands=sorted(brands, key=lambda b: (-b.count, b.label.lower(), b.value)),
                options=[
                    OptionFacet(
                        name=name, values=sorted(values, key=lambda v: (value_order(v.value), v.value))
                    )
                    for name, values in sorted(options.items(), key=lambda item: item[0].lower())
                ],
            )

        facets: CategoryFacets = await pages.value("category-facets", _key(filters), CategoryFacets, produce)
        return facets


facets = Facets()
