"""Fixtures of the back-office tests: staff members signed in through /admin/sign-in, each in a browser-like
client of its own (its own cookie jar), and a counter of the SQL statements a request runs."""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from emporium.accounts.service import auth
from emporium.app import create_app
from emporium.core.context import AppContext
from tests.support import STRONG_PASSWORD

# The browser tests serve the app as the storefront's browser tests do, with the same fixtures.
from tests.web.conftest import artifacts, chromium_path, live_catalog, live_shop  # noqa: F401

CSRF_META = re.compile(r'<meta name="csrf-token" content="([A-Za-z0-9_-]+)">')
_numbers = itertools.count(1)


class StaffClient(httpx.AsyncClient):
    csrf: str
    user_id: int
    email: str


StaffClientFactory = Callable[..., Awaitable[StaffClient]]


def csrf_of(html: str) -> str:
    found = CSRF_META.search(html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


async def open_client(ctx: AppContext) -> StaffClient:
    transport = httpx.ASGITransport(app=create_app(ctx=ctx), raise_app_exceptions=False)
    return StaffClient(transport=transport, base_url="http://testserver")


async def sign_in(client: StaffClient, email: str, password: str = STRONG_PASSWORD) -> httpx.Response:
    page = await client.get("/admin/sign-in")
    client.csrf = csrf_of(page.text)
    return await client.post(
        "/admin/sign-in",
        data={"email": email, "password": password, "csrf_token": client.csrf, "next": "/admin/audit"},
    )


async def new_staff_client(ctx: AppContext, role: str = "admin", email: str | None = None) -> StaffClient:
    """A new staff member of ``role``, signed in to the back office of ``ctx``'s app (close it after)."""
    email = email or f"{role.replace('_', '-')}-{next(_numbers)}@staff.test"
    async with ctx.db.session() as session:
        user = await auth.create_user(session, ctx, email=email, password=STRONG_PASSWORD, role=role)
        user_id = user.id
    client = await open_client(ctx)
    response = await sign_in(client, email)
    assert response.status_code == 303, response.text
    client.user_id, client.email = user_id, email
    return client


@pytest.fixture
async def staff_client(ctx: AppContext) -> AsyncIterator[StaffClientFactory]:
    """``await staff_client("support")``: a new staff member of that role, signed in to the back office."""
    opened: list[StaffClient] = []

    async def make(role: str = "admin", email: str | None = None) -> StaffClient:
        client = await new_staff_client(ctx, role, email)
        opened.append(client)
        return client

    yield make
    for client in opened:
        await client.aclose()
