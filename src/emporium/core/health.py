"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from emporium.core.context import Ctx
from emporium.core.errors import error_response

router = APIRouter(tags=["health"])
CHECK_TIMEOUT_SECONDS = 3.0


@router.get("/health")
async def health() -> dict[str, Any]:
    """The process is alive and serving."""
    return {"success": True, "data": {"status": "ok"}, "message": None}


@router.get("/health/ready", response_model=None)
async def ready(ctx: Ctx) -> dict[str, Any] | JSONResponse:
    """The database and the cache answer; 503 naming the failing part otherwise."""
    failures: list[dict[str, str]] = []

    async def check_database() -> None:
        async with ctx.db.session() as session:
            await session.execute(text("SELECT 1"))

    for name, check in (("database", check_database), ("cache", ctx.cache.ping)):
        try:
            await asyncio.wait_for(check(), CHECK_TIMEOUT_SECONDS)
        except Exception as exc:
            failures.append({"field": name, "message": f"{name} is not reachable ({type(exc).__name__})"})
    if failures:
        return error_response(503, "NOT_READY", "A required service is not reachable.", failures)
    return {"success": True, "data": {"status": "ready", "database": "ok", "cache": "ok"}, "message": None}
