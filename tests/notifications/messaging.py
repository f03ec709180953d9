"""What the SMS and WhatsApp tests share: credentials, settings pointing at the fakes, messages, rows."""

from __future__ import annotations

from emporium.core.db import Database
from emporium.notifications.models import Delivery, Notification
from emporium.notifications.providers.base import OutboundMessage

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "f3b1c0ffee5e7a1b2c3d4e5f60718293"
SERVICE_SID = "MG" + "fedcba9876543210" * 2
FROM_NUMBER = "+15005550006"
PHONE_NUMBER_ID = "106540352242922"
ACCESS_TOKEN = "EAAG-test-access-token-for-the-fake-graph"
APP_SECRET = "whatsapp-app-secret-for-the-tests-0123"
VERIFY_TOKEN = "whatsapp-verify-token-for-the-tests-0123"
CUSTOMER = "+919812345678"


def twilio_settings(api_base: str | None = None, **extra: object) -> dict[str, object]:
    return {
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_messaging_service_sid": SERVICE_SID,
        "twilio_api_base_url": api_base,
        "twilio_timeout_seconds": 2,
        **extra,
    }


def whatsapp_settings(graph_url: str = "http://127.0.0.1:9/v21.0", **extra: object) -> dict[str, object]:
    return {
        "whatsapp_phone_number_id": PHONE_NUMBER_ID,
        "whatsapp_access_token": ACCESS_TOKEN,
        "whatsapp_app_secret": APP_SECRET,
        "whatsapp_verify_token": VERIFY_TOKEN,
        "whatsapp_graph_url": graph_url,
        "whatsapp_timeout_seconds": 2,
        **extra,
    }


def outbound(
    channel: str,
    text: str = "Your order ORD-2026-000042 has shipped.",
    *,
    to: str = CUSTOMER,
    event: str = "order.shipped",
    template: str | None = None,
    locale: str = "en",
    context: dict[str, str] | None = None,
) -> OutboundMessage:
    return OutboundMessage(
        delivery_id=7,
        idempotency_key=f"{event}:42|phone:{to}|{channel}",
        channel=channel,
        to=to,
        event=event,
        category="orders",
        locale=locale,
        subject="Shipped",
        text=text,
        template=template,
        context=context or {},
    )


async def sent_delivery(db: Database, channel: str, provider_message_id: str, status: str = "sent") -> int:
    """A notification and its delivery that left by ``channel`` as ``provider_message_id``: what a provider's
    status callback updates. The delivery's id."""
    async with db.session() as session:
        notification = Notification(
            event="order.shipped",
            event_key=f"order.shipped:{provider_message_id}",
            category="orders",
            recipient_key=f"phone:{CUSTOMER}",
            phone=CUSTOMER,
            locale="en",
            title="Shipped",
            body="Your order has shipped.",
            context={"number": "ORD-2026-000042"},
        )
        session.add(notification)
        await session.flush()
        delivery = Delivery(
            notification_id=notification.id,
            channel=channel,
            idempotency_key=f"order.shipped:{provider_message_id}|phone:{CUSTOMER}|{channel}",
            address=CUSTOMER,
            status=status,
            provider="twilio" if channel == "sms" else "whatsapp_cloud",
            provider_message_id=provider_message_id,
        )
        session.add(delivery)
        await session.flush()
        return delivery.id
