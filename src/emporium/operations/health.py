"""The system health report: whether each service the shop depends on answers, how the job outbox is
doing, the media disk, the version and whether the database's schema is the code's.

A part that does not answer is reported as down with the reason; the report itself never fails, so a
monitor reading ``GET /api/v1/admin/health`` always gets an answer. Each probe is bounded in time, and no
reason shown carries a password: every URL is shown without it, and a password found in an error's text
is blotted out.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import unquote, urlsplit, urlunsplit

from emporium.catalog.media.config import MediaSettings
from emporium.core.db import utcnow
from emporium.core.migrations import code_heads
from emporium.operations.repository import OperationsRepository
from emporium.operations.schemas import (
    ComponentHealth,
    ComponentName,
    DiskHealth,
    HealthReport,
    JobsHealth,
    KindBacklog,
    MigrationHealth,
    OldestPendingJob,
)

if TYPE_CHECKING:
    from emporium.core.context import AppContext

PROBE_TIMEOUT_SECONDS = 3.0
MAX_ERROR_CHARS = 300
HIDDEN = "***"


def without_password(url: str) -> str:
    """``url`` with the password (if any) replaced by ``***``; the rest kept for reading."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}:{HIDDEN}@{host}{port}"))


def where(url: str) -> str:
    """Where a service is, for people: ``127.0.0.1:6379/0`` (never the user or the password)."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{host}{port}{parts.path}"


def passwords_in(urls: Iterable[str | None]) -> list[str]:
    found = []
    for url in urls:
        if url:
            password = urlsplit(url).password
            if password:
                found += [password, unquote(password)]
    return [p for p in found if p]


def reason(exc: BaseException, secrets: Iterable[str]) -> str:
    """An error as one line for people, without any of ``secrets``."""
    if isinstance(exc, TimeoutError):
        return f"no answer within {PROBE_TIMEOUT_SECONDS:g} s"
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, HIDDEN)
    return text[:MAX_ERROR_CHARS]


@dataclass(frozen=True)
class Probe:
    name: ComponentName
    backend: str
    check: Callable[[], Awaitable[object]]


class HealthService:
    async def report(self, ctx: AppContext, version: str) -> HealthReport:
        """The report; ``version`` is the running app's (the API's version)."""
        settings = ctx.settings
        secrets = passwords_in((settings.database_url, settings.redis_url, settings.jobs_broker_url))
        now = utcnow()
        broker_url = settings.jobs_broker_url

        async def database() -> None:
            async with ctx.db.session() as session:
                await OperationsRepository(session).ping()

        probes = [
            Probe("database", _database_backend(settings.database_url), database),
            Probe("cache", _cache_backend(settings.redis_url), ctx.cache.ping),
            Probe("broker", _broker_backend(broker_url), _broker_check(broker_url)),
        ]
        components = list(await asyncio.gather(*(_run(probe, secrets) for probe in probes)))
        if components[0].up:
            jobs, migrations = await self._from_database(ctx, now, secrets)
        else:
            unread = "the database does not answer"
            jobs = JobsHealth(error=unread)
            migrations = MigrationHealth(code=list(code_heads()), current=False, error=unread)
        disk = await asyncio.to_thread(media_disk, settings.part(MediaSettings))
        return HealthReport(
            status=_status(components, jobs, disk, migrations),
            checked_at=now,
            version=version,
            components=components,
            jobs=jobs,
            disk=disk,
            migrations=migrations,
        )

    async def _from_database(
        self, ctx: AppContext, now: datetime, secrets: list[str]
    ) -> tuple[JobsHealth, MigrationHealth]:
        try:
            async with ctx.db.session() as session:
                repository = OperationsRepository(session)
                return await self._jobs(repository, now, secrets), await self._migrations(repository, secrets)
        except Exception as exc:
            unread = reason(exc, secrets)
            migrations = MigrationHealth(code=list(code_heads()), current=False, error=unread)
            return JobsHealth(error=unread), migrations

    async def _jobs(self, repository: OperationsRepository, now: datetime, secrets: list[str]) -> JobsHealth:
        try:
            backlog = await repository.pending_by_kind()
            counts = await repository.counts_by_state(now)
            oldest = await repository.oldest_pending()
        except Exception as exc:
            return JobsHealth(error=reason(exc, secrets))
        return JobsHealth(
            backlog=[KindBacklog(kind=kind, pending=count) for kind, count in backlog],
            pending=counts["pending"],
            oldest_pending=None
            if oldest is None
            else OldestPendingJob(
                id=oldest.id,
                kind=oldest.name,
                created_at=oldest.created_at,
                run_after=oldest.run_after,
                age_seconds=max(0, int((now - oldest.created_at).total_seconds())),
            ),
            running=counts["running"],
            running_overdue=counts["running_overdue"],
            dead=counts["dead"],
        )

    async def _migrations(self, repository: OperationsRepository, secrets: list[str]) -> MigrationHealth:
        code = list(code_heads())
        try:
            database = await repository.migration_revisions()
        except Exception as exc:
            return MigrationHealth(code=code, current=False, error=reason(exc, secrets))
        return MigrationHealth(database=database, code=code, current=database == code)


async def _run(probe: Probe, secrets: list[str]) -> ComponentHealth:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(probe.check(), PROBE_TIMEOUT_SECONDS)
    except Exception as exc:
        return ComponentHealth(name=probe.name, up=False, backend=probe.backend, error=reason(exc, secrets))
    latency = round((time.perf_counter() - started) * 1000, 2)
    return ComponentHealth(name=probe.name, up=True, backend=probe.backend, latency_ms=latency)


def _database_backend(url: str) -> str:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ":memory:"
        return f"SQLite ({Path(path).name or path})"
    return f"PostgreSQL at {where(url)}"


def _cache_backend(url: str | None) -> str:
    return f"Redis at {where(url)}" if url else "in-process"


def _broker_backend(url: str | None) -> str:
    if not url:
        return "in-process"
    kind = "Redis" if url.startswith(("redis://", "rediss://")) else "RabbitMQ"
    return f"{kind} at {where(url)}"


def _broker_check(url: str | None) -> Callable[[], Awaitable[object]]:
    """A fresh connection to the broker, closed at once: it answers whatever this process's own broker
    client is doing (a web process that only enqueues never starts one)."""

    async def in_process() -> None:
        return None

    async def redis() -> None:
        from redis.asyncio import Redis

        client: Redis = Redis.from_url(
            str(url), socket_connect_timeout=PROBE_TIMEOUT_SECONDS, socket_timeout=PROBE_TIMEOUT_SECONDS
        )
        try:
            await client.ping()
        finally:
            await client.aclose()

    async def rabbitmq() -> None:
        import aio_pika

        connection = await aio_pika.connect(str(url), timeout=PROBE_TIMEOUT_SECONDS)
        await connection.close()

    if not url:
        return in_process
    return redis if url.startswith(("redis://", "rediss://")) else rabbitmq


def media_disk(settings: MediaSettings) -> DiskHealth:
    """Space on the disk of the media folder. A folder not made yet (no image uploaded) is measured on
    the nearest folder above it that exists: the disk it will be made on."""
    if settings.media_storage != "local":
        return DiskHealth(storage="s3")
    folder = Path(settings.media_dir).resolve()
    measured = folder
    while not measured.exists() and measured != measured.parent:
        measured = measured.parent
    try:
        usage = shutil.disk_usage(measured)
    except OSError as exc:
        return DiskHealth(storage="local", path=str(folder), exists=folder.exists(), error=reason(exc, ()))
    return DiskHealth(
        storage="local",
        path=str(folder),
        exists=folder.is_dir(),
        total_bytes=usage.total,
        used_bytes=usage.used,
        free_bytes=usage.free,
    )


def _status(
    components: list[ComponentHealth], jobs: JobsHealth, disk: DiskHealth, migrations: MigrationHealth
) -> Literal["ok", "degraded", "down"]:
    """Down without the database; degraded when another part does not answer or the schema is not the
    code's. Dead jobs do not change it (they wait for staff, counted in ``jobs.dead``)."""
    if not components[0].up:
        return "down"
    troubled = (
        not all(c.up for c in components)
        or jobs.error is not None
        or disk.error is not None
        or not migrations.current
    )
    return "degraded" if troubled else "ok"


health = HealthService()
