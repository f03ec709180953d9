"""Staff two-factor sign-in (accounts/two_factor.py): enrolment, the ±1 step window, replays refused,
single-use recovery codes, switching off, and the limit on wrong codes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pyotp
import pytest
from sqlalchemy import func, select

from emporium.accounts.models import RecoveryCode, User
from emporium.accounts.service import auth
from emporium.accounts.two_factor import (
    RECOVERY_CODE_COUNT,
    TwoFactorStateError,
    WrongCode,
    is_enabled,
    matching_step,
    needs_enrolment,
    two_factor,
    verify,
)
from emporium.audit.models import AuditEntry
from emporium.audit.schemas import Actor
from emporium.core.context import AppContext
from emporium.core.errors import RateLimited
from tests.conftest import MakeContext
from tests.support import STRONG_PASSWORD, data, error

LOGIN = "/api/v1/auth/login"


def code(secret: str, offset: int = 0) -> str:
    """The code of the step ``offset`` steps from now (0: the one an app shows now)."""
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(datetime.now(UTC)) + offset)


async def _staff(ctx: AppContext, email: str = "two@staff.test") -> int:
    async with ctx.db.session() as session:
        user = await auth.create_user(session, ctx, email=email, password=STRONG_PASSWORD, role="admin")
        return user.id


def _actor(user: User) -> Actor:
    return Actor(user.id, user.email, "127.0.0.1")


async def enrolled(ctx: AppContext, user_id: int) -> tuple[str, list[str]]:
    """Enrol the user; their secret and recovery codes."""
    async with ctx.db.session() as session:
        user = await session.get(User, user_id)
        assert user is not None
        enrolment = two_factor.start_enrolment(ctx, user)
    async with ctx.db.session() as session:
        user = await session.get(User, user_id)
        assert user is not None
        codes = await two_factor.confirm_enrolment(session, ctx, user, code(enrolment.secret), _actor(user))
    return enrolment.secret, codes


async def _verify(ctx: AppContext, user_id: int, given: str) -> bool:
    async with ctx.db.session() as session:
        user = await session.get(User, user_id)
        assert user is not None
        return await verify(session, ctx, user, given)


def test_a_code_is_accepted_one_step_either_side_and_no_further() -> None:
    secret = pyotp.random_base32()
    totp = pyotp.TOTP(secret)
    at = datetime(2026, 12, 8, 9, 0, 15, tzinfo=UTC)
    step = totp.timecode(at)
    for offset in (-1, 0, 1):
        assert matching_step(secret, totp.generate_otp(step + offset), at) == step + offset
    for offset in (-3, -2, 2, 3):
        assert matching_step(secret, totp.generate_otp(step + offset), at) is None
    assert matching_step(pyotp.random_base32(), totp.generate_otp(step), at) is None


async def test_enrolment_is_switched_on_only_by_a_right_code(ctx: AppContext) -> None:
    user_id = await _staff(ctx)
    async with ctx.db.session() as session:
        user = await session.get(User, user_id)
        assert user is not None
        enrolment = two_factor.start_enrolment(ctx, user)
        assert enrolment.qr_data_uri.startswith("data:image/svg+xml")
        assert enrolment.uri.startswith("otpauth://totp/")
        assert "issuer=Emporium" in enrolment.uri
        assert not is_enabled(user)
    async with ctx.db.session() as session:
        user = await session.get(User, user_id)
        assert user is not None
        # The pending secret is shown again until confirmed.
        pending = two_factor.pending_enrolment(ctx, user)
        assert pending is not None
        assert pending.secret == enrolment.secret
        with pytest.raises(WrongCode):
            await two_factor.confirm_enrolment(session, ctx, user, "000000", _actor(user))
        wrong_secret_code = code(pyotp.random_base32())
        if wrong_secret_code != code(enrolment.secret):
            with pytest.raises(WrongCode):
                await two_factor.confirm_enrolment(session, ctx, user, wrong_secret_code, _actor(user))
        assert not is_enabled(user)
        codes = await two_factor.confirm_enrolment(session, ctx, user, code(enrolment.secret), _actor(user))
        assert is_enabled(user)
        assert two_factor.pending_enrolment(ctx, user) is None
    assert len(codes) == RECOVERY_CODE_COUNT == len(set(codes))
    async with ctx.db.session() as session:
        stored = (await session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user_id))).all()
        # Stored as digests: no code appears in the table.
        assert len(stored) == RECOVERY_CODE_COUNT
        assert not {c.replace("-", "") for c in codes} & {s.code_hash for s in stored}
        actions = (await session.scalars(select(AuditEntry.action))).all()
        assert "staff.two_factor_enabled" in actions
        # Enrolling again while on is refused.
        user = await session.get(User, user_id)
        assert user is not None
        with pytest.raises(TwoFactorStateError):
            two_factor.start_enrolment(ctx, user)


async def test_a_code_works_once(ctx: AppContext) -> None:
    user_id = await _staff(ctx)
    secret, _ = await enrolled(ctx, user_id)
    # The enrolment used the current step: that code, and any earlier one, is spent.
    assert not await _verify(ctx, user_id, code(secret))
    assert await _verify(ctx, user_id, code(secret, 1))
    assert not await _verify(ctx, user_id, code(secret, 1))
    assert not await _verify(ctx, user_id, code(secret))
    assert not await _verify(ctx, user_id, "12345")
    assert not await _verify(ctx, user_id, "abcdef")


async def test_recovery_codes_work_once_and_only_for_their_owner(ctx: AppContext) -> None:
    user_id = await _staff(ctx)
    other_id = await _staff(ctx, "other@staff.test")
    _, codes = await enrolled(ctx, user_id)
    await enrolled(ctx, other_id)
    assert not await _verify(ctx, other_id, codes[0])
    # Typed any way: upper case, without dashes, with spaces.
    assert await _verify(ctx, user_id, codes[0].upper().replace("-", " "))
    assert not await _verify(ctx, user_id, codes[0])
    assert await _verify(ctx, user_id, codes[1])
    async with ctx.db.session() as session:
        user = await session.get(User, user_id)
        assert user is not None
        assert await two_factor.recovery_codes_left(session, user) == RECOVERY_CODE_COUNT - 2


async def test_new_recovery_codes_replace_the_old(ctx: AppContext) -> None:
    user_id = await _staff(ctx)
    secret, old = await enrolled(ctx, user_id)
    async with ctx.db.session() as session:
        user = await session.get(User, user_id)
        assert user is not None
        with pytest.raises(WrongCode):
            await two_factor.new_recovery_codes(session, ctx, user, "999999", _actor(user))
        new = await two_factor.new_recovery_codes(session, ctx, user, code(secret, 1), _actor(user))
    assert len(new) == RECOVERY_CODE_COUNT
    assert not set(new) & set(old)
    assert not await _verify(ctx, user_id, old[0])
    assert await _verify(ctx, user_id, new[0])


async def test_switching_off_needs_a_code_and_forgets_everything(ctx: AppContext) -> None:
    user_id = await _staff(ctx)
    secret, codes = await enrolled(ctx, user_id)
    async with ctx.db.session() as session:
        user = await session.get(User, user_id)
        assert user is not None
        with pytest.raises(WrongCode):
            await two_factor.disable(session, ctx, user, "000000", _actor(user))
        assert is_enabled(user)
        await two_factor.disable(session, ctx, user, codes[0], _actor(user))
        assert not is_enabled(user)
        assert user.totp_secret is None
    async with ctx.db.session() as session:
        left = await session.scalar(
            select(func.count()).select_from(RecoveryCode).where(RecoveryCode.user_id == user_id)
        )
        assert left == 0
        user = await session.get(User, user_id)
        assert user is not None
        with pytest.raises(TwoFactorStateError):
            await two_factor.disable(session, ctx, user, code(secret, 1), _actor(user))
    # Off: nothing verifies any more.
    assert not await _verify(ctx, user_id, code(secret, 1))
    assert not await _verify(ctx, user_id, codes[1])


async def test_wrong_codes_lock_the_check(make_context: MakeContext) -> None:
    ctx = make_context(login_max_failures=3, login_lockout_seconds=600)
    user_id = await _staff(ctx)
    secret, _ = await enrolled(ctx, user_id)
    for _ in range(3):
        assert not await _verify(ctx, user_id, "000001")
    with pytest.raises(RateLimited) as refused:
        await _verify(ctx, user_id, "000002")
    assert refused.value.code == "TOO_MANY_ATTEMPTS"
    # Locked: even the right code is refused until the lock ends, so guessing cannot go on.
    with pytest.raises(RateLimited):
        await _verify(ctx, user_id, code(secret, 1))


async def test_a_right_code_clears_the_failures(make_context: MakeContext) -> None:
    ctx = make_context(login_max_failures=3)
    user_id = await _staff(ctx)
    secret, _ = await enrolled(ctx, user_id)
    for _ in range(2):
        assert not await _verify(ctx, user_id, "000001")
    assert await _verify(ctx, user_id, code(secret, 1))
    for _ in range(2):
        assert not await _verify(ctx, user_id, "000001")


async def test_the_required_setting_asks_staff_without_it_to_enrol(make_context: MakeContext) -> None:
    ctx = make_context(staff_totp_required=True)
    user_id = await _staff(ctx)
    async with ctx.db.session() as session:
        user = await session.get(User, user_id)
        assert user is not None
        assert needs_enrolment(ctx.settings, user)
        assert not needs_enrolment(ctx.settings.model_copy(update={"staff_totp_required": False}), user)
    await enrolled(ctx, user_id)
    async with ctx.db.session() as session:
        user = await session.get(User, user_id)
        assert user is not None
        assert not needs_enrolment(ctx.settings, user)


async def test_a_code_from_the_past_window_is_refused(ctx: AppContext) -> None:
    user_id = await _staff(ctx)
    secret, _ = await enrolled(ctx, user_id)
    totp = pyotp.TOTP(secret)
    old = totp.generate_otp(totp.timecode(datetime.now(UTC) - timedelta(minutes=5)))
    if old not in {code(secret, offset) for offset in (-1, 0, 1)}:
        assert not await _verify(ctx, user_id, old)


async def test_the_api_sign_in_asks_staff_with_two_factor_for_the_code(
    ctx: AppContext, client: httpx.AsyncClient
) -> None:
    user_id = await _staff(ctx, "api@staff.test")
    body = {"email": "api@staff.test", "password": STRONG_PASSWORD}
    # Without two-factor, the password is enough.
    data(await client.post(LOGIN, json=body))
    secret, codes = await enrolled(ctx, user_id)
    for extra in ({}, {"totp_code": ""}, {"totp_code": "000000"}, {"totp_code": code(secret)}):
        refused = await client.post(LOGIN, json={**body, **extra})
        assert error(refused, 401)["code"] == "TWO_FACTOR_REQUIRED", extra
    assert error(await client.post(LOGIN, json={**body, "totp_code": "9" * 65}), 422)
    tokens = data(await client.post(LOGIN, json={**body, "totp_code": code(secret, 1)}))
    assert tokens["user"]["id"] == user_id
    # The code was used: a replay signs in nobody; a recovery code works once.
    assert error(await client.post(LOGIN, json={**body, "totp_code": code(secret, 1)}), 401)
    data(await client.post(LOGIN, json={**body, "totp_code": codes[0]}))
    assert error(await client.post(LOGIN, json={**body, "totp_code": codes[0]}), 401)
    # A wrong password with a right code is still a wrong password.
    wrong = await client.post(LOGIN, json={**body, "password": "not the password", "totp_code": codes[1]})
    assert error(wrong, 401)["code"] == "INVALID_CREDENTIALS"


async def test_one_code_presented_twice_at_once_signs_in_once(make_committed_context: MakeContext) -> None:
    # The limit on wrong codes is not what this test is about: the losers here are replays.
    ctx = make_committed_context(login_max_failures=50)
    user_id = await _staff(ctx, "race@staff.test")
    secret, codes = await enrolled(ctx, user_id)
    start = asyncio.Event()

    async def present(given: str) -> bool:
        await start.wait()
        return await _verify(ctx, user_id, given)

    for given in (code(secret, 1), codes[0]):
        tasks = [asyncio.create_task(present(given)) for _ in range(4)]
        await asyncio.sleep(0)
        start.set()
        assert sorted(await asyncio.gather(*tasks)) == [False, False, False, True]
        start.clear()
