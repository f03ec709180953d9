"""What product search and autocomplete answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from emporium.catalog.schemas import ImageRead
from emporium.core.money import DecimalAmount
from emporium.core.responses import Pagination


@dataclass(frozen=True)
class SearchFilters:
    """What a search is narrowed to (the query string's filters, or a category page's chips)."""

    category: str | None = None  # id or slug; includes the category's descendants
    brand: str | None = None  # id or slug
    min_price_minor: int | None = None
    max_price_minor: int | None = None
    in_stock: bool | None = None
    min_rating: int | None = None  # rated at least this average (1 to 5)


class NamedRef(BaseModel):
    id: int
    name: str
    slug: str


class Rating(BaseModel):
    average: DecimalAmount
    count: int


class SearchHit(BaseModel):
    id: int
    name: str
    slug: str
    price_min: DecimalAmount | None
    price_max: DecimalAmount | None
    currency: str
    in_stock: bool
    rating: Rating
    category: NamedRef | None
    brand: NamedRef | None
    # The first picture, as a category page's card shows it.
    image: ImageRead | None = None


class FacetCount(BaseModel):
    id: int
    name: str
    slug: str
    count: int


class PriceBandCount(BaseModel):
    key: str
    min: DecimalAmount
    max: DecimalAmount | None  # None: no upper bound
    count: int


class StockCounts(BaseModel):
    in_stock: int
    out_of_stock: int


class RatingCount(BaseModel):
    min_rating: int
    count: int


class Facets(BaseModel):
    categories: list[FacetCount]
    brands: list[FacetCount]
    price_bands: list[PriceBandCount]
    availability: StockCounts
    ratings: list[RatingCount]


class SearchEnvelope(BaseModel):
    """The list envelope plus the facets of the whole matching set and a spelling suggestion."""

    success: bool = True
    data: list[SearchHit]
    pagination: Pagination
    facets: Facets
    query: str
    # Set when the words as typed matched nothing and a close spelling did: the results are for it.
    did_you_mean: str | None = None
    message: str | None = None


class Suggestion(BaseModel):
    type: Literal["product", "category", "brand"]
    id: int
    text: str
    slug: str
