"""Every SQL statement of the accounts domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.accounts.models import (
    Address,
    AuthSession,
    OneTimeToken,
    RefreshToken,
    User,
)


class AccountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # Users
    async def user_by_email(self, email: str) -> User | None:
        result = await self.session.execute(select(User).where(User.email == email.lower()))
        return result.scalar_one_or_none()

    async def user(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def user_for_session(self, user_id: int, session_id: int, now: datetime) -> User | None:
        """The active user behind a live session, in one statement (it runs on every signed-in request)."""
        result = await self.session.execute(
            select(User)
            .join(AuthSession, AuthSession.user_id == User.id)
            .where(
                User.id == user_id,
                User.is_active.is_(True),
                AuthSession.id == session_id,
                AuthSession.revoked_at.is_(None),
                AuthSession.expires_at > now,
            )
        )
        return result.scalar_one_or_none()

    async def count_users_with_role(self, role: str) -> int:
        result = await self.session.execute(select(func.count()).select_from(User).where(User.role == role))
        return int(result.scalar_one())

    # Sessions and refresh tokens
    async def refresh_token(self, token_hash: str) -> tuple[RefreshToken, AuthSession] | None:
        result = await self.session.execute(
            select(RefreshToken, AuthSession)
            .join(AuthSession, AuthSession.id == RefreshToken.session_id)
            .where(RefreshToken.token_hash == token_hash)
        )
        row = result.first()
        return (row[0], row[1]) if row else None

    async def mark_refresh_used(self, token_id: int, now: datetime) -> bool:
        """Mark a refresh token rotated; False when another request rotated it first."""
        result = await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.id == token_id, RefreshToken.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    async def staff_session(
        self, user_id: int, session_id: int, now: datetime
    ) -> tuple[User, AuthSession] | None:
        """The active user and their live session, in one statement (every back-office request runs it)."""
        result = await self.session.execute(
            select(User, AuthSession)
            .join(AuthSession, AuthSession.user_id == User.id)
            .where(
                User.id == user_id,
                User.is_active.is_(True),
                AuthSession.id == session_id,
                AuthSession.revoked_at.is_(None),
                AuthSession.expires_at > now,
            )
        )
        row = result.one_or_none()
        return None if row is None else (row[0], row[1])

    async def touch_session(self, session_id: int, now: datetime) -> None:
        await self.session.execute(
            update(AuthSession)
            .where(AuthSession.id == session_id)
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )

    async def revoke_session(self, session_id: int, now: datetime, reason: str) -> None:
        await self.session.execute(
            update(AuthSession)
            .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=reason)
            .execution_options(synchronize_session=False)
        )

    async def revoke_user_sessions(
        self, user_id: int, now: datetime, reason: str, *, keep: int | None = None
    ) -> None:
        stmt = update(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        if keep is not None:
            stmt = stmt.where(AuthSession.id != keep)
        await self.session.execute(
            stmt.values(revoked_at=now, revoked_reason=reason).execution_options(synchronize_session=False)
        )

    async def sessions_of(self, user_id: int) -> Sequence[AuthSession]:
        result = await self.session.execute(
            select(AuthSession).where(AuthSession.user_id == user_id).order_by(AuthSession.id)
        )
        return result.scalars().all()

    # One-time tokens
    async def one_time_token(self, token_hash: str, purpose: str) -> OneTimeToken | None:
        result = await self.session.execute(
            select(OneTimeToken).where(OneTimeToken.token_hash == token_hash, OneTimeToken.purpose == purpose)
        )
        return result.scalar_one_or_none()

    async def consume_one_time_token(self, token_id: int, now: datetime) -> bool:
        result = await self.session.execute(
            update(OneTimeToken)
            .where(OneTimeToken.id == token_id, OneTimeToken.used_at.is_(None), OneTimeToken.expires_at > now)
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    async def void_one_time_tokens(self, user_id: int, purpose: str, now: datetime) -> None:
        await self.session.execute(
            update(OneTimeToken)
            .where(
                OneTimeToken.user_id == user_id,
                OneTimeToken.purpose == purpose,
                OneTimeToken.used_at.is_(None),
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )

    async def delete_one_time_tokens(self, user_id: int) -> None:
        await self.session.execute(delete(OneTimeToken).where(OneTimeToken.user_id == user_id))

    # Addresses
    async def addresses_of(self, user_id: int) -> Sequence[Address]:
        result = await self.session.execute(
            select(Address).where(Address.user_id == user_id).order_by(Address.is_default.desc(), Address.id)
        )
        return result.scalars().all()

    async def address_of(self, user_id: int, address_id: int) -> Address | None:
        """Object-level authorization lives in the query: another user's address is simply not found."""
        result = await self.session.execute(
            select(Address).where(Address.id == address_id, Address.user_id == user_id)
        )
        return result.scalar_one_or_none()

    async def clear_default_address(self, user_id: int) -> None:
        await self.session.execute(
            update(Address)
            .where(Address.user_id == user_id, Address.is_default.is_(True))
            .values(is_default=False)
            .execution_options(synchronize_session=False)
        )

    async def delete_addresses(self, user_id: int) -> None:
        await self.session.execute(delete(Address).where(Address.user_id == user_id))

    # Preferences
