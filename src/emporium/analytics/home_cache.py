"""The home page's figures, kept for a minute: a period's figures read every sale of two periods, and eight
staff members opening the home page at once on a small machine would otherwise queue behind each other.

The task list is never kept: it is what needs doing now, and costs a few counts. The figures say when they
were computed (``as_of``), so nobody mistakes them for the second's. A cache that fails costs speed, never
the page. The API (``GET /admin/stats``) always computes afresh, for integrations that reconcile.
"""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.analytics.periods import Period
from emporium.analytics.schemas import HomeStats
from emporium.analytics.service import analytics
from emporium.core.context import AppContext

log = structlog.get_logger(__name__)


def _key(ctx: AppContext, period: Period) -> str:
    settings = ctx.settings
    return f"analytics:home:{period.value}:{settings.timezone}:{settings.currency}"


async def home_figures(session: AsyncSession, ctx: AppContext, period: Period) -> HomeStats:
    keep_for = ctx.settings.analytics_home_cache_seconds
    if keep_for <= 0:
        return await analytics.home(session, ctx.settings, period)
    key = _key(ctx, period)
    try:
        kept = await ctx.cache.get(key)
    except Exception as exc:  # any cache failure: compute instead
        log.warning("analytics_cache_read_failed", error=repr(exc))
        kept = None
    if kept is not None:
        stats = HomeStats.model_validate_json(kept)
        return stats.model_copy(update={"tasks": await analytics.tasks(session)})
    stats = await analytics.home(session, ctx.settings, period)
    try:
        await ctx.cache.set(key, stats.model_dump_json(), keep_for)
    except Exception as exc:
        log.warning("analytics_cache_write_failed", error=repr(exc))
    return stats
