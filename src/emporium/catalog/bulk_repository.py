"""The SQL of bulk edits: the products and variants of a batch, their new values in a few statements, and
the rows that follow a bulk edit run as a job."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Row, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.catalog.models import Category, Product, ProductBulkEdit, ProductVariant
from emporium.core.db import utcnow
from emporium.core.jobs.models import Job, JobStatus


class BulkRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def products(self, ids: Sequence[int]) -> Sequence[Row[int, str, str, bool, int | None, str, str]]:
        """(id, name, status, is_featured, category_id, currency, category_name) of each product, by id."""
        if not ids:
            return []
        result = await self.session.execute(
            select(
                Product.id,
                Product.name,
                Product.status,
                Product.is_featured,
                Product.category_id,
                Product.currency,
                Category.name.label("category_name"),
            )
            .outerjoin(Category, Category.id == Product.category_id)
            .where(Product.id.in_(ids))
            .order_by(Product.id)
        )
        return result.all()

    async def set_products(self, ids: Sequence[int], values: Mapping[str, Any]) -> None:
        if ids:
            await self.session.execute(
                update(Product)
                .where(Product.id.in_(ids))
                .values(**values, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )

    async def variants(self, product_ids: Sequence[int]) -> Sequence[Row[int, int, str, int, int | None]]:
        """(id, product_id, sku, price_minor, compare_at_minor) of every variant of the products."""
        if not product_ids:
            return []
        result = await self.session.execute(
            select(
                ProductVariant.id,
                ProductVariant.product_id,
                ProductVariant.sku,
                ProductVariant.price_minor,
                ProductVariant.compare_at_minor,
            )
            .where(ProductVariant.product_id.in_(product_ids))
            .order_by(ProductVariant.product_id, ProductVariant.position, ProductVariant.id)
        )
        return result.all()

    async def set_prices(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """``rows`` of {"id", "price_minor", "compare_at_minor"}: one UPDATE sent for them all."""
        if rows:
            await self.session.execute(update(ProductVariant), list(rows))

    async def refresh_price_ranges(self, product_ids: Sequence[int]) -> None:
        """Each product's ``price_min_minor``/``price_max_minor`` from its active variants, in one UPDATE."""
        if not product_ids:
            return
        active = (ProductVariant.product_id == Product.id) & ProductVariant.is_active.is_(True)
        await self.session.execute(
            update(Product)
            .where(Product.id.in_(product_ids))
            .values(
                price_min_minor=select(func.min(ProductVariant.price_minor)).where(active).scalar_subquery(),
                price_max_minor=select(func.max(ProductVariant.price_minor)).where(active).scalar_subquery(),
                updated_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        )

    # Bulk edits run as jobs -----------------------------------------------------------------------------

    def add_edit(self, edit: ProductBulkEdit) -> None:
        self.session.add(edit)

    async def edit(self, edit_id: int, *, lock: bool = False) -> ProductBulkEdit | None:
        query = select(ProductBulkEdit).where(ProductBulkEdit.id == edit_id)
        if lock:
            query = query.with_for_update()
        return await self.session.scalar(query.execution_options(populate_existing=True))

    async def job_stopped(self, job_id: int) -> tuple[bool, str | None]:
        """Whether the job has stopped for good (dead, or gone: discarded or purged), and its last error."""
        row = (await self.session.execute(select(Job.status, Job.last_error).where(Job.id == job_id))).first()
        if row is None:
            return True, None
        return row.status == JobStatus.DEAD, row.last_error
