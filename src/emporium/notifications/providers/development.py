"""Development providers: every channel's messages kept in the development mailbox (where e-mail goes
without an SMTP server), so a shop with no account anywhere sends, and staff read, everything it would send.
Production never uses them (providers/registry.py)."""

from __future__ import annotations

from emporium.core.db import Database
from emporium.core.jobs import current_job_id
from emporium.core.metrics import NOTIFICATIONS
from emporium.notifications.delivery_repository import DeliveryRepository
from emporium.notifications.events import EMAIL, EVENTS
from emporium.notifications.models import DevMailMessage
from emporium.notifications.providers.base import OutboundMessage, SendResult


def _template(message: OutboundMessage) -> str:
    """E-mail keeps its template's name, as the mailbox always showed; other channels name the event."""
    spec = EVENTS.get(message.event)
    if message.channel == EMAIL and spec is not None and spec.email_template:
        return spec.email_template
    return message.event


class DevelopmentProvider:
    name = "development"

    def __init__(self, db: Database, channel: str, sender: str) -> None:
        self.db = db
        self.channel = channel
        self.sender = sender

    async def send(self, message: OutboundMessage) -> SendResult:
        text = message.text
        if message.template is not None:
            text = f"[approved template {message.template}]\n{text}"
        async with self.db.session() as session:
            kept = await DeliveryRepository(session).keep_in_mailbox(
                DevMailMessage(
                    to_address=message.to.lower()[:320],
                    from_address=self.sender,
                    subject=message.subject[:500],
                    text_body=text,
                    html_body=message.html or "",
                    template=_template(message),
                    job_id=current_job_id(),
                    channel=self.channel,
                )
            )
        NOTIFICATIONS.labels(self.channel, "sent").inc()
        # Kept in the mailbox: delivered, as far as this shop goes.
        return SendResult(provider=self.name, provider_message_id=f"dev-{kept}", status="delivered")

    async def aclose(self) -> None:
        return None
