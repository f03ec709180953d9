"""The SQL of what providers tell the shop: consent of each phone number, the WhatsApp customer-service
window, the status of a delivery after it left, and which callbacks were already seen.

Provider webhooks (SMS, WhatsApp) call these once their signature is verified; planning reads the
opt-outs and the window before it chooses channels.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.db import utcnow
from emporium.notifications.models import ContactPoint, Delivery, ProviderCallback

# WhatsApp lets a business send free text only within 24 hours of the customer's last message.
WHATSAPP_WINDOW = timedelta(hours=24)

# Later states a provider reports for a message; a report never moves a delivery back (a late ``sent``
# after ``delivered`` changes nothing), and a failure reported after sending is kept.
_STATUS_RANK = {
    "pending": 0,
    "deferred": 0,
    "sent": 1,
    "delivered": 2,
    "read": 3,
    "undelivered": 4,
    "failed": 4,
}


class ContactRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _insert(self, table: type[ContactPoint] | type[ProviderCallback]) -> Any:
        """An INSERT that can say ON CONFLICT on this session's database."""
        dialect = self.session.get_bind().dialect.name
        return (pg_insert if dialect == "postgresql" else sqlite_insert)(table)

    async def opted_out(self, channel: str, address: str) -> bool:
        result = await self.session.execute(
            select(ContactPoint.opted_out_at).where(
                ContactPoint.channel == channel, ContactPoint.address == address
            )
        )
        return result.scalar_one_or_none() is not None

    async def set_opt_out(self, channel: str, address: str, *, opted_out: bool, source: str) -> None:
        """STOP (``opted_out``) or START from the number itself, or the customer's choice in their account."""
        now = utcnow()
        values = {"opted_out_at": now if opted_out else None, "opt_out_source": source, "updated_at": now}
        statement = self._insert(ContactPoint).values(channel=channel, address=address, **values)
        await self.session.execute(
            statement.on_conflict_do_update(index_elements=["channel", "address"], set_=values)
        )

    async def note_inbound(self, channel: str, address: str, at: datetime) -> None:
        """The number wrote to us at ``at``: on WhatsApp this opens the 24-hour window."""
        statement = self._insert(ContactPoint).values(
            channel=channel, address=address, last_inbound_at=at, updated_at=utcnow()
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["channel", "address"],
                set_={"last_inbound_at": at, "updated_at": utcnow()},
            )
        )

    async def window_open(self, channel: str, address: str, now: datetime) -> bool:
        result = await self.session.execute(
            select(ContactPoint.last_inbound_at).where(
                ContactPoint.channel == channel, ContactPoint.address == address
            )
        )
        last = result.scalar_one_or_none()
        return last is not None and now - last < WHATSAPP_WINDOW

    async def first_callback(self, provider: str, callback_id: str, kind: str) -> bool:
        """Store the callback unless already stored: True the first time, False for a repeat (at any
        concurrency)."""
        result = await self.session.execute(
            self._insert(ProviderCallback)
            .values(provider=provider, callback_id=callback_id, kind=kind)
            .on_conflict_do_nothing(index_elements=["provider", "callback_id"])
            .returning(ProviderCallback.id)
        )
        return result.scalar_one_or_none() is not None

    async def record_provider_status(
        self, channel: str, provider_message_id: str, status: str, error: str | None = None
    ) -> bool:
        """Move the delivery the provider knows as ``provider_message_id`` forward to ``status``; False when
        no delivery has that id or the report is older news than what is recorded."""
        rank = _STATUS_RANK.get(status)
        if rank is None:
            raise ValueError(f"unknown delivery status {status!r}")
        result = await self.session.execute(
            select(Delivery).where(
                Delivery.channel == channel, Delivery.provider_message_id == provider_message_id
            )
        )
        delivery = result.scalar_one_or_none()
        if delivery is None or _STATUS_RANK.get(delivery.status, 0) >= rank:
            return False
        await self.session.execute(
            update(Delivery)
            .where(Delivery.id == delivery.id)
            .values(status=status, error=error if error is not None else delivery.error, updated_at=utcnow())
        )
        return True
