"""Receiving gateway webhooks: verified before anything is read, stored once per event id, acted on by a
job. The same function serves the HTTP routes and the test gateway's deliveries."""

from __future__ import annotations

from collections.abc import Mapping

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.config import Settings
from emporium.core.errors import BadRequest
from emporium.core.jobs import enqueue
from emporium.payments.errors import PaymentError
from emporium.payments.gateways.base import GatewayEvent, InvalidWebhook
from emporium.payments.gateways.registry import built
from emporium.payments.models import Payment, PaymentState
from emporium.payments.repository import PaymentRepository

log = structlog.get_logger(__name__)

PROCESS_EVENT_JOB = "payments.process_event"
# The ledger's amounts are BIGINT: past this an amount cannot even be stored.
MAX_MINOR = 2**63 - 1
# A signed event may still be wrong (a provider's bug, a leaked secret): an amount this many times the
# payment's own is no payment of it. Overpayments the shop gives back (coins sent twice) stay well below.
ABSURD_FACTOR = 100


class WebhookRefused(BadRequest):
    code = PaymentError.WEBHOOK_INVALID
    message = "The webhook could not be verified."


def implausible(event: GatewayEvent, payment: Payment | None) -> str | None:
    """Why a verified event's figures cannot be true, or None. Such an event is refused (400) before it is
    stored, so nothing ever acts on it."""
    for name, amount in (("amount", event.amount_minor), ("refunded amount", event.refunded_minor)):
        if amount is None:
            continue
        if not 0 <= amount <= MAX_MINOR:
            return f"the {name} is out of range"
        if payment is not None and amount > payment.amount_minor * ABSURD_FACTOR:
            return f"the {name} is far above the payment's"
    if event.state is PaymentState.SUCCEEDED and event.amount_minor == 0:
        return "a payment cannot succeed with nothing paid"
    if payment is not None and event.currency and event.currency.upper() != payment.currency.upper():
        return f"the currency {event.currency.upper()} is not the payment's {payment.currency.upper()}"
    return None


async def store_event(
    session: AsyncSession, source: str, event_id: str, event_type: str, payload: dict[str, object]
) -> int | None:
    """Keep a verified event unless it is already kept: its row id when new, None for a repeat (at any
    concurrency). ``source`` is the gateway, or another sender's name (crypto notices)."""
    return await PaymentRepository(session).store_event(source, event_id, event_type, payload)


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
    repo = PaymentRepository(session)
    payment = (
        await repo.payment_by_reference(gateway_name, event.payment_reference)
        if event.payment_reference
        else None
    )
    problem = implausible(event, payment)
    if problem is not None:
        log.warning("webhook_implausible", gateway=gateway_name, event_id=event.event_id, problem=problem)
        raise WebhookRefused(f"The webhook was refused: {problem}.")
    stored = await repo.store_event(gateway_name, event.event_id, event.event_type, event.payload)
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
