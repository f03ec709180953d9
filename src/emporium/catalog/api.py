"""Catalog API: /api/v1/categories, /brands, /products and /variants (search, CSV and images live in
their own routers)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel

from emporium.accounts.auth import MaybePrincipal
from emporium.catalog.auth import ProductsWriter, sees_unpublished
from emporium.catalog.cache import Pages
from emporium.catalog.models import ProductStatus
from emporium.catalog.schemas import (
    BrandIn,
    BrandRead,
    CategoryIn,
    CategoryRead,
    ProductCreate,
    ProductFilters,
    ProductPatch,
    ProductPut,
    ProductRead,
    ProductSummary,
    SortKey,
    VariantCreate,
    VariantRead,
    VariantUpdate,
)
from emporium.catalog.service import catalog, parse_id_or_slug
from emporium.catalog.taxonomy import taxonomy
from emporium.core.context import Ctx
from emporium.core.errors import ValidationFailed, errors_doc
from emporium.core.money import MoneyError, parse_decimal, to_minor_units
from emporium.core.pagination import Page
from emporium.core.params import API_PREFIX, MAX_ID, IdPath
from emporium.core.responses import Envelope, ListEnvelope, Pagination, ok
from emporium.core.session import DbSession

router = APIRouter(prefix=API_PREFIX, tags=["catalog"])

QueryText = Annotated[str | None, Query(min_length=1, max_length=140)]


def _text(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    if "\x00" in value:
        raise ValidationFailed(details=[{"field": field, "message": "NUL characters are not allowed."}])
    return value.strip().lower()


def _id_or_slug(value: str | None, field: str) -> tuple[int | None, str | None]:
    text = _text(value, field)
    if text is None:
        return None, None
    if text.isascii() and text.isdigit():
        number = int(text)
        if not 1 <= number <= MAX_ID:
            raise ValidationFailed(details=[{"field": field, "message": "Not a valid id."}])
        return number, None
    return None, text


def _price(value: str | None, field: str, currency: str) -> int | None:
    if value is None:
        return None
    try:
        amount = parse_decimal(value)
    except MoneyError as exc:
        raise ValidationFailed(details=[{"field": field, "message": str(exc)}]) from exc
    if amount < 0:
        raise ValidationFailed(details=[{"field": field, "message": "A price cannot be negative."}])
    if amount > 10**15:
        raise ValidationFailed(details=[{"field": field, "message": "The price is out of range."}])
    return to_minor_units(amount, currency, field)


# Routes are matched in the order they are declared: the product reads, most of a shop's requests,
# come first (FastAPI tries each route in turn, and every route tried costs the request).


# Products -------------------------------------------------------------------------------------------


@router.get("/products", response_model=ListEnvelope[ProductSummary], responses=errors_doc(401, 422))
async def list_products(
    pages: Pages,
    session: DbSession,
    ctx: Ctx,
    principal: MaybePrincipal,
    page: Page,
    category: QueryText = None,
    brand: QueryText = None,
    min_price: Annotated[str | None, Query(max_length=40)] = None,
    max_price: Annotated[str | None, Query(max_length=40)] = None,
    in_stock: bool | None = None,
    featured: bool | None = None,
    tag: Annotated[str | None, Query(min_length=1, max_length=60)] = None,
    sort: SortKey = "newest",
    product_status: Annotated[
        ProductStatus | None,
        Query(alias="status", description="Staff only; shoppers always see active products."),
    ] = None,
) -> BaseModel | Response:
    """Products with filters (``category`` and ``brand`` take an id or a slug; a category includes its
    descendants; prices are decimal strings compared with the product's lowest price)."""
    currency = ctx.settings.currency
    category_id, category_slug = _id_or_slug(category, "category")
    brand_id, brand_slug = _id_or_slug(brand, "brand")
    low = _price(min_price, "min_price", currency)
    high = _price(max_price, "max_price", currency)
    if low is not None and high is not None and low > high:
        raise ValidationFailed(details=[{"field": "min_price", "message": "min_price exceeds max_price."}])
    statuses: tuple[str, ...] | None = (ProductStatus.ACTIVE,)
    staff = sees_unpublished(principal)
    if staff:
        statuses = (product_status,) if product_status is not None else None
    filters = ProductFilters(
        statuses=statuses,
        category_id=category_id,
        category_slug=category_slug,
        brand_id=brand_id,
        brand_slug=brand_slug,
        min_price_minor=low,
        max_price_minor=high,
        in_stock=in_stock,
        featured=featured,
        tag=_text(tag, "tag"),
    )

    async def produce() -> BaseModel:
        items, total, exact = await catalog.list_products(session, ctx, filters, sort, page)
        pagination = Pagination.of(page.page, page.limit, total, exact=exact)
        return ListEnvelope(data=items, pagination=pagination)

    # The key is built from the parsed parameters: spelling, order and unknown parameters do not matter.
    # vars, not asdict: the fields are immutable values, and asdict deep-copied them on every request.
    parts = None if staff else [vars(filters), sort, page.page, page.limit]
    return await pages.respond("products", parts, ListEnvelope[ProductSummary], produce)


@router.get("/products/featured", response_model=ListEnvelope[ProductSummary], responses=errors_doc(422))
async def featured_products(pages: Pages, session: DbSession, ctx: Ctx, page: Page) -> BaseModel | Response:
    """Active featured products, the best rated first."""

    async def produce() -> BaseModel:
        filters = ProductFilters(featured=True)
        items, total, exact = await catalog.list_products(session, ctx, filters, "rating", page)
        pagination = Pagination.of(page.page, page.limit, total, exact=exact)
        return ListEnvelope(data=items, pagination=pagination)

    parts = [page.page, page.limit]
    return await pages.respond("featured", parts, ListEnvelope[ProductSummary], produce)


@router.get(
    "/products/{id_or_slug}", response_model=Envelope[ProductRead], responses=errors_doc(401, 404, 422)
)
async def get_product(
    pages: Pages,
    id_or_slug: Annotated[str, Path(min_length=1, max_length=220)],
    session: DbSession,
    ctx: Ctx,
    principal: MaybePrincipal,
) -> BaseModel | Response:
    """A product by id (digits) or slug, with variants, availability, images and crypto prices."""
    if "\x00" in id_or_slug:
        raise ValidationFailed(
            details=[{"field": "id_or_slug", "message": "NUL characters are not allowed."}]
        )
    product_id, slug = parse_id_or_slug(id_or_slug)
    staff = sees_unpublished(principal)

    async def produce() -> BaseModel:
        return ok(await catalog.product_detail(session, ctx, product_id=product_id, slug=slug, staff=staff))

    parts = None if staff else [product_id, slug]
    return await pages.respond("product", parts, Envelope[ProductRead], produce)


@router.post("/products", status_code=status.HTTP_201_CREATED, responses=errors_doc(401, 403, 409, 422))
async def create_product(
    data: ProductCreate, session: DbSession, ctx: Ctx, staff: ProductsWriter
) -> Envelope[ProductRead]:
    return ok(await catalog.create_product(session, ctx, data, staff.id), "Product created.")


@router.put("/products/{product_id}", responses=errors_doc(401, 403, 404, 409, 422))
async def replace_product(
    product_id: IdPath, data: ProductPut, session: DbSession, ctx: Ctx, _staff: ProductsWriter
) -> Envelope[ProductRead]:
    """Full replacement of the product's own fields (variants have their own routes)."""
    return ok(await catalog.update_product(session, ctx, product_id, data, partial=False))


@router.patch("/products/{product_id}", responses=errors_doc(401, 403, 404, 409, 422))
async def patch_product(
    product_id: IdPath, data: ProductPatch, session: DbSession, ctx: Ctx, _staff: ProductsWriter
) -> Envelope[ProductRead]:
    return ok(await catalog.update_product(session, ctx, product_id, data, partial=True))


@router.delete("/products/{product_id}", responses=errors_doc(401, 403, 404, 422))
async def delete_product(
    product_id: IdPath, session: DbSession, _staff: ProductsWriter
) -> Envelope[dict[str, Any]]:
    """Deletes a product that was never sold; archives one that was."""
    outcome = await catalog.delete_product(session, product_id)
    return ok({"id": product_id, "result": outcome}, f"Product {outcome}.")


# Variants -------------------------------------------------------------------------------------------


@router.get("/products/{product_id}/variants", responses=errors_doc(401, 404, 422))
async def list_variants(
    product_id: IdPath, session: DbSession, principal: MaybePrincipal
) -> Envelope[list[VariantRead]]:
    return ok(await catalog.variants(session, product_id, staff=sees_unpublished(principal)))


@router.get("/variants/product/{product_id}", responses=errors_doc(401, 404, 422))
async def list_variants_alias(
    product_id: IdPath, session: DbSession, principal: MaybePrincipal
) -> Envelope[list[VariantRead]]:
    """Seed 003's name for ``GET /products/{id}/variants``."""
    return ok(await catalog.variants(session, product_id, staff=sees_unpublished(principal)))


@router.post(
    "/products/{product_id}/variants",
    status_code=status.HTTP_201_CREATED,
    responses=errors_doc(401, 403, 404, 409, 422),
)
async def create_variant(
    product_id: IdPath, data: VariantCreate, session: DbSession, staff: ProductsWriter
) -> Envelope[VariantRead]:
    return ok(await catalog.create_variant(session, product_id, data, staff.id), "Variant created.")


@router.put("/variants/{variant_id}", responses=errors_doc(401, 403, 404, 409, 422))
async def update_variant(
    variant_id: IdPath, data: VariantUpdate, session: DbSession, _staff: ProductsWriter
) -> Envelope[VariantRead]:
    return ok(await catalog.update_variant(session, variant_id, data))


@router.delete("/variants/{variant_id}", responses=errors_doc(401, 403, 404, 422))
async def delete_variant(
    variant_id: IdPath, session: DbSession, _staff: ProductsWriter
) -> Envelope[dict[str, Any]]:
    outcome = await catalog.delete_variant(session, variant_id)
    return ok({"id": variant_id, "result": outcome}, f"Variant {outcome}.")


# Categories -----------------------------------------------------------------------------------------


@router.get("/categories", response_model=Envelope[list[CategoryRead]], responses=errors_doc(401))
async def list_categories(
    pages: Pages, session: DbSession, principal: MaybePrincipal
) -> BaseModel | Response:
    """The whole tree, children nested, ordered by position then name. Shoppers see active categories."""
    staff = sees_unpublished(principal)

    async def produce() -> BaseModel:
        return ok(await taxonomy.category_tree(session, include_inactive=staff))

    return await pages.respond("categories", None if staff else [], Envelope[list[CategoryRead]], produce)


@router.post("/categories", status_code=status.HTTP_201_CREATED, responses=errors_doc(401, 403, 409, 422))
async def create_category(
    data: CategoryIn, session: DbSession, _staff: ProductsWriter
) -> Envelope[CategoryRead]:
    return ok(await taxonomy.create_category(session, data), "Category created.")


@router.put("/categories/{category_id}", responses=errors_doc(401, 403, 404, 409, 422))
async def update_category(
    category_id: IdPath, data: CategoryIn, session: DbSession, _staff: ProductsWriter
) -> Envelope[CategoryRead]:
    """Full replacement; a new ``parent_id`` moves the category with its whole subtree."""
    return ok(await taxonomy.update_category(session, category_id, data))


@router.delete("/categories/{category_id}", responses=errors_doc(401, 403, 404, 409, 422))
async def delete_category(
    category_id: IdPath, session: DbSession, _staff: ProductsWriter
) -> Envelope[dict[str, int]]:
    await taxonomy.delete_category(session, category_id)
    return ok({"id": category_id}, "Category deleted.")


# Brands ---------------------------------------------------------------------------------------------


@router.get("/brands", response_model=Envelope[list[BrandRead]])
async def list_brands(pages: Pages, session: DbSession) -> BaseModel | Response:
    async def produce() -> BaseModel:
        return ok(await taxonomy.brands(session))

    return await pages.respond("brands", [], Envelope[list[BrandRead]], produce)


@router.post("/brands", status_code=status.HTTP_201_CREATED, responses=errors_doc(401, 403, 409, 422))
async def create_brand(data: BrandIn, session: DbSession, _staff: ProductsWriter) -> Envelope[BrandRead]:
    return ok(await taxonomy.create_brand(session, data), "Brand created.")


@router.put("/brands/{brand_id}", responses=errors_doc(401, 403, 404, 409, 422))
async def update_brand(
    brand_id: IdPath, data: BrandIn, session: DbSession, _staff: ProductsWriter
) -> Envelope[BrandRead]:
    return ok(await taxonomy.update_brand(session, brand_id, data))


@router.delete("/brands/{brand_id}", responses=errors_doc(401, 403, 404, 409, 422))
async def delete_brand(
    brand_id: IdPath, session: DbSession, _staff: ProductsWriter
) -> Envelope[dict[str, int]]:
    await taxonomy.delete_brand(session, brand_id)
    return ok({"id": brand_id}, "Brand deleted.")
