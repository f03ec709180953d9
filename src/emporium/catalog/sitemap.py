"""What the sitemaps list of the catalog: its active products, by id, for crawlers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.catalog.sitemap_repository import SitemapRepository


@dataclass(frozen=True)
class SitemapEntry:
    id: int
    slug: str
    updated_at: datetime


class SitemapService:
    async def product_count(self, session: AsyncSession) -> int:
        """How many products are for sale."""
        return await SitemapRepository(session).active_product_count()

    async def product_id_at(self, session: AsyncSession, offset: int) -> int | None:
        """The id of the ``offset``-th product for sale by id (where a sitemap file starts), or None."""
        return await SitemapRepository(session).active_product_id_at(offset)

    async def products_from(self, session: AsyncSession, first_id: int, limit: int) -> list[SitemapEntry]:
        """Up to ``limit`` products for sale with ``id >= first_id``, by id (keyset paging)."""
        rows = await SitemapRepository(session).active_products_from(first_id, limit)
        return [SitemapEntry(row.id, row.slug, row.updated_at) for row in rows]


sitemap = SitemapService()
