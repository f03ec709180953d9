"""Twilio's and WhatsApp's webhooks through the app: signatures checked from the raw body against the shop's
public URL, every callback acted on once, STOP/START/HELP, the WhatsApp window, statuses moving deliveries;
forged, stale and re-serialised requests refused (400) with nothing stored."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from emporium.app import create_app
from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.notifications.contact_repository import ContactRepository
from emporium.notifications.models import ContactPoint, Delivery, ProviderCallback
from emporium.notifications.providers.twilio_sms import twilio_sms_provider
from emporium.route_limits import classifier
from tests.conftest import MakeContext
from tests.notifications.fake_twilio import FakeTwilio
from tests.notifications.messaging import (
    ACCOUNT_SID,
    APP_SECRET,
    AUTH_TOKEN,
    CUSTOMER,
    PHONE_NUMBER_ID,
    VERIFY_TOKEN,
    outbound,
    sent_delivery,
    twilio_settings,
    whatsapp_settings,
)
from tests.support import asgi_client, data, error

PUBLIC = "https://shop.example"
STATUS = "/api/v1/webhooks/twilio-status"
INBOUND = "/api/v1/webhooks/twilio-inbound"
WHATSAPP = "/api/v1/webhooks/whatsapp"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
DAY = 24 * 3600


@pytest.fixture
def mctx(make_context: MakeContext) -> AppContext:
    return make_context(public_url=PUBLIC, **twilio_settings(), **whatsapp_settings())


@pytest.fixture
async def client(mctx: AppContext) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(create_app(ctx=mctx)) as http:
        yield http


def twilio_signature(url: str, fields: dict[str, str], token: str = AUTH_TOKEN) -> str:
    return str(RequestValidator(token).compute_signature(url, fields))


async def post_twilio(
    client: httpx.AsyncClient, path: str, fields: dict[str, str], *, signed_url: str | None = None, **kw: Any
) -> httpx.Response:
    signature = twilio_signature(signed_url or PUBLIC + path, fields)
    headers = {**FORM, "X-Twilio-Signature": signature, **kw.pop("headers", {})}
    return await client.post(path, content=urlencode(fields), headers=headers, **kw)


def status_path(sent: float | None = None) -> str:
    return f"{STATUS}?sent={int(sent if sent is not None else time.time())}"


def inbound_fields(body: str, sid: str, sender: str = CUSTOMER) -> dict[str, str]:
    return {
        "MessageSid": sid,
        "AccountSid": twilio_settings()["twilio_account_sid"],  # type: ignore[dict-item]
        "From": sender,
        "To": "+15005550006",
        "Body": body,
        "NumMedia": "0",
    }


async def callbacks(ctx: AppContext) -> int:
    async with ctx.db.session() as session:
        return int((await session.execute(select(func.count(ProviderCallback.id)))).scalar_one())


async def contact_points(ctx: AppContext) -> int:
    async with ctx.db.session() as session:
        return int((await session.execute(select(func.count(ContactPoint.id)))).scalar_one())


async def delivery_status(ctx: AppContext, delivery_id: int) -> tuple[str, str | None]:
    async with ctx.db.session() as session:
        delivery = await session.get(Delivery, delivery_id)
        assert delivery is not None
        await session.refresh(delivery)
        return delivery.status, delivery.error


async def opted_out(ctx: AppContext, channel: str, address: str = CUSTOMER) -> bool:
    async with ctx.db.session() as session:
        return await ContactRepository(session).opted_out(channel, address)


# -- Twilio ----------------------------------------------------------------------------------------------


async def test_twilio_statuses_move_the_delivery_once_each(
    client: httpx.AsyncClient, mctx: AppContext
) -> None:
    delivery = await sent_delivery(mctx.db, "sms", "SM" + "a" * 32)
    path = status_path()
    delivered = {"MessageSid": "SM" + "a" * 32, "MessageStatus": "delivered", "AccountSid": "AC1"}
    assert data(await post_twilio(client, path, delivered)) == {"received": True, "duplicate": False}
    assert await delivery_status(mctx, delivery) == ("delivered", None)
    # Twilio retries what it thinks failed: the same status again is acknowledged and changes nothing.
    assert data(await post_twilio(client, path, delivered)) == {"received": True, "duplicate": True}
    # A late "sent" never moves a delivered message back.
    sent = {**delivered, "MessageStatus": "sent"}
    assert data(await post_twilio(client, path, sent))["duplicate"] is False
    assert await delivery_status(mctx, delivery) == ("delivered", None)
    assert await callbacks(mctx) == 2


async def test_a_twilio_failure_keeps_its_error_code(client: httpx.AsyncClient, mctx: AppContext) -> None:
    delivery = await sent_delivery(mctx.db, "sms", "SM" + "b" * 32)
    fields = {"MessageSid": "SM" + "b" * 32, "MessageStatus": "undelivered", "ErrorCode": "30005"}
    data(await post_twilio(client, status_path(), fields))
    assert await delivery_status(mctx, delivery) == ("undelivered", "Twilio error 30005")


async def test_forged_stale_and_reserialised_twilio_callbacks_are_refused(
    client: httpx.AsyncClient, mctx: AppContext
) -> None:
    delivery = await sent_delivery(mctx.db, "sms", "SM" + "c" * 32)
    fields = {"MessageSid": "SM" + "c" * 32, "MessageStatus": "delivered"}
    path = status_path()
    signature = twilio_signature(PUBLIC + path, fields)
    refused = [
        # Signed with another token.
        await client.post(
            path,
            content=urlencode(fields),
            headers={**FORM, "X-Twilio-Signature": twilio_signature(PUBLIC + path, fields, "f" * 32)},
        ),
        # No signature at all.
        await client.post(path, content=urlencode(fields), headers=FORM),
        # A field changed after signing.
        await client.post(
            path,
            content=urlencode({**fields, "MessageStatus": "failed"}),
            headers={**FORM, "X-Twilio-Signature": signature},
        ),
        # A field added after signing.
        await client.post(
            path,
            content=urlencode({**fields, "ErrorCode": "1"}),
            headers={**FORM, "X-Twilio-Signature": signature},
        ),
        # The same fields re-serialised as JSON.
        await client.post(path, json=fields, headers={"X-Twilio-Signature": signature}),
        # Signed for the URL the request reached (its Host), not the shop's public URL.
        await post_twilio(client, path, fields, signed_url=f"http://testserver{path}"),
        # A genuine callback replayed after the longest Twilio would retry.
        await post_twilio(client, status_path(time.time() - 8 * DAY), fields),
        # Signed, but without the send time the shop put in the URL.
        await post_twilio(client, STATUS, fields),
    ]
    for response in refused:
        assert error(response, 400)["code"] == "WEBHOOK_INVALID"
    assert await callbacks(mctx) == 0
    assert await delivery_status(mctx, delivery) == ("sent", None)


async def test_behind_a_proxy_the_public_url_is_what_counts(make_context: MakeContext) -> None:
    ctx = make_context(public_url=PUBLIC, trusted_proxies=["127.0.0.0/8"], **twilio_settings())
    transport = httpx.ASGITransport(app=create_app(ctx=ctx), client=("127.0.0.1", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://10.0.0.5:8000") as proxied:
        fields = {"MessageSid": "SM" + "d" * 32, "MessageStatus": "sent"}
        headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "54.172.60.1", "Host": "10.0.0.5:8000"}
        response = await post_twilio(proxied, status_path(), fields, headers=headers)
    assert data(response) == {"received": True, "duplicate": False}


async def test_stop_then_start_flips_the_opt_out(client: httpx.AsyncClient, mctx: AppContext) -> None:
    stop = await post_twilio(client, INBOUND, inbound_fields("Stop", "SM" + "1" * 32))
    assert stop.status_code == 200
    assert stop.headers["content-type"].startswith("application/xml")
    assert "<Message>" not in stop.text
    assert await opted_out(mctx, "sms") is True
    start = await post_twilio(client, INBOUND, inbound_fields(" start ", "SM" + "2" * 32))
    assert start.status_code == 200
    assert await opted_out(mctx, "sms") is False
    # The STOP delivered again (Twilio retrying) is a repeat: it does not opt the number out again.
    again = await post_twilio(client, INBOUND, inbound_fields("Stop", "SM" + "1" * 32))
    assert again.status_code == 200
    assert await opted_out(mctx, "sms") is False
    async with mctx.db.session() as session:
        point = (await session.execute(select(ContactPoint))).scalar_one()
    assert (point.channel, point.address, point.opt_out_source) == ("sms", CUSTOMER, "keyword:START")
    assert point.last_inbound_at is not None


@pytest.mark.parametrize("word", ["STOPALL", "unsubscribe", "CANCEL", "end", "Quit."])
async def test_every_stop_keyword_opts_out(client: httpx.AsyncClient, mctx: AppContext, word: str) -> None:
    assert (await post_twilio(client, INBOUND, inbound_fields(word, "SM" + "3" * 32))).status_code == 200
    assert await opted_out(mctx, "sms") is True
    async with mctx.db.session() as session:
        source = (await session.execute(select(ContactPoint.opt_out_source))).scalar_one()
    assert source == "keyword:STOP"


async def test_help_is_answered_with_the_shops_help_text(client: httpx.AsyncClient, mctx: AppContext) -> None:
    response = await post_twilio(client, INBOUND, inbound_fields("help", "SM" + "4" * 32))
    assert response.status_code == 200
    assert "<Response><Message>" in response.text
    assert "Reply STOP to stop them" in response.text
    assert await opted_out(mctx, "sms") is False
    # Words that only contain a keyword change nothing.
    other = await post_twilio(client, INBOUND, inbound_fields("please stop by tomorrow", "SM" + "5" * 32))
    assert other.text.count("<Message>") == 0
    assert await opted_out(mctx, "sms") is False


async def test_a_forged_inbound_stop_changes_nothing(client: httpx.AsyncClient, mctx: AppContext) -> None:
    fields = inbound_fields("STOP", "SM" + "6" * 32)
    forged = await client.post(
        INBOUND,
        content=urlencode(fields),
        headers={**FORM, "X-Twilio-Signature": twilio_signature(PUBLIC + INBOUND, fields, "e" * 32)},
    )
    assert error(forged, 400)["code"] == "WEBHOOK_INVALID"
    assert await contact_points(mctx) == 0
    assert await callbacks(mctx) == 0


# -- WhatsApp --------------------------------------------------------------------------------------------


def wa_body(
    *, statuses: list[dict[str, Any]] | None = None, messages: list[dict[str, Any]] | None = None
) -> bytes:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": PHONE_NUMBER_ID},
    }
    if statuses:
        value["statuses"] = statuses
    if messages:
        value["messages"] = messages
        value["contacts"] = [{"profile": {"name": "Asha"}, "wa_id": CUSTOMER[1:]}]
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA1", "changes": [{"value": value, "field": "messages"}]}],
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def wa_status(message_id: str, status: str, at: float | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": message_id,
        "status": status,
        "timestamp": str(int(at or time.time())),
        "recipient_id": CUSTOMER[1:],
        **extra,
    }


def wa_text(message_id: str, text: str, at: float | None = None) -> dict[str, Any]:
    return {
        "from": CUSTOMER[1:],
        "id": message_id,
        "timestamp": str(int(at or time.time())),
        "type": "text",
        "text": {"body": text},
    }


def hub_signature(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def post_whatsapp(
    client: httpx.AsyncClient, body: bytes, signature: str | None = None
) -> httpx.Response:
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature or hub_signature(body)}
    return await client.post(WHATSAPP, content=body, headers=headers)


async def test_the_subscription_check_echoes_the_challenge_only_for_the_verify_token(
    client: httpx.AsyncClient,
) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    ok = await client.get(WHATSAPP, params=query)
    assert ok.status_code == 200
    assert ok.text == "1158201444"
    wrong = await client.get(WHATSAPP, params={**query, "hub.verify_token": "guess"})
    assert error(wrong, 403)["code"] == "FORBIDDEN"
    not_subscribe = await client.get(WHATSAPP, params={**query, "hub.mode": "unsubscribe"})
    assert error(not_subscribe, 403)["code"] == "FORBIDDEN"


async def test_whatsapp_statuses_move_the_delivery_once_each(
    client: httpx.AsyncClient, mctx: AppContext
) -> None:
    delivery = await sent_delivery(mctx.db, "whatsapp", "wamid.HBgLOTE5ODEyMzQ1Njc4")
    delivered = wa_body(statuses=[wa_status("wamid.HBgLOTE5ODEyMzQ1Njc4", "delivered")])
    assert data(await post_whatsapp(client, delivered)) == {"new_events": 1}
    assert await delivery_status(mctx, delivery) == ("delivered", None)
    assert data(await post_whatsapp(client, delivered)) == {"new_events": 0}
    read = wa_body(statuses=[wa_status("wamid.HBgLOTE5ODEyMzQ1Njc4", "read")])
    assert data(await post_whatsapp(client, read)) == {"new_events": 1}
    assert await delivery_status(mctx, delivery) == ("read", None)


async def test_a_whatsapp_failure_keeps_its_error(client: httpx.AsyncClient, mctx: AppContext) -> None:
    delivery = await sent_delivery(mctx.db, "whatsapp", "wamid.failed1")
    errors = [{"code": 131026, "title": "Message undeliverable"}]
    data(await post_whatsapp(client, wa_body(statuses=[wa_status("wamid.failed1", "failed", errors=errors)])))
    assert await delivery_status(mctx, delivery) == ("failed", "WhatsApp error 131026: Message undeliverable")


async def test_an_inbound_message_opens_the_window_for_24_hours(
    client: httpx.AsyncClient, mctx: AppContext
) -> None:
    async with mctx.db.session() as session:
        assert await ContactRepository(session).window_open("whatsapp", CUSTOMER, utcnow()) is False
    assert data(
        await post_whatsapp(client, wa_body(messages=[wa_text("wamid.in1", "Is my order out?")]))
    ) == {"new_events": 1}
    async with mctx.db.session() as session:
        contacts = ContactRepository(session)
        now = utcnow()
        assert await contacts.window_open("whatsapp", CUSTOMER, now) is True
        assert await contacts.window_open("whatsapp", CUSTOMER, now + timedelta(hours=23)) is True
        assert await contacts.window_open("whatsapp", CUSTOMER, now + timedelta(hours=24, minutes=1)) is False
        assert await contacts.opted_out("whatsapp", CUSTOMER) is False


async def test_whatsapp_stop_then_start(client: httpx.AsyncClient, mctx: AppContext) -> None:
    data(await post_whatsapp(client, wa_body(messages=[wa_text("wamid.in2", "STOP")])))
    assert await opted_out(mctx, "whatsapp") is True
    assert await opted_out(mctx, "sms") is False
    data(await post_whatsapp(client, wa_body(messages=[wa_text("wamid.in3", "Start")])))
    assert await opted_out(mctx, "whatsapp") is False


async def test_forged_stale_and_reserialised_whatsapp_posts_are_refused(
    client: httpx.AsyncClient, mctx: AppContext
) -> None:
    delivery = await sent_delivery(mctx.db, "whatsapp", "wamid.forged")
    body = wa_body(statuses=[wa_status("wamid.forged", "delivered")], messages=[wa_text("wamid.in4", "STOP")])
    reserialised = json.dumps(json.loads(body), indent=2).encode()
    stale = wa_body(messages=[wa_text("wamid.in5", "STOP", at=time.time() - 8 * DAY)])
    refused = [
        await post_whatsapp(client, body, hub_signature(body, "another-app-secret")),
        await post_whatsapp(client, body, "sha1=" + hmac.new(APP_SECRET.encode(), body, "sha1").hexdigest()),
        await client.post(WHATSAPP, content=body, headers={"Content-Type": "application/json"}),
        await post_whatsapp(client, reserialised, hub_signature(body)),
        await post_whatsapp(client, stale),
        await post_whatsapp(client, b'{"object": "page", "entry": []}'),
        await post_whatsapp(client, b"not json"),
    ]
    for response in refused:
        assert error(response, 400)["code"] == "WEBHOOK_INVALID"
    assert await callbacks(mctx) == 0
    assert await contact_points(mctx) == 0
    assert await delivery_status(mctx, delivery) == ("sent", None)


async def test_events_of_another_number_of_the_app_are_ignored(
    client: httpx.AsyncClient, mctx: AppContext
) -> None:
    body = wa_body(messages=[wa_text("wamid.in6", "STOP")]).replace(PHONE_NUMBER_ID.encode(), b"999")
    assert data(await post_whatsapp(client, body)) == {"new_events": 0}
    assert await contact_points(mctx) == 0


async def test_unconfigured_webhooks_refuse_everything(make_context: MakeContext) -> None:
    ctx = make_context(public_url=PUBLIC)
    async with asgi_client(create_app(ctx=ctx)) as plain:
        fields = {"MessageSid": "SM" + "7" * 32, "MessageStatus": "sent"}
        assert error(await post_twilio(plain, status_path(), fields), 400)["code"] == "WEBHOOK_INVALID"
        body = wa_body(messages=[wa_text("wamid.in7", "hi")])
        assert error(await post_whatsapp(plain, body), 400)["code"] == "WEBHOOK_INVALID"
        query = {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}
        assert error(await plain.get(WHATSAPP, params=query), 403)["code"] == "FORBIDDEN"
    assert await callbacks(ctx) == 0


async def test_webhook_bodies_are_bounded_like_the_payment_webhooks(
    client: httpx.AsyncClient, mctx: AppContext
) -> None:
    huge = b"{" + b" " * mctx.settings.webhook_max_body_bytes + b"}"
    for path in (WHATSAPP, STATUS, INBOUND):
        response = await client.post(path, content=huge, headers={"Content-Type": "application/json"})
        assert error(response, 413)["code"]
    assert await callbacks(mctx) == 0


def test_messaging_webhooks_are_not_rate_limited(mctx: AppContext) -> None:
    classify = classifier(mctx.settings)
    for path in (STATUS, INBOUND, WHATSAPP):
        assert classify("POST", path) is None
    assert classify("GET", WHATSAPP) is None


async def test_a_message_from_a_sender_that_is_no_phone_number_is_kept_not_acted_on(
    client: httpx.AsyncClient, mctx: AppContext
) -> None:
    message = {**wa_text("wamid.in8", "STOP"), "from": "US.13491208655302741918"}
    assert data(await post_whatsapp(client, wa_body(messages=[message]))) == {"new_events": 1}
    assert await contact_points(mctx) == 0
    assert await callbacks(mctx) == 1


async def test_the_status_callback_twilio_is_given_is_accepted_when_twilio_calls_it(
    make_context: MakeContext,
) -> None:
    fake = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
    fake.start()
    ctx = make_context(public_url=PUBLIC, **twilio_settings(fake.url))
    sender = twilio_sms_provider(ctx.settings)
    assert sender is not None
    try:
        result = await sender.send(outbound("sms"))
    finally:
        await sender.aclose()
        fake.stop()
    assert result.provider_message_id is not None
    delivery = await sent_delivery(ctx.db, "sms", result.provider_message_id)
    callback_url = fake.state.messages[0].fields["StatusCallback"]
    assert callback_url.startswith(PUBLIC + STATUS + "?sent=")
    fields = {
        "MessageSid": result.provider_message_id,
        "MessageStatus": "delivered",
        "AccountSid": ACCOUNT_SID,
    }
    async with asgi_client(create_app(ctx=ctx)) as http:
        response = await post_twilio(http, callback_url.removeprefix(PUBLIC), fields)
    assert data(response) == {"received": True, "duplicate": False}
    assert await delivery_status(ctx, delivery) == ("delivered", None)


async def test_other_fields_of_the_webhook_are_acknowledged(
    client: httpx.AsyncClient, mctx: AppContext
) -> None:
    review = {"event": "APPROVED", "message_template_id": 594425479261596, "message_template_name": "x"}
    change = {"field": "message_template_status_update", "value": review}
    payload = {"object": "whatsapp_business_account", "entry": [{"id": "WABA1", "changes": [change]}]}
    assert data(await post_whatsapp(client, json.dumps(payload).encode())) == {"new_events": 0}
    assert await callbacks(mctx) == 0
