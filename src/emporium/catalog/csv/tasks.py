"""Background work of back-office catalog imports: a large checked upload imported with its progress
published, and expired uploads forgotten (catalog/csv/uploads.py)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog

from emporium.audit.schemas import Actor
from emporium.catalog.csv.service import import_catalog
from emporium.catalog.csv.uploads import (
    IMPORT_JOB,
    finish,
    for_job,
    forget_expired,
    progress_key,
    start,
    stopped,
)
from emporium.core.cache import Cache
from emporium.core.context import AppContext
from emporium.core.jobs import PermanentJobError

log = structlog.get_logger(__name__)

FORGET_UPLOADS_JOB = "catalog.forget_csv_uploads"
PROGRESS_EVERY_SECONDS = 0.5
PROGRESS_TTL_SECONDS = 24 * 3600

__all__ = ["FORGET_UPLOADS_JOB", "IMPORT_JOB", "forget_uploads_job", "run_import_job"]


class _Counter:
    def __init__(self) -> None:
        self.done = 0

    def add(self, rows: int) -> None:
        self.done += rows


async def _publish(cache: Cache, import_id: int, counter: _Counter) -> None:
    key = progress_key(import_id)
    while True:
        with contextlib.suppress(Exception):
            await cache.set(key, str(counter.done), PROGRESS_TTL_SECONDS)
        await asyncio.sleep(PROGRESS_EVERY_SECONDS)


async def run_import_job(ctx: AppContext, payload: dict[str, Any]) -> None:
    """The background import: the same all-or-nothing import, with its rows counted as they are written."""
    import_id = int(payload["import_id"])
    user_id, email, ip_address = payload["actor"]
    actor = Actor(user_id=user_id, email=email, ip_address=ip_address)
    async with ctx.db.session() as session:
        upload = await for_job(session, import_id)
        if upload is None:
            raise PermanentJobError(f"catalog import {import_id} is gone")
        if not start(upload):
            return
    counter = _Counter()
    publisher = asyncio.create_task(_publish(ctx.cache, import_id, counter))
    try:
        async with ctx.db.session() as session:
            upload = await for_job(session, import_id)
            if upload is None:
                raise PermanentJobError(f"catalog import {import_id} is gone")
            report = await import_catalog(
                session,
                upload.content,
                currency=ctx.settings.currency,
                dry_run=False,
                actor_user_id=user_id,
                progress=counter.add,
            )
            finish(session, upload, report, actor)
    except Exception:
        log.exception("catalog_import_failed", import_id=import_id)
        async with ctx.db.session() as session:
            upload = await for_job(session, import_id)
            if upload is not None:
                stopped(upload)
        raise
    finally:
        publisher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await publisher
        with contextlib.suppress(Exception):
            await ctx.cache.delete(progress_key(import_id))


async def forget_uploads_job(ctx: AppContext, payload: dict[str, Any]) -> None:
    """Delete the uploads past their expiry (their text with them)."""
    async with ctx.db.session() as session:
        removed = await forget_expired(session)
    if removed:
        log.info("catalog_uploads_forgotten", count=removed)
