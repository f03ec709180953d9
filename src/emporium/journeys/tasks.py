"""Background work of the journeys: the periodic scan for abandoned carts, and back-in-stock alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog

from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.core.jobs import PermanentJobError
from emporium.journeys.abandoned import abandoned_carts
from emporium.journeys.alerts import BackInStockEdge, stock_alerts
from emporium.journeys.config import JourneySettings
from emporium.journeys.edges import BACK_IN_STOCK_JOB

log = structlog.get_logger(__name__)

SCAN_JOB = "journeys.abandoned_carts"
SCAN_EVERY_SECONDS = 300

__all__ = ["BACK_IN_STOCK_JOB", "SCAN_EVERY_SECONDS", "SCAN_JOB", "back_in_stock_job", "scan", "scan_job"]


async def scan(ctx: AppContext, now: datetime) -> int:
    """Remind every abandoned cart due at ``now``, a batch per transaction; how many were reminded."""
    batch = ctx.settings.part(JourneySettings).abandoned_cart_batch
    after_id, reminded = 0, 0
    while True:
        async with ctx.db.session() as session:
            result = await abandoned_carts.scan(session, ctx.settings, now, after_id=after_id)
        reminded += result.reminded
        after_id = result.last_cart_id
        if result.looked_at < batch:
            break
    if reminded:
        log.info("abandoned_carts_reminded", count=reminded)
    return reminded


async def scan_job(ctx: AppContext, payload: dict[str, Any]) -> None:
    if ctx.settings.part(JourneySettings).abandoned_cart_enabled:
        await scan(ctx, utcnow())


async def back_in_stock_job(ctx: AppContext, payload: dict[str, Any]) -> None:
    try:
        edge = BackInStockEdge(
            int(payload["variant_id"]), int(payload["units"]), datetime.fromisoformat(payload["edge_at"])
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentJobError(f"not a back-in-stock edge: {payload!r}") from exc
    async with ctx.db.session() as session:
        sent = await stock_alerts.send_back_in_stock(session, ctx.settings, edge, utcnow())
    if sent:
        log.info("back_in_stock_alerts", variant_id=edge.variant_id, count=sent)
