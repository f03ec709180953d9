"""Moderators' decisions: approve, reject or mark as spam, one review or many, each audited in the same
transaction. The reviews are locked in id order and the summaries changed product by product in id order
(reviews/summary.py), so concurrent decisions never deadlock or lose a count."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.audit.schemas import Actor, AuditedObject
from emporium.audit.service import Change, audit
from emporium.core.db import utcnow
from emporium.core.responses import Pagination
from emporium.reviews import summary
from emporium.reviews.errors import ReviewNotFound
from emporium.reviews.models import Review, ReviewStatus
from emporium.reviews.repository import ReviewRepository
from emporium.reviews.schemas import (
    Moderation,
    ModerationAction,
    ReviewStaffRead,
    StaffPage,
)
from emporium.reviews.service import review_read

TARGET: dict[ModerationAction, ReviewStatus] = {
    "approve": ReviewStatus.APPROVED,
    "reject": ReviewStatus.REJECTED,
    "spam": ReviewStatus.SPAM,
}


def staff_read(review: Review, product_name: str, product_slug: str) -> ReviewStaffRead:
    return ReviewStaffRead(
        **review_read(review).model_dump(),
        user_id=review.user_id,
        held_reason=review.held_reason,
        report_count=review.report_count,
        moderation_note=review.moderation_note,
        moderated_at=review.moderated_at,
        product_name=product_name,
        product_slug=product_slug,
    )


class ModerationService:
    async def queue(
        self, session: AsyncSession, status: ReviewStatus | None, *, reported: bool, page: int, limit: int
    ) -> StaffPage:
        """Reviews in ``status`` (all when None), reported ones first, then oldest first."""
        rows, total = await ReviewRepository(session).queue(status, reported, limit, (page - 1) * limit)
        return StaffPage(
            items=[staff_read(r, name, slug) for r, name, slug in rows],
            pagination=Pagination.of(page, limit, total),
        )

    async def review(self, session: AsyncSession, review_id: int) -> ReviewStaffRead:
        repo = ReviewRepository(session)
        review = await repo.review(review_id)
        product = None if review is None else await repo.product_any(review.product_id)
        if review is None or product is None:
            raise ReviewNotFound()
        return staff_read(review, *product)

    async def moderate(
        self, session: AsyncSession, actor: Actor, review_id: int, data: Moderation
    ) -> ReviewStaffRead:
        decided = await self.moderate_many(session, actor, [review_id], data)
        if not decided:
            raise ReviewNotFound()
        return await self.review(session, review_id)

    async def moderate_many(
        self, session: AsyncSession, actor: Actor, review_ids: Sequence[int], data: Moderation
    ) -> list[int]:
        """Apply one decision to the reviews (those that exist); the ids decided."""
        repo = ReviewRepository(session)
        target = TARGET[data.action]
        now = utcnow()
        deltas: summary.Deltas = {}
        entries: list[tuple[str, AuditedObject, dict[str, Change] | None]] = []
        locked = await repo.reviews_locked(sorted(set(review_ids)))
        for review in locked:
            before_status, before = review.status, summary.counted(review)
            review.status = target
            review.held_reason = None
            review.moderation_note = data.note or None
            review.moderated_at = now
            review.moderated_by = actor.user_id
            if target is ReviewStatus.APPROVED and review.report_count:
                # The moderator has read the reports: they start again from none.
                review.report_count = 0
                await repo.clear_reports(review.id)
            summary.add_change(deltas, review.product_id, before, summary.counted(review))
            changes: dict[str, Change] = {"status": (before_status, target)}
            if data.note:
                changes["note"] = (None, data.note)
            label = f"{review.rating}★ {review.title}"[:120]
            entries.append((f"review.{data.action}", AuditedObject("review", review.id, label), changes))
        await session.flush()
        await summary.apply(session, deltas)
        if entries:
            await audit.record_many(session, actor, entries)
        return [r.id for r in locked]


moderation = ModerationService()
