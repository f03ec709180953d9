"""The web push provider against a push service on loopback that verifies the VAPID token and decrypts the
aes128gcm payload with the subscription's own keys (tests/notifications/fake_push.py)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from emporium.notifications.channels import sendable_channels
from emporium.notifications.providers.base import DeliveryFailed, OutboundMessage
from emporium.notifications.providers.webpush import (
    MAX_PAYLOAD_BYTES,
    WebPushProvider,
    topic_header,
    webpush_provider,
)
from emporium.notifications.vapid import generate_keys, public_key_for
from emporium.settings import AppSettings
from tests.conftest import make_settings
from tests.notifications.fake_push import FakePushService
from tests.support import free_port

KEYS = generate_keys()


@pytest.fixture
async def push_service() -> AsyncIterator[FakePushService]:
    service = FakePushService()
    await service.start()
    yield service
    await service.stop()


def push_settings(settings: AppSettings, **overrides: Any) -> AppSettings:
    values: dict[str, Any] = {
        "vapid_private_key": KEYS.private_key,
        "vapid_public_key": KEYS.public_key,
        "contact_email": "help@shop.test",
    }
    values.update(overrides)
    return make_settings(settings.database_url, None, **values)


@pytest.fixture
async def provider(settings: AppSettings) -> AsyncIterator[WebPushProvider]:
    made = webpush_provider(push_settings(settings))
    assert isinstance(made, WebPushProvider)
    yield made
    await made.aclose()


def message(subscription: dict[str, Any], **overrides: Any) -> OutboundMessage:
    values: dict[str, Any] = {
        "delivery_id": 7,
        "idempotency_key": "order.shipped:42|user:3|push",
        "channel": "push",
        "to": subscription["endpoint"],
        "event": "order.shipped",
        "category": "orders",
        "locale": "en",
        "subject": "Your order ORD-2026-000042 is on its way",
        "text": "Tracking: 1Z999 with UPS — arriving Thursday.",
        "link": "http://shop.test/account/orders/42",
        "topic": "order:42",
        "ttl_seconds": 3600,
        "keys": subscription["keys"],
    }
    values.update(overrides)
    return OutboundMessage(**values)


async def test_a_push_arrives_signed_encrypted_and_with_its_headers(
    provider: WebPushProvider, push_service: FakePushService
) -> None:
    subscription = push_service.subscribe()
    result = await provider.send(message(subscription))

    assert push_service.refused == []
    [got] = push_service.received
    assert got.json == {
        "title": "Your order ORD-2026-000042 is on its way",
        "body": "Tracking: 1Z999 with UPS — arriving Thursday.",
        "url": "http://shop.test/account/orders/42",
    }
    assert got.content_encoding == "aes128gcm"
    assert got.ttl == "3600"
    assert got.urgency == "normal"
    assert got.topic == topic_header("order:42")
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", got.topic or "")
    # The token is the shop's: signed by its key, naming its contact.
    assert got.vapid_key == KEYS.public_key
    assert got.claims["sub"] == "mailto:help@shop.test"
    assert got.claims["aud"] == push_service.origin
    assert result.provider == "webpush"
    assert result.provider_message_id
    assert result.provider_message_id.startswith(push_service.origin + "/message/")


async def test_one_topic_per_order_and_urgency_by_category(
    provider: WebPushProvider, push_service: FakePushService
) -> None:
    subscription = push_service.subscribe()
    await provider.send(message(subscription, event="order.shipped"))
    await provider.send(message(subscription, event="order.delivered", subject="Delivered"))
    await provider.send(message(subscription, topic="order:43", category="account", ttl_seconds=0))
    await provider.send(message(subscription, topic=None, category="marketing"))
    first, second, other, untopical = push_service.received
    assert first.topic == second.topic != other.topic
    assert untopical.topic is None
    assert [p.urgency for p in push_service.received] == ["normal", "normal", "high", "low"]
    assert other.ttl == "0"  # a TTL is always sent, 0 included


async def test_a_long_body_is_shortened_to_fit_one_push_message(
    provider: WebPushProvider, push_service: FakePushService
) -> None:
    subscription = push_service.subscribe()
    await provider.send(message(subscription, text="ü" * 5000))
    [got] = push_service.received
    assert len(got.plaintext) <= MAX_PAYLOAD_BYTES
    assert got.json["body"].endswith("…")
    assert got.json["title"] == "Your order ORD-2026-000042 is on its way"


@pytest.mark.parametrize(
    ("status", "permanent", "gone"),
    [(404, True, True), (410, True, True), (429, False, False), (503, False, False), (500, False, False),
     (400, True, False), (413, True, False), (403, True, False)],
)  # fmt: skip
async def test_what_the_push_service_answers_decides_the_outcome(
    provider: WebPushProvider, push_service: FakePushService, status: int, permanent: bool, gone: bool
) -> None:
    subscription = push_service.subscribe()
    push_service.answer_with(subscription["endpoint"], status)
    with pytest.raises(DeliveryFailed) as failed:
        await provider.send(message(subscription))
    assert (failed.value.permanent, failed.value.gone) == (permanent, gone)
    assert str(status) in failed.value.reason


async def test_an_unreachable_push_service_is_worth_a_retry(provider: WebPushProvider) -> None:
    subscription = {
        "endpoint": f"http://127.0.0.1:{free_port()}/push/x",
        "keys": FakePushService().subscribe()["keys"],
    }
    with pytest.raises(DeliveryFailed) as failed:
        await provider.send(message(subscription))
    assert not failed.value.permanent


async def test_keys_that_are_not_a_p256_point_fail_for_good(
    provider: WebPushProvider, push_service: FakePushService
) -> None:
    subscription = push_service.subscribe()
    broken = {"p256dh": "BA" + "A" * 85, "auth": subscription["keys"]["auth"]}
    with pytest.raises(DeliveryFailed) as failed:
        await provider.send(message(subscription, keys=broken))
    assert failed.value.permanent
    assert push_service.received == []


async def test_push_is_offered_only_with_a_key_pair(settings: AppSettings) -> None:
    # Outside production, push without keys would be kept in the development mailbox: none here.
    bare = make_settings(settings.database_url, None, notifications_development_channels=[])
    assert webpush_provider(bare) is None
    assert "push" not in sendable_channels(bare)
    configured = push_settings(settings, notifications_development_channels=[])
    assert "push" in sendable_channels(configured)
    provider = webpush_provider(configured)
    assert provider is not None
    assert provider.channel == "push"
    await provider.aclose()


def test_generated_keys_are_a_pair_and_production_checks_them(settings: AppSettings) -> None:
    assert public_key_for(KEYS.private_key) == KEYS.public_key
    other = generate_keys()
    problems = push_settings(settings, vapid_public_key=other.public_key).production_problems()
    assert any("EMPORIUM_VAPID_PUBLIC_KEY is not the public half" in p for p in problems)
    half = push_settings(settings, vapid_public_key=None).production_problems()
    assert any("must be set together" in p for p in half)
    subject = push_settings(settings, vapid_subject="shop owner").production_problems()
    assert any("EMPORIUM_VAPID_SUBJECT" in p for p in subject)
    assert not [p for p in push_settings(settings).production_problems() if "VAPID" in p]
