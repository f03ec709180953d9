"""Signing up, signing in, tokens, e-mail verification and password resets."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

import structlog
from limits import RateLimitItem
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.accounts import schemas
from emporium.accounts.errors import AccountError
from emporium.accounts.models import AuthSession, OneTimeToken, RefreshToken, User
from emporium.accounts.repository import AccountRepository
from emporium.accounts.two_factor import two_factor
from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.core.errors import BadRequest, RateLimited, Unauthorized
from emporium.core.notify import Recipient, notify, occurrence
from emporium.core.permissions import Role, permissions_of
from emporium.core.security import InvalidToken, hash_token, new_opaque_token

log = structlog.get_logger(__name__)

VERIFY_EMAIL = "verify_email"
RESET_PASSWORD = "reset_password"  # noqa: S105 - a purpose name, not a secret
INVALID_CREDENTIALS = "The e-mail address or the password is not correct."
CODE_NEEDED = "This account uses two-factor sign-in: give the code from your authenticator app too."


class RefreshTokenReused(Unauthorized):
    """A rotated refresh token was presented again; its session was revoked in the caller's transaction.

    The caller must commit that transaction before answering with this error: rolling it back, as the
    request does for any other error, would bring the session back to life.
    """

    code = AccountError.TOKEN_REUSED
    message = "This refresh token was already used; sign in again."


@dataclass(frozen=True)
class ClientInfo:
    ip: str
    user_agent: str | None


def to_read(user: User) -> schemas.UserRead:
    return schemas.UserRead(
        id=user.id,
        email=user.email,
        first_name=user.first_name,
        last_name=user.last_name,
        phone=user.phone,
        role=user.role,
        email_verified=user.email_verified_at is not None,
        created_at=user.created_at,
        permissions=sorted(permissions_of(user.role)),
    )


LOCKED_OUT = "Too many failed sign-ins; try again later."


def _email_key(email: str) -> str:
    # Lockout keys hold a digest, so the rate limit store never holds the address itself.
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


class AuthService:
    # Who is signed in
    async def user_for_session(self, session: AsyncSession, user_id: int, session_id: int) -> User | None:
        """The active user behind a live sign-in session (not ended, not expired), or None."""
        return await AccountRepository(session).user_for_session(user_id, session_id, utcnow())

    async def user_by_email(self, session: AsyncSession, email: str) -> User | None:
        return await AccountRepository(session).user_by_email(email)

    async def make_super_admin(
        self, session: AsyncSession, ctx: AppContext, user: User, password: str
    ) -> None:
        """Give ``user`` the super admin role and this password. Whoever held a session of the account (or
        knew its old password) must sign in again."""
        user.password_hash = await ctx.passwords.hash(password)
        user.role = Role.SUPER_ADMIN
        user.is_active = True
        await AccountRepository(session).revoke_user_sessions(user.id, utcnow(), "admin_reset")

    # Registration
    async def register(self, session: AsyncSession, ctx: AppContext, data: schemas.RegisterIn) -> None:
        """Create the account, or tell the owner of an existing one by e-mail. Both answer the same.

        The response must not reveal whether an address is registered, so a taken address is not a 409:
        its owner gets a notice instead, and the password is hashed either way to keep the timing alike.
        """
        repo = AccountRepository(session)
        email = data.email.lower()
        password_hash = await ctx.passwords.hash(data.password)
        existing = await repo.user_by_email(email)
        if existing is not None:
            if existing.is_active:
                notify(
                    session,
                    "account.exists",
                    key=occurrence("account.exists", existing.id),
                    recipients=[Recipient(user_id=existing.id, email=existing.email)],
                    context=self._mail_context(
                        ctx, existing, reset_page_url=f"{ctx.settings.public_url}/account/forgot-password"
                    ),
                )
            return
        user = User(
            email=email,
            password_hash=password_hash,
            first_name=data.first_name,
            last_name=data.last_name,
            phone=data.phone,
            role="customer",
            is_active=True,
        )
        try:
            async with session.begin_nested():
                session.add(user)
                await session.flush()
        except IntegrityError:
            # A concurrent registration of the same address (a double-click) committed first: answer
            # as for a taken address rather than with a 500.
            log.info("register_raced", email_key=_email_key(email))
            return
        notify(
            session,
            "account.welcome",
            key=occurrence("account.welcome", user.id),
            recipients=[Recipient(user_id=user.id, email=email)],
            context=self._mail_context(ctx, user),
        )
        await self._send_verification(session, ctx, user)
        log.info("user_registered", user_id=user.id)

    async def create_user(
        self,
        session: AsyncSession,
        ctx: AppContext,
        *,
        email: str,
        password: str,
        role: str,
        first_name: str | None = None,
        last_name: str | None = None,
        verified: bool = True,
    ) -> User:
        """For the CLI and demo data: no e-mails, the role as given."""
        user = User(
            email=email.lower(),
            password_hash=await ctx.passwords.hash(password),
            first_name=first_name,
            last_name=last_name,
            role=role,
            is_active=True,
            email_verified_at=utcnow() if verified else None,
        )
        session.add(user)
        await session.flush()
        return user

    # Signing in
    async def login(
        self,
        session: AsyncSession,
        ctx: AppContext,
        data: schemas.LoginIn,
        client: ClientInfo,
        *,
        code_checked_later: bool = False,
    ) -> schemas.TokenPair:
        """A new session for the right password, and for staff with two-factor sign-in the right code too
        (``totp_code``); only the back office, which asks for the code on a page of its own before the
        session opens anything, passes ``code_checked_later``."""
        key = _email_key(data.email)
        lock_key = f"login-lock:{key}"
        failures = self._failure_limit(ctx)
        await self._count_attempt(ctx, key, lock_key, failures)
        # The password is checked before the request's transaction starts: argon2 takes a noticeable
        # time, and on SQLite a write transaction would hold the database's write lock all along.
        async with ctx.db.read_session() as reader:
            found = await AccountRepository(reader).user_by_email(data.email)
            stored = found.password_hash if found is not None and found.is_active else None
            user_id = found.id if found is not None else None
        verified = await ctx.passwords.verify(stored, data.password)
        user = await AccountRepository(session).user(user_id) if verified and user_id is not None else None
        # Re-read in the writing transaction: the account may have changed during the check.
        if user is None or not user.is_active or user.password_hash != stored:
            if not await ctx.limiter.allows(failures, "login-fail", key):
                await self._lock(ctx, key, lock_key)
            raise Unauthorized(INVALID_CREDENTIALS, code=AccountError.INVALID_CREDENTIALS)
        await ctx.limiter.clear(failures, "login-fail", key)
        if not code_checked_later and not await self._second_factor(session, ctx, user, data.totp_code):
            raise Unauthorized(CODE_NEEDED, code=AccountError.TWO_FACTOR_REQUIRED)
        if stored and ctx.passwords.needs_rehash(stored):
            user.password_hash = await ctx.passwords.hash(data.password)
        user.last_login_at = utcnow()
        log.info("user_logged_in", user_id=user.id)
        return await self._start_session(session, ctx, user, client)

    async def _count_attempt(self, ctx: AppContext, key: str, lock_key: str, failures: RateLimitItem) -> None:
        """Refuse a locked-out e-mail. Each attempt counts as a failure until its password proves right, and
        is counted before the check: concurrent attempts (from any process) cannot all pass while the first
        ones are hashing."""
        remaining = await ctx.limiter.locked_for(lock_key)
        if remaining:
            raise RateLimited(remaining, LOCKED_OUT, code=AccountError.TOO_MANY_ATTEMPTS)
        if not await ctx.limiter.hit(failures, "login-fail", key):
            await self._lock(ctx, key, lock_key)
            raise RateLimited(
                ctx.settings.login_lockout_seconds, LOCKED_OUT, code=AccountError.TOO_MANY_ATTEMPTS
            )
        # Locking clears the count (after setting the lock): an attempt that looked for the lock before it
        # was set and counted after the clear would pass as a first failure. Looking again after counting
        # sees the lock in that case (both in the one shared store, in that order).
        remaining = await ctx.limiter.locked_for(lock_key)
        if remaining:
            raise RateLimited(remaining, LOCKED_OUT, code=AccountError.TOO_MANY_ATTEMPTS)

    @staticmethod
    async def _second_factor(session: AsyncSession, ctx: AppContext, user: User, code: str | None) -> bool:
        """True for an account without two-factor sign-in, else whether ``code`` is right (wrong codes are
        counted, and locked out, by the two-factor check itself)."""
        if not two_factor.is_enabled(user):
            return True
        return bool(code) and await two_factor.verify(session, ctx, user, code or "")

    def _failure_limit(self, ctx: AppContext) -> RateLimitItem:
        s = ctx.settings
        return ctx.limiter.parse(f"{s.login_max_failures} per {s.login_failure_window_seconds} seconds")

    async def _lock(self, ctx: AppContext, key: str, lock_key: str) -> None:
        # The lock, in the shared store, holds in every process; the failures before it are forgotten.
        await ctx.limiter.lock(lock_key, ctx.settings.login_lockout_seconds)
        await ctx.limiter.clear(self._failure_limit(ctx), "login-fail", key)
        log.warning("login_locked", email_key=key)

    async def _start_session(
        self, session: AsyncSession, ctx: AppContext, user: User, client: ClientInfo
    ) -> schemas.TokenPair:
        now = utcnow()
        auth_session = AuthSession(
            user_id=user.id,
            created_at=now,
            last_used_at=now,
            expires_at=now + timedelta(seconds=ctx.settings.refresh_token_ttl_seconds),
            user_agent=(client.user_agent or "")[:255] or None,
            ip_address=client.ip[:64],
        )
        session.add(auth_session)
        await session.flush()
        return await self._issue_pair(session, ctx, user, auth_session)

    async def _issue_pair(
        self, session: AsyncSession, ctx: AppContext, user: User, auth_session: AuthSession
    ) -> schemas.TokenPair:
        access, _ = ctx.tokens.issue(user.id, auth_session.id, "access")
        refresh, claims = ctx.tokens.issue(user.id, auth_session.id, "refresh")
        session.add(
            RefreshToken(
                session_id=auth_session.id, token_hash=hash_token(refresh), expires_at=claims.expires_at
            )
        )
        auth_session.expires_at = claims.expires_at
        return schemas.TokenPair(
            access_token=access,
            refresh_token=refresh,
            expires_in=ctx.settings.access_token_ttl_seconds,
            user=to_read(user),
        )

    async def refresh(self, session: AsyncSession, ctx: AppContext, token: str) -> schemas.TokenPair:
        """Rotate: the presented token stops working. Presenting a rotated token revokes its whole family."""
        try:
            claims = ctx.tokens.decode(token, "refresh")
        except InvalidToken as exc:
            raise Unauthorized("The refresh token is not valid.", code=AccountError.INVALID_TOKEN) from exc
        repo = AccountRepository(session)
        found = await repo.refresh_token(hash_token(token))
        now = utcnow()
        if found is None:
            raise Unauthorized("The refresh token is not valid.", code=AccountError.INVALID_TOKEN)
        stored, auth_session = found
        if auth_session.revoked_at is not None or auth_session.expires_at <= now or stored.expires_at <= now:
            raise Unauthorized("The session has ended; sign in again.", code=AccountError.SESSION_ENDED)
        if stored.used_at is not None or not await repo.mark_refresh_used(stored.id, now):
            # A rotated token came back: whoever holds the family may be a thief, so end the session.
            await repo.revoke_session(auth_session.id, now, "refresh_token_reuse")
            log.warning("refresh_token_reuse", session_id=auth_session.id)
            raise RefreshTokenReused()
        user = await repo.user_for_session(claims.subject, auth_session.id, now)
        if user is None:
            raise Unauthorized("The session has ended; sign in again.", code=AccountError.SESSION_ENDED)
        auth_session.last_used_at = now
        return await self._issue_pair(session, ctx, user, auth_session)

    async def logout(
        self, session: AsyncSession, *, user_id: int | None, session_id: int | None, refresh_token: str | None
    ) -> None:
        """End the caller's session (access tokens die with it) and the refresh token's, if it is theirs."""
        repo = AccountRepository(session)
        now = utcnow()
        if session_id is not None:
            await repo.revoke_session(session_id, now, "logout")
        if refresh_token:
            found = await repo.refresh_token(hash_token(refresh_token))
            if found is not None and (user_id is None or found[1].user_id == user_id):
                await repo.revoke_session(found[1].id, now, "logout")

    # E-mail verification
    async def _send_verification(self, session: AsyncSession, ctx: AppContext, user: User) -> None:
        token = await self._new_one_time_token(
            session, user, VERIFY_EMAIL, ctx.settings.verify_token_ttl_seconds, email=user.email
        )
        notify(
            session,
            "account.verify_email",
            key=occurrence("account.verify_email", user.id),
            recipients=[Recipient(user_id=user.id, email=user.email)],
            context=self._mail_context(
                ctx,
                user,
                token=token,
                verify_url=f"{ctx.settings.public_url}/account/verify-email?token={token}",
                expires_hours=ctx.settings.verify_token_ttl_seconds // 3600,
            ),
        )

    async def resend_verification(self, session: AsyncSession, ctx: AppContext, email: str) -> None:
        user = await AccountRepository(session).user_by_email(email)
        if user is None or not user.is_active or user.email_verified_at is not None:
            return
        await AccountRepository(session).void_one_time_tokens(user.id, VERIFY_EMAIL, utcnow())
        await self._send_verification(session, ctx, user)

    async def verify_email(self, session: AsyncSession, token: str) -> User:
        repo = AccountRepository(session)
        record = await repo.one_time_token(hash_token(token), VERIFY_EMAIL)
        now = utcnow()
        user = await repo.user(record.user_id) if record else None
        if (
            record is None
            or user is None
            or record.email != user.email
            or not await repo.consume_one_time_token(record.id, now)
        ):
            raise BadRequest(
                "The verification link is not valid or has expired.", code=AccountError.INVALID_TOKEN
            )
        if user.email_verified_at is None:
            user.email_verified_at = now
        return user

    # Password reset
    async def forgot_password(self, session: AsyncSession, ctx: AppContext, email: str) -> None:
        repo = AccountRepository(session)
        user = await repo.user_by_email(email)
        if user is None or not user.is_active:
            return
        now = utcnow()
        await repo.void_one_time_tokens(user.id, RESET_PASSWORD, now)
        ttl = ctx.settings.reset_token_ttl_seconds
        token = await self._new_one_time_token(session, user, RESET_PASSWORD, ttl)
        notify(
            session,
            "account.password_reset",
            key=occurrence("account.password_reset", user.id),
            recipients=[Recipient(user_id=user.id, email=user.email)],
            context=self._mail_context(
                ctx,
                user,
                token=token,
                reset_url=f"{ctx.settings.public_url}/account/reset-password?token={token}",
                expires_minutes=ttl // 60,
            ),
        )

    async def reset_password(self, session: AsyncSession, ctx: AppContext, token: str, password: str) -> None:
        repo = AccountRepository(session)
        record = await repo.one_time_token(hash_token(token), RESET_PASSWORD)
        now = utcnow()
        user = await repo.user(record.user_id) if record else None
        if (
            record is None
            or user is None
            or not user.is_active
            or not await repo.consume_one_time_token(record.id, now)
        ):
            raise BadRequest("The reset link is not valid or has expired.", code=AccountError.INVALID_TOKEN)
        user.password_hash = await ctx.passwords.hash(password)
        # Whoever knew the old password is signed out everywhere.
        await repo.revoke_user_sessions(user.id, now, "password_reset")
        await repo.void_one_time_tokens(user.id, RESET_PASSWORD, now)
        # The reset link reached this mailbox, which proves the address as well as a verification would.
        if user.email_verified_at is None:
            user.email_verified_at = now
        notify(
            session,
            "account.password_changed",
            key=occurrence("account.password_changed", user.id),
            recipients=[Recipient(user_id=user.id, email=user.email)],
            context=self._mail_context(ctx, user),
        )

    async def _new_one_time_token(
        self, session: AsyncSession, user: User, purpose: str, ttl_seconds: int, email: str | None = None
    ) -> str:
        token = new_opaque_token()
        session.add(
            OneTimeToken(
                user_id=user.id,
                purpose=purpose,
                token_hash=hash_token(token),
                expires_at=utcnow() + timedelta(seconds=ttl_seconds),
                email=email,
            )
        )
        return token

    @staticmethod
    def _mail_context(ctx: AppContext, user: User, **extra: object) -> dict[str, object]:
        return {"shop_name": ctx.settings.shop_name, "first_name": user.first_name, **extra}


auth = AuthService()
