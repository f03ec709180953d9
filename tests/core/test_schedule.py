"""Periodic jobs: due ones are enqueued once per interval, however many relays look at the same moment."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from emporium.core.context import AppContext
from emporium.core.db import Database
from emporium.core.jobs import register_job
from emporium.core.jobs.models import Job
from emporium.core.jobs.schedule import PERIODIC, enqueue_due, period_start, periodic, seconds_to_next_period
from tests.conftest import MakeContext

NAME = "test.periodic_tick"


async def _tick(ctx: AppContext, payload: dict[str, Any]) -> None:
    return None


@pytest.fixture
def only_tick() -> Iterator[None]:
    saved = dict(PERIODIC)
    PERIODIC.clear()
    register_job(NAME, _tick)
    periodic(NAME, every_seconds=60)
    yield
    PERIODIC.clear()
    PERIODIC.update(saved)


async def _queued(database: Database) -> int:
    async with database.session() as session:
        return int((await session.execute(select(func.count()).where(Job.name == NAME))).scalar_one())


@pytest.mark.usefixtures("only_tick")
async def test_a_periodic_job_is_enqueued_once_per_period(db: Database) -> None:
    minute = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    # Periods are the clock's minutes: a first look late in one, then every look until the next begins.
    for offset, expected in [(45, [NAME]), (59.9, []), (60, [NAME]), (61, []), (119, []), (120, [NAME])]:
        async with db.session() as session:
            assert await enqueue_due(session, minute + timedelta(seconds=offset)) == expected, offset
    async with db.session() as session:
        jobs = (await session.execute(select(Job).where(Job.name == NAME).order_by(Job.id))).scalars()
        assert [job.payload for job in jobs] == [
            {"period": "2026-12-07T10:00:00+00:00"},
            {"period": "2026-12-07T10:01:00+00:00"},
            {"period": "2026-12-07T10:02:00+00:00"},
        ]
    # A shop that was down for hours runs the job once when it is back, not once per missed minute.
    async with db.session() as session:
        assert await enqueue_due(session, minute + timedelta(hours=5, seconds=30)) == [NAME]
    assert await _queued(db) == 4


def test_periods_are_aligned_on_the_clock() -> None:
    at = datetime(2026, 12, 7, 10, 17, 42, 500000, tzinfo=UTC)
    assert period_start(at, 60) == datetime(2026, 12, 7, 10, 17, tzinfo=UTC)
    assert period_start(at, 3600) == datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    assert period_start(at, 86400) == datetime(2026, 12, 7, tzinfo=UTC)


@pytest.mark.usefixtures("only_tick")
def test_the_next_look_is_when_the_next_period_begins() -> None:
    periodic("test.periodic_often", every_seconds=5)
    at = datetime(2026, 12, 7, 10, 17, 42, 500000, tzinfo=UTC)
    assert seconds_to_next_period(at) == pytest.approx(2.5)
    PERIODIC.clear()
    assert seconds_to_next_period(at) == math.inf


def test_the_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        periodic(NAME, every_seconds=0)


@pytest.mark.usefixtures("only_tick")
async def test_relays_looking_at_once_enqueue_it_once(make_committed_context: MakeContext) -> None:
    contexts = [make_committed_context() for _ in range(6)]
    results = await asyncio.gather(*(c.jobs.enqueue_periodic() for c in contexts))
    assert sorted(len(r) for r in results) == [0, 0, 0, 0, 0, 1]
    assert await _queued(contexts[0].db) == 1
