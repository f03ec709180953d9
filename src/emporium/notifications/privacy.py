"""Personal data the notifications domain holds: mail in the development mailbox and e-mail jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.notifications.service import notifications

if TYPE_CHECKING:
    from emporium.accounts.models import User


async def erase_notifications(session: AsyncSession, user: User) -> None:
    # Mail not sent yet is not sent at all: its recipient asked to be forgotten.
    await notifications.erase_mail_to(session, user.email)
