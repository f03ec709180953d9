"""Delivery: quiet hours hold and release, daily budgets (Redis and database), fallback to the next
channel, and a provider that is down retried and then failed, with the order untouched."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from redis.asyncio import Redis
from sqlalchemy import update

from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.core.jobs.models import Job, JobStatus
from emporium.core.notify import Recipient
from emporium.notifications.models import Delivery, NotificationSchedule
from emporium.notifications.planning import schedule_delivery
from emporium.notifications.providers import registry
from emporium.notifications.providers.base import DeliveryFailed, OutboundMessage, SendResult
from emporium.notifications.push_repository import PushSubscriptionRepository
from tests.conftest import MakeContext
from tests.notifications.helpers import (
    at,
    deliveries,
    frozen,
    mailbox,
    make_user,
    notifications_of,
    set_choice,
    tell,
)
from tests.support import SmtpServer, free_port

REVIEW = {
    "category": "review_request",
    "shop_name": "Emporium",
    "name": "Ada",
    "number": "ORD-1",
    "products": [],
    "preferences_url": "http://x/account/notifications",
}


async def _make_jobs_due(ctx: AppContext) -> None:
    """Let the waiting jobs' time come (the clock the runner reads is the real one)."""
    async with ctx.db.session() as session:
        await session.execute(
            update(Job)
            .where(Job.status == JobStatus.PENDING)
            .values(run_after=utcnow() - timedelta(seconds=1))
        )


