"""Things other domains do when a customer signs in (the cart merges the guest cart), registered by their
``install`` in the wiring step (emporium/install.py), so accounts never imports the domains built on it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.config import Settings

# Runs inside the sign-in's transaction, after the credentials were accepted.
LoginHook = Callable[[AsyncSession, Settings, int, Request], Awaitable[None]]
LOGIN_HOOKS: list[LoginHook] = []


def register_login_hook(hook: LoginHook) -> None:
    """Add ``hook``; a hook already registered stays where it is (the wiring step may run twice)."""
    if hook not in LOGIN_HOOKS:
        LOGIN_HOOKS.append(hook)


async def after_login(session: AsyncSession, settings: Settings, user_id: int, request: Request) -> None:
    for hook in LOGIN_HOOKS:
        await hook(session, settings, user_id, request)
