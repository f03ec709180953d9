"""Planning: an event's recipients, each told once in-app and by every channel they allow.

The planning job (queued by ``core.notify.notify`` in the transaction of the change) writes, in one
transaction: one Notification per recipient (unique per event and recipient: planning again writes nothing)
and one Delivery per channel the recipient's preferences, consents and contact points allow (unique per
event, recipient and channel), each with its delivery job. A delivery is ``pending`` (due now), ``deferred``
(quiet hours: due when they end) or ``suppressed`` (over a daily budget; kept with the reason).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.config import Settings
from emporium.core.jobs import PermanentJobError, enqueue
from emporium.core.notify import Recipient
from emporium.core.permissions import ROLE_PERMISSIONS, Permission
from emporium.notifications import budget, clock, rendering
from emporium.notifications.channels import sendable_channels
from emporium.notifications.config import NotificationSettings
from emporium.notifications.contact_repository import ContactRepository
from emporium.notifications.delivery_repository import OPEN, DeliveryRepository
from emporium.notifications.events import EMAIL, FALLBACK_ORDER, PHONE_CHANNELS, PUSH, EventSpec, event_spec
from emporium.notifications.preferences import accepts, choices_of, recipient_key
from emporium.notifications.push_repository import PushSubscriptionRepository
from emporium.notifications.quiet import QUIET_CHANNELS, parse_window, quiet_until, zone

DELIVER_JOB = "notifications.deliver"


@dataclass(frozen=True)
class Target:
    """A recipient as planning resolved them."""

    key: str
    user_id: int | None
    email: str | None
    phone: str | None
    locale: str
    quiet_hours: str | None
    time_zone: str | None


async def resolve(session: AsyncSession, settings: Settings, recipient: Recipient) -> Target | None:
    """The recipient's addresses and quiet hours; None for an erased or unknown account."""
    shop = settings.part(NotificationSettings)
    locale = recipient.locale or settings.locale
    if recipient.user_id is None:
        email = recipient.email.lower() if recipient.email else None
        return Target(
            recipient_key(recipient),
            None,
            email,
            recipient.phone,
            locale,
            shop.notifications_quiet_hours,
            None,
        )
    person = await DeliveryRepository(session).person(recipient.user_id)
    if person is None:
        return None
    quiet = person.quiet_hours if person.has_schedule and person.quiet_hours is not None else None
    return Target(
        key=recipient_key(recipient),
        user_id=person.user_id,
        email=(recipient.email or person.email).lower(),
        phone=recipient.phone or person.phone,
        locale=locale,
        quiet_hours=shop.notifications_quiet_hours if quiet is None else quiet,
        time_zone=person.time_zone,
    )


def target_of(key: str, user_id: int | None, email: str | None, phone: str | None, locale: str) -> Target:
    """A target rebuilt from a notification row (the fallback); quiet hours are the delivery's concern."""
    return Target(key, user_id, email, phone, locale, None, None)


def _address(target: Target, channel: str) -> str | None:
    if channel == EMAIL:
        return target.email
    if channel in PHONE_CHANNELS:
        return target.phone
    return f"user:{target.user_id}" if target.user_id is not None else None


async def _guest_allows(
    session: AsyncSession,
    settings: Settings,
    spec: EventSpec,
    target: Target,
    channel: str,
    skip: frozenset[str],
) -> bool:
    """A guest gets e-mail unless they unsubscribed; order messages go by the shop's first guest phone
    channel when they gave no e-mail address, or when their e-mail failed for good (``skip``)."""
    if channel == EMAIL:
        return accepts(await choices_of(session, target.key), spec.category, channel)
    if channel not in PHONE_CHANNELS or spec.category != "orders" or (target.email and EMAIL not in skip):
        return False
    offered = [
        c
        for c in settings.part(NotificationSettings).notifications_guest_phone_channels
        if c in sendable_channels(settings)
        and c in spec.channels
        and rendering.offers(spec, c)
        and c not in skip
    ]
    return bool(offered) and offered[0] == channel


def _offered(spec: EventSpec, channel: str, sendable: set[str], skip: frozenset[str]) -> bool:
    """Whether the event may use ``channel`` at all (whoever the recipient)."""
    return (
        channel not in skip
        and channel in spec.channels
        and channel in sendable
        and not (spec.security and channel != EMAIL)
        and rendering.offers(spec, channel)
    )


async def _reachable(session: AsyncSession, channel: str, address: str, target: Target) -> bool:
    """The contact point is usable: a phone number not opted out, a user with a browser subscribed."""
    if channel in PHONE_CHANNELS:
        return not await ContactRepository(session).opted_out(channel, address)
    if channel == PUSH:
        return bool(await PushSubscriptionRepository(session).of_user(target.user_id or 0))
    return True


