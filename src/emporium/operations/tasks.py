"""Background work of the operations domain: deleting done jobs past their retention."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog

from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.operations.jobs import jobs_admin

log = structlog.get_logger(__name__)

RETENTION_JOB = "operations.purge_done_jobs"
# One transaction per batch: a long backlog never holds one long lock on the jobs table.
BATCH = 1000


async def purge_done_jobs(ctx: AppContext, batch: int = BATCH) -> int:
    """Delete the done jobs that finished more than ``jobs_retention_days`` ago, in batches; how many.
    Dead jobs stay until staff retry or discard them; pending and running ones are never touched."""
    cutoff = utcnow() - timedelta(days=ctx.settings.jobs_retention_days)
    removed = 0
    while True:
        async with ctx.db.session() as session:
            count = await jobs_admin.purge_done(session, cutoff, batch)
        removed += count
        if count < batch:
            break
    if removed:
        log.info("done_jobs_deleted", count=removed, finished_before=cutoff.isoformat())
    return removed


async def purge_done_jobs_job(ctx: AppContext, payload: dict[str, Any]) -> None:
    await purge_done_jobs(ctx)
