"""CSV import and export of products and variants: one row per variant, products repeated by slug.

Import is all or nothing: every row is checked first and the report names each bad row and column; only a
file without errors is written, in one transaction. A dry run checks and counts, and writes nothing.
Rows that share a ``pool_key`` share one stock pool (the sweet shop's boxes drawing grams from one pool).
The rows themselves are read and checked in ``rows.py``; the export's text is written by ``export.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.catalog.csv.export import export_rows
from emporium.catalog.csv.repository import CsvRepository
from emporium.catalog.csv.rows import CsvRow, ImportReport, ParsedRow, RowError, read_rows, slugify, validate
from emporium.catalog.models import Brand, Category, Product, ProductStatus, ProductVariant
from emporium.catalog.repository import CatalogRepository
from emporium.catalog.sanitize import sanitize_description
from emporium.core.money import to_minor
from emporium.inventory.models import StockPool
from emporium.inventory.service import BelowReserved, inventory

Progress = Callable[[int], None]


@dataclass
class _Known:
    """What the database already holds of the file's rows, keyed as the rows name it; the write adds to it."""

    categories: dict[str, Category]  # by slug
    brands: dict[str, Brand]  # by lower-case name
    products: dict[str, Product]  # by slug
    variants: dict[str, ProductVariant]  # by upper-case SKU
    pools: dict[int, StockPool]  # of the known variants, by id


