"""Planning: one in-app row per recipient, one delivery per allowed channel, once per key; preferences that
really route; the statements planning costs per recipient."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from emporium.core.context import AppContext
from emporium.core.notify import Recipient, notify, notify_staff
from tests.conftest import MakeContext
from tests.notifications.helpers import (
    ORDER_CONTEXT,
    at,
    deliveries,
    frozen,
    mailbox,
    make_user,
    notifications_of,
    set_choice,
    tell,
)
from tests.support import SmtpServer, count_statements


@pytest.fixture
def dev(make_context: MakeContext) -> AppContext:
    """A shop with no SMTP server: every channel goes to the development mailbox."""
    return make_context(with_smtp=False, notifications_quiet_hours="")


async def test_the_same_key_twice_plans_once(dev: AppContext) -> None:
    user_id = await make_user(dev, "twice@example.com")
    await set_choice(dev, user_id, "orders", "sms", True)
    for _ in range(2):
        await tell(dev, "order.shipped", "order.shipped:7", Recipient(user_id=user_id))
        await dev.jobs.run_until_idle()
    assert len(await notifications_of(dev, "order.shipped:7")) == 1
    rows = await deliveries(dev, "order.shipped:7")
    assert sorted((d.channel, d.status) for d in rows) == [("email", "delivered"), ("sms", "delivered")]
    assert [m.to_address for m in await mailbox(dev, "sms")] == ["+12025550143"]


async def test_a_channel_switched_off_gets_no_delivery(dev: AppContext) -> None:
    user_id = await make_user(dev, "off@example.com")
    await set_choice(dev, user_id, "orders", "email", False)
    await tell(dev, "order.delivered", "order.delivered:7", Recipient(user_id=user_id))
    await dev.jobs.run_until_idle()
    assert await deliveries(dev, "order.delivered:7") == []
    [note] = await notifications_of(dev, "order.delivered:7")
    assert note.title == "Order ORD-2026-000007 was delivered"  # the in-app row is always written
    assert await mailbox(dev, "email") == []


async def test_account_email_cannot_be_switched_off(ctx: AppContext, smtp: SmtpServer) -> None:
    user_id = await make_user(ctx, "locked@example.com")
    await set_choice(ctx, user_id, "account", "email", False)
    context = {"shop_name": "Emporium", "first_name": "Ada"}
    await tell(
        ctx, "account.password_changed", "account.password_changed:1", Recipient(user_id=user_id), context
    )
    await ctx.jobs.run_until_idle()
    [mail] = smtp.sink.to("locked@example.com")
    assert mail.subject == "Your password was changed"


async def test_marketing_categories_wait_for_consent(dev: AppContext) -> None:
    user_id = await make_user(dev, "consent@example.com")
    context = {
        "category": "review_request",
        "shop_name": "Emporium",
        "name": "Ada",
        "number": "ORD-1",
        "products": [],
        "preferences_url": "http://x/account/notifications",
    }
    await tell(dev, "review.request", "review.request:1", Recipient(user_id=user_id), context)
    await dev.jobs.run_until_idle()
    await set_choice(dev, user_id, "review_request", "email", True)
    await tell(dev, "review.request", "review.request:2", Recipient(user_id=user_id), context)
    await dev.jobs.run_until_idle()
    assert await deliveries(dev, "review.request:1") == []
    assert [d.status for d in await deliveries(dev, "review.request:2")] == ["delivered"]


async def test_a_guest_with_only_a_phone_gets_order_messages_by_sms(dev: AppContext) -> None:
    await tell(dev, "order.shipped", "order.shipped:8", Recipient(phone="+919812345678"))
    await dev.jobs.run_until_idle()
    assert [(d.channel, d.status) for d in await deliveries(dev, "order.shipped:8")] == [("sms", "delivered")]
    [sms] = await mailbox(dev, "sms")
    assert "ORD-2026-000007 shipped with DHL" in sms.text_body


async def test_staff_events_reach_staff_with_the_permission(dev: AppContext) -> None:
    admin_id = await make_user(dev, "boss@example.com", role="admin")
    await make_user(dev, "shopper@example.com")
    context = {**ORDER_CONTEXT, "admin_url": "http://x/admin/orders/7"}
    async with dev.db.session() as session:
        notify_staff(
            session,
            "staff.order_placed",
            key="staff.order_placed:7",
            context=context,
            permission="orders:read",
        )
    await dev.jobs.run_until_idle()
    notes = await notifications_of(dev, "staff.order_placed:7")
    assert [n.user_id for n in notes] == [admin_id]
    [mail] = await mailbox(dev, "email")
    assert (mail.to_address, mail.subject) == ("boss@example.com", "New order ORD-2026-000007 (45.00 USD)")


PLANNING_TABLES = ("users", "notification", "contact_points", "push_subscriptions")


async def test_planning_costs_six_statements_per_recipient(
    dev: AppContext, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    frozen(monkeypatch, at("2026-06-01T12:00:00"))
    users = [await make_user(dev, f"count{i}@example.com") for i in range(3)]
    for user_id in users:
        await set_choice(dev, user_id, "orders", "sms", True)

    async def planning_statements(recipients: list[int], key: str) -> int:
        async with dev.db.session() as session:
            notify(
                session,
                "order.shipped",
                key=key,
                recipients=[Recipient(user_id=u) for u in recipients],
                context=ORDER_CONTEXT,
            )
        with count_statements(engine) as statements:
            await dev.jobs.run_once()  # the planning job only: the deliveries' jobs are claimed later
        counted = len([s for s in statements if any(table in s for table in PLANNING_TABLES)])
        await dev.jobs.run_until_idle()
        return counted

    one = await planning_statements(users[:1], "order.shipped:count1")
    three = await planning_statements(users, "order.shipped:count3")
    # Per recipient: the user with their quiet hours, the in-app row, their choices, the phone's opt-out,
    # their browsers, then every delivery in one INSERT: six, however many channels they get.
    assert one == 6
    assert three == 3 * one
    assert len(await deliveries(dev, "order.shipped:count3")) == 6
