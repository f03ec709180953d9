"""The product page's first look at a product's reviews: the newest approved ones with the per-star
summary, answered as ``reviews.page_for_product`` answers page 1 of the newest, in one statement instead of
three, so the product page keeps its statement budget. The summary's counts are those of the approved
reviews (reviews/summary.py keeps them so), so the page count needs no count of its own.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.responses import Pagination
from emporium.reviews.schemas import ReviewPage
from emporium.reviews.service import review_read, summary_read
from emporium.reviews.showcase_repository import ShowcaseRepository


class Showcase:
    async def first_page(
        self, session: AsyncSession, product_id: int, *, viewer_id: int | None, limit: int = 10
    ) -> ReviewPage:
        stars, rows = await ShowcaseRepository(session).newest_with_stars(product_id, limit)
        count = sum(stars.values())
        return ReviewPage(
            items=[review_read(row, viewer_id) for row in rows],
            pagination=Pagination.of(1, limit, count),
            summary=summary_read(count, stars),
        )


showcase = Showcase()
