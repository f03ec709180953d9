"""The store's effective profile: what the merchant stored in the database, the environment's setting where
they stored nothing, and the effective settings every request reads (core/context.py).

The environment stays the default and the only home of secrets; the profile holds no secret. Each process
keeps the last profile it read, filed under the store stamp (``store:version`` in the shared cache): a commit
that writes ``store_settings`` gives the stamp a new value (core/changes.py), so every process sharing the
cache reads the row again on its next request. A process whose cache is its own (no Redis, several
processes) sees another process's change once its copy is ``PROFILE_TTL_SECONDS`` old.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

import structlog

from emporium.core import changes
from emporium.core.cache import Cache
from emporium.core.config import Settings
from emporium.core.outage import database_unavailable
from emporium.store.repository import StoreRepository

if TYPE_CHECKING:
    from emporium.core.context import AppContext
    from emporium.store.models import StoreSettings

log = structlog.get_logger(__name__)

VERSION_KEY = "store:version"
WATCHED_TABLES = ("store_settings",)
PROFILE_TTL_SECONDS = 30.0


@dataclass(frozen=True)
class StoreProfile:
    """The shop as shoppers, invoices and the back office name it."""

    name: str
    legal_name: str | None
    address: tuple[str, ...]
    tax_id: str | None
    tax_id_label: str
    contact_email: str | None
    timezone: str
    currency_display: str
    payment_methods: tuple[str, ...]

    @classmethod
    def of(cls, settings: Settings, row: StoreSettings | None) -> StoreProfile:
        """``row``'s values, the environment's where the row has none (or there is no row)."""

        def pick(stored: Any, default: Any) -> Any:
            return default if row is None or stored is None else stored

        return cls(
            name=pick(row and row.name, settings.shop_name),
            legal_name=pick(row and row.legal_name, settings.seller_name),
            address=tuple(pick(row and row.address, settings.seller_address)),
            tax_id=pick(row and row.tax_id, settings.seller_tax_id),
            tax_id_label=pick(row and row.tax_id_label, settings.seller_tax_id_label),
            contact_email=pick(row and row.contact_email, settings.contact_email),
            timezone=pick(row and row.timezone, settings.timezone),
            currency_display=pick(row and row.currency_display, settings.currency_display),
            payment_methods=tuple(pick(row and row.payment_methods, settings.payment_methods)),
        )

    def over(self, settings: Settings) -> Settings:
        """``settings`` with this profile laid over them (the same object when nothing differs)."""
        update = {
            "shop_name": self.name,
            "seller_name": self.legal_name,
            "seller_address": list(self.address),
            "seller_tax_id": self.tax_id,
            "seller_tax_id_label": self.tax_id_label,
            "contact_email": self.contact_email,
            "timezone": self.timezone,
            "currency_display": self.currency_display,
            "payment_methods": list(self.payment_methods),
        }
        changed = {name: value for name, value in update.items() if getattr(settings, name) != value}
        return settings.model_copy(update=changed) if changed else settings


@dataclass(frozen=True)
class _Held:
    base: Settings
    stamp: str
    read_at: float
    profile: StoreProfile
    settings: Settings


# One held profile per app context, found by its cache (tests build many apps in one process).
_held: WeakKeyDictionary[Cache, _Held] = WeakKeyDictionary()


async def _stamp(ctx: AppContext) -> str | None:
    try:
        return await changes.read_stamp(ctx.cache, VERSION_KEY)
    except Exception as exc:
        log.warning("store_stamp_unavailable", error=repr(exc))
        return None


async def held(ctx: AppContext) -> tuple[StoreProfile, Settings]:
    """The effective profile and settings, read from the database at most once per stamp and
    ``PROFILE_TTL_SECONDS``; in their own short read-only session, before the request's first statement."""
    stamp = await _stamp(ctx)
    now = time.monotonic()
    kept = _held.get(ctx.cache)
    # Without a stamp (the shared cache is down) the copy is kept for its time-to-live only.
    if (
        kept is not None
        and kept.base is ctx.settings
        and (stamp is None or kept.stamp == stamp)
        and now - kept.read_at < PROFILE_TTL_SECONDS
    ):
        return kept.profile, kept.settings
    try:
        async with ctx.db.session(read_only=True) as session:
            row = await StoreRepository(session).settings_row()
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        # The database is down: the last profile read (or the environment's) lets the request go on to
        # answer for itself (/health/ready says what is down; a page says "back soon"). Not kept: the next
        # request reads again.
        log.warning("store_profile_unavailable", error_type=type(exc).__name__)
        if kept is not None and kept.base is ctx.settings:
            return kept.profile, kept.settings
        fallback = StoreProfile.of(ctx.settings, None)
        return fallback, fallback.over(ctx.settings)
    profile = StoreProfile.of(ctx.settings, row)
    settings = profile.over(ctx.settings)
    _held[ctx.cache] = _Held(ctx.settings, stamp or "", now, profile, settings)
    return profile, settings


async def effective_settings(ctx: AppContext) -> Settings:
    """The settings source registered in the wiring step (core/context.py ``register_settings_source``)."""
    return (await held(ctx))[1]