async def allowed_channels(
    session: AsyncSession,
    settings: Settings,
    spec: EventSpec,
    target: Target,
    *,
    skip: frozenset[str] = frozenset(),
) -> list[tuple[str, str]]:
    """(channel, address) of every channel this event may reach ``target`` by, in fallback order."""
    sendable = set(sendable_channels(settings))
    choices: Mapping[tuple[str, str], bool] | None = None
    allowed = []
    for channel in FALLBACK_ORDER:
        address = _address(target, channel)
        if address is None or not _offered(spec, channel, sendable, skip):
            continue
        if target.user_id is None:
            if not await _guest_allows(session, settings, spec, target, channel, skip):
                continue
        else:
            if choices is None:
                choices = await choices_of(session, target.key)
            if not accepts(choices, spec.category, channel):
                continue
        if await _reachable(session, channel, address, target):
            allowed.append((channel, address))
    return allowed


async def _timing(
    session: AsyncSession, settings: Settings, spec: EventSpec, target: Target, channel: str, now: datetime
) -> tuple[str, datetime, str | None]:
    """(status, due_at, error) of a new delivery: suppressed over budget, deferred in quiet hours."""
    shop = settings.part(NotificationSettings)
    limit = shop.notifications_daily_budget.get(channel)
    if not spec.transactional and limit is not None:
        taken = await budget.take(
            session,
            redis_url=settings.redis_url,
            prefix=shop.notifications_budget_prefix,
            key=target.key,
            channel=channel,
            limit=limit,
            now=now,
        )
        if not taken:
            return "suppressed", now, f"daily budget of {limit} {channel} messages reached"
    if not spec.security and channel in QUIET_CHANNELS:
        until = quiet_until(now, parse_window(target.quiet_hours), zone(target.time_zone, settings.timezone))
        if until is not None:
            return "deferred", until, None
    return "pending", now, None


def link_of(settings: Settings, spec: EventSpec, link: str | None, context: Mapping[str, Any]) -> str | None:
    path = link or spec.link
    if path is None:
        return None
    try:
        path = path.format(**context)
    except (KeyError, IndexError, ValueError):
        return None
    return path if path.startswith("http") else settings.public_url.rstrip("/") + path


def schedule_delivery(session: AsyncSession, delivery_id: int, due_at: datetime, now: datetime) -> None:
    """The delivery job, run when the delivery is due."""
    delay = max(0.0, (due_at - now).total_seconds())
    enqueue(session, DELIVER_JOB, {"delivery_id": delivery_id}, delay_seconds=delay)


async def plan_recipient(
    session: AsyncSession, settings: Settings, spec: EventSpec, payload: Mapping[str, Any], target: Target
) -> int | None:
    """Write the notification and deliveries of one recipient; the notification id (None: already done)."""
    context = payload.get("context") or {}
    shown = rendering.in_app(spec, context)
    repo = DeliveryRepository(session)
    notification_id = await repo.add_notification(
        {
            "event": spec.name,
            "event_key": payload["key"],
            "category": spec.category,
            "recipient_key": target.key,
            "user_id": target.user_id,
            "email": target.email,
            "phone": target.phone,
            "locale": target.locale,
            "title": shown.subject[:200],
            "body": shown.text,
            "link": link_of(settings, spec, payload.get("link"), context),
            "context": dict(context),
        }
    )
    if notification_id is None:
        return None
    channels = await allowed_channels(session, settings, spec, target)
    if not channels and spec.transactional and target.user_id is None and target.email:
        # A guest has no inbox: a transactional message reaches them by e-mail whatever else applies.
        channels = [(EMAIL, target.email)]
    now = clock.now()
    rows = []
    for channel, address in channels:
        status, due_at, error = await _timing(session, settings, spec, target, channel, now)
        rows.append(
            {
                "notification_id": notification_id,
                "channel": channel,
                "idempotency_key": f"{payload['key']}|{target.key}|{channel}",
                "address": address,
                "status": status,
                "due_at": due_at,
                "error": error,
            }
        )
    for delivery_id, status, due_at in await repo.add_deliveries(rows):
        if status in OPEN:
            schedule_delivery(session, delivery_id, due_at, now)
    return notification_id


async def _staff(session: AsyncSession, permission: str) -> list[Recipient]:
    try:
        wanted = Permission(permission)
    except ValueError as exc:
        raise PermanentJobError(f"no such permission: {permission!r}") from exc
    roles = [role.value for role, granted in ROLE_PERMISSIONS.items() if wanted in granted]
    return [Recipient(user_id=uid) for uid in await DeliveryRepository(session).staff_with_roles(roles)]


async def plan(session: AsyncSession, settings: Settings, payload: Mapping[str, Any]) -> int:
    """Plan one event for all its recipients; how many notifications were written."""
    try:
        spec = event_spec(str(payload["event"]))
    except (KeyError, LookupError) as exc:
        raise PermanentJobError(str(exc)) from exc
    recipients = [Recipient(**r) for r in payload.get("recipients") or []]
    if payload.get("staff_permission"):
        recipients += await _staff(session, str(payload["staff_permission"]))
    written = 0
    for recipient in recipients:
        target = await resolve(session, settings, recipient)
        if target is not None and await plan_recipient(session, settings, spec, payload, target) is not None:
            written += 1
    return written
