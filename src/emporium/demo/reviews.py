"""Demo reviews: a few customers' approved reviews of some curated products, so product pages, cards and
the rating facet show real ratings.

Written through the reviews service and approved through its moderation, exactly as a shopper and a
moderator would, so every product's rating summary (per star, count and average) is what a recompute
gives. Loaded once (the ``demo:reviews`` seed); products missing from the shop are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.accounts.models import User
from emporium.accounts.service import auth
from emporium.audit.schemas import Actor
from emporium.catalog.models import Product
from emporium.core.context import AppContext
from emporium.reviews.moderation import moderation
from emporium.reviews.schemas import Moderation, ReviewCreate
from emporium.reviews.service import reviews

# Published on purpose, like the demo customer's: demo shops only.
DEMO_REVIEWER_PASSWORD = "demo-reviewer-pass"  # noqa: S105
# The demo's own moderator, as the audit log names it.
DEMO_MODERATOR = Actor(user_id=None, email="demo-data@demo.emporium.localhost")


@dataclass(frozen=True)
class DemoReview:
    product_slug: str
    reviewer: int  # index into REVIEWERS
    rating: int
    title: str
    body: str


REVIEWERS = (
    ("amara@demo.emporium.localhost", "Amara", "Okafor"),
    ("jonas@demo.emporium.localhost", "Jonas", "Berg"),
    ("priya@demo.emporium.localhost", "Priya", "Raman"),
    ("lucia@demo.emporium.localhost", "Lucia", "Moreno"),
)

DEMO_REVIEWS = (
    DemoReview(
        "classic-crew-t-shirt",
        0,
        5,
        "My everyday shirt",
        "Soft, holds its shape after many washes. Bought two more.",
    ),
    DemoReview(
        "classic-crew-t-shirt", 1, 4, "Good fit", "True to size. The navy fades a little after a month."
    ),
    DemoReview("classic-crew-t-shirt", 2, 5, "Great value", "Thicker cotton than I expected for the price."),
    DemoReview(
        "wireless-over-ear-headphones",
        1,
        5,
        "Comfortable for long flights",
        "The battery lasted a whole trip to Singapore and back.\nThe case is sturdy too.",
    ),
    DemoReview(
        "wireless-over-ear-headphones", 3, 4, "Clear sound", "Bass is a little light, but calls sound great."
    ),
    DemoReview(
        "gulab-jamun", 2, 5, "Just like home", "Soft and not too sweet. The 1 kg box went in a weekend."
    ),
    DemoReview(
        "gulab-jamun", 0, 4, "Lovely for a party", "Arrived well packed. I warmed them before serving."
    ),
    DemoReview("gulab-jamun", 3, 5, "Perfect", "Ordered for Diwali; everybody asked where they came from."),
    DemoReview("cast-iron-skillet", 3, 5, "Sears beautifully", "Heavy, as it should be. Came well seasoned."),
    DemoReview(
        "cast-iron-skillet", 1, 3, "Good pan, rough handle", "Cooks well, but the handle edge is sharp."
    ),
    DemoReview(
        "the-lighthouse-keeper", 0, 4, "A quiet, lovely novel", "Slow to start, then I could not put it down."
    ),
    DemoReview(
        "cork-yoga-mat", 2, 2, "Slippery when new", "Grips better after a few weeks, smells of cork at first."
    ),
)


async def _reviewer(session: AsyncSession, ctx: AppContext, email: str, first: str, last: str) -> int:
    found = (await session.execute(select(User.id).where(User.email == email))).scalar_one_or_none()
    if found is not None:
        return found
    user = await auth.create_user(
        session,
        ctx,
        email=email,
        password=DEMO_REVIEWER_PASSWORD,
        role="customer",
        first_name=first,
        last_name=last,
    )
    return user.id


async def load_demo_reviews(session: AsyncSession, ctx: AppContext) -> int:
    """The demo reviewers and their reviews, approved; how many reviews were written."""
    reviewer_ids = [await _reviewer(session, ctx, *reviewer) for reviewer in REVIEWERS]
    slugs = sorted({review.product_slug for review in DEMO_REVIEWS})
    rows = await session.execute(select(Product.slug, Product.id).where(Product.slug.in_(slugs)))
    product_ids = {slug: product_id for slug, product_id in rows.all()}
    written: list[int] = []
    for planned in DEMO_REVIEWS:
        product_id = product_ids.get(planned.product_slug)
        if product_id is None:
            continue
        data = ReviewCreate(rating=planned.rating, title=planned.title, body=planned.body)
        review = await reviews.write(
            session, ctx.settings, reviewer_ids[planned.reviewer], product_id, data, client_address=None
        )
        written.append(review.id)
    if written:
        await moderation.moderate_many(session, DEMO_MODERATOR, written, Moderation(action="approve"))
    return len(written)
