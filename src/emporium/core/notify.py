"""Telling people that something happened: the one entry point every domain calls.

``notify`` writes a planning job into the outbox of the caller's transaction, so a notification exists
exactly when the change that causes it commits. After the commit the planning job
(notifications/planning.py) writes one in-app notification per recipient and one delivery per channel the
recipient's preferences, consents and contact points allow; delivery jobs send them. Nothing here waits for a
provider: a slow or broken one never holds or rolls back the caller's transaction.

It lives in core, below every domain, so that the domains the notifications domain stands on (accounts)
can call it without the two importing each other.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.jobs import enqueue

PLAN_JOB = "notifications.plan"
MAX_KEY_LENGTH = 150


@dataclass(frozen=True)
class Recipient:
    user_id: int | None = None  # a customer or staff member
    email: str | None = None  # a guest's e-mail (or override)
    phone: str | None = None  # E.164
    locale: str | None = None


def occurrence(event: str, subject_id: int | str) -> str:
    """A key for an event that may rightly happen again (a second password reset): unique per call."""
    return f"{event}:{subject_id}:{uuid.uuid4().hex}"


def _checked_key(event: str, key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"a notification key of 1 to {MAX_KEY_LENGTH} characters is needed for {event!r}")
    return key


def notify(
    session: AsyncSession,
    event: str,
    *,
    key: str,
    recipients: Sequence[Recipient],
    context: Mapping[str, Any],
    link: str | None = None,
) -> None:
    """Queue the planning job in the caller's transaction (an outbox job): after commit it writes one
    Notification per recipient and one Delivery per allowed channel. ``key`` identifies the occurrence
    (e.g. f"order.shipped:{order.id}"): notifying the same key twice changes nothing. ``context`` must be
    JSON: it is the templates' context."""
    people = [asdict(r) for r in recipients if r.user_id is not None or r.email or r.phone]
    if not people:
        return
    enqueue(
        session,
        PLAN_JOB,
        {
            "event": event,
            "key": _checked_key(event, key),
            "recipients": people,
            "context": dict(context),
            "link": link,
        },
    )


def notify_staff(
    session: AsyncSession,
    event: str,
    *,
    key: str,
    context: Mapping[str, Any],
    permission: str,
    link: str | None = None,
) -> None:
    """Tell every active staff member whose role grants ``permission`` (``orders:read``), as they are when
    the planning job runs."""
    enqueue(
        session,
        PLAN_JOB,
        {
            "event": event,
            "key": _checked_key(event, key),
            "staff_permission": permission,
            "recipients": [],
            "context": dict(context),
            "link": link,
        },
    )
