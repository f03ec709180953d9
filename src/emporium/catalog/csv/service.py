"""CSV import and export of products and variants: one row per variant, products repeated by slug.

Import is all or nothing: every row is checked first and the report names each bad row and column; only a
file without errors is written, in one transaction. A dry run checks and counts, and writes nothing.
Rows that share a ``pool_key`` share one stock pool (the sweet shop's boxes drawing grams from one pool).
The rows themselves are read and checked in ``rows.py`` and written in batches by ``writing.py``; the
export's text is written by ``export.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.catalog.csv.export import export_rows
from emporium.catalog.csv.repository import CsvRepository
from emporium.catalog.csv.rows import ImportReport, ParsedRow, RowError, read_rows, validate
from emporium.catalog.csv.writing import Known, Progress, RowRefused, write_rows
from emporium.catalog.models import ProductVariant
from emporium.inventory.models import StockPool
from emporium.inventory.service import inventory


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
            await write_rows(session, parsed, currency, known, actor_user_id, progress)
    except RowRefused as refused:
        report.errors.append(refused.error)
    return report


async def _known(session: AsyncSession, parsed: list[ParsedRow]) -> Known:
    repo = CsvRepository(session)
    variants = {v.sku.upper(): v for v in await repo.variants_by_sku([p.row.sku for p in parsed])}
    return Known(
        categories={c.slug: c for c in await repo.categories()},
        brands={b.name.lower(): b for b in await repo.brands()},
        products={p.slug: p for p in await repo.products_by_slug({p.row.product_slug for p in parsed})},
        variants=variants,
        pools=await inventory.pools_of(session, [v.pool_id for v in variants.values()]),
    )


def _conflicts(parsed: list[ParsedRow], known: Known) -> list[RowError]:
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


def _count(report: ImportReport, parsed: list[ParsedRow], known: Known) -> None:
    slugs = {p.row.product_slug for p in parsed}
    report.products_created = len(slugs - known.products.keys())
    report.products_updated = len(slugs & known.products.keys())
    report.variants_created = sum(1 for p in parsed if p.row.sku.upper() not in known.variants)
    report.variants_updated = len(parsed) - report.variants_created


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
