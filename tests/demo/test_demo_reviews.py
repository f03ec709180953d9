"""The demo's reviews: approved reviews by demo customers on a few products, loaded once, with every
product's rating summary equal to a recompute from the reviews."""

from __future__ import annotations

from decimal import Decimal

import httpx
from sqlalchemy import func, select

from emporium.accounts.models import User
from emporium.catalog.models import Product
from emporium.core.context import AppContext
from emporium.demo.reviews import DEMO_REVIEWS, REVIEWERS
from emporium.demo.service import load_demo
from emporium.reviews import summary
from emporium.reviews.models import Review, ReviewStatus


async def test_the_demo_has_approved_reviews_whose_summaries_add_up(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await load_demo(ctx, images=False)
    assert await load_demo(ctx, images=False) is False  # loaded once
    async with ctx.db.session() as session:
        statuses = (await session.execute(select(Review.status, func.count()).group_by(Review.status))).all()
        assert dict(statuses) == {ReviewStatus.APPROVED: len(DEMO_REVIEWS)}
        reviewers = await session.execute(
            select(func.count()).select_from(User).where(User.email.in_([r[0] for r in REVIEWERS]))
        )
        assert reviewers.scalar_one() == len(REVIEWERS)
        # Every product's stored summary (per star, count, average) is what counting the reviews gives.
        report = await summary.recompute(session, fix=False)
        assert report.drifted == []
        tee = (
            await session.execute(select(Product).where(Product.slug == "classic-crew-t-shirt"))
        ).scalar_one()
        assert (tee.rating_count, tee.rating_average) == (3, Decimal("4.67"))
        rated = await session.execute(
            select(func.count()).select_from(Product).where(Product.rating_count > 0)
        )
        assert rated.scalar_one() == len({r.product_slug for r in DEMO_REVIEWS})
    page = (await client.get("/p/classic-crew-t-shirt")).text
    assert "Thicker cotton than I expected for the price." in page
    assert 'aria-label="Rated 4.7 out of 5"' in page
    listing = (await client.get("/search?q=skillet&rating=4")).text
    assert "/p/cast-iron-skillet" in listing
