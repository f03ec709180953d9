"""Queuing an e-mail: a job in the outbox of the caller's transaction, rendered and sent once that
transaction has committed (notifications/tasks.py).

It lives in core, below every domain, so that a domain the notifications domain stands on (accounts: the
mailbox's staff guard, the privacy hooks) can send mail without the two importing each other. Other
domains call it through ``notifications.queue_email``.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.jobs import enqueue

SEND_EMAIL_JOB = "notifications.send_email"


def queue_email(session: AsyncSession, *, to: str, template: str, context: dict[str, Any]) -> None:
    """Render and send later, after the transaction that caused the mail has committed.

    The message key, chosen now, becomes the Message-ID: every attempt sends the same one.
    """
    enqueue(
        session,
        SEND_EMAIL_JOB,
        {"to": to, "template": template, "context": context, "message_key": uuid.uuid4().hex},
    )
