"""Reviews as customers write, edit, delete, vote on and report them, and as the product page reads them.

Stateless; every method takes the session first and never commits. A change to what a product's summary
counts goes through ``summary.apply`` in the same transaction (reviews/summary.py). A review being changed
is read FOR UPDATE first (PostgreSQL; SQLite's writers are serialised already), so two concurrent changes
of one review cannot both apply their difference.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.config import Settings
from emporium.core.ratelimit import RateLimiter
from emporium.core.responses import Pagination
from emporium.orders.service import orders
from emporium.reviews import rules, summary
from emporium.reviews.config import ReviewSettings
from emporium.reviews.errors import (
    OwnReviewReport,
    OwnReviewVote,
    ProductNotFound,
    ReviewExists,
    ReviewNotAllowed,
    ReviewNotFound,
    ReviewRateLimited,
)
from emporium.reviews.models import Review, ReviewStatus, ReviewVote
from emporium.reviews.repository import ReviewRepository, average_of
from emporium.reviews.schemas import (
    ANONYMOUS_AUTHOR,
    Eligibility,
    RatingSummaryRead,
    ReviewCreate,
    ReviewPage,
    ReviewRead,
    ReviewSort,
    ReviewUpdate,
    VoteCounts,
)

SIGN_IN = "Sign in to write a review"
BUYERS_ONLY = "Only customers who bought this product can review it"
ALREADY = "You have reviewed this product"


def review_read(review: Review, viewer_id: int | None = None) -> ReviewRead:
    return ReviewRead(
        id=review.id,
        product_id=review.product_id,
        author_name=review.author_name or ANONYMOUS_AUTHOR,
        rating=review.rating,
        title=review.title,
        body=review.body,
        status=ReviewStatus(review.status),
        verified_purchase=review.verified_purchase,
        helpful_count=review.helpful_count,
        not_helpful_count=review.not_helpful_count,
        created_at=review.created_at,
        updated_at=review.updated_at,
        is_own=viewer_id is not None and review.user_id == viewer_id,
    )


def summary_read(count: int, stars: dict[int, int]) -> RatingSummaryRead:
    _, average = average_of(stars)
    return RatingSummaryRead(count=count, average=average if count else None, per_star=stars)


class ReviewService:
    async def summary(self, session: AsyncSession, product_id: int) -> RatingSummaryRead:
        found = await ReviewRepository(session).summary(product_id)
        if found is None:
            raise ProductNotFound()
        count, _, stars = found
        return summary_read(count, stars)

    async def page_for_product(
        self,
        session: AsyncSession,
        product_id: int,
        *,
        viewer_id: int | None,
        sort: ReviewSort = "newest",
        rating: int | None = None,
        page: int = 1,
        limit: int = 10,
    ) -> ReviewPage:
        """A page of the product's approved reviews, with its summary: three statements whatever the page."""
        repo = ReviewRepository(session)
        found = await repo.summary(product_id)
        if found is None:
            raise ProductNotFound()
        total = await repo.count_shown(product_id, rating)
        rows = await repo.shown(product_id, rating, sort, limit, (page - 1) * limit) if total else []
        return ReviewPage(
            items=[review_read(r, viewer_id) for r in rows],
            pagination=Pagination.of(page, limit, total),
            summary=summary_read(found[0], found[2]),
        )

    async def eligibility(
        self, session: AsyncSession, settings: Settings, user_id: int | None, product_id: int
    ) -> Eligibility:
        """Whether the viewer may write a review of the product, and if not, why (a sentence to show)."""
        if user_id is None:
            return Eligibility(may_write=False, reason=SIGN_IN, verified=False, own_review=None)
        repo = ReviewRepository(session)
        own = await repo.own_review(product_id, user_id)
        verified = product_id in await orders.bought_products(session, user_id, [product_id])
        if own is not None:
            return Eligibility(False, ALREADY, verified, review_read(own, user_id))
        if settings.part(ReviewSettings).reviews_buyers_only and not verified:
            return Eligibility(False, BUYERS_ONLY, verified, None)
        return Eligibility(True, None, verified, None)

    async def _limit(
        self, settings: ReviewSettings, limiter: RateLimiter, user_id: int, address: str | None
    ) -> None:
        checks = [(settings.reviews_rate_limit_customer, "reviews.customer", str(user_id))]
        if address:
            checks.append((settings.reviews_rate_limit_address, "reviews.address", address))
        for limit, scope, key in checks:
            decision = await limiter.check(limiter.parse(limit), scope, key)
            if not decision.allowed:
                raise ReviewRateLimited(decision.retry_after)

    async def write(
        self,
        session: AsyncSession,
        settings: Settings,
        user_id: int,
        product_id: int,
        data: ReviewCreate,
        client_address: str | None,
        *,
        limiter: RateLimiter | None = None,
    ) -> ReviewRead:
        """The customer's one review of the product: published at once, held for a moderator, or (honeypot
        filled in) kept as spam. REVIEW_EXISTS when they have one, however many requests race."""
        part = settings.part(ReviewSettings)
        repo = ReviewRepository(session)
        if await repo.product(product_id) is None:
            raise ProductNotFound()
        if await repo.own_review(product_id, user_id) is not None:
            raise ReviewExists()
        verified = product_id in await orders.bought_products(session, user_id, [product_id])
        if part.reviews_buyers_only and not verified:
            raise ReviewNotAllowed()
        if limiter is not None:
            await self._limit(part, limiter, user_id, client_address)
        status, held = rules.status_of_new(part, data)
        review = Review(
            product_id=product_id,
            user_id=user_id,
            author_name=await repo.author_name(user_id),
            rating=data.rating,
            title=data.title,
            body=data.body,
            status=status,
            held_reason=held,
            verified_purchase=verified,
            helpful_count=0,
            not_helpful_count=0,
            report_count=0,
            client_address=(client_address or None) and client_address[:64],
        )
        try:
            async with session.begin_nested():
                session.add(review)
        except IntegrityError as exc:
            raise ReviewExists() from exc
        deltas: summary.Deltas = {}
        summary.add_change(deltas, product_id, None, summary.counted(review))
        await summary.apply(session, deltas)
        return review_read(review, user_id)

    async def _own(self, repo: ReviewRepository, user_id: int, review_id: int) -> Review:
        review = await repo.review(review_id, lock=True)
        if review is None or review.user_id is None or review.user_id != user_id:
            raise ReviewNotFound()
        return review

    async def edit(
        self, session: AsyncSession, settings: Settings, user_id: int, review_id: int, data: ReviewUpdate
    ) -> ReviewRead:
        """Change the customer's own review (another's is not found); it goes back to moderation."""
        repo = ReviewRepository(session)
        review = await self._own(repo, user_id, review_id)
        before = summary.counted(review)
        status, held = rules.status_of_edit(settings.part(ReviewSettings), review.status, data)
        review.rating, review.title, review.body = data.rating, data.title, data.body
        review.status, review.held_reason = status, held
        await session.flush()
        deltas: summary.Deltas = {}
        summary.add_change(deltas, review.product_id, before, summary.counted(review))
        await summary.apply(session, deltas)
        await session.refresh(review)
        return review_read(review, user_id)

    async def delete(self, session: AsyncSession, user_id: int, review_id: int) -> None:
        repo = ReviewRepository(session)
        review = await self._own(repo, user_id, review_id)
        deltas: summary.Deltas = {}
        summary.add_change(deltas, review.product_id, summary.counted(review), None)
        await session.delete(review)
        await session.flush()
        await summary.apply(session, deltas)

    async def _shown_locked(self, repo: ReviewRepository, review_id: int) -> Review:
        review = await repo.review(review_id, lock=True)
        if review is None or review.status != ReviewStatus.APPROVED:
            raise ReviewNotFound()
        return review

    async def vote(self, session: AsyncSession, user_id: int, review_id: int, helpful: bool) -> VoteCounts:
        """One vote per customer per review (voting again changes it); not on one's own, nor on a review
        that is not shown."""
        repo = ReviewRepository(session)
        review = await self._shown_locked(repo, review_id)
        if review.user_id == user_id:
            raise OwnReviewVote()
        vote = await repo.vote(review_id, user_id)
        if vote is None:
            session.add(ReviewVote(review_id=review_id, user_id=user_id, helpful=helpful))
            await session.flush()
            change = (1, 0) if helpful else (0, 1)
        elif vote.helpful != helpful:
            vote.helpful = helpful
            await session.flush()
            change = (1, -1) if helpful else (-1, 1)
        else:
            return VoteCounts(helpful=review.helpful_count, not_helpful=review.not_helpful_count)
        counts = await repo.change_votes(review_id, *change)
        return VoteCounts(helpful=counts[0], not_helpful=counts[1])

    async def report(
        self, session: AsyncSession, settings: Settings, user_id: int, review_id: int, reason: str
    ) -> None:
        """Count the customer's report once; at the threshold the review is hidden (back to pending,
        flagged) and leaves the summary until a moderator decides."""
        repo = ReviewRepository(session)
        review = await self._shown_locked(repo, review_id)
        if review.user_id == user_id:
            raise OwnReviewReport()
        if not await repo.add_report(review_id, user_id, reason):
            return
        review.report_count += 1
        if review.report_count >= settings.part(ReviewSettings).reviews_report_threshold:
            deltas: summary.Deltas = {}
            summary.add_change(deltas, review.product_id, summary.counted(review), None)
            review.status, review.held_reason = ReviewStatus.PENDING, "reported"
            await session.flush()
            await summary.apply(session, deltas)
        await session.flush()


reviews = ReviewService()
