"""GDPR: export everything held about a customer, and erase it while keeping the books.

Domains that hold personal data register an exporter and an eraser here (from their ``install``, in the
wiring step: emporium/install.py, whose order is the order the erasers run in), so accounts never imports the
domains that depend on it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.accounts.models import User
from emporium.accounts.profile import wrong_password
from emporium.accounts.repository import AccountRepository
from emporium.core.context import AppContext
from emporium.core.db import utcnow

Exporter = Callable[[AsyncSession, User], Awaitable[Any]]
# An eraser gets the user before anonymisation: it may still need the e-mail address to find rows.
Eraser = Callable[[AsyncSession, User], Awaitable[None]]

EXPORTERS: dict[str, Exporter] = {}
ERASERS: dict[str, Eraser] = {}


def register_privacy_hooks(
    name: str, *, exporter: Exporter | None = None, eraser: Eraser | None = None
) -> None:
    """Registering the same hooks again changes nothing (the wiring step may run twice)."""
    if exporter is not None:
        EXPORTERS[name] = exporter
    if eraser is not None:
        ERASERS[name] = eraser


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


async def export_user(session: AsyncSession, user: User) -> dict[str, Any]:
    repo = AccountRepository(session)
    data: dict[str, Any] = {
        "exported_at": utcnow().isoformat(),
        "account": {
            "id": user.id,
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "phone": user.phone,
            "role": user.role,
            "email_verified_at": _iso(user.email_verified_at),
            "created_at": _iso(user.created_at),
            "updated_at": _iso(user.updated_at),
            "last_login_at": _iso(user.last_login_at),
        },
        "addresses": [
            {
                c: _iso(getattr(a, c))
                for c in (
                    "id",
                    "label",
                    "full_name",
                    "phone",
                    "line1",
                    "line2",
                    "city",
                    "region",
                    "postal_code",
                    "country",
                    "is_default",
                    "created_at",
                    "updated_at",
                )
            }
            for a in await repo.addresses_of(user.id)
        ],
        "sessions": [
            {
                "created_at": _iso(s.created_at),
                "last_used_at": _iso(s.last_used_at),
                "revoked_at": _iso(s.revoked_at),
                "ip_address": s.ip_address,
                "user_agent": s.user_agent,
            }
            for s in await repo.sessions_of(user.id)
        ],
    }
    for name, exporter in sorted(EXPORTERS.items()):
        data[name] = await exporter(session, user)
    return data


async def erase_user(session: AsyncSession, ctx: AppContext, user: User, password: str) -> None:
    """Delete what is personal, anonymise what the books must keep, and sign the user out everywhere."""
    if not await ctx.passwords.verify(user.password_hash, password):
        raise wrong_password("password")
    await scrub(session, user)


async def scrub(session: AsyncSession, user: User) -> None:
    """The erasure itself, once the request to erase was proved (by the password, or by staff acting on
    the customer's written request from the back office)."""
    for eraser in ERASERS.values():
        await eraser(session, user)
    repo = AccountRepository(session)
    now = utcnow()
    await repo.delete_addresses(user.id)
    await repo.delete_one_time_tokens(user.id)
    await repo.revoke_user_sessions(user.id, now, "account_erased")
    user.email = f"erased-{user.id}@erased.invalid"
    user.first_name = None
    user.last_name = None
    user.phone = None
    user.password_hash = None
    user.is_active = False
    user.email_verified_at = None
    user.erased_at = now
