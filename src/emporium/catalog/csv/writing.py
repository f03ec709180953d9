"""Writing a checked catalog file: rows a chunk at a time, each chunk in a few batched statements.

Per chunk: the products (new ones inserted together, changed ones updated together), their tags, the stock
pools (new ones opened together, counts set on existing ones with their adjustments recorded), then the
variants. A row costs no statement of its own, so a 10,000-row file is a few hundred statements, not tens of
thousands. Afterwards each touched product's price range and single default variant are made true again,
reading their variants a thousand products at a time. The caller runs it all in one savepoint: a row the
database refuses (stock now below what orders hold) undoes the whole import.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from emporium.catalog.csv.repository import CsvRepository
from emporium.catalog.csv.rows import CsvRow, ParsedRow, RowError, slugify
from emporium.catalog.models import Brand, Category, Product, ProductStatus, ProductVariant
from emporium.catalog.repository import CatalogRepository
from emporium.catalog.sanitize import sanitize_description
from emporium.core.money import to_minor
from emporium.inventory.hooks import stock_changed
from emporium.inventory.models import StockPool
from emporium.inventory.service import BelowReserved, NewPool, inventory

CHUNK = 500
REFRESH_BATCH = 1000
REASON = "CSV import"
Progress = Callable[[int], None]


@dataclass
class Known:
    """What the database already holds of the file's rows, keyed as the rows name it; the write adds to it."""

    categories: dict[str, Category]  # by slug
    brands: dict[str, Brand]  # by lower-case name
    products: dict[str, Product]  # by slug
    variants: dict[str, ProductVariant]  # by upper-case SKU
    pools: dict[int, StockPool]  # of the known variants, by id


class RowRefused(Exception):
    """A row that only the database state can refuse (stock below what is reserved): undo the import."""

    def __init__(self, row: int, column: str, message: str) -> None:
        super().__init__(message)
        self.error = RowError(row, column, message)


@dataclass
class _Run:
    session: AsyncSession
    currency: str
    known: Known
    actor_user_id: int | None
    pools: dict[str, StockPool] = field(default_factory=dict)  # by the file's pool key
    touched: dict[int, Product] = field(default_factory=dict)


async def write_rows(
    session: AsyncSession,
    parsed: list[ParsedRow],
    currency: str,
    known: Known,
    actor_user_id: int | None,
    progress: Progress | None,
) -> None:
    run = _Run(session, currency, known, actor_user_id)
    for start in range(0, len(parsed), CHUNK):
        chunk = parsed[start : start + CHUNK]
        await _products(run, chunk)
        await _tags(run, chunk)
        pools = await _pools(run, chunk)
        _variants(run, chunk, pools)
        await session.flush()
        # Counts and thresholds set above (through the ORM): the stock hooks see them, as for any change.
        await stock_changed(session, [pool.id for pool in pools])
        if progress is not None:
            progress(len(chunk))
    await _refresh_products(session, list(run.touched.values()))


async def _products(run: _Run, chunk: Sequence[ParsedRow]) -> None:
    for item in chunk:
        row = item.row
        product = run.known.products.get(row.product_slug)
        if product is None:
            product = Product(
                slug=row.product_slug,
                name=row.product_name or row.product_slug,
                currency=run.currency,
                status=ProductStatus.DRAFT,
                description_html="",
            )
            run.session.add(product)
            run.known.products[row.product_slug] = product
        await _apply_product_fields(run, product, row)
    await run.session.flush()
    for item in chunk:
        product = run.known.products[item.row.product_slug]
        run.touched[product.id] = product


async def _apply_product_fields(run: _Run, product: Product, row: CsvRow) -> None:
    if row.product_name:
        product.name = row.product_name
    if row.description is not None:
        product.description_html = sanitize_description(row.description, row.description_format)
    if row.category_slug:
        product.category_id = run.known.categories[row.category_slug].id
    if row.brand:
        product.brand_id = (await _brand(run, row.brand)).id
    if row.status:
        product.status = row.status
    if row.featured is not None:
        product.is_featured = row.featured
    if row.seo_title is not None:
        product.seo_title = row.seo_title
    if row.seo_description is not None:
        product.seo_description = row.seo_description


async def _brand(run: _Run, name: str) -> Brand:
    """The brand of this name (any case), made when the shop has none yet."""
    brand = run.known.brands.get(name.lower())
    if brand is None:
        brand = Brand(name=name, slug=slugify(name) or "brand")
        run.session.add(brand)
        await run.session.flush()
        run.known.brands[name.lower()] = brand
    return brand


async def _tags(run: _Run, chunk: Sequence[ParsedRow]) -> None:
    """The tags of the products whose rows give them (the last such row of the chunk wins)."""
    given = {
        run.known.products[item.row.product_slug].id: item.row.tag_list()
        for item in chunk
        if item.row.tags is not None
    }
    if given:
        await CatalogRepository(run.session).replace_tags_of(given)


def _pool_key(row: CsvRow) -> str:
    return f"key:{row.pool_key}" if row.pool_key else f"sku:{row.sku.upper()}"


