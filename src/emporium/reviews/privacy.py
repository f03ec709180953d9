"""A customer's reviews and votes in their data export; at erasure, kept without their name (shown as
"A customer"), so every summary and vote count stays what it was."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.accounts.models import User
from emporium.reviews.repository import ReviewRepository


async def export_reviews(session: AsyncSession, user: User) -> dict[str, Any]:
    repo = ReviewRepository(session)
    return {
        "reviews": [
            {
                "id": r.id,
                "product_id": r.product_id,
                "rating": r.rating,
                "title": r.title,
                "body": r.body,
                "status": r.status,
                "verified_purchase": r.verified_purchase,
                "created_at": r.created_at.isoformat(),
                "updated_at": r.updated_at.isoformat(),
            }
            for r in await repo.reviews_of(user.id)
        ],
        "votes": [
            {"review_id": v.review_id, "helpful": v.helpful, "created_at": v.created_at.isoformat()}
            for v in await repo.votes_of(user.id)
        ],
    }


async def erase_reviews(session: AsyncSession, user: User) -> None:
    await ReviewRepository(session).anonymise(user.id)
