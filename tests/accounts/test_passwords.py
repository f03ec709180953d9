"""Password rules (length, common passwords) and the upgrade of hashes made with older parameters."""

from __future__ import annotations

import httpx
import pytest
from argon2 import PasswordHasher, Type
from sqlalchemy import update

from emporium.accounts.models import User
from emporium.core.context import AppContext
from tests.accounts.helpers import CustomApp, login, user_id_of, user_row, users_with_email
from tests.conftest import Shopper
from tests.support import STRONG_PASSWORD, data, error

REGISTER = "/api/v1/auth/register"


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "at least 8"),
        ("seven77", "at least 8"),
        ("x" * 129, "at most 128"),
        ("password123", "too common"),
        ("PASSWORD123", "too common"),
        ("iloveyou", "too common"),
        ("", "at least 8"),
    ],
)
async def test_register_refuses_weak_passwords_with_a_field_detail(
    client: httpx.AsyncClient, password: str, reason: str
) -> None:
    response = await client.post(REGISTER, json={"email": "weak@example.com", "password": password})
    err = error(response, 422)
    assert err["code"] == "VALIDATION_ERROR"
    [detail] = err["details"]
    assert detail["field"] == "password"
    assert reason in detail["message"]


async def test_password_limits_are_inclusive(client: httpx.AsyncClient) -> None:
    data(await client.post(REGISTER, json={"email": "eight@example.com", "password": "kq8#vZ2m"}), 201)
    data(await client.post(REGISTER, json={"email": "long@example.com", "password": "Zq9" * 42 + "xy"}), 201)
    await login(client, "long@example.com", "Zq9" * 42 + "xy")


async def test_change_password_applies_the_same_rules(client: httpx.AsyncClient, shopper: Shopper) -> None:
    response = await client.put(
        "/api/v1/users/password",
        json={"current_password": shopper.password, "new_password": "password123"},
        headers=shopper.headers,
    )
    [detail] = error(response, 422)["details"]
    assert detail["field"] == "new_password"


async def test_a_hash_with_older_parameters_is_upgraded_at_login(custom_app: CustomApp) -> None:
    async with custom_app(argon2_time_cost=2) as (ctx, client):
        data(await client.post(REGISTER, json={"email": "old@example.com", "password": STRONG_PASSWORD}), 201)
        [user] = await users_with_email(ctx, "old@example.com")
        assert user.password_hash is not None
        assert "t=2" in user.password_hash

        weaker = PasswordHasher(time_cost=1, memory_cost=256, parallelism=1, type=Type.ID)
        old_hash = weaker.hash(STRONG_PASSWORD)
        async with ctx.db.session() as session:
            await session.execute(update(User).where(User.id == user.id).values(password_hash=old_hash))
        assert ctx.passwords.needs_rehash(old_hash)

        await login(client, "old@example.com", STRONG_PASSWORD)

        upgraded = (await user_row(ctx, user.id)).password_hash
        assert upgraded is not None
        assert upgraded != old_hash
        assert "t=2" in upgraded
        assert not ctx.passwords.needs_rehash(upgraded)
        assert await ctx.passwords.verify(upgraded, STRONG_PASSWORD)
        assert PasswordHasher().verify(upgraded, STRONG_PASSWORD)
        # And the customer still signs in with the same password.
        await login(client, "old@example.com", STRONG_PASSWORD)


async def test_a_current_hash_is_left_alone_at_login(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    before = (await user_row(ctx, user_id_of(shopper))).password_hash
    await login(client, shopper.email, shopper.password)
    assert (await user_row(ctx, user_id_of(shopper))).password_hash == before
