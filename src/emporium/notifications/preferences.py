"""What each recipient accepts, per category and channel, and the defaults where they chose nothing.

- ``account``: e-mail cannot be switched off (a password reset must reach its owner); other channels can.
- ``orders``, ``back_in_stock``, ``staff``: e-mail on until switched off; push on (a browser subscribes only
  when its owner turned notifications on); SMS and WhatsApp off until the customer turns them on.
- ``marketing``, ``abandoned_cart``, ``review_request``: off on every channel until the customer opts in;
  an opt-in keeps when and where it was given (``consent_at``, ``consent_source``).

A guest has no choices but those made from an unsubscribe link (kept under ``email:<address>``); a guest
who gave only a phone number gets order messages by the shop's first guest phone channel.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.config import Settings
from emporium.core.db import utcnow
from emporium.core.notify import Recipient
from emporium.notifications import schemas
from emporium.notifications.channels import sendable_channels
from emporium.notifications.config import NotificationSettings
from emporium.notifications.events import ALL, EMAIL, PUSH
from emporium.notifications.preference_repository import PreferenceRepository

CATEGORIES = ("account", "orders", "marketing", "back_in_stock", "abandoned_cart", "review_request")
# Categories that need the customer's consent before anything is sent (and keep its date and source).
CONSENTED = frozenset({"marketing", "abandoned_cart", "review_request"})
LOCKED = frozenset({("account", EMAIL)})

Choices = Mapping[tuple[str, str], bool]


def default_choice(category: str, channel: str) -> bool:
    if category in CONSENTED:
        return False
    return channel in (EMAIL, PUSH)


def accepts(choices: Choices, category: str, channel: str) -> bool:
    """Whether a recipient with ``choices`` accepts ``category`` messages by ``channel``."""
    if (category, channel) in LOCKED:
        return True
    return choices.get((category, channel), default_choice(category, channel))


def recipient_key(recipient: Recipient) -> str:
    if recipient.user_id is not None:
        return f"user:{recipient.user_id}"
    if recipient.email:
        return f"email:{recipient.email.lower()}"
    return f"phone:{recipient.phone}"


@dataclass(frozen=True)
class Choice:
    category: str
    channel: str
    enabled: bool
    locked: bool
    consent_at: datetime | None
    consent_source: str | None


async def choices_of(session: AsyncSession, key: str) -> dict[tuple[str, str], bool]:
    return await PreferenceRepository(session).choices(key)


async def table_of(session: AsyncSession, user_id: int, channels: tuple[str, ...]) -> list[Choice]:
    """Every category on every channel the shop offers, as the customer's page and the API show them."""
    rows = await PreferenceRepository(session).choice_rows(f"user:{user_id}")
    found = {(r.category, r.channel): r for r in rows}
    table = []
    for category in CATEGORIES:
        for channel in channels:
            row = found.get((category, channel))
            table.append(
                Choice(
                    category=category,
                    channel=channel,
                    enabled=accepts(
                        {} if row is None else {(category, channel): row.enabled}, category, channel
                    ),
                    locked=(category, channel) in LOCKED,
                    consent_at=row.consent_at if row else None,
                    consent_source=row.consent_source if row else None,
                )
            )
    return table


def _check(category: str, channel: str) -> None:
    if category not in CATEGORIES or channel not in ALL:
        raise ValueError(f"no such preference: {category} by {channel}")


async def choose(
    session: AsyncSession, user_id: int, category: str, channel: str, enabled: bool, *, source: str
) -> None:
    """Record a customer's choice; switching a consented category on records the consent's date and source.
    E-mail for ``account`` stays on whatever is asked."""
    _check(category, channel)
    if (category, channel) in LOCKED:
        return
    consent = category in CONSENTED and enabled
    await PreferenceRepository(session).put(
        f"user:{user_id}",
        user_id,
        category,
        channel,
        enabled,
        consent_at=utcnow() if consent else None,
        consent_source=source if consent else None,
    )


async def unsubscribe(session: AsyncSession, recipient: Recipient, category: str, *, source: str) -> None:
    """Switch ``category`` off on every channel for ``recipient`` (a one-click unsubscribe link, a STOP):
    a customer by their account, a guest by their e-mail address. E-mail of ``account`` stays on."""
    if category not in CATEGORIES:
        raise ValueError(f"no such category: {category}")
    key = recipient_key(recipient)
    repo = PreferenceRepository(session)
    for channel in ALL:
        if (category, channel) not in LOCKED:
            await repo.put(
                key, recipient.user_id, category, channel, False, consent_at=None, consent_source=source
            )


async def erase_choices(session: AsyncSession, user_id: int, email: str) -> None:
    await PreferenceRepository(session).erase(f"user:{user_id}", f"email:{email.lower()}")


async def export_choices(session: AsyncSession, user_id: int) -> list[dict[str, object]]:
    rows = await PreferenceRepository(session).choice_rows(f"user:{user_id}")
    return [
        {
            "category": r.category,
            "channel": r.channel,
            "enabled": r.enabled,
            "consent_at": r.consent_at.isoformat() if r.consent_at else None,
            "consent_source": r.consent_source,
        }
        for r in rows
    ]


async def preferences_of(session: AsyncSession, settings: Settings, user_id: int) -> schemas.PreferencesRead:
    """What the account page and the API show: every category on every channel the shop sends."""
    channels = sendable_channels(settings)
    table = await table_of(session, user_id, channels)
    schedule = await PreferenceRepository(session).schedule(user_id)
    categories = []
    for category in CATEGORIES:
        row = [c for c in table if c.category == category]
        consented = next((c for c in row if c.consent_at), None)
        categories.append(
            schemas.CategoryRead(
                category=category,
                channels=[
                    schemas.ChannelChoiceRead(channel=c.channel, enabled=c.enabled, locked=c.locked)
                    for c in row
                ],
                consent_at=consented.consent_at if consented else None,
                consent_source=consented.consent_source if consented else None,
            )
        )
    shop = settings.part(NotificationSettings)
    return schemas.PreferencesRead(
        channels=list(channels),
        categories=categories,
        quiet_hours=schedule.quiet_hours if schedule else None,
        time_zone=schedule.time_zone if schedule else None,
        default_quiet_hours=shop.notifications_quiet_hours,
        default_time_zone=settings.timezone,
    )


async def update_preferences(
    session: AsyncSession, settings: Settings, user_id: int, data: schemas.PreferencesUpdate, *, source: str
) -> schemas.PreferencesRead:
    """Apply the choices on channels the shop sends (others are left as they were) and the quiet hours."""
    channels = set(sendable_channels(settings))
    for choice in data.choices:
        if choice.channel in channels:
            await choose(session, user_id, choice.category, choice.channel, choice.enabled, source=source)
    fields = data.model_fields_set
    if "quiet_hours" in fields or "time_zone" in fields:
        repo = PreferenceRepository(session)
        current = await repo.schedule(user_id)
        hours = data.quiet_hours if "quiet_hours" in fields else (current.quiet_hours if current else None)
        zone_name = data.time_zone if "time_zone" in fields else (current.time_zone if current else None)
        await repo.put_schedule(user_id, hours, zone_name)
    return await preferences_of(session, settings, user_id)
