"""Notifications planned and delivered per second by `emporium worker` processes on PostgreSQL, and the p95
from the event (its transaction's commit) to the send.

    createdb -h 127.0.0.1 -U postgres emporium_bench_notify
    export EMPORIUM_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/emporium_bench_notify
    .venv/bin/emporium migrate
    .venv/bin/python bench/notifications_bench.py --events 10000 --workers 2 \
        --redis-url redis://127.0.0.1:6379/0 --queue emporium:bench-notify

Each event (``order.shipped``) goes to one customer with SMS on: one in-app row and two deliveries (e-mail
and SMS). The senders are the development providers (the mailbox table): the figure is the shop's own cost
of planning, rendering, claiming and recording, not a provider's latency. Events are committed in batches of
100, as fast as one process can; ``--workers`` worker processes take the jobs from Redis. The reference
measured in the same run, by the same workers: as many events to customers who switched every channel off,
so planning writes the in-app rows and no delivery (the cost of the outbox, the broker and planning alone).
Everything in the bench database is deleted first. Stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, func, select

import emporium.models  # noqa: F401 - every table, so foreign keys resolve
from emporium.accounts.models import User
from emporium.core.db import Database, utcnow
from emporium.core.jobs.models import Job
from emporium.core.notify import Recipient, notify
from emporium.install import wire
from emporium.notifications.models import Delivery, DevMailMessage, Notification, NotificationChoice
from emporium.notifications.preferences import choose

BATCH = 100
CONTEXT = {
    "shop_name": "Bench",
    "name": "Bench Customer",
    "number": "ORD-2026-000001",
    "status": "shipped",
    "carrier": "DHL",
    "tracking_number": "JD0146",
    "total": "45.00 USD",
    "payment_method": "Card",
    "order_url": "http://127.0.0.1:8000/account/orders/1",
    "track_url": "http://127.0.0.1:8000/track?order_number=ORD-2026-000001",
}


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) >= 20 else max(values, default=0.0)


async def _reset(db: Database) -> None:
    async with db.session() as session:
        for model in (Job, DevMailMessage, Notification, NotificationChoice, User):
            await session.execute(delete(model))


async def _customers(db: Database, count: int, *, deliveries: bool) -> list[int]:
    async with db.session() as session:
        users = [
            User(email=f"bench-{i}@bench.emporium.localhost", phone=f"+1202{i:07d}", role="customer")
            for i in range(count)
        ]
        session.add_all(users)
        await session.flush()
        for user in users:
            await choose(session, user.id, "orders", "sms", deliveries, source="bench")
            if not deliveries:
                await choose(session, user.id, "orders", "email", False, source="bench")
                await choose(session, user.id, "orders", "push", False, source="bench")
        return [u.id for u in users]


async def _emit(db: Database, users: list[int], run: str) -> dict[str, datetime]:
    """Commit the events in batches; when each committed (its key: its time)."""
    committed: dict[str, datetime] = {}
    for start in range(0, len(users), BATCH):
        keys = []
        async with db.session() as session:
            for user_id in users[start : start + BATCH]:
                key = f"order.shipped:{run}:{user_id}"
                notify(
                    session,
                    "order.shipped",
                    key=key,
                    recipients=[Recipient(user_id=user_id)],
                    context=CONTEXT,
                )
                keys.append(key)
        now = utcnow()
        committed.update(dict.fromkeys(keys, now))
    return committed


async def _wait_idle(db: Database, expected: int, limit: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        async with db.session() as session:
            open_jobs = await session.scalar(
                select(func.count()).select_from(Job).where(Job.status != "done")
            )
            planned = await session.scalar(select(func.count()).select_from(Notification))
        if open_jobs == 0 and planned == expected:
            return time.monotonic() - started
        await asyncio.sleep(0.2)
    raise SystemExit(f"not finished within {limit} s")


async def _round(db: Database, args: argparse.Namespace, *, deliveries: bool) -> tuple[float, int, float]:
    """(seconds, deliveries sent, p95 seconds from commit to send) of one round."""
    await _reset(db)
    users = await _customers(db, args.events, deliveries=deliveries)
    env = {**os.environ, "EMPORIUM_JOBS_BROKER_URL": args.redis_url, "EMPORIUM_JOBS_BROKER_QUEUE": args.queue}
    env.update(
        EMPORIUM_JOBS_RUN_IN_PROCESS="false",
        EMPORIUM_NOTIFICATIONS_QUIET_HOURS="",
        EMPORIUM_LOG_LEVEL="WARNING",
    )
    emporium = str(Path(sys.executable).parent / "emporium")
    workers = [
        await asyncio.create_subprocess_exec(emporium, "worker", "--concurrency", "20", env=env)
        for _ in range(args.workers)
    ]
    try:
        await asyncio.sleep(2)  # the workers are up
        started = time.monotonic()
        committed = await _emit(db, users, "r")
        await _wait_idle(db, args.events, 1800)
        seconds = time.monotonic() - started
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            await asyncio.wait_for(worker.wait(), 30)
    async with db.session() as session:
        sent = (
            await session.execute(
                select(Notification.event_key, Delivery.sent_at)
                .join(Delivery, Delivery.notification_id == Notification.id)
                .where(Delivery.sent_at.is_not(None))
            )
        ).all()
    latencies = [(at - committed[key]).total_seconds() for key, at in sent]
    return seconds, len(sent), p95(latencies)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--queue", default="emporium:bench-notify")
    args = parser.parse_args()
    url = os.environ.get("EMPORIUM_DATABASE_URL", "")
    if not url.startswith("postgresql") or "bench" not in url:
        raise SystemExit("set EMPORIUM_DATABASE_URL to a PostgreSQL database whose name contains 'bench'")
    wire()  # the job handlers, so the planning job can be enqueued here
    db = Database(url)
    try:
        reference, _, _ = await _round(db, args, deliveries=False)
        seconds, sent, latency = await _round(db, args, deliveries=True)
    finally:
        await db.dispose()
    rate = args.events / reference
    print(f"planning only (reference): {args.events} events in {reference:.1f} s, {rate:.0f} events/s")
    print(
        f"planned and delivered: {args.events} events, {sent} deliveries in {seconds:.1f} s: "
        f"{sent / seconds:.0f} deliveries/s, p95 commit to send {latency:.2f} s"
    )


if __name__ == "__main__":
    asyncio.run(main())
