"""Staff two-factor sign-in: TOTP codes (RFC 6238, 30-second steps) and single-use recovery codes.

- Enrolment: the server makes the secret and keeps it on the user while enrolment is pending; two-factor is
  switched on only once a code made from it is accepted, so a mistyped secret never locks anyone out.
- A code is accepted for the current step and one step either side (clock drift), and only for a step later
  than the last one accepted: the step is claimed with one conditional UPDATE, so a code seen once cannot
  be used again, not even by two requests at the same moment.
- Recovery codes (80 random bits each) are stored as digests and spent with one conditional UPDATE.
- Every code check is counted per staff member like sign-in failures (``login_max_failures`` in
  ``login_failure_window_seconds``, then locked for ``login_lockout_seconds``), so the million possible
  six-digit codes cannot be tried.

The secret is stored as it is: the project has no encryption-at-rest helper, and a database reader who
holds the secret still needs the password to sign in.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import pyotp
import segno
import structlog
from limits import RateLimitItem
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from emporium.accounts.errors import AccountError
from emporium.accounts.models import User
from emporium.accounts.staff_repository import StaffRepository
from emporium.audit.schemas import Actor, AuditedObject
from emporium.audit.service import audit
from emporium.core.config import Settings
from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.core.errors import BadRequest, Conflict, RateLimited
from emporium.core.security import hash_token

log = structlog.get_logger(__name__)

RECOVERY_CODE_COUNT = 8
# No 0/o, 1/l/i: the codes are read off paper.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_LENGTH = 16
_TOTP_CODE = re.compile(r"[0-9]{6}")
_RECOVERY_CODE = re.compile(rf"[{_RECOVERY_ALPHABET}]{{{_RECOVERY_LENGTH}}}")
TOO_MANY_CODES = "Too many wrong codes; try again later."


class TwoFactorStateError(Conflict):
    code = AccountError.TWO_FACTOR_STATE


class WrongCode(BadRequest):
    code = AccountError.TWO_FACTOR_INVALID
    message = (
        "That code is not right, or was used already. Enter the code your app shows now "
        "(a new one comes every 30 seconds), or an unused recovery code."
    )


@dataclass(frozen=True)
class Enrolment:
    """What the staff member needs to add the account to an authenticator app."""

    secret: str
    uri: str
    qr_data_uri: str


def is_enabled(user: User) -> bool:
    return user.totp_enabled_at is not None and user.totp_secret is not None


def needs_enrolment(settings: Settings, user: User) -> bool:
    """Whether the shop requires two-factor sign-in and this staff member has not set it up yet."""
    return settings.staff_totp_required and not is_enabled(user)


def _normalised(code: str) -> str:
    return re.sub(r"[\s-]", "", code).lower()[:64]


def _recovery_digest(user_id: int, code: str) -> str:
    # Bound to the user, so a code is worth nothing on another account.
    return hash_token(f"{user_id}:{code}")


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, _RECOVERY_LENGTH, 4))


def matching_step(secret: str, code: str, at: datetime) -> int | None:
    """The time step (current, or one either side) whose code is ``code``, or None."""
    totp = pyotp.TOTP(secret)
    now_step = totp.timecode(at)
    found = None
    # Every candidate is compared, in constant time, so timing does not tell which step matched.
    for step in (now_step - 1, now_step, now_step + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


class TwoFactor:
    # Reading the state
    def is_enabled(self, user: User) -> bool:
        return is_enabled(user)

    async def recovery_codes_left(self, session: AsyncSession, user: User) -> int:
        return await StaffRepository(session).unused_recovery_codes(user.id)

    def pending_enrolment(self, ctx: AppContext, user: User) -> Enrolment | None:
        """The secret being set up (not yet confirmed), to show again; None when there is none."""
        if is_enabled(user) or user.totp_secret is None:
            return None
        return self._enrolment(ctx, user, user.totp_secret)

    # Setting up
    def start_enrolment(self, ctx: AppContext, user: User) -> Enrolment:
        """A new secret, kept on the user until a code confirms it (a pending one is replaced)."""
        if is_enabled(user):
            raise TwoFactorStateError("Two-factor sign-in is already on; switch it off first.")
        user.totp_secret = pyotp.random_base32()
        user.totp_last_step = None
        return self._enrolment(ctx, user, user.totp_secret)

    async def confirm_enrolment(
        self, session: AsyncSession, ctx: AppContext, user: User, code: str, actor: Actor
    ) -> list[str]:
        """Switch two-factor on once ``code`` proves the app holds the secret (WrongCode when it does
        not); the recovery codes, to be shown once."""
        if is_enabled(user) or user.totp_secret is None:
            raise TwoFactorStateError("There is no two-factor set-up waiting for a code; start again.")
        await self._count_attempt(ctx, user)
        if not await self._totp_matches(session, user, user.totp_secret, _normalised(code)):
            raise WrongCode()
        await self._clear_attempts(ctx, user)
        user.totp_enabled_at = utcnow()
        codes = await self._replace_recovery_codes(session, user)
        audit.record(session, actor, "staff.two_factor_enabled", _audited(user))
        log.info("two_factor_enabled", user_id=user.id)
        return codes

    # Signing in, and confirming sensitive changes
    async def verify(self, session: AsyncSession, ctx: AppContext, user: User, code: str) -> bool:
        """Whether ``code`` is a fresh TOTP code or an unused recovery code of ``user`` (spending it).

        Raises RateLimited (429) once too many wrong codes were tried; a right code clears the count.
        """
        if not is_enabled(user) or user.totp_secret is None:
            return False
        await self._count_attempt(ctx, user)
        given = _normalised(code)
        if _TOTP_CODE.fullmatch(given):
            ok = await self._totp_matches(session, user, user.totp_secret, given)
        elif _RECOVERY_CODE.fullmatch(given):
            ok = await StaffRepository(session).use_recovery_code(
                user.id, _recovery_digest(user.id, given), utcnow()
            )
            if ok:
                log.info("recovery_code_used", user_id=user.id)
        else:
            ok = False
        if ok:
            await self._clear_attempts(ctx, user)
        return ok

    async def new_recovery_codes(
        self, session: AsyncSession, ctx: AppContext, user: User, code: str, actor: Actor
    ) -> list[str]:
        """Replace the recovery codes (the old ones stop working) once ``code`` is right (else WrongCode)."""
        if not is_enabled(user):
            raise TwoFactorStateError("Two-factor sign-in is not on.")
        if not await self.verify(session, ctx, user, code):
            raise WrongCode()
        codes = await self._replace_recovery_codes(session, user)
        audit.record(session, actor, "staff.recovery_codes_replaced", _audited(user))
        return codes

    async def disable(
        self, session: AsyncSession, ctx: AppContext, user: User, code: str, actor: Actor
    ) -> None:
        """Switch two-factor off, with a current code or a recovery code (else WrongCode)."""
        if not is_enabled(user):
            raise TwoFactorStateError("Two-factor sign-in is not on.")
        if not await self.verify(session, ctx, user, code):
            raise WrongCode()
        await self.clear(session, user)
        audit.record(session, actor, "staff.two_factor_disabled", _audited(user))
        log.info("two_factor_disabled", user_id=user.id)

    async def clear(self, session: AsyncSession, user: User) -> None:
        """Forget the secret and the recovery codes (switching off, or staff resetting a lost device)."""
        user.totp_secret = None
        user.totp_enabled_at = None
        user.totp_last_step = None
        await StaffRepository(session).delete_recovery_codes(user.id)

    # Inside
    @staticmethod
    def _enrolment(ctx: AppContext, user: User, secret: str) -> Enrolment:
        uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ctx.settings.shop_name)
        # An SVG data: URI is an image the strict CSP allows (img-src data:), with nothing to fetch.
        qr = segno.make(uri, error="m").svg_data_uri(scale=5, border=2)
        return Enrolment(secret=secret, uri=uri, qr_data_uri=qr)

    @staticmethod
    async def _totp_matches(session: AsyncSession, user: User, secret: str, code: str) -> bool:
        if not _TOTP_CODE.fullmatch(code):
            return False
        step = matching_step(secret, code, datetime.now(UTC))
        if step is None:
            return False
        if not await StaffRepository(session).claim_totp_step(user.id, step):
            log.warning("totp_code_replayed", user_id=user.id)
            return False
        set_committed_value(user, "totp_last_step", step)
        return True

    @staticmethod
    async def _replace_recovery_codes(session: AsyncSession, user: User) -> list[str]:
        repo = StaffRepository(session)
        await repo.delete_recovery_codes(user.id)
        codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
        repo.add_recovery_codes(user.id, [_recovery_digest(user.id, _normalised(c)) for c in codes])
        return codes

    @staticmethod
    def _limit(ctx: AppContext) -> RateLimitItem:
        s = ctx.settings
        return ctx.limiter.parse(f"{s.login_max_failures} per {s.login_failure_window_seconds} seconds")

    async def _count_attempt(self, ctx: AppContext, user: User) -> None:
        # Counted before the check, as sign-in failures are: concurrent guesses cannot all slip through.
        lock_key = f"totp-lock:{user.id}"
        remaining = await ctx.limiter.locked_for(lock_key)
        if remaining:
            raise RateLimited(remaining, TOO_MANY_CODES, code=AccountError.TOO_MANY_ATTEMPTS)
        limit = self._limit(ctx)
        if not await ctx.limiter.hit(limit, "totp-fail", str(user.id)):
            await ctx.limiter.lock(lock_key, ctx.settings.login_lockout_seconds)
            await ctx.limiter.clear(limit, "totp-fail", str(user.id))
            log.warning("two_factor_locked", user_id=user.id)
            raise RateLimited(
                ctx.settings.login_lockout_seconds, TOO_MANY_CODES, code=AccountError.TOO_MANY_ATTEMPTS
            )

    async def _clear_attempts(self, ctx: AppContext, user: User) -> None:
        await ctx.limiter.clear(self._limit(ctx), "totp-fail", str(user.id))


def _audited(user: User) -> AuditedObject:
    return AuditedObject("user", user.id, user.email)


two_factor = TwoFactor()


async def verify(session: AsyncSession, ctx: AppContext, user: User, code: str) -> bool:
    """For the sign-in page: ``two_factor.verify`` (RateLimited when too many wrong codes were tried)."""
    return await two_factor.verify(session, ctx, user, code)