async def test_quiet_hours_hold_a_message_until_they_end(
    make_context: MakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = make_context(with_smtp=False, notifications_quiet_hours="21:00-08:00", timezone="UTC")
    clock = frozen(monkeypatch, at("2026-06-01T21:30:00"))
    user_id = await make_user(ctx, "night@example.com")
    await set_choice(ctx, user_id, "orders", "sms", True)
    await tell(ctx, "order.shipped", "order.shipped:7", Recipient(user_id=user_id))
    await tell(
        ctx,
        "account.password_changed",
        "account.password_changed:9",
        Recipient(user_id=user_id),
        {"shop_name": "Emporium", "first_name": "Ada"},
    )
    await ctx.jobs.run_until_idle()

    sms = next(d for d in await deliveries(ctx, "order.shipped:7") if d.channel == "sms")
    assert (sms.status, sms.due_at) == ("deferred", at("2026-06-02T08:00:00"))
    assert await mailbox(ctx, "sms") == []
    # E-mail is no interruption, and account security goes at once.
    assert {m.template for m in await mailbox(ctx, "email")} == {"order_status", "password_changed"}

    clock.current = at("2026-06-02T07:59:00")
    await _make_jobs_due(ctx)
    await ctx.jobs.run_until_idle()
    assert await mailbox(ctx, "sms") == []  # still inside: held again, never dropped
    sms = next(d for d in await deliveries(ctx, "order.shipped:7") if d.channel == "sms")
    assert (sms.status, sms.due_at, sms.attempts) == ("deferred", at("2026-06-02T08:00:00"), 0)

    clock.current = at("2026-06-02T08:00:30")
    await _make_jobs_due(ctx)
    await ctx.jobs.run_until_idle()
    [sent] = await mailbox(ctx, "sms")
    assert sent.to_address == "+12025550143"
    assert [d.status for d in await deliveries(ctx, "order.shipped:7")] == ["delivered", "delivered"]


async def test_a_customers_own_quiet_hours_in_their_time_zone(
    make_context: MakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = make_context(with_smtp=False, notifications_quiet_hours="21:00-08:00", timezone="UTC")
    frozen(monkeypatch, at("2026-06-01T12:00:00"))  # 21:00 in Tokyo
    user_id = await make_user(ctx, "tokyo@example.com")
    await set_choice(ctx, user_id, "orders", "sms", True)
    async with ctx.db.session() as session:
        session.add(NotificationSchedule(user_id=user_id, quiet_hours="20:00-07:00", time_zone="Asia/Tokyo"))
    await tell(ctx, "order.shipped", "order.shipped:7", Recipient(user_id=user_id))
    await ctx.jobs.run_until_idle()
    sms = next(d for d in await deliveries(ctx, "order.shipped:7") if d.channel == "sms")
    assert (sms.status, sms.due_at) == ("deferred", at("2026-06-01T22:00:00"))  # 07:00 in Tokyo


@pytest.mark.parametrize("shared", [False, True], ids=["database", "redis"])
async def test_the_daily_budget_suppresses_what_is_over_it(
    make_context: MakeContext, monkeypatch: pytest.MonkeyPatch, shared: bool
) -> None:
    prefix = f"test:budget:{secrets.token_hex(6)}:"
    redis_url = "redis://127.0.0.1:6379/0" if shared else None
    ctx = make_context(
        with_smtp=False,
        notifications_daily_budget={"email": 2},
        notifications_budget_prefix=prefix,
        redis_url=redis_url,
    )
    clock = frozen(monkeypatch, at("2026-06-01T12:00:00"))
    user_id = await make_user(ctx, "budget@example.com")
    await set_choice(ctx, user_id, "review_request", "email", True)
    try:
        for n in range(3):
            await tell(ctx, "review.request", f"review.request:{n}", Recipient(user_id=user_id), REVIEW)
        await ctx.jobs.run_until_idle()
        rows = [d for n in range(3) for d in await deliveries(ctx, f"review.request:{n}")]
        assert [d.status for d in rows] == ["delivered", "delivered", "suppressed"]
        assert rows[2].error == "daily budget of 2 email messages reached"
        assert len(await mailbox(ctx, "email")) == 2
        # A transactional message is never budgeted; a new day has a new budget.
        await tell(ctx, "order.shipped", "order.shipped:7", Recipient(user_id=user_id))
        clock.current = at("2026-06-02T12:00:00")
        await tell(ctx, "review.request", "review.request:next-day", Recipient(user_id=user_id), REVIEW)
        await ctx.jobs.run_until_idle()
        assert [d.status for d in await deliveries(ctx, "order.shipped:7")] == ["delivered"]
        assert [d.status for d in await deliveries(ctx, "review.request:next-day")] == ["delivered"]
    finally:
        if shared:
            client = Redis.from_url("redis://127.0.0.1:6379/0")
            keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
            assert len(keys) == 2
            await client.delete(*keys)
            await client.aclose()


class RefusingEmail:
    """An e-mail provider that refuses for good (a rejected address)."""

    name = "refusing"
    channel = "email"
    sent: list[OutboundMessage] = []

    async def send(self, message: OutboundMessage) -> SendResult:
        raise DeliveryFailed("550 no such mailbox", permanent=True)

    async def aclose(self) -> None:
        return None


class RefusingSms(RefusingEmail):
    name = "refusing-sms"
    channel = "sms"

    async def send(self, message: OutboundMessage) -> SendResult:
        raise DeliveryFailed("21211 invalid 'To' number", permanent=True)


@pytest.fixture
def dev(make_context: MakeContext) -> AppContext:
    return make_context(with_smtp=False, notifications_quiet_hours="")


async def test_a_guests_bounced_email_falls_back_to_sms(
    dev: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(registry.FACTORIES, "email", [lambda settings: RefusingEmail()])
    await tell(
        dev, "order.shipped", "order.shipped:7", Recipient(email="guest@example.com", phone="+12025550143")
    )
    await dev.jobs.run_until_idle()
    email, sms = await deliveries(dev, "order.shipped:7")
    assert (email.channel, email.status, email.error) == ("email", "failed", "550 no such mailbox")
    assert (sms.channel, sms.status, sms.fallback_from_id) == ("sms", "delivered", email.id)
    assert [m.to_address for m in await mailbox(dev, "sms")] == ["+12025550143"]


async def test_a_refused_sms_falls_back_to_whatsapp(dev: AppContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.FACTORIES, "sms", [lambda settings: RefusingSms()])
    await tell(dev, "order.shipped", "order.shipped:8", Recipient(phone="+12025550143"))
    await dev.jobs.run_until_idle()
    sms, whatsapp = await deliveries(dev, "order.shipped:8")
    assert (sms.status, sms.error) == ("failed", "21211 invalid 'To' number")
    assert (whatsapp.channel, whatsapp.status, whatsapp.fallback_from_id) == ("whatsapp", "delivered", sms.id)
    [kept] = await mailbox(dev, "whatsapp")
    # Outside the 24-hour window WhatsApp takes only an approved template: the event names it.
    assert kept.text_body.startswith("[approved template order.shipped]")


async def test_with_no_channel_left_the_in_app_row_remains(
    dev: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(registry.FACTORIES, "email", [lambda settings: RefusingEmail()])
    user_id = await make_user(dev, "bounce@example.com")
    await tell(dev, "order.shipped", "order.shipped:9", Recipient(user_id=user_id))
    await dev.jobs.run_until_idle()
    [email] = await deliveries(dev, "order.shipped:9")
    assert email.status == "failed"  # SMS was never switched on: nothing to fall back to
    assert [n.title for n in await notifications_of(dev, "order.shipped:9")] == [
        "Order ORD-2026-000007 is on its way"
    ]


async def test_a_provider_down_is_retried_then_failed_with_its_error(make_context: MakeContext) -> None:
    # A real SMTP client against a port nobody listens on.
    ctx = make_context(
        smtp_port=free_port(), notifications_max_attempts=3, notifications_retry_base_seconds=0
    )
    user_id = await make_user(ctx, "down@example.com")
    await tell(ctx, "order.shipped", "order.shipped:7", Recipient(user_id=user_id))
    await ctx.jobs.run_until_idle()
    [row] = await deliveries(ctx, "order.shipped:7")
    assert (row.status, row.attempts) == ("failed", 3)
    assert row.error is not None
    assert "SMTPConnectError" in row.error


class FakePush:
    """A push provider that accepts some endpoints and answers 410 Gone for the others."""

    name = "fake-push"
    channel = "push"

    def __init__(self, gone: set[str], seen: list[str]) -> None:
        self.gone = gone
        self.seen = seen

    async def send(self, message: OutboundMessage) -> SendResult:
        self.seen.append(message.to)
        if message.to in self.gone:
            raise DeliveryFailed("410 Gone", permanent=True, gone=True)
        return SendResult(provider=self.name, provider_message_id=f"push-{len(self.seen)}")

    async def aclose(self) -> None:
        return None


async def test_push_goes_to_every_browser_and_forgets_the_gone_ones(
    dev: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    old, new = "https://push.example/old", "https://push.example/new"
    monkeypatch.setitem(registry.FACTORIES, "push", [lambda settings: FakePush({old}, seen)])
    user_id = await make_user(dev, "browsers@example.com")
    async with dev.db.session() as session:
        for endpoint in (old, new):
            await PushSubscriptionRepository(session).save(user_id, endpoint, "p256dh-key", "auth-key", None)
    await tell(dev, "order.shipped", "order.shipped:7", Recipient(user_id=user_id))
    await dev.jobs.run_until_idle()
    push = next(d for d in await deliveries(dev, "order.shipped:7") if d.channel == "push")
    assert (push.status, push.provider) == ("sent", "fake-push")
    assert sorted(seen) == [new, old]
    async with dev.db.session() as session:
        left = await PushSubscriptionRepository(session).of_user(user_id)
    assert [s.endpoint for s in left] == [new]


async def test_a_delivery_sent_again_keeps_its_message_id(ctx: AppContext, smtp: SmtpServer) -> None:
    """Should a worker die between the server's acceptance and the commit, the repeat carries the same
    Message-ID, so the receiving side can drop the copy."""
    user_id = await make_user(ctx, "again@example.com")
    await tell(ctx, "order.shipped", "order.shipped:7", Recipient(user_id=user_id))
    await ctx.jobs.run_until_idle()
    [row] = await deliveries(ctx, "order.shipped:7")
    async with ctx.db.session() as session:  # as if the record of the send had been lost
        lost = update(Delivery).where(Delivery.id == row.id).values(status="pending", due_at=utcnow())
        await session.execute(lost)
        schedule_delivery(session, row.id, utcnow(), utcnow())
    await ctx.jobs.run_until_idle()
    first, second = smtp.sink.to("again@example.com")
    assert first.message["Message-ID"] == second.message["Message-ID"]
    [again] = await deliveries(ctx, "order.shipped:7")
    assert first.message["Message-ID"] == again.provider_message_id
