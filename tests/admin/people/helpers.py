"""Shortcuts of the people screens' tests: staff made in the database, a form's CSRF token, TOTP codes."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
import pyotp

from emporium.accounts.models import User
from emporium.accounts.service import auth
from emporium.core.context import AppContext
from tests.admin.conftest import StaffClient, csrf_of, open_client
from tests.support import STRONG_PASSWORD

SECRET_TEXT = re.compile(r'<code class="admin-people-secret">([A-Z2-7]+)</code>')
RECOVERY = re.compile(r"<li><code>([a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4})</code></li>")


def code(secret: str, offset: int = 0) -> str:
    """The code of the step ``offset`` steps from now (0: the one an app shows now)."""
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(datetime.now(UTC)) + offset)


async def make_staff(
    ctx: AppContext, email: str, role: str = "admin", password: str = STRONG_PASSWORD
) -> int:
    async with ctx.db.session() as session:
        user = await auth.create_user(session, ctx, email=email, password=password, role=role)
        return user.id


async def user(ctx: AppContext, user_id: int) -> User:
    async with ctx.db.session() as session:
        found = await session.get(User, user_id)
        assert found is not None
        return found


async def post(client: StaffClient, url: str, **fields: str) -> httpx.Response:
    """A form post with the client's CSRF token."""
    return await client.post(url, data={"csrf_token": client.csrf, **fields})


@asynccontextmanager
async def browser(ctx: AppContext) -> AsyncIterator[StaffClient]:
    """A new browser (its own cookie jar), closed when the block ends."""
    client = await open_client(ctx)
    async with client:
        yield client


async def password_step(
    client: StaffClient, email: str, password: str = STRONG_PASSWORD, next_url: str = "/admin/audit"
) -> httpx.Response:
    """Give the sign-in page an e-mail and a password; the answer."""
    page = await client.get("/admin/sign-in")
    client.csrf = csrf_of(page.text)
    return await client.post(
        "/admin/sign-in",
        data={"email": email, "password": password, "csrf_token": client.csrf, "next": next_url},
    )


async def enrol(client: StaffClient) -> tuple[str, list[str]]:
    """Set two-factor sign-in up through the security page; the secret and the recovery codes shown."""
    started = await post(client, "/admin/account/security/enrol")
    assert started.status_code == 303, started.text
    page = await client.get("/admin/account/security")
    found = SECRET_TEXT.search(page.text)
    assert found, page.text
    secret = found.group(1)
    confirmed = await post(client, "/admin/account/security/confirm", code=code(secret))
    assert confirmed.status_code == 200, confirmed.text
    codes = RECOVERY.findall(confirmed.text)
    assert len(codes) == 8
    return secret, codes
