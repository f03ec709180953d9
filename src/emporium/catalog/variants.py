"""Rules of a product's variants: prices in minor units, unique SKUs, the one default variant, and the stock
pool each draws from (opened, found and dropped through the inventory service, which owns pools).

After every variant write the product's ``price_min_minor``/``price_max_minor`` are recomputed from its
active variants in one UPDATE. A product always keeps one default variant.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.catalog.errors import CatalogError
from emporium.catalog.models import Product, ProductVariant
from emporium.catalog.repository import CatalogRepository
from emporium.catalog.schemas import VariantCreate, VariantRead, VariantUpdate
from emporium.catalog.taxonomy import flush_unique
from emporium.core.errors import Conflict, NotFound, ValidationFailed
from emporium.core.money import decimal_string, from_minor, to_minor_units
from emporium.inventory.availability import units_available
from emporium.inventory.models import StockPool
from emporium.inventory.service import inventory

SKU_TAKEN = "A variant with this SKU already exists."


def money_string(minor: int | None, currency: str) -> str | None:
    return None if minor is None else decimal_string(from_minor(minor, currency))


def variant_read(variant: ProductVariant, pool: StockPool, currency: str) -> VariantRead:
    units = units_available(pool.on_hand, pool.reserved, variant.draw_per_unit) if variant.is_active else 0
    return VariantRead(
        id=variant.id,
        product_id=variant.product_id,
        sku=variant.sku,
        name=variant.name,
        options=dict(variant.options or {}),
        price=decimal_string(from_minor(variant.price_minor, currency)),
        compare_at_price=money_string(variant.compare_at_minor, currency),
        currency=currency,
        is_active=variant.is_active,
        is_default=variant.is_default,
        position=variant.position,
        pool_id=variant.pool_id,
        unit=pool.unit,
        draw_per_unit=variant.draw_per_unit,
        weight_grams=variant.weight_grams,
        availability=units,
        in_stock=units > 0,
    )


async def product_or_not_found(repo: CatalogRepository, product_id: int) -> Product:
    product = await repo.product(product_id)
    if product is None:
        raise NotFound("Product not found.", code=CatalogError.PRODUCT_NOT_FOUND)
    return product


def _unknown_pool(field: str) -> ValidationFailed:
    return ValidationFailed(
        "The stock pool does not exist.",
        code=CatalogError.UNKNOWN_POOL,
        details=[{"field": field, "message": "No such stock pool."}],
    )


def _compare_at_minor(price: Decimal | None, currency: str, field: str) -> int | None:
    return None if price is None else to_minor_units(price, currency, field)


class VariantEditor:
    async def _pool_for(
        self,
        session: AsyncSession,
        product: Product,
        data: VariantCreate,
        actor_id: int | None,
        field: str,
    ) -> StockPool:
        """The pool the new variant names, or a new one of its own (``data.stock``, else empty, in pieces)."""
        if data.pool_id is not None:
            pool = await inventory.pool(session, data.pool_id)
            if pool is None:
                raise _unknown_pool(f"{field}pool_id")
            return pool
        stock = data.stock
        return await inventory.open_pool(
            session,
            name=f"{product.name} / {data.sku}",
            unit=stock.unit if stock else "pc",
            on_hand=stock.on_hand if stock else 0,
            low_stock_threshold=stock.low_stock_threshold if stock else 0,
            reason="Initial stock",
            actor_user_id=actor_id,
        )

    async def add(
        self,
        session: AsyncSession,
        repo: CatalogRepository,
        product: Product,
        data: VariantCreate,
        actor_id: int | None,
        *,
        first: bool,
        field: str = "",
    ) -> ProductVariant:
        """Add a variant to the product (the caller refreshes the product's price range)."""
        prefix = f"{field}." if field else ""
        price = to_minor_units(data.price, product.currency, f"{prefix}price")
        compare_at = _compare_at_minor(data.compare_at_price, product.currency, f"{prefix}compare_at_price")
        pool = await self._pool_for(session, product, data, actor_id, prefix)
        variant = ProductVariant(
            product_id=product.id,
            sku=data.sku,
            name=data.name or data.sku,
            options=dict(data.options),
            price_minor=price,
            compare_at_minor=compare_at,
            is_active=data.is_active,
            is_default=data.is_default or first,
            position=data.position,
            pool_id=pool.id,
            draw_per_unit=data.draw_per_unit,
            weight_grams=data.weight_grams,
        )
        session.add(variant)
        await flush_unique(session, CatalogError.SKU_TAKEN, SKU_TAKEN)
        if variant.is_default and not first:
            await repo.clear_default(product.id, keep_id=variant.id)
        return variant

    async def create(
        self, session: AsyncSession, product_id: int, data: VariantCreate, actor_id: int | None
    ) -> VariantRead:
        repo = CatalogRepository(session)
        product = await product_or_not_found(repo, product_id)
        if await repo.sku_taken(data.sku):
            raise Conflict(SKU_TAKEN, code=CatalogError.SKU_TAKEN)
        first = not await repo.has_variants(product.id)
        variant = await self.add(session, repo, product, data, actor_id, first=first)
        await repo.refresh_price_range(product.id)
        return await self._read(repo, variant.id, product.currency)

    async def _read(self, repo: CatalogRepository, variant_id: int, currency: str) -> VariantRead:
        found = await repo.variant_with_pool(variant_id)
        if found is None:
            raise NotFound("Variant not found.", code=CatalogError.VARIANT_NOT_FOUND)
        return variant_read(found[0], found[1], currency)

    async def _variant(self, repo: CatalogRepository, variant_id: int) -> ProductVariant:
        found = await repo.variant_with_pool(variant_id)
        if found is None:
            raise NotFound("Variant not found.", code=CatalogError.VARIANT_NOT_FOUND)
        return found[0]

    async def update(self, session: AsyncSession, variant_id: int, data: VariantUpdate) -> VariantRead:
        """Full replacement. A product always keeps one default variant: ``is_default: true`` moves the
        default here; ``false`` on the current default changes nothing (make another the default)."""
        repo = CatalogRepository(session)
        variant = await self._variant(repo, variant_id)
        product = await product_or_not_found(repo, variant.product_id)
        if data.sku != variant.sku and await repo.sku_taken(data.sku, exclude_id=variant.id):
            raise Conflict(SKU_TAKEN, code=CatalogError.SKU_TAKEN)
        if data.pool_id is not None and data.pool_id != variant.pool_id:
            if await inventory.pool(session, data.pool_id) is None:
                raise _unknown_pool("pool_id")
            variant.pool_id = data.pool_id
        _replace_fields(variant, data, product.currency)
        if data.is_default and not variant.is_default:
            variant.is_default = True
            await flush_unique(session, CatalogError.SKU_TAKEN, SKU_TAKEN)
            await repo.clear_default(product.id, keep_id=variant.id)
        await flush_unique(session, CatalogError.SKU_TAKEN, SKU_TAKEN)
        await repo.refresh_price_range(product.id)
        return await self._read(repo, variant.id, product.currency)

    async def delete(self, session: AsyncSession, variant_id: int) -> Literal["deleted", "deactivated"]:
        """Delete a variant (and its own pool when nothing else draws from it); a variant referenced by
        sales is deactivated instead (see ``Catalog.delete_product``). Its images stay with the product
        (their ``variant_id`` is set to null), so no file is removed."""
        repo = CatalogRepository(session)
        variant = await self._variant(repo, variant_id)
        product_id, pool_id, was_default = variant.product_id, variant.pool_id, variant.is_default
        outcome: Literal["deleted", "deactivated"] = "deleted"
        try:
            async with session.begin_nested():
                await repo.delete_variant(variant.id)
                await inventory.drop_unused_pools(session, [pool_id])
        except IntegrityError:
            variant.is_active = False
            await session.flush()
            outcome = "deactivated"
        else:
            session.expunge(variant)
            if was_default:
                await self._pass_default_on(session, repo, product_id)
        await repo.refresh_price_range(product_id)
        return outcome

    async def _pass_default_on(self, session: AsyncSession, repo: CatalogRepository, product_id: int) -> None:
        """The default variant went: the first remaining one (active ones first) takes its place."""
        successor = await repo.first_variant(product_id)
        if successor is not None:
            successor.is_default = True
            await session.flush()


def _replace_fields(variant: ProductVariant, data: VariantUpdate, currency: str) -> None:
    """Every field a full replacement sets, prices in minor units (the pool and the default aside)."""
    variant.price_minor = to_minor_units(data.price, currency, "price")
    variant.compare_at_minor = _compare_at_minor(data.compare_at_price, currency, "compare_at_price")
    variant.sku = data.sku
    variant.name = data.name or data.sku
    variant.options = dict(data.options)
    variant.is_active = data.is_active
    variant.position = data.position
    variant.draw_per_unit = data.draw_per_unit
    variant.weight_grams = data.weight_grams


variant_editor = VariantEditor()
