"""The figures for integrations (seed 001): ``GET /api/v1/admin/stats`` and ``GET /api/v1/admin/analytics``.
Both need ``analytics:read``; what each figure counts is in the package's docstring."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from emporium.analytics import schemas
from emporium.analytics.auth import AnalyticsReader
from emporium.analytics.periods import Granularity, Period, shop_zone
from emporium.analytics.service import analytics
from emporium.core.context import Ctx
from emporium.core.db import utcnow
from emporium.core.errors import errors_doc
from emporium.core.params import API_PREFIX
from emporium.core.responses import Envelope, ok
from emporium.core.session import DbSession

router = APIRouter(prefix=API_PREFIX, tags=["analytics"])

# Reports group by day, week or month; hours are the home page's "today" only.
ReportGranularity = Annotated[Literal["day", "week", "month"], Query(description="day, week or month")]
DEFAULT_RANGE_DAYS = 30


@router.get("/admin/stats", responses=errors_doc(401, 403, 422))
async def stats(
    staff: AnalyticsReader,
    session: DbSession,
    ctx: Ctx,
    period: Annotated[Period, Query(description="today, 7d or 30d")] = Period.LAST_7_DAYS,
) -> Envelope[schemas.HomeStats]:
    """The dashboard's figures for the period against the same stretch of time just before it (today so
    far against yesterday until the same time), sales over time, orders by status, best sellers, and what
    waits for staff."""
    return ok(await analytics.home(session, ctx.settings, period))


@router.get("/admin/analytics", responses=errors_doc(401, 403, 422))
async def analytics_report(
    staff: AnalyticsReader,
    session: DbSession,
    ctx: Ctx,
    date_from: Annotated[date | None, Query(alias="from", description="First day (shop's time zone)")] = None,
    date_to: Annotated[date | None, Query(alias="to", description="Last day, included")] = None,
    granularity: ReportGranularity = "day",
) -> Envelope[schemas.Analytics]:
    """Every report over the days from ``from`` to ``to`` (both included; by default the last 30 days):
    the range's figures against as many days before it, sales by day, week or month, by product, category,
    payment method and coupon, and new and returning customers."""
    last = date_to or utcnow().astimezone(shop_zone(ctx.settings)).date()
    first = date_from or last - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    return ok(await analytics.analytics(session, ctx.settings, first, last, Granularity(granularity)))
