"""Fixtures of the accounts tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from emporium.app import create_app
from emporium.core.context import AppContext
from tests.accounts.helpers import CustomApp
from tests.conftest import MakeContext
from tests.support import asgi_client


def _app_factory(make: MakeContext) -> CustomApp:
    @asynccontextmanager
    async def build(**overrides: Any) -> AsyncIterator[tuple[AppContext, httpx.AsyncClient]]:
        context = make(**overrides)
        async with asgi_client(create_app(ctx=context)) as http:
            yield context, http

    return build


@pytest.fixture
def custom_app(make_context: MakeContext) -> CustomApp:
    """``async with custom_app(login_lockout_seconds=1) as (ctx, client)``: the app with other settings,
    on the test's rolled-back database."""
    return _app_factory(make_context)


@pytest.fixture
def committed_app(make_committed_context: MakeContext) -> CustomApp:
    """Like ``custom_app``, but every request commits for real on its own connection (no savepoints)."""
    return _app_factory(make_committed_context)
