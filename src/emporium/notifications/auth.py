"""Who may read the development mailbox (staff whose role grants ``mailbox:read``), and whose notification an
inbox route may touch (its recipient's only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from emporium.accounts.auth import CurrentUser, StaffWith
from emporium.accounts.models import User
from emporium.core.errors import NotFound
from emporium.core.params import IdPath
from emporium.core.permissions import Permission
from emporium.core.session import DbSession
from emporium.notifications.inbox import inbox
from emporium.notifications.models import Notification

MailboxReader = Annotated[User, StaffWith(Permission.MAILBOX_READ)]


async def _own_notification(notification_id: IdPath, user: CurrentUser, session: DbSession) -> Notification:
    """The caller's own notification; another customer's is answered as missing (404), not forbidden, so
    its existence is not revealed."""
    found = await inbox.own(session, user.id, notification_id)
    if found is None:
        raise NotFound("No such notification.")
    return found


OwnNotification = Annotated[Notification, Depends(_own_notification)]
