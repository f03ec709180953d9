"""Rules of products: slugs, references, tags, deleting or archiving, and what a shopper sees of them.

Prices arrive as decimals in the shop currency and are stored as integer minor units; an amount with more
decimal places than the currency has is refused, never rounded. The rules of variants (prices, SKUs, the
default variant, their pools) are in ``variants.py``; ``Catalog`` answers for both.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import TypeAdapter
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.catalog.errors import CatalogError
from emporium.catalog.media.service import image_file_keys, image_urls, schedule_file_removal
from emporium.catalog.models import (
    Brand,
    Category,
    Product,
    ProductImage,
    ProductStatus,
    ProductVariant,
)
from emporium.catalog.rates import crypto_prices, current_rates
from emporium.catalog.repository import CatalogRepository
from emporium.catalog.sanitize import DescriptionFormat, sanitize_description
from emporium.catalog.schemas import (
    BrandRef,
    CategoryRef,
    ImageRead,
    ProductCreate,
    ProductFilters,
    ProductPatch,
    ProductPut,
    ProductRead,
    ProductSummary,
    RatingSummary,
    SortKey,
    VariantCreate,
    VariantRead,
    VariantUpdate,
)
from emporium.catalog.taxonomy import flush_unique, slugify
from emporium.catalog.variants import (
    SKU_TAKEN,
    money_string,
    product_or_not_found,
    variant_editor,
    variant_read,
)
from emporium.core.context import AppContext
from emporium.core.errors import Conflict, NotFound, ValidationFailed
from emporium.core.money import decimal_string
from emporium.core.pagination import PageParams
from emporium.core.params import MAX_ID
from emporium.inventory.models import StockPool
from emporium.inventory.service import inventory

# Path words that GET /products/{...} answers itself; no product may take them as its slug.
RESERVED_SLUGS = frozenset({"featured", "search", "autocomplete", "export", "import"})
SLUG_TAKEN = "A product with this slug already exists."


def _rounded_rating(average: Decimal | None) -> str:
    return decimal_string(Decimal(average or 0).quantize(Decimal("0.01")))


def _rating(average: Decimal | None, count: int) -> RatingSummary:
    return RatingSummary(average=_rounded_rating(average), count=count)


def _brand_ref(brand: Brand | None) -> BrandRef | None:
    return None if brand is None else BrandRef(id=brand.id, name=brand.name, slug=brand.slug)


def _category_ref(category: Category | None) -> CategoryRef | None:
    return None if category is None else CategoryRef(id=category.id, name=category.name, slug=category.slug)


def _image_read(ctx: AppContext, image: ProductImage) -> ImageRead:
    return ImageRead(
        id=image.id,
        variant_id=image.variant_id,
        alt_text=image.alt_text,
        position=image.position,
        width=image.width,
        height=image.height,
        urls=image_urls(ctx.settings, image.files),
    )


def _listed(ctx: AppContext, row: Mapping[Any, Any]) -> dict[str, Any]:
    """A row of ``CatalogRepository.product_page`` as the list shows it (a ``ProductSummary``'s fields)."""
    currency = row["currency"]
    # A JSON array on SQLite, a list already on PostgreSQL.
    tags = row["tags"] if not isinstance(row["tags"], str) else json.loads(row["tags"])
    image = None
    if row["image_id"] is not None:
        image = {
            "id": row["image_id"],
            "variant_id": row["image_variant_id"],
            "alt_text": row["image_alt_text"],
            "position": row["image_position"],
            "width": row["image_width"],
            "height": row["image_height"],
            "urls": image_urls(ctx.settings, row["image_files"]),
        }
    return {
        "id": row["id"],
        "name": row["name"],
        "slug": row["slug"],
        "status": row["status"],
        "is_featured": row["is_featured"],
        "currency": currency,
        "price_min": money_string(row["price_min_minor"], currency),
        "price_max": money_string(row["price_max_minor"], currency),
        "in_stock": bool(row["in_stock"]),
        "brand": None
        if row["brand_id"] is None
        else {"id": row["brand_id"], "name": row["brand_name"], "slug": row["brand_slug"]},
        "category": None
        if row["category_id"] is None
        else {"id": row["category_id"], "name": row["category_name"], "slug": row["category_slug"]},
        "tags": sorted(tag for tag in tags or () if tag is not None),
        "rating": {"average": _rounded_rating(row["rating_average"]), "count": row["rating_count"]},
        "image": image,
        "created_at": row["created_at"],
    }


# A page of summaries validated in one call: building each item's five models one by one took longer.
_SUMMARIES = TypeAdapter(list[ProductSummary])


@dataclass(frozen=True)
class _CryptoPrice:
    prices: dict[str, str]
    as_of: datetime | None


def parse_id_or_slug(key: str) -> tuple[int | None, str | None]:
    """``"42"`` -> id 42; anything else is a slug. Digits beyond BIGINT are refused (422)."""
    if key.isascii() and key.isdigit():
        number = int(key)
        if number < 1 or number > MAX_ID:
            raise ValidationFailed(details=[{"field": "id_or_slug", "message": "Not a valid product id."}])
        return number, None
    return None, key.strip().lower()


class Catalog:
    # Reading ------------------------------------------------------------------------------------------

    async def list_products(
        self,
        session: AsyncSession,
        ctx: AppContext,
        filters: ProductFilters,
        sort: SortKey,
        page: PageParams,
    ) -> tuple[list[ProductSummary], int, bool]:
        """A page of products in one statement (two when the page is past the end), with the total
        and whether it is exact.

        The count stops at ``catalog_count_cap`` (or just past the asked page): counting a whole catalog
        of 100k products cost more than everything else the request does, and a shopper is served as well
        by "1,000+"."""
        repo = CatalogRepository(session)
        cap = max(ctx.settings.catalog_count_cap, page.offset + page.limit)
        rows = await repo.product_page(filters, sort, page.offset, page.limit, count_at_most=cap)
        counted = rows[0]["counted"] if rows else await repo.count_products(filters, at_most=cap)
        total, exact = min(counted, cap), counted <= cap
        return _SUMMARIES.validate_python([_listed(ctx, row) for row in rows]), total, exact

    async def product_detail(
        self,
        session: AsyncSession,
        ctx: AppContext,
        *,
        product_id: int | None = None,
        slug: str | None = None,
        staff: bool = False,
    ) -> ProductRead:
        """The product page in four statements: product with brand and category, variants with their
        pools, tags, images. Drafts and archived products exist only for staff."""
        repo = CatalogRepository(session)
        row = await repo.product_row(product_id=product_id, slug=slug)
        if row is None or (not staff and row[0].status != ProductStatus.ACTIVE):
            raise NotFound("Product not found.", code=CatalogError.PRODUCT_NOT_FOUND)
        product, brand, category = row
        variants = await repo.variants_with_pools(product.id)
        if not staff:
            variants = [(v, p) for v, p in variants if v.is_active]
        tags = await repo.tags_of([product.id])
        images = await repo.images_of(product.id)
        variant_reads = [variant_read(v, p, product.currency) for v, p in variants]
        default = next(
            (v for v in variant_reads if v.is_default), variant_reads[0] if variant_reads else None
        )
        crypto = await self._price_in_crypto(ctx, product, variants, default)
        return ProductRead(
            id=product.id,
            name=product.name,
            slug=product.slug,
            description_html=product.description_html,
            status=product.status,
            is_featured=product.is_featured,
            seo_title=product.seo_title,
            seo_description=product.seo_description,
            currency=product.currency,
            price_min=money_string(product.price_min_minor, product.currency),
            price_max=money_string(product.price_max_minor, product.currency),
            in_stock=any(v.in_stock for v in variant_reads),
            brand=_brand_ref(brand),
            category=_category_ref(category),
            tags=tags.get(product.id, []),
            rating=_rating(product.rating_average, product.rating_count),
            sold_count=product.sold_count,
            default_variant_id=default.id if default else None,
            variants=variant_reads,
            images=[_image_read(ctx, image) for image in images],
            price_in_crypto=crypto.prices,
            rates_as_of=crypto.as_of,
            created_at=product.created_at,
            updated_at=product.updated_at,
        )

    async def _price_in_crypto(
        self,
        ctx: AppContext,
        product: Product,
        variants: list[tuple[ProductVariant, StockPool]],
        default: VariantRead | None,
    ) -> _CryptoPrice:
        """The default variant's price in the crypto currencies the shop shows (none without a variant)."""
        if default is None:
            return _CryptoPrice({}, None)
        rates = await current_rates(ctx.settings, ctx.cache)
        default_minor = next(v.price_minor for v, _ in variants if v.id == default.id)
        return _CryptoPrice(crypto_prices(default_minor, product.currency, rates), rates.as_of)

    async def product_for_editing(self, session: AsyncSession, product_id: int) -> tuple[Product, list[str]]:
        """The product's own row (with the description as written) and its tags, for the back office."""
        repo = CatalogRepository(session)
        product = await product_or_not_found(repo, product_id)
        tags = await repo.tags_of([product.id])
        return product, tags.get(product.id, [])

    async def variants(
        self, session: AsyncSession, product_id: int, *, staff: bool = False
    ) -> list[VariantRead]:
        repo = CatalogRepository(session)
        product = await repo.product(product_id)
        if product is None or (not staff and product.status != ProductStatus.ACTIVE):
            raise NotFound("Product not found.", code=CatalogError.PRODUCT_NOT_FOUND)
        rows = await repo.variants_with_pools(product_id)
        return [variant_read(v, p, product.currency) for v, p in rows if staff or v.is_active]

    # Products -----------------------------------------------------------------------------------------

    async def _check_references(
        self, repo: CatalogRepository, brand_id: int | None, category_id: int | None
    ) -> None:
        if brand_id is not None and await repo.brand(brand_id) is None:
            raise ValidationFailed(
                "The brand does not exist.",
                code=CatalogError.UNKNOWN_BRAND,
                details=[{"field": "brand_id", "message": "No such brand."}],
            )
        if category_id is not None and await repo.category(category_id) is None:
            raise ValidationFailed(
                "The category does not exist.",
                code=CatalogError.UNKNOWN_CATEGORY,
                details=[{"field": "category_id", "message": "No such category."}],
            )

    async def _check_slug(self, repo: CatalogRepository, slug: str, exclude_id: int | None = None) -> None:
        if slug in RESERVED_SLUGS:
            raise ValidationFailed(details=[{"field": "slug", "message": "This slug is reserved."}])
        if await repo.product_slug_taken(slug, exclude_id):
            raise Conflict(SLUG_TAKEN, code=CatalogError.SLUG_TAKEN)

    async def _free_slug(self, repo: CatalogRepository, name: str) -> str:
        base = slugify(name, "product")[:200].strip("-")
        if base in RESERVED_SLUGS:
            base = f"{base}-product"
        taken = await repo.product_slugs_like(base)
        if base not in taken:
            return base
        suffix = 2
        while f"{base}-{suffix}" in taken:
            suffix += 1
        return f"{base}-{suffix}"

    async def create_product(
        self, session: AsyncSession, ctx: AppContext, data: ProductCreate, actor_id: int | None
    ) -> ProductRead:
        repo = CatalogRepository(session)
        await self._check_references(repo, data.brand_id, data.category_id)
        if data.slug is not None:
            await self._check_slug(repo, data.slug)
        skus = [variant.sku.lower() for variant in data.variants]
        if len(set(skus)) != len(skus):
            raise Conflict("Two variants in the request share a SKU.", code=CatalogError.SKU_TAKEN)
        if data.variants and await repo.skus_taken(skus):
            raise Conflict(SKU_TAKEN, code=CatalogError.SKU_TAKEN)
        product = Product(
            name=data.name,
            slug=data.slug or await self._free_slug(repo, data.name),
            description_html=sanitize_description(data.description, data.description_format),
            description_source=data.description.replace("\x00", ""),
            description_format=data.description_format,
            brand_id=data.brand_id,
            category_id=data.category_id,
            status=data.status,
            is_featured=data.is_featured,
            seo_title=data.seo_title,
            seo_description=data.seo_description,
            currency=ctx.settings.currency,
        )
        session.add(product)
        await flush_unique(session, CatalogError.SLUG_TAKEN, SLUG_TAKEN)
        await repo.replace_tags(product.id, sorted(set(data.tags)))
        for index, variant in enumerate(data.variants):
            await variant_editor.add(
                session, repo, product, variant, actor_id, first=index == 0, field=f"variants.{index}"
            )
        await repo.refresh_price_range(product.id)
        return await self.product_detail(session, ctx, product_id=product.id, staff=True)

    async def update_product(
        self,
        session: AsyncSession,
        ctx: AppContext,
        product_id: int,
        data: ProductPut | ProductPatch,
        *,
        partial: bool,
    ) -> ProductRead:
        repo = CatalogRepository(session)
        product = await product_or_not_found(repo, product_id)
        changes: dict[str, Any] = (
            {name: getattr(data, name) for name in data.model_fields_set}
            if partial
            else {name: getattr(data, name) for name in type(data).model_fields}
        )
        await self._check_references(repo, changes.get("brand_id"), changes.get("category_id"))
        slug = changes.pop("slug", None)
        if slug is not None and slug != product.slug:
            await self._check_slug(repo, slug, exclude_id=product.id)
            product.slug = slug
        fmt: DescriptionFormat = changes.pop("description_format", None) or "markdown"
        if "description" in changes:
            written = changes.pop("description")
            product.description_html = sanitize_description(written, fmt)
            product.description_source, product.description_format = written.replace("\x00", ""), fmt
        tags = changes.pop("tags", None)
        if tags is not None:
            await repo.replace_tags(product.id, sorted(set(tags)))
        for name, value in changes.items():
            setattr(product, name, value)
        await flush_unique(session, CatalogError.SLUG_TAKEN, SLUG_TAKEN)
        return await self.product_detail(session, ctx, product_id=product.id, staff=True)

    async def delete_product(self, session: AsyncSession, product_id: int) -> Literal["deleted", "archived"]:
        """Delete a product that was never sold; archive one whose variants are referenced elsewhere.

        The delete runs in a savepoint. Tables that record sales (order lines, from the orders issue)
        reference ``product_variants`` with ``ON DELETE RESTRICT``: the cascade from products to variants
        then fails, the savepoint is rolled back and the product is archived instead, so its history
        stays intact. A new referencing table only needs a RESTRICT foreign key (or, for a soft
        reference, an explicit check before the savepoint) to take part.
        """
        repo = CatalogRepository(session)
        product = await product_or_not_found(repo, product_id)
        pool_ids = await repo.pool_ids_of_product(product.id)
        file_keys = await image_file_keys(session, product.id)
        try:
            async with session.begin_nested():
                await repo.delete_product(product.id)
                await inventory.drop_unused_pools(session, pool_ids)
        except IntegrityError:
            # An archived product keeps its images, rows and files.
            product.status = ProductStatus.ARCHIVED
            product.is_featured = False
            await session.flush()
            return "archived"
        session.expunge(product)
        # The image rows went with the product (cascade); their files are removed by a job that exists
        # only if this transaction commits, so a rolled-back delete never loses a picture.
        schedule_file_removal(session, product.id, file_keys)
        await session.flush()
        return "deleted"

    # Variants (their rules are in variants.py) ------------------------------------------------------

    async def create_variant(
        self, session: AsyncSession, product_id: int, data: VariantCreate, actor_id: int | None
    ) -> VariantRead:
        return await variant_editor.create(session, product_id, data, actor_id)

    async def update_variant(
        self, session: AsyncSession, variant_id: int, data: VariantUpdate
    ) -> VariantRead:
        return await variant_editor.update(session, variant_id, data)

    async def delete_variant(
        self, session: AsyncSession, variant_id: int
    ) -> Literal["deleted", "deactivated"]:
        return await variant_editor.delete(session, variant_id)


catalog = Catalog()
