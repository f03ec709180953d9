"""Periodic jobs: due ones are enqueued once per interval, however many relays look at the same moment."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from emporium.core.context import AppContext
from emporium.core.db import Database, utcnow
from emporium.core.jobs import register_job
from emporium.core.jobs.models import Job
from emporium.core.jobs.schedule import PERIODIC, enqueue_due, periodic
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
async def test_a_periodic_job_is_enqueued_once_per_interval(db: Database) -> None:
    now = utcnow()
    async with db.session() as session:
        assert await enqueue_due(session, now) == [NAME]
    async with db.session() as session:
        assert await enqueue_due(session, now + timedelta(seconds=59)) == []
    async with db.session() as session:
        assert await enqueue_due(session, now + timedelta(seconds=60)) == [NAME]
    assert await _queued(db) == 2


def test_the_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        periodic(NAME, every_seconds=0)


@pytest.mark.usefixtures("only_tick")
async def test_relays_looking_at_once_enqueue_it_once(make_committed_context: MakeContext) -> None:
    contexts = [make_committed_context() for _ in range(6)]
    results = await asyncio.gather(*(c.jobs.enqueue_periodic() for c in contexts))
    assert sorted(len(r) for r in results) == [0, 0, 0, 0, 0, 1]
    assert await _queued(contexts[0].db) == 1
