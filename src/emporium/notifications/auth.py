"""Who may read the development mailbox: staff whose role grants ``mailbox:read``."""

from __future__ import annotations

from typing import Annotated

from emporium.accounts.auth import StaffWith
from emporium.accounts.models import User
from emporium.core.permissions import Permission

MailboxReader = Annotated[User, StaffWith(Permission.MAILBOX_READ)]
