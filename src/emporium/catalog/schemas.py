"""Request and response bodies of the catalog API (categories, brands, products, variants).

Amounts are decimal strings (or integers) in the shop currency; a float is refused. Whether an amount
has too many decimal places for the currency is checked by the service, which knows the currency.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from emporium.catalog.models import ProductStatus
from emporium.catalog.sanitize import DescriptionFormat
from emporium.core.money import DecimalAmount
from emporium.core.params import MAX_ID
from emporium.core.schemas import InputModel
from emporium.inventory.models import StockUnit

# Larger than any price a shop sets, small enough that minor units stay far inside BIGINT.
MAX_PRICE = Decimal("1000000000000")
MAX_QUANTITY = 10**12
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
ProductName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def _not_all_digits(slug: str) -> str:
    # A path segment made of digits is read as an id (GET /products/{id or slug}).
    if slug.isdigit():
        raise ValueError("A slug must contain at least one letter.")
    return slug


Slug = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, min_length=1, max_length=140, pattern=SLUG_PATTERN
    ),
    AfterValidator(_not_all_digits),
]
ProductSlug = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, min_length=1, max_length=220, pattern=SLUG_PATTERN
    ),
    AfterValidator(_not_all_digits),
]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=60)]
Sku = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
]
Description = Annotated[str, Field(max_length=50_000)]


def _check_price(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("A price cannot be negative.")
    if value > MAX_PRICE:
        raise ValueError(f"A price cannot exceed {MAX_PRICE}.")
    return value


Price = Annotated[DecimalAmount, AfterValidator(_check_price)]


Input = InputModel


# Categories -----------------------------------------------------------------------------------------


class CategoryIn(Input):
    """Create (POST) and full replacement (PUT). A missing ``parent_id`` makes a top-level category."""

    name: Name
    slug: Slug | None = None
    description: Annotated[str, Field(max_length=5000)] | None = None
    parent_id: Id | None = None
    position: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    is_active: bool = True


class CategoryRef(BaseModel):
    id: int
    name: str
    slug: str


class CategoryRead(BaseModel):
    id: int
    name: str
    slug: str
    description: str | None
    parent_id: int | None
    position: int
    is_active: bool
    path: str
    children: list[CategoryRead] = []


# Brands ---------------------------------------------------------------------------------------------


class BrandIn(Input):
    name: Name
    slug: Slug | None = None
    description: Annotated[str, Field(max_length=5000)] | None = None


class BrandRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    slug: str
    description: str | None


class BrandRef(BaseModel):
    id: int
    name: str
    slug: str


# Variants -------------------------------------------------------------------------------------------


class StockIn(Input):
    """A new pool of the variant's own."""

    unit: StockUnit = StockUnit.PIECE
    on_hand: Annotated[int, Field(ge=0, le=MAX_QUANTITY)] = 0
    low_stock_threshold: Annotated[int, Field(ge=0, le=MAX_QUANTITY)] = 0


Options = Annotated[
    dict[
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)],
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)],
    ],
    Field(max_length=20),
]


class VariantFields(Input):
    sku: Sku
    name: ProductName | None = None
    options: Options = {}
    price: Price
    compare_at_price: Price | None = None
    is_active: bool = True
    is_default: bool = False
    position: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    draw_per_unit: Annotated[int, Field(ge=1, le=MAX_QUANTITY)] = 1
    weight_grams: Annotated[int, Field(ge=0, le=10_000_000)] | None = None


class VariantCreate(VariantFields):
    """Names an existing pool (``pool_id``) or asks for a new one of its own (``stock``, or nothing: an
    empty pool counted in pieces)."""

    pool_id: Id | None = None
    stock: StockIn | None = None

    @model_validator(mode="after")
    def _one_pool(self) -> VariantCreate:
        if self.pool_id is not None and self.stock is not None:
            raise ValueError("Give either pool_id (an existing pool) or stock (a new pool), not both.")
        return self


class VariantUpdate(VariantFields):
    """Full replacement (PUT). ``pool_id`` moves the variant to another existing pool; stock levels are
    changed through the inventory API."""

    pool_id: Id | None = None


