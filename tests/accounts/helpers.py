"""Shortcuts shared by the accounts tests."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
from sqlalchemy import select

from emporium.accounts.models import User
from emporium.core.context import AppContext
from tests.conftest import Shopper
from tests.support import data

CustomApp = Callable[..., AbstractAsyncContextManager[tuple[AppContext, httpx.AsyncClient]]]


def user_id_of(shopper: Shopper) -> int:
    user = shopper.tokens["user"]
    assert isinstance(user, dict)
    return int(user["id"])


async def user_row(ctx: AppContext, user_id: int) -> User:
    async with ctx.db.session() as session:
        user = await session.get(User, user_id)
        assert user is not None
        return user


async def users_with_email(ctx: AppContext, email: str) -> list[User]:
    async with ctx.db.session() as session:
        result = await session.execute(select(User).where(User.email == email))
        return list(result.scalars().all())


async def login(client: httpx.AsyncClient, email: str, password: str) -> dict[str, Any]:
    tokens: dict[str, Any] = data(
        await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    )
    return tokens


def login_body(email: str, password: str) -> dict[str, str]:
    return {"email": email, "password": password}
