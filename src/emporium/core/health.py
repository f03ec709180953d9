"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from emporium.core.context import Ctx
from emporium.core.errors import error_response, errors_doc

router = APIRouter(tags=["health"])
CHECK_TIMEOUT_SECONDS = 3.0


@router.get("/health")
async def health() -> dict[str, Any]:
    """The process is alive and serving."""
    return {"success": True, "data": {"status": "ok"}, "message": None}


@router.get("/health/ready", response_model=None, responses=errors_doc(503))
async def ready(ctx: Ctx) -> dict[str, Any] | JSONResponse:
    """The database and the cache answer; 503 naming the failing part otherwise. ``rate_limits`` is
    ``degraded`` while their shared store is unreachable and they are counted in each process."""
    failures: list[dict[str, str]] = []

    async def check_database() -> None:
        async with ctx.db.session() as session:
            await session.execute(text("SELECT 1"))

    for name, check in (("database", check_database), ("cache", ctx.cache.ping)):
        try:
            await asyncio.wait_for(check(), CHECK_TIMEOUT_SECONDS)
        except Exception as exc:
            failures.append({"field": name, "message": f"{name} is not reachable ({type(exc).__name__})"})
    # Rate limits never make the shop unready: while their store is down they are counted in each process.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(ctx.limiter.ping(), CHECK_TIMEOUT_SECONDS)
    limits = "degraded" if ctx.limiter.degraded else "ok"
    if failures:
        if ctx.limiter.degraded:
            message = (
                f"degraded: counted in each process while the {ctx.limiter.store_name} store is unreachable"
            )
            failures.append({"field": "rate_limits", "message": message})
        return error_response(503, "NOT_READY", "A required service is not reachable.", failures)
    status = "degraded" if ctx.limiter.degraded else "ready"
    answer = {"status": status, "database": "ok", "cache": "ok", "rate_limits": limits}
    return {"success": True, "data": answer, "message": None}
