"""The composition root: everything a request or a job needs, built once per process from settings.

The environment's settings are the defaults; a domain may register a *settings source*
(``register_settings_source``, from the wiring step) that lays what the merchant stored in the database over
them. Each request's ``Ctx`` then carries the effective settings (``current(ctx)``), and so does everything
that reads ``ctx.settings`` or ``page.settings`` during it; ``shown_settings()`` gives them to code that has
no context at hand (the templates' ``money`` filter).
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from taskiq import AsyncBroker

from emporium.core import metrics
from emporium.core.cache import Cache, create_cache
from emporium.core.changes import announce_to
from emporium.core.config import Settings
from emporium.core.db import Database, ReplicaOptions
from emporium.core.jobs.registry import HANDLERS
from emporium.core.jobs.runner import JobRunner
from emporium.core.ratelimit import RateLimiter, create_limiter
from emporium.core.security import Passwords, Tokens


@dataclass
class AppContext:
    settings: Settings
    db: Database
    cache: Cache
    limiter: RateLimiter
    passwords: Passwords
    tokens: Tokens
    jobs: JobRunner = field(init=False)

    async def close(self) -> None:
        await self.jobs.stop()
        await self.cache.close()
        await self.limiter.close()
        await self.db.dispose()


def job_runner(ctx: AppContext, broker: AsyncBroker | None = None) -> JobRunner:
    """The context's job runner: the handlers the wiring step registered (emporium/install.py) get ``ctx``.
    Without ``broker``, the one ``EMPORIUM_JOBS_BROKER_URL`` names (none: jobs run in this process)."""
    return JobRunner(ctx.db, ctx.settings, HANDLERS, ctx, broker, prepare=current)


def database_of(settings: Settings) -> Database:
    """The shop's database as the settings describe it: the primary, and the replica when one is set."""
    replica = None
    if settings.database_replica_url:
        replica = ReplicaOptions(
            settings.database_replica_url, settings.replica_max_lag_seconds, metrics.replica_lag_observed
        )
    return Database(
        settings.database_url,
        echo=settings.database_echo,
        session_info={"jobs_max_attempts": settings.jobs_max_attempts},
        replica=replica,
        pooler=settings.database_pooler,
    )


def build_context(settings: Settings, db: Database | None = None) -> AppContext:
    ctx = AppContext(
        settings=settings,
        db=db or database_of(settings),
        cache=create_cache(settings.redis_url),
        limiter=create_limiter(
            settings.redis_url,
            settings.rate_limit_storage,
            settings.rate_limit_file,
            settings.rate_limit_retry_seconds,
        ),
        passwords=Passwords(settings),
        tokens=Tokens(settings),
    )
    ctx.jobs = job_runner(ctx)
    # Commits made outside a request (jobs, CLI imports) announce their catalog changes too.
    ctx.db.announcer = announce_to(ctx.cache)
    return ctx


SettingsSource = Callable[[AppContext], Awaitable[Settings]]

_sources: list[SettingsSource] = []
_shown: ContextVar[Settings | None] = ContextVar("emporium_shown_settings", default=None)


def register_settings_source(source: SettingsSource) -> None:
    """Let ``source`` give the effective settings (the environment's with stored values laid over them);
    one per process, registering the same source again changes nothing."""
    if source not in _sources:
        _sources[:] = [source]


async def current(ctx: AppContext) -> AppContext:
    """``ctx`` with the effective settings (the same object when no source is registered or nothing is
    stored); the settings are also what ``shown_settings()`` gives for the rest of this task."""
    if not _sources:
        return ctx
    settings = await _sources[0](ctx)
    _shown.set(settings)
    if settings is ctx.settings:
        return ctx
    effective = copy.copy(ctx)
    effective.settings = settings
    return effective


def shown_settings() -> Settings | None:
    """The effective settings of the request being answered, None outside one."""
    return _shown.get()


# Dependencies that never wait are still ``async def``: FastAPI runs a plain ``def`` in its thread pool,
# a thread hop on every request.
async def _get_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return await current(ctx)


Ctx = Annotated[AppContext, Depends(_get_context)]
