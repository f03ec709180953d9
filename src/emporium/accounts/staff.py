"""Staff accounts: invitations, roles, deactivation and their sessions, each change audited.

The role ladder (who may grant and manage what):

- ``super_admin`` grants any staff role and manages every other staff member, other super admins too;
- ``admin`` grants ``support`` and ``moderator`` and manages only staff who hold one of those;
- ``support`` and ``moderator`` manage nobody (they lack ``staff:manage``).

Nobody changes their own role or deactivates themselves, so nobody raises their own role. The shop always
keeps one active super admin: a change that would leave none is refused. Every change locks the rows it
reads (the actor, the target and every active super admin, in id order) and re-reads them, so two super
admins demoting each other at the same moment cannot both succeed, and an actor demoted meanwhile acts
with the role they now hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.accounts.errors import AccountError
from emporium.accounts.models import OneTimeToken, User
from emporium.accounts.repository import AccountRepository
from emporium.accounts.staff_repository import StaffRepository
from emporium.accounts.two_factor import is_enabled, two_factor
from emporium.audit.schemas import Actor, AuditedObject
from emporium.audit.service import audit
from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.core.errors import BadRequest, Conflict, Forbidden, NotFound
from emporium.core.notify import Recipient, notify, occurrence
from emporium.core.permissions import STAFF_ROLES, Permission, Role, has_permission
from emporium.core.security import hash_token, new_opaque_token

log = structlog.get_logger(__name__)

STAFF_INVITATION = "staff_invitation"
RANK = {Role.SUPPORT: 1, Role.MODERATOR: 1, Role.ADMIN: 2, Role.SUPER_ADMIN: 3}
STAFF_ROLE_NAMES = tuple(sorted(role.value for role in STAFF_ROLES))


def staff_not_found() -> NotFound:
    return NotFound("No such staff member.", code=AccountError.STAFF_NOT_FOUND)


def _role(value: str) -> Role | None:
    try:
        role = Role(value)
    except ValueError:
        return None
    return role if role in STAFF_ROLES else None


def grantable_roles(actor_role: str) -> list[Role]:
    """The roles ``actor_role`` may give, highest first."""
    role = _role(actor_role)
    if role is None or not has_permission(role, Permission.STAFF_MANAGE):
        return []
    allowed = [r for r in RANK if role is Role.SUPER_ADMIN or RANK[r] < RANK[role]]
    return sorted(allowed, key=lambda r: (-RANK[r], r.value))


def may_manage(actor: User, target: User) -> bool:
    """Whether ``actor`` may change ``target``'s role, activity, sessions or two-factor."""
    actor_role, target_role = _role(actor.role), _role(target.role)
    if actor_role is None or target_role is None or not actor.is_active or actor.id == target.id:
        return False
    if not has_permission(actor_role, Permission.STAFF_MANAGE):
        return False
    return actor_role is Role.SUPER_ADMIN or RANK[target_role] < RANK[actor_role]


@dataclass(frozen=True)
class StaffMember:
    user: User
    live_sessions: int
    two_factor: bool

    @property
    def invited(self) -> bool:
        """Invited and not signed up yet: no password chosen."""
        return self.user.password_hash is None


@dataclass(frozen=True)
class Invitation:
    email: str
    role: str
    first_name: str | None = None
    last_name: str | None = None


