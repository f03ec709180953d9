"""The SQL of staff management, two-factor sign-in and the back office's customer search."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.accounts.models import AuthSession, RecoveryCode, User
from emporium.core.db import plan_for_each_value
from emporium.core.keyset import Cursor

SUPER_ADMIN = "super_admin"


@dataclass(frozen=True)
class CustomerLookup:
    """What a customer search compares (accounts/customers.py reads it from the search box): one e-mail
    address, the E.164 numbers a phone can be, or words; nothing at all lists every customer."""

    words: Sequence[str] = ()
    phones: Collection[str] = ()
    email: str | None = None


def _contains(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its own % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class StaffRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # Staff members
    async def members(self, roles: Collection[str]) -> Sequence[User]:
        result = await self.session.execute(select(User).where(User.role.in_(roles)).order_by(User.id))
        return result.scalars().all()

    async def member(self, user_id: int, roles: Collection[str]) -> User | None:
        result = await self.session.execute(select(User).where(User.id == user_id, User.role.in_(roles)))
        return result.scalar_one_or_none()

    async def lock_for_change(self, ids: Collection[int]) -> dict[int, User]:
        """Lock, in id order, the rows named and every active super admin's, re-read from the database.

        Whoever changes a role or an account's activity holds these rows until the transaction ends, so two
        super admins demoting each other at once queue here, and the second sees the first's change (on
        SQLite the writing transaction's IMMEDIATE lock does the same).
        """
        result = await self.session.execute(
            select(User)
            .where(or_(User.id.in_(ids), and_(User.role == SUPER_ADMIN, User.is_active.is_(True))))
            .order_by(User.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return {user.id: user for user in result.scalars().all()}

    async def live_session_counts(self, user_ids: Collection[int], now: datetime) -> dict[int, int]:
        if not user_ids:
            return {}
        result = await self.session.execute(
            select(AuthSession.user_id, func.count())
            .where(
                AuthSession.user_id.in_(user_ids),
                AuthSession.revoked_at.is_(None),
                AuthSession.expires_at > now,
            )
            .group_by(AuthSession.user_id)
        )
        return {int(user_id): int(count) for user_id, count in result.all()}

    # Two-factor
    async def claim_totp_step(self, user_id: int, step: int) -> bool:
        """Record ``step`` as the last one used, unless it (or a later one) already was: False then."""
        result = await self.session.execute(
            update(User)
            .where(User.id == user_id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    def add_recovery_codes(self, user_id: int, digests: Sequence[str]) -> None:
        self.session.add_all(RecoveryCode(user_id=user_id, code_hash=digest) for digest in digests)

    async def use_recovery_code(self, user_id: int, digest: str, now: datetime) -> bool:
        """Spend the code; False when it is not this user's or was spent already (by a concurrent use too)."""
        result = await self.session.execute(
            update(RecoveryCode)
            .where(
                RecoveryCode.user_id == user_id,
                RecoveryCode.code_hash == digest,
                RecoveryCode.used_at.is_(None),
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    async def unused_recovery_codes(self, user_id: int) -> int:
        result = await self.session.execute(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
        )
        return int(result.scalar_one())

    async def delete_recovery_codes(self, user_id: int) -> None:
        await self.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))

    # Customers
    async def customer(self, user_id: int) -> User | None:
        result = await self.session.execute(select(User).where(User.id == user_id, User.role == "customer"))
        return result.scalar_one_or_none()

    async def customers(self, lookup: CustomerLookup, *, after: Cursor | None, limit: int) -> list[User]:
        """Customers, newest first, ``limit`` + 1 rows (so the caller knows whether another page follows).

        An e-mail address matches the stored address (kept in lower case) on its unique index; a phone
        number matches the stored E.164 number; otherwise each word must appear in the e-mail, the first or
        the last name (trigram indexes on PostgreSQL, migration 0018).
        """
        query = select(User).where(User.role == "customer")
        if lookup.email is not None:
            query = query.where(User.email == lookup.email)
        elif lookup.phones:
            query = query.where(User.phone.in_(lookup.phones))
        else:
            conditions: list[ColumnElement[bool]] = [
                or_(
                    func.lower(User.email).like(_contains(word), escape="\\"),
                    func.lower(User.first_name).like(_contains(word), escape="\\"),
                    func.lower(User.last_name).like(_contains(word), escape="\\"),
                )
                for word in lookup.words
            ]
            query = query.where(*conditions)
            if conditions:
                await plan_for_each_value(self.session)
        if after is not None:
            query = query.where(User.id < after.id)
        result = await self.session.execute(query.order_by(User.id.desc()).limit(limit + 1))
        return list(result.scalars().all())
