"""Personal data the notifications domain holds: what was told to a customer (in-app rows and their
deliveries), their choices per category and channel, their quiet hours, mail in the development mailbox and
e-mail jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.notifications.preferences import erase_choices, export_choices
from emporium.notifications.service import notifications

if TYPE_CHECKING:
    from emporium.accounts.models import User


async def export_notifications(session: AsyncSession, user: User) -> dict[str, Any]:
    return {
        "preferences": await export_choices(session, user.id),
        "quiet_hours": await notifications.quiet_hours_of(session, user.id),
        "notifications": await notifications.export_told(session, user.id),
    }


async def erase_notifications(session: AsyncSession, user: User) -> None:
    # Mail not sent yet is not sent at all: its recipient asked to be forgotten.
    await notifications.erase_mail_to(session, user.email)
    await notifications.erase_told(session, user.id, user.email)
    await erase_choices(session, user.id, user.email)
