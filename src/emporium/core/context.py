"""The composition root: everything a request or a job needs, built once per process from settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from taskiq import AsyncBroker

from emporium.core.cache import Cache, create_cache
from emporium.core.changes import announce_to
from emporium.core.config import Settings
from emporium.core.db import Database
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
    return JobRunner(ctx.db, ctx.settings, HANDLERS, ctx, broker)


def build_context(settings: Settings, db: Database | None = None) -> AppContext:
    ctx = AppContext(
        settings=settings,
        db=db
        or Database(
            settings.database_url,
            echo=settings.database_echo,
            session_info={"jobs_max_attempts": settings.jobs_max_attempts},
        ),
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


# Dependencies that never wait are still ``async def``: FastAPI runs a plain ``def`` in its thread pool,
# a thread hop on every request.
async def _get_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


Ctx = Annotated[AppContext, Depends(_get_context)]
