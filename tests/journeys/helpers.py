"""What the journeys' tests read back: the planning jobs queued in the outbox (the journeys' output)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from emporium.core.context import AppContext
from emporium.core.jobs.models import Job
from emporium.core.notify import PLAN_JOB


async def jobs(ctx: AppContext, name: str) -> list[dict[str, Any]]:
    async with ctx.db.session() as session:
        rows = await session.execute(select(Job.payload).where(Job.name == name).order_by(Job.id))
        return [dict(payload) for payload in rows.scalars()]


async def planned(ctx: AppContext, event: str) -> list[dict[str, Any]]:
    """The payloads of the planning jobs queued for ``event``, oldest first."""
    return [p for p in await jobs(ctx, PLAN_JOB) if p["event"] == event]
