"""Sending one delivery: claim it, render it, hand it to its channel's provider, record what came back.

Three short steps, no transaction open while the provider works (a slow or broken provider holds nothing):
1. claim (one conditional UPDATE that also pushes ``due_at`` past a lease, so no other run sends it
   meanwhile), check quiet hours and opt-outs, gather what the message needs;
2. send, outside any transaction, with a time limit;
3. record the provider's message id and status, and mark the job done, in one short transaction right after
   the send: a worker killed after that commit never sends again; only a kill between the provider's
   acceptance and the commit can repeat a message (and e-mail then repeats its Message-ID).
A failed attempt is retried with exponential backoff (a new delayed job); after the last attempt, or at once
when no retry can help, the delivery ends ``failed`` with the error and a transactional message falls back
to the next channel the recipient allows.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.config import Settings
from emporium.core.db import Database
from emporium.core.jobs import record_done_now
from emporium.notifications import clock, rendering
from emporium.notifications.attachments import attachments_of
from emporium.notifications.config import NotificationSettings
from emporium.notifications.contact_repository import ContactRepository
from emporium.notifications.delivery_repository import OPEN, DeliveryRepository
from emporium.notifications.events import PHONE_CHANNELS, PUSH, WHATSAPP, EventSpec, event_spec
from emporium.notifications.models import Delivery, Notification
from emporium.notifications.planning import allowed_channels, schedule_delivery, target_of
from emporium.notifications.providers.base import DeliveryFailed, OutboundMessage, SendResult
from emporium.notifications.providers.registry import provider_for
from emporium.notifications.push_repository import PushSubscriptionRepository
from emporium.notifications.quiet import QUIET_CHANNELS, parse_window, quiet_until, zone

log = structlog.get_logger(__name__)


@dataclass
class Prepared:
    """A claimed delivery and everything its message needs (gathered in the claim's transaction)."""

    delivery_id: int
    attempts: int
    spec: EventSpec
    message: OutboundMessage
    # Web push: (endpoint, keys) of every browser of the recipient.
    browsers: list[tuple[str, dict[str, str]]] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    result: SendResult | None = None
    error: str | None = None
    permanent: bool = False
    gone: tuple[str, ...] = ()


def _unsubscribe_headers(context: dict[str, Any]) -> dict[str, str]:
    url = context.get("unsubscribe_url")
    if not isinstance(url, str):
        return {}
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def claim_seconds(settings: Settings) -> float:
    """How long a claimed delivery is held for its run: past the send's time limit and the record after it,
    so a second run (a lapsed job sent again) never takes a delivery whose first run is still sending."""
    return 2 * settings.part(NotificationSettings).notifications_send_timeout_seconds + 10


async def _quiet_until(
    session: AsyncSession, settings: Settings, delivery: Delivery, note: Notification, spec: EventSpec
) -> datetime | None:
    """When the recipient's quiet hours end, if ``now`` is inside them for this delivery."""
    if spec.security or delivery.channel not in QUIET_CHANNELS:
        return None
    hours: str | None = settings.part(NotificationSettings).notifications_quiet_hours
    time_zone = None
    if note.user_id is not None:
        person = await DeliveryRepository(session).person(note.user_id)
        if person is not None and person.has_schedule:
            hours = hours if person.quiet_hours is None else person.quiet_hours
            time_zone = person.time_zone
    return quiet_until(clock.now(), parse_window(hours), zone(time_zone, settings.timezone))


async def _message(
    session: AsyncSession, settings: Settings, delivery: Delivery, note: Notification, spec: EventSpec
) -> OutboundMessage:
    # Every template may name the shop and the notification's own page; the event's facts win.
    context = {"shop_name": settings.shop_name, "link": note.link, **note.context}
    rendered = rendering.for_channel(spec, delivery.channel, delivery.address, context)
    template = None
    if delivery.channel == WHATSAPP and not await ContactRepository(session).window_open(
        WHATSAPP, delivery.address, clock.now()
    ):
        template = spec.name
    return OutboundMessage(
        delivery_id=delivery.id,
        idempotency_key=delivery.idempotency_key,
        channel=delivery.channel,
        to=delivery.address,
        event=spec.name,
        category=spec.category,
        locale=note.locale,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        link=note.link,
        template=template,
        topic=f"order-{context['order_id']}" if "order_id" in context else None,
        attachments=await attachments_of(session, settings, spec.name, context)
        if delivery.channel == "email"
        else (),
        headers=_unsubscribe_headers(context),
        context=rendering.facts(context),
    )


async def _opted_out(session: AsyncSession, delivery: Delivery) -> bool:
    return delivery.channel in PHONE_CHANNELS and await ContactRepository(session).opted_out(
        delivery.channel, delivery.address
    )


async def prepare(session: AsyncSession, settings: Settings, delivery_id: int) -> Prepared | Outcome | None:
    """Claim the delivery and gather its message. None: nothing to send now (not due, already sent, held
    for quiet hours: rescheduled); an Outcome: it fails without being sent (opted out, cannot render)."""
    now = clock.now()
    repo = DeliveryRepository(session)
    delivery = await repo.claim(delivery_id, now, claim_seconds(settings))
    if delivery is None:
        current = await repo.delivery(delivery_id)
        if current is not None and current.status in OPEN:
            # Another run holds it, or it is not due yet: look again when its time comes.
            schedule_delivery(session, delivery_id, current.due_at, now)
        return None
    note = await repo.notification(delivery.notification_id)
    assert note is not None
    spec = event_spec(note.event)
    until = await _quiet_until(session, settings, delivery, note, spec)
    if until is not None:
        await repo.update_delivery(
            delivery.id, status="deferred", due_at=until, attempts=delivery.attempts - 1
        )
        schedule_delivery(session, delivery.id, until, now)
        return None
    if await _opted_out(session, delivery):
        return Outcome(error=f"{delivery.address} opted out of {delivery.channel}", permanent=True)
    try:
        message = await _message(session, settings, delivery, note, spec)
    except Exception as exc:  # a template that cannot render now never will
        return Outcome(error=f"cannot render: {type(exc).__name__}: {exc}", permanent=True)
    prepared = Prepared(delivery.id, delivery.attempts, spec, message)
    if delivery.channel == PUSH and note.user_id is not None:
        subscriptions = await PushSubscriptionRepository(session).of_user(note.user_id)
        prepared.browsers = [(s.endpoint, {"p256dh": s.p256dh, "auth": s.auth}) for s in subscriptions]
    return prepared


async def _push(provider: Any, prepared: Prepared) -> Outcome:
    """One push delivery to every browser of the recipient: sent when any accepted; gone ones forgotten."""
    if not prepared.browsers:
        return Outcome(error="no browser is subscribed to push", permanent=True)
    accepted: list[SendResult] = []
    gone: list[str] = []
    errors: list[DeliveryFailed] = []
    for endpoint, keys in prepared.browsers:
        message = replace(prepared.message, to=endpoint, keys=keys)
        try:
            accepted.append(await provider.send(message))
        except DeliveryFailed as exc:
            errors.append(exc)
            if exc.gone:
                gone.append(endpoint)
    if accepted:
        return Outcome(result=accepted[0], gone=tuple(gone))
    return Outcome(
        error="; ".join(e.reason for e in errors),
        permanent=all(e.permanent for e in errors),
        gone=tuple(gone),
    )


async def send(settings: Settings, db: Database, prepared: Prepared) -> Outcome:
    """Hand the message to its provider, within the send time limit; never raises."""
    channel = prepared.message.channel
    provider = provider_for(settings, db, channel)
    if provider is None:
        return Outcome(error=f"no provider sends {channel}", permanent=True)
    limit = settings.part(NotificationSettings).notifications_send_timeout_seconds
    try:
        async with asyncio.timeout(limit):
            if channel == PUSH:
                return await _push(provider, prepared)
            return Outcome(result=await provider.send(prepared.message))
    except DeliveryFailed as exc:
        return Outcome(
            error=exc.reason, permanent=exc.permanent, gone=(prepared.message.to,) if exc.gone else ()
        )
    except TimeoutError:
        return Outcome(error=f"the {channel} provider did not answer within {limit:g} s")
    except Exception as exc:
        return Outcome(error=f"{type(exc).__name__}: {exc}")
    finally:
        await provider.aclose()


def _backoff(settings: Settings, attempts: int) -> float:
    base = settings.part(NotificationSettings).notifications_retry_base_seconds
    return float(min(base * 2 ** max(attempts - 1, 0), settings.jobs_backoff_max_seconds))


async def fall_back(session: AsyncSession, settings: Settings, delivery: Delivery) -> int | None:
    """After a transactional delivery failed for good: a delivery on the next channel the recipient allows
    that this notification has not used yet; its id, or None when none is left (the in-app row remains)."""
    repo = DeliveryRepository(session)
    note = await repo.notification(delivery.notification_id)
    assert note is not None
    spec = event_spec(note.event)
    if not spec.transactional:
        return None
    target = target_of(note.recipient_key, note.user_id, note.email, note.phone, note.locale)
    used = frozenset(await repo.channels_of(note.id))
    now = clock.now()
    for channel, address in await allowed_channels(session, settings, spec, target, skip=used):
        written = await repo.add_deliveries(
            [
                {
                    "notification_id": note.id,
                    "channel": channel,
                    "idempotency_key": f"{note.event_key}|{note.recipient_key}|{channel}",
                    "address": address,
                    "status": "pending",
                    "due_at": now,
                    "fallback_from_id": delivery.id,
                }
            ]
        )
        for delivery_id, _, due_at in written:
            schedule_delivery(session, delivery_id, due_at, now)
            return delivery_id
    return None


async def record(session: AsyncSession, settings: Settings, delivery_id: int, outcome: Outcome) -> str:
    """Record the attempt's outcome (and the job done) in the caller's short transaction; the new status."""
    repo = DeliveryRepository(session)
    now = clock.now()
    await record_done_now(session)
    for endpoint in outcome.gone:
        await PushSubscriptionRepository(session).delete_endpoint(endpoint)
    if outcome.result is not None:
        result = outcome.result
        await repo.update_delivery(
            delivery_id,
            status=result.status,
            provider=result.provider,
            provider_message_id=result.provider_message_id,
            sent_at=now,
            error=None,
        )
        return result.status
    delivery = await repo.delivery(delivery_id)
    assert delivery is not None
    last = delivery.attempts >= settings.part(NotificationSettings).notifications_max_attempts
    if outcome.permanent or last:
        await repo.update_delivery(delivery_id, status="failed", error=(outcome.error or "")[:4000])
        delivery.status = "failed"
        await fall_back(session, settings, delivery)
        log.warning("notification_failed", delivery_id=delivery_id, error=outcome.error)
        return "failed"
    due = now + timedelta(seconds=_backoff(settings, delivery.attempts))
    await repo.update_delivery(delivery_id, status="deferred", due_at=due, error=(outcome.error or "")[:4000])
    schedule_delivery(session, delivery_id, due, now)
    return "deferred"


async def deliver(settings: Settings, db: Database, delivery_id: int) -> str | None:
    """One attempt at one delivery; its status afterwards (None: nothing was due)."""
    async with db.session() as session:
        prepared = await prepare(session, settings, delivery_id)
    if prepared is None:
        return None
    outcome = prepared if isinstance(prepared, Outcome) else await send(settings, db, prepared)
    # Once sent, the record is finished even if the run is cancelled meanwhile (the job's lease ended).
    return await asyncio.shield(_record(settings, db, delivery_id, outcome))


async def _record(settings: Settings, db: Database, delivery_id: int, outcome: Outcome) -> str:
    async with db.session() as session:
        return await record(session, settings, delivery_id, outcome)
