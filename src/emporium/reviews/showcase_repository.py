"""The one statement of the product page's first look at a product's reviews (reviews/showcase.py)."""

from __future__ import annotations

from sqlalchemy import select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from emporium.reviews.models import ProductRating, Review, ReviewStatus

STARS = (1, 2, 3, 4, 5)


class ShowcaseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def newest_with_stars(self, product_id: int, limit: int) -> tuple[dict[int, int], list[Review]]:
        """The product's per-star counts and its ``limit`` newest approved reviews, in one statement: the
        summary row outer-joined to the page, so the counts come back even when no review is shown. A
        product without a summary row has never had an approved review: zero counts, no reviews."""
        shown = (
            select(Review)
            .where(Review.product_id == product_id, Review.status == ReviewStatus.APPROVED)
            .order_by(Review.created_at.desc(), Review.id.desc())
            .limit(limit)
            .subquery()
        )
        review = aliased(Review, shown)
        statement = (
            select(ProductRating, review)
            .outerjoin(review, true())
            .where(ProductRating.product_id == product_id)
            .order_by(shown.c.created_at.desc(), shown.c.id.desc())
        )
        rows = (await self.session.execute(statement)).all()
        if not rows:
            return dict.fromkeys(STARS, 0), []
        summary: ProductRating = rows[0][0]
        stars = {n: int(getattr(summary, f"stars_{n}") or 0) for n in STARS}
        return stars, [row[1] for row in rows if row[1] is not None]