class StaffService:
    # Reading
    async def members(self, session: AsyncSession) -> list[StaffMember]:
        """Every staff account (staff are few: no paging), active first, then by role and e-mail."""
        users = await StaffRepository(session).members(STAFF_ROLE_NAMES)
        counts = await StaffRepository(session).live_session_counts([u.id for u in users], utcnow())
        members = [StaffMember(u, counts.get(u.id, 0), is_enabled(u)) for u in users]
        members.sort(key=lambda m: (not m.user.is_active, -RANK.get(Role(m.user.role), 0), m.user.email))
        return members

    async def member(self, session: AsyncSession, user_id: int) -> StaffMember:
        user = await StaffRepository(session).member(user_id, STAFF_ROLE_NAMES)
        if user is None:
            raise staff_not_found()
        counts = await StaffRepository(session).live_session_counts([user.id], utcnow())
        return StaffMember(user, counts.get(user.id, 0), is_enabled(user))

    # Invitations
    async def invite(
        self, session: AsyncSession, ctx: AppContext, by: User, actor: Actor, data: Invitation
    ) -> User:
        """Create the account (no password) with the role and e-mail it a single-use link to choose one."""
        role = _role(data.role)
        if role is None or role not in grantable_roles(by.role):
            raise Forbidden("You cannot give this role.", code=AccountError.ROLE_NOT_ALLOWED)
        email = data.email.strip().lower()
        if await AccountRepository(session).user_by_email(email) is not None:
            raise _exists()
        user = User(
            email=email,
            password_hash=None,
            first_name=data.first_name,
            last_name=data.last_name,
            role=role.value,
            is_active=True,
        )
        try:
            async with session.begin_nested():
                session.add(user)
                await session.flush()
        except IntegrityError as exc:
            # The same address registered or invited by a concurrent request.
            raise _exists() from exc
        self._send_invitation(session, ctx, by, user)
        audit.record(
            session,
            actor,
            "staff.invited",
            AuditedObject("user", user.id, user.email),
            {"role": (None, role.value), "email": (None, user.email)},
        )
        log.info("staff_invited", user_id=user.id, role=role.value)
        return user

    async def resend_invitation(
        self, session: AsyncSession, ctx: AppContext, by: User, actor: Actor, user_id: int
    ) -> User:
        """A new link for an invitation not yet accepted; earlier links stop working."""
        target = await self._managed(session, by, user_id)
        if target.password_hash is not None or not target.is_active:
            raise Conflict(
                "This staff member has already accepted the invitation, or is deactivated.",
                code=AccountError.ACCOUNT_EXISTS,
            )
        await AccountRepository(session).void_one_time_tokens(target.id, STAFF_INVITATION, utcnow())
        self._send_invitation(session, ctx, by, target)
        audit.record(session, actor, "staff.invitation_resent", _audited(target))
        return target

    async def invitation(self, session: AsyncSession, token: str) -> User | None:
        """The invited staff member behind a live, unused link; None for any other link."""
        found = await self._invitation(session, token, utcnow())
        return None if found is None else found[1]

    async def accept_invitation(
        self, session: AsyncSession, ctx: AppContext, token: str, password: str, *, ip: str | None
    ) -> User:
        """Set the password chosen through the link; the link then stops working."""
        now = utcnow()
        found = await self._invitation(session, token, now)
        repo = AccountRepository(session)
        if found is None or not await repo.consume_one_time_token(found[0].id, now):
            raise BadRequest(
                "This invitation link is not valid, was used already or has expired. Ask for a new one.",
                code=AccountError.INVALID_TOKEN,
            )
        user = found[1]
        user.password_hash = await ctx.passwords.hash(password)
        # The link reached this mailbox, which proves the address.
        user.email_verified_at = now
        await repo.void_one_time_tokens(user.id, STAFF_INVITATION, now)
        audit.record(session, Actor(user.id, user.email, ip), "staff.invitation_accepted", _audited(user))
        return user

    # Changes
    async def change_role(
        self, session: AsyncSession, by: User, actor: Actor, user_id: int, new_role: str
    ) -> User:
        role = _role(new_role)
        if role is None:
            raise BadRequest("Choose one of the staff roles.", code=AccountError.ROLE_NOT_ALLOWED)
        acting, target, super_admins = await self._locked(session, by, user_id)
        if role not in grantable_roles(acting.role):
            raise Forbidden("You cannot give this role.", code=AccountError.ROLE_NOT_ALLOWED)
        old = target.role
        if old == role.value:
            return target
        if old == Role.SUPER_ADMIN and target.is_active:
            keep_a_super_admin(super_admins, target)
        target.role = role.value
        audit.record(session, actor, "staff.role_changed", _audited(target), {"role": (old, role.value)})
        log.info("staff_role_changed", user_id=target.id, old=old, new=role.value)
        return target

    async def deactivate(self, session: AsyncSession, by: User, actor: Actor, user_id: int) -> User:
        """The account can no longer sign in, and every session it holds ends now."""
        _acting, target, super_admins = await self._locked(session, by, user_id)
        if not target.is_active:
            return target
        if target.role == Role.SUPER_ADMIN:
            keep_a_super_admin(super_admins, target)
        target.is_active = False
        await AccountRepository(session).revoke_user_sessions(target.id, utcnow(), "deactivated")
        audit.record(session, actor, "staff.deactivated", _audited(target), {"is_active": (True, False)})
        return target

    async def reactivate(self, session: AsyncSession, by: User, actor: Actor, user_id: int) -> User:
        _acting, target, _ = await self._locked(session, by, user_id)
        if target.is_active:
            return target
        target.is_active = True
        audit.record(session, actor, "staff.reactivated", _audited(target), {"is_active": (False, True)})
        return target

    async def end_sessions(self, session: AsyncSession, by: User, actor: Actor, user_id: int) -> User:
        """Sign the staff member out everywhere (a lost laptop); they may sign in again."""
        target = await self._managed(session, by, user_id)
        await AccountRepository(session).revoke_user_sessions(target.id, utcnow(), "ended_by_staff")
        audit.record(session, actor, "staff.sessions_ended", _audited(target))
        return target

    async def reset_two_factor(self, session: AsyncSession, by: User, actor: Actor, user_id: int) -> User:
        """Switch off the two-factor of a staff member who lost their device; their sessions end too."""
        target = await self._managed(session, by, user_id)
        was_on = is_enabled(target)
        await two_factor.clear(session, target)
        await AccountRepository(session).revoke_user_sessions(target.id, utcnow(), "two_factor_reset")
        audit.record(
            session, actor, "staff.two_factor_reset", _audited(target), {"two_factor": (was_on, False)}
        )
        return target

    # Inside
    async def _managed(self, session: AsyncSession, by: User, user_id: int) -> User:
        target = await StaffRepository(session).member(user_id, STAFF_ROLE_NAMES)
        if target is None:
            raise staff_not_found()
        _check_may_manage(by, target)
        return target

    async def _locked(self, session: AsyncSession, by: User, user_id: int) -> tuple[User, User, list[User]]:
        """The actor and the target as the database holds them now, locked, and the active super admins."""
        rows = await StaffRepository(session).lock_for_change({by.id, user_id})
        acting, target = rows.get(by.id), rows.get(user_id)
        if target is None or _role(target.role) is None:
            raise staff_not_found()
        if acting is None:
            raise Forbidden(code=AccountError.PERMISSION_DENIED)
        _check_may_manage(acting, target)
        super_admins = [u for u in rows.values() if u.role == Role.SUPER_ADMIN and u.is_active]
        return acting, target, super_admins

    def _send_invitation(self, session: AsyncSession, ctx: AppContext, by: User, user: User) -> None:
        token = new_opaque_token()
        hours = ctx.settings.staff_invitation_ttl_hours
        session.add(
            OneTimeToken(
                user_id=user.id,
                purpose=STAFF_INVITATION,
                token_hash=hash_token(token),
                expires_at=utcnow() + timedelta(hours=hours),
                email=user.email,
            )
        )
        notify(
            session,
            "account.staff_invitation",
            key=occurrence("account.staff_invitation", user.id),
            recipients=[Recipient(user_id=user.id, email=user.email)],
            context={
                "shop_name": ctx.settings.shop_name,
                "first_name": user.first_name,
                "invited_by": " ".join(filter(None, [by.first_name, by.last_name])) or by.email,
                "role": user.role.replace("_", " "),
                "invitation_url": f"{ctx.settings.public_url}/admin/invitation/{token}",
                "expires_hours": hours,
            },
        )

    @staticmethod
    async def _invitation(
        session: AsyncSession, token: str, now: datetime
    ) -> tuple[OneTimeToken, User] | None:
        if not token or len(token) > 128:
            return None
        repo = AccountRepository(session)
        record = await repo.one_time_token(hash_token(token), STAFF_INVITATION)
        if record is None or record.used_at is not None or record.expires_at <= now:
            return None
        user = await repo.user(record.user_id)
        if user is None or not user.is_active or _role(user.role) is None or record.email != user.email:
            return None
        return record, user


def _check_may_manage(actor: User, target: User) -> None:
    if actor.id == target.id:
        raise Forbidden(
            "You cannot change your own role or account here; ask another administrator.",
            code=AccountError.OWN_ACCOUNT,
        )
    if not may_manage(actor, target):
        raise Forbidden("You cannot manage this staff member.", code=AccountError.PERMISSION_DENIED)


def keep_a_super_admin(super_admins: list[User], leaving: User) -> None:
    """Refuse to take ``leaving`` out of ``super_admins`` (the active ones, locked) when none would be left.

    With nobody changing their own role, the actor who removes a super admin is one too, so this holds by
    construction as long as the ladder stays as it is; the check keeps it true if the ladder changes.
    """
    if not any(u.id != leaving.id for u in super_admins):
        raise Conflict(
            "This is the last active super admin; make someone else super admin first.",
            code=AccountError.LAST_SUPER_ADMIN,
        )


def _exists() -> Conflict:
    return Conflict("An account with this e-mail address already exists.", code=AccountError.ACCOUNT_EXISTS)


def _audited(user: User) -> AuditedObject:
    return AuditedObject("user", user.id, user.email)


staff = StaffService()
