"""Every statement of the reviews domain.

The rating summary is changed only by ``add_stars`` (one INSERT ... ON CONFLICT DO UPDATE adding a
difference to each star's count, whose row locks order concurrent writers) followed by
``set_product_ratings`` (the products' columns the list, its facets and search read, from the counts that
statement returned).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.accounts.models import User
from emporium.catalog.models import Product, ProductStatus
from emporium.reviews.models import (
    ProductRating,
    Review,
    ReviewReport,
    ReviewRequest,
    ReviewStatus,
    ReviewVote,
)
from emporium.reviews.schemas import ReviewSort

STARS = (1, 2, 3, 4, 5)
_STAR_COLUMNS = {n: getattr(ProductRating, f"stars_{n}") for n in STARS}
_ORDER: dict[str, tuple[Any, ...]] = {
    "newest": (Review.created_at.desc(), Review.id.desc()),
    "highest": (Review.rating.desc(), Review.id.desc()),
    "lowest": (Review.rating.asc(), Review.id.desc()),
    "helpful": (Review.helpful_count.desc(), Review.id.desc()),
}


# A product's id, stored count, stored average and stored per-star counts.
StoredSummary = tuple[int, int, Decimal, dict[int, int]]


def average_of(stars: Mapping[int, int]) -> tuple[int, Decimal]:
    """The count and the average (two decimals, half up; 0 when nothing counts) of per-star counts."""
    count = sum(stars.values())
    if count == 0:
        return 0, Decimal("0.00")
    total = sum(n * c for n, c in stars.items())
    return count, (Decimal(total) / Decimal(count)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class ReviewRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _insert(self) -> Any:
        return pg_insert if self.session.get_bind().dialect.name == "postgresql" else sqlite_insert

    # Products, as reviews see them.
    async def product(self, product_id: int) -> tuple[str, str] | None:
        """The name and slug of an active product."""
        row = (
            await self.session.execute(
                select(Product.name, Product.slug).where(
                    Product.id == product_id, Product.status == ProductStatus.ACTIVE
                )
            )
        ).one_or_none()
        return None if row is None else (row.name, row.slug)

    async def product_any(self, product_id: int) -> tuple[str, str] | None:
        """The name and slug of a product, whatever its status."""
        row = (
            await self.session.execute(select(Product.name, Product.slug).where(Product.id == product_id))
        ).one_or_none()
        return None if row is None else (row.name, row.slug)

    async def summary(self, product_id: int) -> tuple[int, Decimal, dict[int, int]] | None:
        """An active product's count, average and per-star counts, in one statement; None when no such
        product is shown."""
        row = (
            await self.session.execute(
                select(Product.rating_count, Product.rating_average, *_STAR_COLUMNS.values())
                .outerjoin(ProductRating, ProductRating.product_id == Product.id)
                .where(Product.id == product_id, Product.status == ProductStatus.ACTIVE)
            )
        ).one_or_none()
        if row is None:
            return None
        stars = {n: int(row[1 + n] or 0) for n in STARS}
        return int(row[0]), Decimal(row[1]), stars

    async def author_name(self, user_id: int) -> str | None:
        """How the customer is shown under a review: first name and the initial of the last."""
        row = (
            await self.session.execute(select(User.first_name, User.last_name).where(User.id == user_id))
        ).one_or_none()
        if row is None or not (row.first_name or "").strip():
            return None
        last = (row.last_name or "").strip()
        return f"{row.first_name.strip()} {last[0]}." if last else row.first_name.strip()

    # The summary.
    async def add_stars(self, deltas: Mapping[int, Mapping[int, int]]) -> dict[int, dict[int, int]]:
        """Add each product's differences (stars -> difference) to its counts, every product in one
        INSERT ... ON CONFLICT DO UPDATE whose rows go in product id order (so two writers lock them in the
        same order); each product's counts after it. A product without a row gets one with the differences
        (only drift could make one negative, and the nightly recompute mends that)."""
        ids = sorted(deltas)
        rows = [{"product_id": i, **{f"stars_{n}": deltas[i].get(n, 0) for n in STARS}} for i in ids]
        insert = self._insert()(ProductRating)
        statement = (
            insert.values(rows)
            .on_conflict_do_update(
                index_elements=["product_id"],
                set_={f"stars_{n}": _STAR_COLUMNS[n] + getattr(insert.excluded, f"stars_{n}") for n in STARS},
            )
            .returning(ProductRating.product_id, *_STAR_COLUMNS.values())
        )
        found = (await self.session.execute(statement)).all()
        return {int(row[0]): {n: int(row[n]) for n in STARS} for row in found}

    async def set_product_ratings(self, ratings: Sequence[tuple[int, int, Decimal]]) -> None:
        """Set products' ``rating_count`` and ``rating_average`` (product id, count, average), in one
        statement sent for all of them."""
        table = cast(Table, Product.__table__)
        await self.session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(rating_count=bindparam("b_count"), rating_average=bindparam("b_average")),
            [{"b_id": i, "b_count": c, "b_average": a} for i, c, a in ratings],
        )

    async def recount(self, product_ids: Sequence[int] | None) -> dict[int, dict[int, int]]:
        """Per-star counts of approved reviews, recomputed from the rows (all products, or those given)."""
        statement = (
            select(Review.product_id, Review.rating, func.count())
            .where(Review.status == ReviewStatus.APPROVED)
            .group_by(Review.product_id, Review.rating)
        )
        if product_ids is not None:
            statement = statement.where(Review.product_id.in_(list(product_ids)))
        found: dict[int, dict[int, int]] = {}
        for product_id, rating, count in await self.session.execute(statement):
            found.setdefault(int(product_id), dict.fromkeys(STARS, 0))[int(rating)] = int(count)
        return found

    @staticmethod
    def _stored() -> Select[Any]:
        return select(
            Product.id, Product.rating_count, Product.rating_average, *_STAR_COLUMNS.values()
        ).outerjoin(ProductRating, ProductRating.product_id == Product.id)

    async def stored_summaries(self, after_id: int, limit: int) -> list[StoredSummary]:
        """Products (id order, after ``after_id``) with their stored count, average and per-star counts."""
        statement = self._stored().where(Product.id > after_id).order_by(Product.id).limit(limit)
        return self._summaries(await self.session.execute(statement))

    async def stored_summaries_of(self, product_ids: Sequence[int]) -> list[StoredSummary]:
        statement = self._stored().where(Product.id.in_(list(product_ids))).order_by(Product.id)
        return self._summaries(await self.session.execute(statement))

    @staticmethod
    def _summaries(rows: Any) -> list[StoredSummary]:
        return [(int(r[0]), int(r[1]), Decimal(r[2]), {n: int(r[2 + n] or 0) for n in STARS}) for r in rows]

    async def lock_summaries(self, product_ids: Sequence[int]) -> None:
        """Lock the products' summary rows (made when missing), in id order, before a recount."""
        ids = sorted(set(product_ids))
        if not ids:
            return
        await self.session.execute(
            self._insert()(ProductRating)
            .values([{"product_id": i} for i in ids])
            .on_conflict_do_nothing(index_elements=["product_id"])
        )
        await self.session.execute(
            select(ProductRating.product_id)
            .where(ProductRating.product_id.in_(ids))
            .order_by(ProductRating.product_id)
            .with_for_update()
        )

    async def set_stars(self, product_id: int, stars: Mapping[int, int]) -> None:
        await self.session.execute(
            update(ProductRating)
            .where(ProductRating.product_id == product_id)
            .values({f"stars_{n}": stars.get(n, 0) for n in STARS})
            .execution_options(synchronize_session=False)
        )

    # Reviews.
    async def review(self, review_id: int, *, lock: bool = False) -> Review | None:
        statement = select(Review).where(Review.id == review_id)
        if lock:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def reviews_locked(self, review_ids: Sequence[int]) -> list[Review]:
        """The reviews, locked in id order (bulk moderation)."""
        statement = (
            select(Review).where(Review.id.in_(list(review_ids))).order_by(Review.id).with_for_update()
        )
        return list((await self.session.execute(statement)).scalars())

    async def own_review(self, product_id: int, user_id: int) -> Review | None:
        return (
            await self.session.execute(
                select(Review).where(Review.product_id == product_id, Review.user_id == user_id)
            )
        ).scalar_one_or_none()

    def _shown(self, product_id: int, rating: int | None) -> list[Any]:
        where = [Review.product_id == product_id, Review.status == ReviewStatus.APPROVED]
        if rating is not None:
            where.append(Review.rating == rating)
        return where

    async def count_shown(self, product_id: int, rating: int | None) -> int:
        statement = select(func.count()).select_from(Review).where(*self._shown(product_id, rating))
        return int((await self.session.execute(statement)).scalar_one())

    async def shown(
        self, product_id: int, rating: int | None, sort: ReviewSort, limit: int, offset: int
    ) -> list[Review]:
        statement = (
            select(Review)
            .where(*self._shown(product_id, rating))
            .order_by(*_ORDER[sort])
            .limit(limit)
            .offset(offset)
        )
        return list((await self.session.execute(statement)).scalars())

    def _queue(self, status: ReviewStatus | None, reported: bool) -> Select[Review, str, str]:
        statement = select(Review, Product.name, Product.slug).join(Product, Product.id == Review.product_id)
        if status is not None:
            statement = statement.where(Review.status == status)
        if reported:
            statement = statement.where(Review.report_count > 0)
        return statement

    async def queue(
        self, status: ReviewStatus | None, reported: bool, limit: int, offset: int
    ) -> tuple[list[tuple[Review, str, str]], int]:
        """The moderation queue: reported reviews first, then oldest first."""
        statement = (
            self._queue(status, reported)
            .order_by((Review.report_count > 0).desc(), Review.id)
            .limit(limit)
            .offset(offset)
        )
        rows = [(r[0], r[1], r[2]) for r in await self.session.execute(statement)]
        count = select(func.count()).select_from(self._queue(status, reported).subquery())
        return rows, int((await self.session.execute(count)).scalar_one())

    async def change_votes(self, review_id: int, helpful: int, not_helpful: int) -> tuple[int, int]:
        row = (
            await self.session.execute(
                update(Review)
                .where(Review.id == review_id)
                .values(
                    helpful_count=Review.helpful_count + helpful,
                    not_helpful_count=Review.not_helpful_count + not_helpful,
                )
                .returning(Review.helpful_count, Review.not_helpful_count)
                .execution_options(synchronize_session=False)
            )
        ).one()
        return int(row[0]), int(row[1])

    async def vote(self, review_id: int, user_id: int) -> ReviewVote | None:
        return (
            await self.session.execute(
                select(ReviewVote).where(ReviewVote.review_id == review_id, ReviewVote.user_id == user_id)
            )
        ).scalar_one_or_none()

    async def add_report(self, review_id: int, user_id: int, reason: str) -> bool:
        """Record the customer's report once; False when they had reported it already."""
        result = await self.session.execute(
            self._insert()(ReviewReport)
            .values(review_id=review_id, user_id=user_id, reason=reason)
            .on_conflict_do_nothing(index_elements=["review_id", "user_id"])
            .returning(ReviewReport.id)
        )
        return result.scalar_one_or_none() is not None

    async def clear_reports(self, review_id: int) -> None:
        await self.session.execute(delete(ReviewReport).where(ReviewReport.review_id == review_id))

    # A customer's data.
    async def reviews_of(self, user_id: int) -> list[Review]:
        statement = select(Review).where(Review.user_id == user_id).order_by(Review.id)
        return list((await self.session.execute(statement)).scalars())

    async def votes_of(self, user_id: int) -> list[ReviewVote]:
        statement = select(ReviewVote).where(ReviewVote.user_id == user_id).order_by(ReviewVote.id)
        return list((await self.session.execute(statement)).scalars())

    async def anonymise(self, user_id: int) -> None:
        """Keep the customer's reviews and votes (their counts stay right) without anything naming them."""
        for model in (ReviewVote, ReviewReport):
            await self.session.execute(
                update(model)
                .where(model.user_id == user_id)
                .values(user_id=None)
                .execution_options(synchronize_session=False)
            )
        await self.session.execute(
            update(Review)
            .where(Review.user_id == user_id)
            .values(user_id=None, author_name=None, client_address=None)
            .execution_options(synchronize_session=False)
        )

    # Review requests.
    async def add_request(self, order_id: int, due_at: datetime) -> None:
        await self.session.execute(
            self._insert()(ReviewRequest)
            .values(order_id=order_id, due_at=due_at)
            .on_conflict_do_nothing(index_elements=["order_id"])
        )

    async def due_requests(self, now: datetime, limit: int) -> list[int]:
        statement = (
            select(ReviewRequest.order_id)
            .where(ReviewRequest.sent_at.is_(None), ReviewRequest.due_at <= now)
            .order_by(ReviewRequest.due_at, ReviewRequest.id)
            .limit(limit)
        )
        return [int(i) for i in (await self.session.execute(statement)).scalars()]

    async def claim_request(self, order_id: int, now: datetime, skipped: str | None) -> bool:
        """Mark the order's request sent (or skipped) unless another run did; True for the run that did."""
        result = await self.session.execute(
            update(ReviewRequest)
            .where(ReviewRequest.order_id == order_id, ReviewRequest.sent_at.is_(None))
            .values(sent_at=now, skipped=skipped)
            .returning(ReviewRequest.id)
            .execution_options(synchronize_session=False)
        )
        return result.scalar_one_or_none() is not None

    async def active_customer(self, user_id: int) -> bool:
        row = await self.session.execute(
            select(User.id).where(User.id == user_id, User.is_active.is_(True), User.erased_at.is_(None))
        )
        return row.scalar_one_or_none() is not None

    async def products_named(self, product_ids: Sequence[int]) -> list[tuple[str, str]]:
        """The names and slugs of the active products among ``product_ids``, by name."""
        rows = await self.session.execute(
            select(Product.name, Product.slug)
            .where(Product.id.in_(list(product_ids)), Product.status == ProductStatus.ACTIVE)
            .order_by(Product.name)
        )
        return [(r.name, r.slug) for r in rows]
