"""``/admin/reviews``: the moderation queue. Reviews by status (pending first, reported ones flagged and
listed first), approved, rejected or marked as spam one at a time or ticked in bulk, with a note.

Everything needs ``reviews:moderate``; each decision is audited in its transaction (reviews/moderation.py).
Review text is the customer's: it is shown escaped, as text.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from fastapi.responses import HTMLResponse, Response

from emporium.admin.page import AdminContext, AdminWith
from emporium.admin.routing import admin_router
from emporium.core.errors import ValidationFailed
from emporium.core.permissions import Permission
from emporium.reviews.moderation import moderation
from emporium.reviews.schemas import BulkModeration, ModerationAction, ReviewStatus

router = admin_router(prefix="/admin/reviews")

ReviewsPage = Annotated[AdminContext, AdminWith(Permission.REVIEWS_MODERATE)]
PAGE_SIZE = 50
STATUS_NAMES = {"pending": "Waiting", "approved": "Approved", "rejected": "Rejected", "spam": "Spam"}
ACTION_NAMES: dict[ModerationAction, str] = {
    "approve": "approved",
    "reject": "rejected",
    "spam": "marked as spam",
}
HELD_NAMES = {
    "new": "new",
    "edited": "edited",
    "links": "contains a link",
    "banned_words": "contains a banned word",
    "honeypot": "filled in by a bot",
    "reported": "reported by customers",
}
StatusParam = Annotated[str, Query(max_length=10, pattern=r"^(pending|approved|rejected|spam)?$")]
PageParam = Annotated[int, Query(ge=1, le=100_000, alias="page")]


@router.get("", response_class=HTMLResponse, response_model=None)
async def review_queue(
    page: ReviewsPage,
    status: StatusParam = "pending",
    reported: bool = False,
    p: PageParam = 1,
) -> Response:
    chosen = ReviewStatus(status) if status else None
    found = await moderation.queue(page.session, chosen, reported=reported, page=p, limit=PAGE_SIZE)
    params: dict[str, object] = {"status": status}
    if reported:
        params["reported"] = "true"
    more = p < found.pagination.pages
    return await page.render(
        "admin/reviews/list.html.j2",
        title="Reviews",
        breadcrumbs=[("Reviews", None)],
        rows=found.items,
        total=found.pagination.total,
        status=status,
        reported=reported,
        params=params,
        next_page=p + 1 if more else None,
        statuses=STATUS_NAMES,
        held_names=HELD_NAMES,
        zone_name=page.settings.timezone,
    )


def _decision(form: dict[str, str], ticked: list[str]) -> BulkModeration:
    """What the form asks: one row's button (``row_action`` = "approve:12") or the bulk buttons."""
    note = form.get("note", "")
    row = form.get("row_action", "")
    if row:
        action, _, review_id = row.partition(":")
        return BulkModeration.model_validate({"action": action, "note": note, "ids": [review_id]})
    return BulkModeration.model_validate({"action": form.get("action", ""), "note": note, "ids": ticked})


@router.post("/moderate", response_model=None)
async def moderate(page: ReviewsPage) -> Response:
    submitted = await page.request.form()
    fields = {k: str(v) for k, v in submitted.items() if isinstance(v, str)}
    ticked = [str(v) for v in submitted.getlist("ids")]
    back = "/admin/reviews?status=" + (
        fields.get("status", "") if fields.get("status") in STATUS_NAMES else ""
    )
    if not ticked and not fields.get("row_action"):
        return page.redirect(back, flash="Tick the reviews to moderate first.", flash_kind="error")
    try:
        decision = _decision(fields, ticked)
    except ValueError as exc:
        raise ValidationFailed(
            "Choose approve, reject or spam for reviews of this queue; a note is at most 500 characters."
        ) from exc
    decided = await moderation.moderate_many(page.session, page.actor, decision.ids, decision)
    count = len(decided)
    noun = "review" if count == 1 else "reviews"
    return page.redirect(back, flash=f"{count} {noun} {ACTION_NAMES[decision.action]}.")
