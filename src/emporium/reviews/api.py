"""Reviews API: a product's reviews, a customer's own review, votes and reports; staff moderation under
/api/v1/admin/reviews (``reviews:moderate``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from emporium.accounts.auth import CurrentUser, MaybePrincipal
from emporium.core.context import Ctx
from emporium.core.errors import errors_doc
from emporium.core.pagination import Page
from emporium.core.params import API_PREFIX, IdPath
from emporium.core.responses import Envelope, ListEnvelope, ok
from emporium.core.session import DbSession
from emporium.reviews import schemas
from emporium.reviews.auth import Moderator, client_address, moderator_actor
from emporium.reviews.moderation import moderation
from emporium.reviews.service import reviews

router = APIRouter(prefix=API_PREFIX, tags=["reviews"])

Stars = Annotated[int | None, Query(ge=1, le=5, description="Only reviews with this many stars.")]


class ProductReviews(ListEnvelope[schemas.ReviewRead]):
    summary: schemas.RatingSummaryRead


@router.get("/products/{product_id}/reviews", responses=errors_doc(401, 404, 422))
async def product_reviews(
    product_id: IdPath,
    session: DbSession,
    principal: MaybePrincipal,
    page: Page,
    sort: schemas.ReviewSort = "newest",
    rating: Stars = None,
) -> ProductReviews:
    """The product's approved reviews, a page at a time, with its rating summary."""
    found = await reviews.page_for_product(
        session,
        product_id,
        viewer_id=principal.user.id if principal else None,
        sort=sort,
        rating=rating,
        page=page.page,
        limit=page.limit,
    )
    return ProductReviews(data=found.items, pagination=found.pagination, summary=found.summary)


@router.post(
    "/products/{product_id}/reviews",
    status_code=status.HTTP_201_CREATED,
    responses=errors_doc(401, 403, 404, 409, 422, 429),
)
async def write_review(
    product_id: IdPath,
    data: schemas.ReviewCreate,
    request: Request,
    ctx: Ctx,
    session: DbSession,
    user: CurrentUser,
) -> Envelope[schemas.ReviewRead]:
    """The signed-in customer's one review of the product; shown once approved."""
    review = await reviews.write(
        session, ctx.settings, user.id, product_id, data, client_address(request), limiter=ctx.limiter
    )
    shown = review.status == schemas.ReviewStatus.APPROVED
    return ok(
        review, "Thank you for your review." if shown else "Thank you: your review will be shown once read."
    )


@router.put("/reviews/{review_id}", responses=errors_doc(401, 404, 422))
async def edit_review(
    review_id: IdPath, data: schemas.ReviewUpdate, ctx: Ctx, session: DbSession, user: CurrentUser
) -> Envelope[schemas.ReviewRead]:
    return ok(await reviews.edit(session, ctx.settings, user.id, review_id, data))


@router.delete("/reviews/{review_id}", responses=errors_doc(401, 404, 422))
async def delete_review(review_id: IdPath, session: DbSession, user: CurrentUser) -> Envelope[None]:
    await reviews.delete(session, user.id, review_id)
    return ok(None, "Review deleted.")


@router.post("/reviews/{review_id}/vote", responses=errors_doc(401, 404, 409, 422))
async def vote(
    review_id: IdPath, data: schemas.VoteIn, session: DbSession, user: CurrentUser
) -> Envelope[schemas.VoteCounts]:
    return ok(await reviews.vote(session, user.id, review_id, data.helpful))


@router.post("/reviews/{review_id}/report", responses=errors_doc(401, 404, 409, 422))
async def report(
    review_id: IdPath, data: schemas.ReportIn, ctx: Ctx, session: DbSession, user: CurrentUser
) -> Envelope[None]:
    await reviews.report(session, ctx.settings, user.id, review_id, data.reason)
    return ok(None, "Thank you: a moderator will look at this review.")


@router.get("/admin/reviews", responses=errors_doc(401, 403, 422))
async def review_queue(
    session: DbSession,
    staff: Moderator,
    page: Page,
    status: schemas.ReviewStatus | None = schemas.ReviewStatus.PENDING,
    reported: bool = False,
) -> ListEnvelope[schemas.ReviewStaffRead]:
    """Reviews by status (pending by default), reported ones first, then oldest first."""
    found = await moderation.queue(session, status, reported=reported, page=page.page, limit=page.limit)
    return ListEnvelope(data=found.items, pagination=found.pagination)


@router.put("/admin/reviews/{review_id}", responses=errors_doc(401, 403, 404, 422))
async def moderate(
    review_id: IdPath, data: schemas.Moderation, request: Request, session: DbSession, staff: Moderator
) -> Envelope[schemas.ReviewStaffRead]:
    """Approve, reject or mark as spam, with a note; audited."""
    return ok(await moderation.moderate(session, moderator_actor(request, staff), review_id, data))


@router.post("/admin/reviews/bulk", responses=errors_doc(401, 403, 422))
async def moderate_many(
    data: schemas.BulkModeration, request: Request, session: DbSession, staff: Moderator
) -> Envelope[schemas.BulkResult]:
    """One decision for many reviews; the ids decided (those that exist)."""
    decided = await moderation.moderate_many(session, moderator_actor(request, staff), data.ids, data)
    return ok(schemas.BulkResult(decided=decided))
