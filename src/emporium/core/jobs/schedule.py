"""Periodic jobs: cleanups and expiries that must run every so often, however many processes there are.

A domain's ``install`` (called by the wiring step, emporium/install.py) registers the job's handler and
``periodic("orders.expire_unpaid", every_seconds=60)``; nothing is scheduled at import. Every relay calls
``enqueue_due`` when a period begins; moving a job's next run forward is one conditional UPDATE, so when
several relays look at once exactly one of them enqueues the job (as an outbox row, in the same transaction).

Periods are aligned on the clock (a job every 60 s runs once in each minute, every 3600 s once in each hour
of UTC): every process knows when the next one begins without asking the database, a run late in one period
does not push the next ones later, and a shop that was down for days runs a job once, not once per missed
period. The relay that claims the run executes it itself (core/jobs/runner.py): no worker need be up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.jobs.models import JobSchedule
from emporium.core.jobs.outbox import enqueue


@dataclass(frozen=True)
class Periodic:
    name: str
    every_seconds: int


PERIODIC: dict[str, Periodic] = {}


def period_start(now: datetime, every_seconds: int) -> datetime:
    """The beginning of the period ``now`` falls in: periods of ``every_seconds`` counted from the epoch."""
    start = math.floor(now.timestamp() / every_seconds) * every_seconds
    return datetime.fromtimestamp(start, UTC)


def seconds_to_next_period(now: datetime) -> float:
    """How long until a period of some registered job begins (infinity when none is registered)."""
    return min(
        (
            (period_start(now, p.every_seconds).timestamp() + p.every_seconds) - now.timestamp()
            for p in PERIODIC.values()
        ),
        default=math.inf,
    )


def periodic(name: str, *, every_seconds: int) -> None:
    """Run the job registered as ``name`` every ``every_seconds`` (first run: as soon as a relay looks).
    Registering the same schedule again changes nothing."""
    if every_seconds < 1:
        raise ValueError("every_seconds must be at least 1")
    PERIODIC[name] = Periodic(name, every_seconds)


async def enqueue_due(session: AsyncSession, now: datetime) -> list[str]:
    """Enqueue the periodic jobs that are due; the names enqueued. The caller commits."""
    if not PERIODIC:
        return []
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(
        insert(JobSchedule)
        .values([{"name": p.name, "next_run_at": now} for p in PERIODIC.values()])
        .on_conflict_do_nothing(index_elements=["name"])
    )
    enqueued = []
    for spec in PERIODIC.values():
        start = period_start(now, spec.every_seconds)
        result = await session.execute(
            update(JobSchedule)
            .where(JobSchedule.name == spec.name, JobSchedule.next_run_at <= now)
            .values(next_run_at=datetime.fromtimestamp(start.timestamp() + spec.every_seconds, UTC))
            .returning(JobSchedule.name)
            .execution_options(synchronize_session=False)
        )
        if result.scalar_one_or_none() is not None:
            # The period the run is for: what staff read on the jobs page, and how runs are counted.
            enqueue(session, spec.name, {"period": start.isoformat()})
            enqueued.append(spec.name)
    return enqueued
