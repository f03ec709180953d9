"""Chaos: worker processes killed again and again while they plan and send a few hundred notifications.

Afterwards: nothing is lost (every transactional event reached at least one channel), a message reached its
provider twice only when a kill fell between the provider's acceptance and the commit that records it
(e-mail then repeats its Message-ID), nothing was sent inside a recipient's quiet hours, and nothing went to
a number that opted out. E-mail goes to a real SMTP server on loopback that counts; SMS to the development
provider, whose mailbox rows are the count.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import select

from emporium.accounts.models import User
from emporium.core.db import Database
from emporium.core.jobs.models import Job
from emporium.core.notify import Recipient, notify
from emporium.notifications.contact_repository import ContactRepository
from emporium.notifications.models import Delivery, DevMailMessage, Notification, NotificationSchedule
from emporium.notifications.planning import DELIVER_JOB
from emporium.notifications.preferences import choose
from emporium.settings import AppSettings
from tests.core.processes import EMPORIUM, background, output_of, process_env
from tests.core.test_crash_delivery import SlowSink, serve_smtp
from tests.notifications.helpers import ORDER_CONTEXT

REDIS_URL = "redis://127.0.0.1:6379/0"
QUEUE = "emporium:notify-chaos-test-jobs"  # this test's own list
CUSTOMERS = 100
EVENTS = ("order.shipped", "order.delivered")
KILL_AT = (20, 60, 100, 140)  # e-mails accepted by the server when a worker is killed
LEASE_SECONDS = 5
SENT = ("sent", "delivered")


def phone(index: int) -> str:
    return f"+1202555{index:04d}"


async def customers(db: Database) -> dict[str, set[str]]:
    """Customers with SMS on for orders; every tenth opted out by STOP, every seventh in quiet hours all
    day long. The phones of each kind."""
    kinds: dict[str, set[str]] = {"opted_out": set(), "quiet": set()}
    async with db.session() as session:
        for index in range(CUSTOMERS):
            user = User(
                email=f"chaos-{index}@example.com", phone=phone(index), role="customer", is_active=True
            )
            session.add(user)
            await session.flush()
            await choose(session, user.id, "orders", "sms", True, source="test")
            if index % 10 == 0:
                await ContactRepository(session).set_opt_out(
                    "sms", phone(index), opted_out=True, source="stop"
                )
                kinds["opted_out"].add(phone(index))
            elif index % 7 == 0:
                session.add(NotificationSchedule(user_id=user.id, quiet_hours="00:00-23:59", time_zone="UTC"))
                kinds["quiet"].add(phone(index))
        ids = (await session.execute(select(User.id).order_by(User.id))).scalars().all()
        for event in EVENTS:
            for user_id in ids:
                notify(
                    session,
                    event,
                    key=f"{event}:{user_id}",
                    recipients=[Recipient(user_id=user_id)],
                    context={**ORDER_CONTEXT, "order_id": user_id},
                )
    return kinds


async def rows(db: Database, model: Any) -> list[Any]:
    async with db.session() as session:
        return list((await session.execute(select(model))).scalars())


async def wait_until(condition: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds} s")
        await asyncio.sleep(0.05)


async def test_killed_workers_lose_nothing_repeat_little_and_respect_every_choice(
    committed_db: Database, settings: AppSettings, tmp_path: Path
) -> None:
    redis = Redis.from_url(REDIS_URL)
    await redis.delete(QUEUE)
    sink = SlowSink()
    smtp = serve_smtp(sink)
    env = process_env(
        settings,
        smtp,
        EMPORIUM_JOBS_BROKER_URL=REDIS_URL,
        EMPORIUM_JOBS_BROKER_QUEUE=QUEUE,
        EMPORIUM_JOBS_LEASE_SECONDS=str(LEASE_SECONDS),
        EMPORIUM_NOTIFICATIONS_QUIET_HOURS="",
        EMPORIUM_NOTIFICATIONS_SEND_TIMEOUT_SECONDS="2",
        EMPORIUM_NOTIFICATIONS_DEVELOPMENT_CHANNELS='["sms"]',
    )
    command = [EMPORIUM, "worker", "--concurrency", "10"]
    kinds = await customers(committed_db)

    async def settled() -> bool:
        # Everything planned, and every delivery sent or failed, except those held for quiet hours.
        planned = len(await rows(committed_db, Notification)) == CUSTOMERS * len(EVENTS)
        statuses = {d.status for d in await rows(committed_db, Delivery) if d.address not in kinds["quiet"]}
        return planned and statuses <= {"sent", "delivered", "failed"}

    try:
        async with AsyncExitStack() as workers:
            for life, kill_at in enumerate(KILL_AT):
                (tmp_path / str(life)).mkdir()
                worker = await workers.enter_async_context(background(command, env, tmp_path / str(life)))
                await wait_until(lambda n=kill_at: _accepted(sink, n), 120, f"{kill_at} mails accepted")
                await asyncio.sleep(0.05 * (life + 1))  # a different point of a send each time
                worker.kill()
                await worker.wait()
            (tmp_path / "last").mkdir()
            await workers.enter_async_context(background(command, env, tmp_path / "last"))
            await wait_until(settled, 180, "every delivery settled\n" + output_of(tmp_path / "last"))
    finally:
        smtp.stop()
        await redis.delete(QUEUE)
        await redis.aclose()

    deliveries = await rows(committed_db, Delivery)
    notes = {n.id: n for n in await rows(committed_db, Notification)}
    kept = [m for m in await rows(committed_db, DevMailMessage) if m.channel == "sms"]
    emails = Counter(str(m.message["Message-ID"]) for m in sink.messages)
    texts = Counter((m.to_address, m.template) for m in kept)
    repeats = (sum(emails.values()) - len(emails)) + (sum(texts.values()) - len(texts))
    cut_short = sum(job.lapses for job in await rows(committed_db, Job) if job.name == DELIVER_JOB)
    twice_email, twice_text = sum(emails.values()) - len(emails), sum(texts.values()) - len(texts)
    print(
        f"\n{len(deliveries)} deliveries, {len(KILL_AT)} kills cutting {cut_short} sends short: "
        f"{twice_email} e-mails and {twice_text} texts sent twice"
    )

    # Nothing lost: every transactional event reached its customer on at least one channel.
    reached = {d.notification_id for d in deliveries if d.status in SENT}
    assert set(notes) == reached
    assert len(emails) == CUSTOMERS * len(EVENTS)
    # A repeat needs a kill between a provider's acceptance and its record, in a run the kill cut short.
    assert repeats <= cut_short
    # No text to a number that opted out, none inside quiet hours (those wait, never dropped).
    assert not {to for to, _ in texts} & (kinds["opted_out"] | kinds["quiet"])
    held = [d for d in deliveries if d.address in kinds["quiet"]]
    assert held
    assert {d.status for d in held} == {"deferred"}
    assert len(texts) == len([d for d in deliveries if d.channel == "sms" and d.status in SENT])


async def _accepted(sink: SlowSink, count: int) -> bool:
    return len(sink.messages) >= count
