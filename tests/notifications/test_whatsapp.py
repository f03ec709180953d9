"""WhatsApp through the Cloud API against a fake Graph API on loopback: free text inside the 24-hour window,
the approved template outside it, and what each refusal means for the delivery."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from emporium.notifications.providers.base import DeliveryFailed
from emporium.notifications.providers.whatsapp import WhatsAppProvider, whatsapp_provider
from emporium.notifications.whatsapp_templates import TEMPLATES, template_for
from tests.conftest import make_settings
from tests.notifications.fake_graph import FakeGraph
from tests.notifications.messaging import ACCESS_TOKEN, PHONE_NUMBER_ID, outbound, whatsapp_settings
from tests.support import free_port

SHIPPED = {"number": "ORD-2026-000042", "carrier": "Blue Dart", "tracking_number": "BD 123\n456"}


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    server = FakeGraph(PHONE_NUMBER_ID, ACCESS_TOKEN)
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def provider(database_url: str, graph: FakeGraph) -> AsyncIterator[WhatsAppProvider]:
    sender = whatsapp_provider(make_settings(database_url, None, **whatsapp_settings(graph.url)))
    assert isinstance(sender, WhatsAppProvider)
    yield sender
    await sender.aclose()


async def test_inside_the_window_free_text_goes(provider: WhatsAppProvider, graph: FakeGraph) -> None:
    result = await provider.send(outbound("whatsapp", "Your order has shipped."))
    [sent] = graph.state.messages
    assert result.provider == "whatsapp_cloud"
    assert result.provider_message_id is not None
    assert result.provider_message_id.startswith("wamid.")
    assert sent["to"] == "919812345678"
    assert sent["type"] == "text"
    assert sent["text"] == {"preview_url": False, "body": "Your order has shipped."}
    assert sent["biz_opaque_callback_data"] == "order.shipped:42|phone:+919812345678|whatsapp"


async def test_outside_the_window_the_approved_template_goes_with_its_parameters(
    provider: WhatsAppProvider, graph: FakeGraph
) -> None:
    await provider.send(outbound("whatsapp", template="order.shipped", locale="hi-IN", context=SHIPPED))
    [sent] = graph.state.messages
    assert sent["type"] == "template"
    assert sent["template"] == {
        "name": "order_shipped_v1",
        "language": {"code": "hi"},
        "components": [
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "text": "ORD-2026-000042"},
                    {"type": "text", "text": "Blue Dart"},
                    # Meta refuses a newline inside a parameter.
                    {"type": "text", "text": "BD 123 456"},
                ],
            }
        ],
    }


async def test_no_approved_template_fails_for_good_without_calling_meta(
    provider: WhatsAppProvider, graph: FakeGraph
) -> None:
    with pytest.raises(DeliveryFailed) as failed:
        await provider.send(outbound("whatsapp", template="account.password_reset", context=SHIPPED))
    assert failed.value.permanent is True
    with pytest.raises(DeliveryFailed) as unknown_language:
        await provider.send(outbound("whatsapp", template="order.shipped", locale="de", context=SHIPPED))
    assert unknown_language.value.permanent is True
    with pytest.raises(DeliveryFailed) as missing_fact:
        await provider.send(outbound("whatsapp", template="order.shipped", context={"number": "ORD-1"}))
    assert missing_fact.value.permanent is True
    assert "carrier" in missing_fact.value.reason
    assert graph.state.messages == []


def test_every_template_has_a_name_a_language_and_parameters_named() -> None:
    assert template_for("order.placed", "en_GB") == TEMPLATES[("order.placed", "en")]
    for (event, language), template in TEMPLATES.items():
        assert template.language == language
        assert event.split(".")[0] in ("order", "payment")
        assert template.name.isidentifier()
        assert template.body_parameters


@pytest.mark.parametrize(
    ("status", "code", "permanent"),
    [
        (400, 131047, True),  # re-engagement needed: outside the window
        (400, 131026, True),  # undeliverable
        (400, 132001, True),  # template does not exist
        (400, 132000, True),  # template parameter count mismatch
        (400, 100, True),
        (429, 130429, False),  # throughput
        (400, 131056, False),  # pair rate limit
        (500, 131000, False),
        (503, 131016, False),
    ],
)
async def test_refusals_are_permanent_or_retryable_by_meta_error_code(
    provider: WhatsAppProvider, graph: FakeGraph, status: int, code: int, permanent: bool
) -> None:
    graph.refuse_next(status, code)
    with pytest.raises(DeliveryFailed) as failed:
        await provider.send(outbound("whatsapp"))
    assert failed.value.permanent is permanent
    assert str(code) in failed.value.reason


async def test_a_wrong_access_token_is_retryable(database_url: str, graph: FakeGraph) -> None:
    settings = make_settings(
        database_url, None, **whatsapp_settings(graph.url, whatsapp_access_token="wrong")
    )
    sender = whatsapp_provider(settings)
    assert sender is not None
    try:
        with pytest.raises(DeliveryFailed) as failed:
            await sender.send(outbound("whatsapp"))
    finally:
        await sender.aclose()
    assert graph.state.unauthorised == 1
    assert failed.value.permanent is False


async def test_a_slow_or_unreachable_graph_is_retryable(database_url: str, graph: FakeGraph) -> None:
    graph.delay = 1.0
    slow = whatsapp_provider(
        make_settings(database_url, None, **whatsapp_settings(graph.url, whatsapp_timeout_seconds=0.2))
    )
    down = whatsapp_provider(
        make_settings(database_url, None, **whatsapp_settings(f"http://127.0.0.1:{free_port()}/v21.0"))
    )
    assert slow is not None
    assert down is not None
    try:
        for sender in (slow, down):
            with pytest.raises(DeliveryFailed) as failed:
                await sender.send(outbound("whatsapp"))
            assert failed.value.permanent is False
    finally:
        await slow.aclose()
        await down.aclose()
    await asyncio.sleep(1.0)  # the fake finishes its answer before it is stopped


def test_no_provider_without_a_phone_number_id_and_token(database_url: str) -> None:
    assert whatsapp_provider(make_settings(database_url, None)) is None
