"""The rating summary: changed with the review, by differences added in one statement, and recomputed
from the reviews every night.

A review counts when it is approved. Whoever changes what counts (a new review published at once, a
moderator's decision, an edit, a deletion, reports hiding a review) works out the difference per product
and per star and calls ``apply`` in the same transaction; ``apply`` adds it to ``product_ratings`` in one
INSERT ... ON CONFLICT DO UPDATE (``stars_n = stars_n + excluded.stars_n``), whose row locks make
concurrent writers of one product wait for each other, then sets the products' ``rating_count`` and
``rating_average`` from the counts that statement returned. Rows go in product id order, so two
transactions never lock two products in opposite orders. The products' columns are what the list, its
facets and search read (search's document follows them by trigger); writing them marks the catalog's cache
stamp.
"""

from __future__ import annotations

from collections.abc import Mapping

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.reviews.models import Review, ReviewStatus
from emporium.reviews.repository import STARS, ReviewRepository, average_of
from emporium.reviews.schemas import DriftReport

log = structlog.get_logger(__name__)

Deltas = dict[int, dict[int, int]]
_BATCH = 1000


def counted(review: Review) -> int | None:
    """The stars a review adds to its product's summary; None when it is not counted."""
    return review.rating if review.status == ReviewStatus.APPROVED else None


def add_change(deltas: Deltas, product_id: int, before: int | None, after: int | None) -> None:
    """Record that a review of ``product_id`` went from counting ``before`` stars to ``after``."""
    if before == after:
        return
    stars = deltas.setdefault(product_id, {})
    if before is not None:
        stars[before] = stars.get(before, 0) - 1
    if after is not None:
        stars[after] = stars.get(after, 0) + 1


async def apply(session: AsyncSession, deltas: Mapping[int, Mapping[int, int]]) -> None:
    """Add the differences to the products' summaries and set the products' columns from the counts that
    returned: two statements, however many products."""
    changed = {p: {n: d for n, d in stars.items() if d} for p, stars in deltas.items()}
    changed = {p: stars for p, stars in changed.items() if stars}
    if not changed:
        return
    repo = ReviewRepository(session)
    counts = await repo.add_stars(changed)
    await repo.set_product_ratings([(p, *average_of(counts[p])) for p in sorted(counts)])


async def recompute(session: AsyncSession, *, fix: bool = True) -> DriftReport:
    """Compare every product's summary with a count of its approved reviews; fix and log what differs."""
    repo = ReviewRepository(session)
    drifted: list[int] = []
    checked, after = 0, 0
    while True:
        stored = await repo.stored_summaries(after, _BATCH)
        if not stored:
            break
        truth = await repo.recount([row[0] for row in stored])
        wrong = [row for row in stored if _differs(row, truth.get(row[0]))]
        if wrong and fix:
            drifted += await _fix(repo, [row[0] for row in wrong])
        elif wrong:
            drifted += [row[0] for row in wrong]
        checked += len(stored)
        after = stored[-1][0]
    if drifted:
        log.warning("rating_summary_drift", products=drifted[:100], drifted=len(drifted), fixed=fix)
    return DriftReport(checked=checked, drifted=drifted)


def _differs(row: tuple[int, int, object, dict[int, int]], truth: dict[int, int] | None) -> bool:
    stars = truth or dict.fromkeys(STARS, 0)
    count, average = average_of(stars)
    return row[3] != stars or row[1] != count or row[2] != average


async def _fix(repo: ReviewRepository, product_ids: list[int]) -> list[int]:
    """Recount the products under their summary rows' locks (so no review change slips between the
    count and the write) and write what the reviews say; the products that still differed."""
    await repo.lock_summaries(product_ids)
    truth = await repo.recount(product_ids)
    fixed = []
    for row in await repo.stored_summaries_of(product_ids):
        stars = truth.get(row[0]) or dict.fromkeys(STARS, 0)
        if _differs(row, stars):
            count, average = average_of(stars)
            await repo.set_stars(row[0], stars)
            await repo.set_product_ratings([(row[0], count, average)])
            fixed.append(row[0])
    return fixed
