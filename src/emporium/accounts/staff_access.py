"""Who may be in the back office right now: a staff member behind a live session that has not sat idle.

The back office keeps its own, shorter idle limit on top of the session's lifetime: a staff session unused
for ``staff_idle_minutes`` is ended on the server (so the cookie is worth nothing after), and a used one
records its last use at most once a minute, so a busy screen does not write on every request.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.accounts.models import User
from emporium.accounts.repository import AccountRepository
from emporium.core.db import utcnow
from emporium.core.permissions import STAFF_ROLES, Role

TOUCH_EVERY = timedelta(minutes=1)


class StaffAccess:
    async def staff_for_session(
        self, session: AsyncSession, user_id: int, session_id: int, *, idle_minutes: int
    ) -> User | None:
        """The staff member, or None (and the session ended) when it is idle, ended or not staff."""
        now = utcnow()
        repo = AccountRepository(session)
        found = await repo.staff_session(user_id, session_id, now)
        if found is None:
            return None
        user, auth_session = found
        if not is_staff(user):
            return None
        idle_for = now - auth_session.last_used_at
        if idle_for > timedelta(minutes=idle_minutes):
            await repo.revoke_session(session_id, now, "idle")
            return None
        if idle_for > TOUCH_EVERY:
            await repo.touch_session(session_id, now)
        return user

    async def end_session(self, session: AsyncSession, session_id: int, reason: str) -> None:
        await AccountRepository(session).revoke_session(session_id, utcnow(), reason)


def is_staff(user: User) -> bool:
    try:
        return Role(user.role) in STAFF_ROLES
    except ValueError:
        return False


staff_access = StaffAccess()
