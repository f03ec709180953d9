"""Receiving gateway webhooks: verified before anything is read, stored once per event id, acted on by a
job. The same function serves the HTTP routes and the test gateway's deliveries."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.config import Settings
from emporium.core.errors import BadRequest
from emporium.core.jobs import enqueue
from emporium.payments.gateways.base import InvalidWebhook
from emporium.payments.gateways.registry import built
from emporium.payments.repository import PaymentRepository

PROCESS_EVENT_JOB = "payments.process_event"


class WebhookRefused(BadRequest):
    code = "WEBHOOK_INVALID"
    message = "The webhook could not be verified."


async def receive(
    session: AsyncSession, settings: Settings, gateway_name: str, body: bytes, headers: Mapping[str, str]
) -> bool:
    """Verify and store one delivery; True when it is new (a job will act on it), False for a repeat.
    A forged, stale or unreadable delivery raises WebhookRefused (400) and changes nothing."""
    gateway = built(settings, gateway_name)
    if gateway is None:
        raise WebhookRefused("Unknown gateway.")
    try:
        event = await gateway.parse_webhook(body, {k.lower(): v for k, v in headers.items()})
    except InvalidWebhook as exc:
        raise WebhookRefused(f"The webhook could not be verified: {exc}.") from exc
    stored = await PaymentRepository(session).store_event(
        gateway_name, event.event_id, event.event_type, event.payload
    )
    if stored is None:
        return False
    # What the job needs, as the verified event says it (the raw payload stays in webhook_events).
    enqueue(
        session,
        PROCESS_EVENT_JOB,
        {
            "event_row_id": stored,
            "gateway": gateway_name,
            "reference": event.payment_reference,
            "state": event.state,
            "amount_minor": event.amount_minor,
            "card_brand": event.card_brand,
            "card_last4": event.card_last4,
            "error": event.error,
            "refunded_minor": event.refunded_minor,
        },
    )
    return True
