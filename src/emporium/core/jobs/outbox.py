"""Writing jobs: always inside the caller's transaction, so a job exists exactly when its cause does."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.db import utcnow
from emporium.core.jobs.models import Job, JobStatus
from emporium.core.jobs.registry import HANDLERS

# Set on a session that wrote jobs, so the runner can be woken right after the commit.
ENQUEUED_FLAG = "emporium.jobs_enqueued"
DEFAULT_MAX_ATTEMPTS = 6


def enqueue(
    session: AsyncSession,
    name: str,
    payload: dict[str, Any],
    *,
    delay_seconds: float = 0,
    max_attempts: int | None = None,
) -> Job:
    spec = HANDLERS.get(name)
    if spec is None:
        raise LookupError(f"no job handler is registered as {name!r}")
    attempts = (
        max_attempts or spec.max_attempts or session.info.get("jobs_max_attempts", DEFAULT_MAX_ATTEMPTS)
    )
    job = Job(
        name=name,
        payload=payload,
        status=JobStatus.PENDING,
        attempts=0,
        max_attempts=attempts,
        run_after=utcnow() + timedelta(seconds=delay_seconds),
    )
    session.add(job)
    session.info[ENQUEUED_FLAG] = True
    return job
