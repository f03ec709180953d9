"""The catalog export of one product filter, streamed: products a batch at a time in id order, each batch
with its variants, tags and pools read in a fixed number of statements, so memory stays flat for any size."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.catalog.csv.export import export_rows
from emporium.catalog.csv.export_repository import ExportRepository
from emporium.catalog.csv.repository import CsvRepository
from emporium.catalog.models import ProductVariant
from emporium.catalog.schemas import StaffProductFilters
from emporium.catalog.staff_list_repository import StaffListRepository

BATCH = 500


async def _batch_lines(
    repo: ExportRepository, ids: list[int], categories: dict[int, str], brands: dict[int, str]
) -> Iterator[str]:
    """The CSV lines of one batch of products (the header first), read in a fixed number of statements."""
    products = await repo.products(ids) if ids else []
    variants: dict[int, list[ProductVariant]] = {}
    tags: dict[int, list[str]] = {}
    if ids:
        for v in await repo.variants_of(ids):
            variants.setdefault(v.product_id, []).append(v)
        for t in await repo.tags_of(ids):
            tags.setdefault(t.product_id, []).append(t.tag)
    pool_ids = {v.pool_id for group in variants.values() for v in group}
    pools = {p.id: p for p in await repo.pools(pool_ids)} if pool_ids else {}
    shared = await repo.shared_pools(pool_ids) if pool_ids else set()
    return export_rows(products, variants, pools, categories, brands, tags, shared=shared)


async def stream_export(session: AsyncSession, filters: StaffProductFilters) -> AsyncIterator[str]:
    """CSV text in the import's format: the header, then a row per variant of every product the back
    office's product list shows for ``filters`` (the same conditions, so "export this filter" is the list)."""
    repo = ExportRepository(session)
    listing = StaffListRepository(session)
    csv_repo = CsvRepository(session)
    categories = {c.id: c.slug for c in await csv_repo.categories()}
    brands = {b.id: b.name for b in await csv_repo.brands()}
    after = 0
    header = True
    while True:
        ids = await listing.ids_after(filters, after, BATCH)
        lines = await _batch_lines(repo, ids, categories, brands)
        first = next(lines)
        if header:
            yield first
            header = False
        chunk = "".join(lines)
        if chunk:
            yield chunk
        if len(ids) < BATCH:
            return
        after = ids[-1]
