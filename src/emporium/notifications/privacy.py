"""Personal data the notifications domain holds: mail kept in the development mailbox."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.accounts.models import User
from emporium.accounts.privacy import register_privacy_hooks
from emporium.notifications.models import DevMailMessage


async def _erase(session: AsyncSession, user: User) -> None:
    await session.execute(delete(DevMailMessage).where(DevMailMessage.to_address == user.email))


register_privacy_hooks("notifications", eraser=_erase)