async def _pools(run: _Run, chunk: Sequence[ParsedRow]) -> list[StockPool]:
    """Each row's stock pool: shared by ``pool_key`` within the file, else the variant's own, else a new one
    (opened together with the chunk's other new pools). The first row of a pool in the file sets its count."""
    opening: dict[str, NewPool] = {}
    for item in chunk:
        key = _pool_key(item.row)
        if key in run.pools or key in opening:
            continue
        pool = await _existing_pool(run, item.row)
        if pool is None:
            opening[key] = _new_pool(run, item.row)
            continue
        _recount(run, pool, item)
        run.pools[key] = pool
    if opening:
        opened = await inventory.open_pools(
            run.session, list(opening.values()), reason=REASON, actor_user_id=run.actor_user_id
        )
        run.pools.update(zip(opening, opened, strict=True))
    return [_checked_pool(run.pools[_pool_key(item.row)], item) for item in chunk]


async def _existing_pool(run: _Run, row: CsvRow) -> StockPool | None:
    """The pool of the variant the row names, when the shop has that variant."""
    variant = run.known.variants.get(row.sku.upper())
    if variant is None:
        return None
    return run.known.pools.get(variant.pool_id) or await inventory.pool(run.session, variant.pool_id)


def _new_pool(run: _Run, row: CsvRow) -> NewPool:
    product = run.known.products[row.product_slug]
    return NewPool(product.name, row.stock_unit or "pc", row.on_hand or 0, row.low_stock_threshold or 0)


def _checked_pool(pool: StockPool, item: ParsedRow) -> StockPool:
    """The row's pool, refused when the row counts in another unit; the row's threshold applied."""
    row = item.row
    if row.stock_unit and pool.unit != row.stock_unit:
        raise RowRefused(item.row_number, "stock_unit", f"the stock pool counts in {pool.unit!r}")
    if row.low_stock_threshold is not None:
        pool.low_stock_threshold = row.low_stock_threshold
    return pool


def _recount(run: _Run, pool: StockPool, item: ParsedRow) -> None:
    on_hand = item.row.on_hand
    if on_hand is None or on_hand == pool.on_hand:
        return
    try:
        inventory.recount(run.session, pool, on_hand, reason=REASON, actor_user_id=run.actor_user_id)
    except BelowReserved as refused:
        raise RowRefused(item.row_number, "on_hand", refused.message) from refused


def _variants(run: _Run, chunk: Sequence[ParsedRow], pools: list[StockPool]) -> None:
    for item, pool in zip(chunk, pools, strict=True):
        row = item.row
        product = run.known.products[row.product_slug]
        variant = run.known.variants.get(row.sku.upper())
        if variant is None:
            variant = ProductVariant(product_id=product.id, sku=row.sku, pool_id=pool.id, options={})
            run.session.add(variant)
            run.known.variants[row.sku.upper()] = variant
        variant.name = row.variant_name or variant.name or product.name
        variant.options = item.options or variant.options or {}
        variant.price_minor = to_minor(row.price, run.currency)
        variant.compare_at_minor = (
            to_minor(row.compare_at_price, run.currency) if row.compare_at_price else None
        )
        variant.draw_per_unit = row.draw_per_unit
        variant.weight_grams = row.weight_grams
        variant.pool_id = pool.id
        if row.is_default is not None:
            variant.is_default = row.is_default


async def _refresh_products(session: AsyncSession, products: list[Product]) -> None:
    """Keep each product's price range and its single default variant true after the import; the ranges
    go in one batched UPDATE per thousand products."""
    repo = CsvRepository(session)
    for start in range(0, len(products), REFRESH_BATCH):
        batch = products[start : start + REFRESH_BATCH]
        variants: dict[int, list[ProductVariant]] = {}
        for v in await repo.variants_of_products([p.id for p in batch]):
            variants.setdefault(v.product_id, []).append(v)
        ranges: list[tuple[int, int | None, int | None]] = []
        for product in batch:
            rows = variants.get(product.id, [])
            changed = _price_range(product, rows)
            if changed is not None:
                ranges.append(changed)
            _one_default(rows)
        await repo.set_price_ranges(ranges)
        await session.flush()


def _price_range(product: Product, rows: list[ProductVariant]) -> tuple[int, int | None, int | None] | None:
    """The product's new (id, lowest, highest) price when it changed, else None."""
    active = [v for v in rows if v.is_active] or rows
    low = min((v.price_minor for v in active), default=None)
    high = max((v.price_minor for v in active), default=None)
    if (low, high) == (product.price_min_minor, product.price_max_minor):
        return None
    # The row is written by the caller's batched UPDATE; the object in the session says the same without
    # a flush.
    set_committed_value(product, "price_min_minor", low)
    set_committed_value(product, "price_max_minor", high)
    return product.id, low, high


def _one_default(rows: list[ProductVariant]) -> None:
    defaults = [v for v in rows if v.is_default]
    for extra in defaults[1:]:
        extra.is_default = False
    if rows and not defaults:
        rows[0].is_default = True