class VariantRead(BaseModel):
    id: int
    product_id: int
    sku: str
    name: str
    options: dict[str, Any]
    price: str
    compare_at_price: str | None
    currency: str
    is_active: bool
    is_default: bool
    position: int
    pool_id: int
    unit: str
    draw_per_unit: int
    weight_grams: int | None
    availability: int
    in_stock: bool


# Products -------------------------------------------------------------------------------------------


class ProductFields(Input):
    name: ProductName
    slug: ProductSlug | None = None
    description: Description = ""
    description_format: DescriptionFormat = "markdown"
    brand_id: Id | None = None
    category_id: Id | None = None
    tags: Annotated[list[Tag], Field(max_length=30)] = []
    status: ProductStatus = ProductStatus.DRAFT
    is_featured: bool = False
    seo_title: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    seo_description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None


class ProductCreate(ProductFields):
    variants: Annotated[list[VariantCreate], Field(max_length=100)] = []


class ProductPut(ProductFields):
    """Full replacement: what is left out takes its default (variants are managed on their own routes)."""


class ProductPatch(Input):
    """Partial update: only the fields sent change."""

    name: ProductName | None = None
    slug: ProductSlug | None = None
    description: Description | None = None
    description_format: DescriptionFormat | None = None
    brand_id: Id | None = None
    category_id: Id | None = None
    tags: Annotated[list[Tag], Field(max_length=30)] | None = None
    status: ProductStatus | None = None
    is_featured: bool | None = None
    seo_title: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    seo_description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> ProductPatch:
        for field in ("name", "slug", "description", "description_format", "status", "is_featured", "tags"):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null.")
        return self


class RatingSummary(BaseModel):
    average: str
    count: int


class ImageRead(BaseModel):
    id: int
    variant_id: int | None
    alt_text: str
    position: int
    width: int
    height: int
    urls: dict[str, str]


class ProductSummary(BaseModel):
    id: int
    name: str
    slug: str
    status: str
    is_featured: bool
    currency: str
    price_min: str | None
    price_max: str | None
    in_stock: bool
    brand: BrandRef | None
    category: CategoryRef | None
    tags: list[str]
    rating: RatingSummary
    image: ImageRead | None
    created_at: datetime


class ProductRead(BaseModel):
    id: int
    name: str
    slug: str
    description_html: str
    status: str
    is_featured: bool
    seo_title: str | None
    seo_description: str | None
    currency: str
    price_min: str | None
    price_max: str | None
    in_stock: bool
    brand: BrandRef | None
    category: CategoryRef | None
    tags: list[str]
    rating: RatingSummary
    sold_count: int
    default_variant_id: int | None
    variants: list[VariantRead]
    images: list[ImageRead]
    # The default variant's price in each display crypto currency, and when its rates were obtained.
    price_in_crypto: dict[str, str]
    rates_as_of: datetime | None
    created_at: datetime
    updated_at: datetime


SortKey = Literal["price_asc", "price_desc", "newest", "name", "rating", "popularity"]


@dataclass(frozen=True)
class ProductFilters:
    statuses: tuple[str, ...] | None = (ProductStatus.ACTIVE,)
    category_id: int | None = None
    category_slug: str | None = None
    brand_id: int | None = None
    brand_slug: str | None = None
    min_price_minor: int | None = None
    max_price_minor: int | None = None
    in_stock: bool | None = None
    featured: bool | None = None
    tag: str | None = None
    # Whole stars: products rated at least this on average (the storefront's rating facet).
    min_rating: int | None = None
    # Any of these brands (the storefront's brand facet, several at once).
    brand_slugs: tuple[str, ...] | None = None
    # Option values of an active variant: ((name, (value, ...)), ...); any value of a name, every name.
    options: tuple[tuple[str, tuple[str, ...]], ...] | None = None


# The back office's product list ---------------------------------------------------------------------

StaffSort = Literal["newest", "name", "price_asc", "price_desc", "stock"]
StockState = Literal["in", "low", "out"]


@dataclass(frozen=True)
class StaffProductFilters:
    """The staff list's filters: every status unless one is chosen. ``q`` is a piece of the name or a
    whole SKU (any case). Stock: ``in`` sells with no pool at or below its low-stock threshold, ``low``
    sells but some active variant's pool is at or below it, ``out`` sells nothing."""

    q: str | None = None
    status: str | None = None
    category_id: int | None = None
    brand_id: int | None = None
    stock: StockState | None = None
    featured: bool | None = None
