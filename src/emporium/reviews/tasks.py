"""Background work of reviews: the review requests that are due, and the nightly recompute of every rating
summary from the reviews (drift is logged and fixed)."""

from __future__ import annotations

from typing import Any

import structlog

from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.reviews import requests, summary
from emporium.reviews.schemas import DriftReport

log = structlog.get_logger(__name__)

SEND_REQUESTS_JOB = "reviews.send_requests"
RECOMPUTE_JOB = "reviews.recompute_summaries"


async def send_requests_job(ctx: AppContext, payload: dict[str, Any]) -> None:
    """Send every review request due now, a batch per transaction."""
    now = utcnow()
    while True:
        async with ctx.db.session() as session:
            sent, seen = await requests.send_due(session, ctx.settings, now)
        if sent:
            log.info("review_requests_sent", count=sent)
        if seen < requests.BATCH:
            break


async def recompute(ctx: AppContext) -> DriftReport:
    async with ctx.db.session() as session:
        report = await summary.recompute(session)
    log.info("rating_summaries_checked", checked=report.checked, drifted=len(report.drifted))
    return report


async def recompute_job(ctx: AppContext, payload: dict[str, Any]) -> None:
    await recompute(ctx)
