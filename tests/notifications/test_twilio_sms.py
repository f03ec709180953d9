"""SMS through Twilio's official SDK (its async client) against a fake Twilio REST API on loopback: the form
Twilio receives, the sender, the status callback, and what each refusal means for the delivery."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from emporium.notifications.providers.base import DeliveryFailed
from emporium.notifications.providers.twilio_sms import TwilioSmsProvider, twilio_sms_provider
from emporium.settings import AppSettings
from tests.conftest import make_settings
from tests.notifications.fake_twilio import FakeTwilio
from tests.notifications.messaging import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CUSTOMER,
    FROM_NUMBER,
    SERVICE_SID,
    outbound,
    twilio_settings,
)
from tests.support import free_port


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    server = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
    server.start()
    yield server
    server.stop()


def _settings(database_url: str, api_base: str, **extra: object) -> AppSettings:
    return make_settings(database_url, None, **twilio_settings(api_base, **extra))


@pytest.fixture
async def provider(database_url: str, fake: FakeTwilio) -> AsyncIterator[TwilioSmsProvider]:
    sender = twilio_sms_provider(_settings(database_url, fake.url))
    assert isinstance(sender, TwilioSmsProvider)
    yield sender
    await sender.aclose()


async def test_the_sdk_sends_from_the_messaging_service_with_a_status_callback(
    provider: TwilioSmsProvider, fake: FakeTwilio
) -> None:
    result = await provider.send(outbound("sms", "Your order ORD-2026-000042 has shipped."))
    [accepted] = fake.state.messages
    assert result.provider == "twilio"
    assert result.provider_message_id == accepted.sid
    assert result.status == "sent"
    assert accepted.fields["To"] == CUSTOMER
    assert accepted.fields["Body"] == "Your order ORD-2026-000042 has shipped."
    assert accepted.fields["MessagingServiceSid"] == SERVICE_SID
    assert "From" not in accepted.fields
    assert accepted.headers["User-Agent"].startswith("twilio-python/")
    callback = urlsplit(accepted.fields["StatusCallback"])
    assert (callback.scheme, callback.netloc, callback.path) == (
        "http",
        "shop.test",
        "/api/v1/webhooks/twilio-status",
    )
    assert parse_qs(callback.query)["sent"][0].isdigit()


async def test_a_sender_number_is_used_without_a_messaging_service(
    database_url: str, fake: FakeTwilio
) -> None:
    sender = twilio_sms_provider(
        _settings(database_url, fake.url, twilio_messaging_service_sid=None, twilio_from_number=FROM_NUMBER)
    )
    assert sender is not None
    try:
        await sender.send(outbound("sms"))
    finally:
        await sender.aclose()
    [accepted] = fake.state.messages
    assert accepted.fields["From"] == FROM_NUMBER
    assert "MessagingServiceSid" not in accepted.fields


def test_no_provider_without_credentials_and_a_sender(database_url: str) -> None:
    assert twilio_sms_provider(make_settings(database_url, None)) is None
    without_sender = twilio_settings(twilio_messaging_service_sid=None)
    assert twilio_sms_provider(make_settings(database_url, None, **without_sender)) is None


@pytest.mark.parametrize(
    ("status", "code", "permanent"),
    [
        (400, 21610, True),  # the number replied STOP
        (400, 21211, True),  # not a valid phone number
        (400, 21614, True),  # not a mobile number
        (400, 21408, True),  # region not enabled
        (429, 20429, False),
        (500, 20500, False),
        (503, None, False),
    ],
)
async def test_refusals_are_permanent_or_retryable_by_twilio_error_code(
    provider: TwilioSmsProvider, fake: FakeTwilio, status: int, code: int | None, permanent: bool
) -> None:
    fake.refuse_next(status, code)
    with pytest.raises(DeliveryFailed) as failed:
        await provider.send(outbound("sms"))
    assert failed.value.permanent is permanent
    assert str(status) in failed.value.reason
    assert fake.state.messages == []


async def test_a_wrong_auth_token_is_refused_and_retryable(database_url: str, fake: FakeTwilio) -> None:
    sender = twilio_sms_provider(_settings(database_url, fake.url, twilio_auth_token="0" * 32))
    assert sender is not None
    try:
        with pytest.raises(DeliveryFailed) as failed:
            await sender.send(outbound("sms"))
    finally:
        await sender.aclose()
    assert fake.state.unauthorised == 1
    assert "20003" in failed.value.reason
    assert failed.value.permanent is False


async def test_a_slow_twilio_times_out_retryably(database_url: str, fake: FakeTwilio) -> None:
    fake.delay = 1.5
    sender = twilio_sms_provider(_settings(database_url, fake.url, twilio_timeout_seconds=0.3))
    assert sender is not None
    try:
        with pytest.raises(DeliveryFailed) as failed:
            await sender.send(outbound("sms"))
    finally:
        await sender.aclose()
    assert failed.value.permanent is False
    assert "in time" in failed.value.reason
    await asyncio.sleep(1.3)  # the fake finishes its answer before it is stopped


async def test_an_unreachable_twilio_is_retryable(database_url: str) -> None:
    sender = twilio_sms_provider(_settings(database_url, f"http://127.0.0.1:{free_port()}"))
    assert sender is not None
    try:
        with pytest.raises(DeliveryFailed) as failed:
            await sender.send(outbound("sms"))
    finally:
        await sender.aclose()
    assert failed.value.permanent is False