async def import_catalog(
    session: AsyncSession,
    text: str,
    *,
    currency: str,
    dry_run: bool,
    actor_user_id: int | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Check every row; unless a dry run or any row is bad, write them all in the caller's transaction."""
    report = ImportReport(dry_run=dry_run)
    rows = read_rows(text, report)
    report.rows = len(rows)
    parsed = validate(rows, currency, report)
    if report.errors:
        return report
    known = await _known(session, parsed)
    report.errors += _conflicts(parsed, known)
    if report.errors:
        return report
    _count(report, parsed, known)
    if dry_run:
        return report
    try:
        async with session.begin_nested():  # a failure below leaves nothing half-imported
            await _write(session, parsed, currency, known, actor_user_id, progress)
    except _RowRefused as refused:
        report.errors.append(refused.error)
    return report


async def _known(session: AsyncSession, parsed: list[ParsedRow]) -> _Known:
    repo = CsvRepository(session)
    variants = {v.sku.upper(): v for v in await repo.variants_by_sku([p.row.sku for p in parsed])}
    return _Known(
        categories={c.slug: c for c in await repo.categories()},
        brands={b.name.lower(): b for b in await repo.brands()},
        products={p.slug: p for p in await repo.products_by_slug({p.row.product_slug for p in parsed})},
        variants=variants,
        pools=await inventory.pools_of(session, [v.pool_id for v in variants.values()]),
    )


def _conflicts(parsed: list[ParsedRow], known: _Known) -> list[RowError]:
    """Rows that only the database can refuse: an unknown category, a SKU of another product, a new
    product that no row names."""
    named = {p.row.product_slug for p in parsed if p.row.product_name}
    errors: list[RowError] = []
    for item in parsed:
        row = item.row
        if row.category_slug and row.category_slug not in known.categories:
            errors.append(RowError(item.row_number, "category_slug", f"no category {row.category_slug!r}"))
        existing = known.variants.get(row.sku.upper())
        product = known.products.get(row.product_slug)
        if existing is not None and (product is None or existing.product_id != product.id):
            errors.append(RowError(item.row_number, "sku", "this SKU belongs to another product"))
        if product is None and row.product_slug not in named:
            errors.append(RowError(item.row_number, "product_name", "a new product needs a name"))
        if existing is not None and not row.pool_key:
            errors += _pool_conflicts(item, known.pools[existing.pool_id])
    return errors


def _pool_conflicts(item: ParsedRow, pool: StockPool) -> list[RowError]:
    """What the variant's own pool refuses: another unit, a count below what orders hold."""
    errors: list[RowError] = []
    row = item.row
    if row.stock_unit and row.stock_unit != pool.unit:
        errors.append(RowError(item.row_number, "stock_unit", f"the stock pool counts in {pool.unit!r}"))
    if row.on_hand is not None and row.on_hand < pool.reserved:
        message = f"{pool.reserved} are reserved by orders; on_hand cannot be lower"
        errors.append(RowError(item.row_number, "on_hand", message))
    return errors


def _count(report: ImportReport, parsed: list[ParsedRow], known: _Known) -> None:
    slugs = {p.row.product_slug for p in parsed}
    report.products_created = len(slugs - known.products.keys())
    report.products_updated = len(slugs & known.products.keys())
    report.variants_created = sum(1 for p in parsed if p.row.sku.upper() not in known.variants)
    report.variants_updated = len(parsed) - report.variants_created


async def _write(
    session: AsyncSession,
    parsed: list[ParsedRow],
    currency: str,
    known: _Known,
    actor_user_id: int | None,
    progress: Progress | None,
) -> None:
    pools: dict[str, StockPool] = {}
    touched: dict[int, Product] = {}
    for item in parsed:
        row = item.row
        product = known.products.get(row.product_slug)
        if product is None:
            product = Product(
                slug=row.product_slug,
                name=row.product_name or row.product_slug,
                currency=currency,
                status=ProductStatus.DRAFT,
                description_html="",
            )
            session.add(product)
            known.products[row.product_slug] = product
        await _apply_product_fields(session, product, row, known)
        await session.flush()
        if row.tags is not None:
            await CatalogRepository(session).replace_tags(product.id, row.tag_list())
        variant = known.variants.get(row.sku.upper())
        pool = await _pool_for(session, row, product, variant, pools, actor_user_id, item.row_number)
        if variant is None:
            variant = ProductVariant(product_id=product.id, sku=row.sku, pool_id=pool.id, options={})
            session.add(variant)
            known.variants[row.sku.upper()] = variant
        _apply_variant_fields(variant, item, product, pool, currency)
        touched[product.id] = product
        if progress is not None:
            progress(1)
    await session.flush()
    for product in touched.values():
        await _refresh_product(session, product)


async def _apply_product_fields(session: AsyncSession, product: Product, row: CsvRow, known: _Known) -> None:
    if row.product_name:
        product.name = row.product_name
    if row.description is not None:
        product.description_html = sanitize_description(row.description, row.description_format)
    if row.category_slug:
        product.category_id = known.categories[row.category_slug].id
    if row.brand:
        product.brand_id = (await _brand(session, row.brand, known)).id
    if row.status:
        product.status = row.status
    if row.featured is not None:
        product.is_featured = row.featured
    if row.seo_title is not None:
        product.seo_title = row.seo_title
    if row.seo_description is not None:
        product.seo_description = row.seo_description


async def _brand(session: AsyncSession, name: str, known: _Known) -> Brand:
    """The brand of this name (any case), made when the shop has none yet."""
    brand = known.brands.get(name.lower())
    if brand is None:
        brand = Brand(name=name, slug=slugify(name) or "brand")
        session.add(brand)
        await session.flush()
        known.brands[name.lower()] = brand
    return brand


def _apply_variant_fields(
    variant: ProductVariant, item: ParsedRow, product: Product, pool: StockPool, currency: str
) -> None:
    row = item.row
    variant.name = row.variant_name or variant.name or product.name
    variant.options = item.options or variant.options or {}
    variant.price_minor = to_minor(row.price, currency)
    variant.compare_at_minor = to_minor(row.compare_at_price, currency) if row.compare_at_price else None
    variant.draw_per_unit = row.draw_per_unit
    variant.weight_grams = row.weight_grams
    variant.pool_id = pool.id
    if row.is_default is not None:
        variant.is_default = row.is_default


class _RowRefused(Exception):
    """A row that only the database state can refuse (stock below what is reserved): undo the import."""

    def __init__(self, row: int, column: str, message: str) -> None:
        super().__init__(message)
        self.error = RowError(row, column, message)


async def _pool_for(
    session: AsyncSession,
    row: CsvRow,
    product: Product,
    variant: ProductVariant | None,
    pools: dict[str, StockPool],
    actor_user_id: int | None,
    row_number: int,
) -> StockPool:
    """The row's stock pool: shared by ``pool_key`` within the file, else the variant's own, else a new one.
    The first row of a pool in the file sets its count."""
    key = f"key:{row.pool_key}" if row.pool_key else f"sku:{row.sku.upper()}"
    pool = pools.get(key)
    if pool is None and variant is not None:
        pool = await inventory.pool(session, variant.pool_id)
    if pool is None:
        pool = await inventory.open_pool(
            session,
            name=product.name,
            unit=row.stock_unit or "pc",
            on_hand=row.on_hand or 0,
            low_stock_threshold=row.low_stock_threshold or 0,
            reason="CSV import",
            actor_user_id=actor_user_id,
        )
    if row.stock_unit and pool.unit != row.stock_unit:
        raise _RowRefused(row_number, "stock_unit", f"the stock pool counts in {pool.unit!r}")
    if row.low_stock_threshold is not None:
        pool.low_stock_threshold = row.low_stock_threshold
    if row.on_hand is not None and row.on_hand != pool.on_hand and key not in pools:
        try:
            inventory.recount(session, pool, row.on_hand, reason="CSV import", actor_user_id=actor_user_id)
        except BelowReserved as refused:
            raise _RowRefused(row_number, "on_hand", refused.message) from refused
    pools[key] = pool
    return pool


async def _refresh_product(session: AsyncSession, product: Product) -> None:
    """Keep the product's price range and its single default variant true after the import."""
    rows = await CsvRepository(session).variants_of(product.id)
    active = [v for v in rows if v.is_active] or rows
    product.price_min_minor = min((v.price_minor for v in active), default=None)
    product.price_max_minor = max((v.price_minor for v in active), default=None)
    defaults = [v for v in rows if v.is_default]
    for extra in defaults[1:]:
        extra.is_default = False
    if rows and not defaults:
        rows[0].is_default = True


async def load_export(session: AsyncSession) -> Iterator[str]:
    """Read the whole catalog in a fixed number of queries and return the CSV lines."""
    repo = CsvRepository(session)
    products = await repo.all_products()
    variants: dict[int, list[ProductVariant]] = {}
    for v in await repo.all_variants():
        variants.setdefault(v.product_id, []).append(v)
    pools = await inventory.pools_by_id(session)
    categories = {c.id: c.slug for c in await repo.categories()}
    brands = {b.id: b.name for b in await repo.brands()}
    tags: dict[int, list[str]] = {}
    for t in await repo.all_tags():
        tags.setdefault(t.product_id, []).append(t.tag)
    return export_rows(products, variants, pools, categories, brands, tags)
