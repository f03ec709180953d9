"""The issue's journey through the real API: a customer who switches e-mail off for order updates and SMS on
gets the shipping notice by SMS (kept in the development mailbox, channel sms) and in the in-app inbox, not
by e-mail; and a shop whose mail server is down still takes and ships orders."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from emporium.app import create_app
from emporium.core.context import AppContext
from emporium.notifications.models import Notification
from emporium.notifications.preferences import choose
from tests.conftest import MakeContext, sign_up
from tests.inventory.factory import staff_headers
from tests.notifications.fake_twilio import FakeTwilio
from tests.notifications.helpers import deliveries, mailbox
from tests.notifications.messaging import ACCOUNT_SID, AUTH_TOKEN, twilio_settings
from tests.orders.conftest import place_for
from tests.support import asgi_client, data, free_port

# The address the shop is published at: Twilio signs callbacks against it, whatever host the request names.
PUBLIC = "https://shop.example"


@pytest.fixture
async def dev(make_context: MakeContext) -> AppContext:
    return make_context(with_smtp=False, notifications_quiet_hours="")


@pytest.fixture
async def api(dev: AppContext) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(ctx=dev), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def _ship(api: httpx.AsyncClient, ctx: AppContext, order_id: int) -> None:
    staff = await staff_headers(api, ctx, email="shipper@example.com", role="support")
    url = f"/api/v1/admin/orders/{order_id}"
    data(await api.put(url, json={"status": "confirmed"}, headers=staff))
    data(
        await api.put(
            url, json={"status": "shipped", "carrier": "DHL", "tracking_number": "JD0146"}, headers=staff
        )
    )


async def test_email_off_and_sms_on_brings_the_shipping_notice_by_sms(
    api: httpx.AsyncClient, dev: AppContext
) -> None:
    shopper = await sign_up(api, "ada@example.com", first_name="Ada", phone="+1 202 555 0143")
    me = data(await api.get("/api/v1/users/profile", headers=shopper.headers))
    async with dev.db.session() as session:
        await choose(session, me["id"], "orders", "email", False, source="account")
        await choose(session, me["id"], "orders", "sms", True, source="account")
    placed = await place_for(api, dev, shopper, payment_method="cash_on_delivery")
    await _ship(api, dev, placed.order["id"])
    await dev.jobs.run_until_idle()

    number = placed.order["number"]
    shipped = [m for m in await mailbox(dev, "sms") if m.template == "order.shipped"]
    assert len(shipped) == 1
    assert shipped[0].to_address == me["phone"]
    assert f"order {number} shipped with DHL, tracking JD0146" in shipped[0].text_body
    to_ada = [m.template for m in await mailbox(dev, "email") if m.to_address == "ada@example.com"]
    assert sorted(to_ada) == ["verify_email", "welcome"]  # no order e-mail at all
    async with dev.db.session() as session:
        inbox = (
            await session.execute(select(Notification).where(Notification.user_id == me["id"]))
        ).scalars()
        titles = [n.title for n in inbox]
    assert f"Order {number} is on its way" in titles
    assert [d.channel for d in await deliveries(dev, f"order.shipped:{placed.order['id']}")] == ["sms"]


async def test_a_mail_server_down_never_holds_an_order(make_context: MakeContext) -> None:
    ctx = make_context(
        smtp_port=free_port(), notifications_max_attempts=2, notifications_retry_base_seconds=0
    )
    transport = httpx.ASGITransport(app=create_app(ctx=ctx), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
        shopper = await sign_up(api, "grace@example.com", first_name="Grace")
        placed = await place_for(api, ctx, shopper, payment_method="cash_on_delivery")
        await _ship(api, ctx, placed.order["id"])
        await ctx.jobs.run_until_idle()
        order = data(await api.get(f"/api/v1/orders/{placed.order['id']}", headers=shopper.headers))
    assert order["status"] == "shipped"
    rows = await deliveries(ctx, f"order.shipped:{placed.order['id']}")
    assert [(d.channel, d.status, d.attempts) for d in rows] == [("email", "failed", 2)]
    assert rows[0].error is not None
    assert "SMTPConnectError" in rows[0].error


async def test_with_twilio_the_shipping_notice_leaves_by_the_sdk_and_twilio_reports_it_delivered(
    make_context: MakeContext,
) -> None:
    """The same journey with the real sender: the notice reaches the fake Twilio REST API through the
    official SDK (not the development mailbox), and Twilio's signed status callback marks it delivered."""
    fake = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
    fake.start()
    try:
        ctx = make_context(
            with_smtp=False, notifications_quiet_hours="", public_url=PUBLIC, **twilio_settings(fake.url)
        )
        async with asgi_client(create_app(ctx=ctx)) as http:
            shopper = await sign_up(http, "grace@example.com", first_name="Grace", phone="+1 202 555 0172")
            me = data(await http.get("/api/v1/users/profile", headers=shopper.headers))
            async with ctx.db.session() as session:
                await choose(session, me["id"], "orders", "email", False, source="account")
                await choose(session, me["id"], "orders", "sms", True, source="account")
            placed = await place_for(http, ctx, shopper, payment_method="cash_on_delivery")
            await _ship(http, ctx, placed.order["id"])
            await ctx.jobs.run_until_idle()

            [shipped] = [m for m in fake.state.messages if "DHL" in m.fields["Body"]]
            # Order messages go to the phone given with the order (tests/orders/factory.py's address), which
            # may differ from the account's.
            assert me["phone"] == "+12025550172"
            assert shipped.fields["To"] == "+12025550143"
            assert await mailbox(ctx, "sms") == []
            [delivery] = await deliveries(ctx, f"order.shipped:{placed.order['id']}")
            assert (delivery.channel, delivery.provider_message_id) == ("sms", shipped.sid)

            callback = shipped.fields["StatusCallback"]
            fields = {"MessageSid": shipped.sid, "MessageStatus": "delivered", "AccountSid": ACCOUNT_SID}
            signature = str(RequestValidator(AUTH_TOKEN).compute_signature(callback, fields))
            answer = await http.post(
                callback.removeprefix(PUBLIC), data=fields, headers={"X-Twilio-Signature": signature}
            )
            assert data(answer)["duplicate"] is False
    finally:
        fake.stop()
    [delivery] = await deliveries(ctx, f"order.shipped:{placed.order['id']}")
    assert delivery.status == "delivered"
