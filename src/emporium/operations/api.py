"""The system health report for monitors: ``GET /api/v1/admin/health`` (``system:read``).

It answers 200 whatever it finds, a part that is down included: the report says what is down and why
(``data.status``: ok, degraded or down). The public probes (/health, /health/ready) stay for load
balancers; this one is for staff and their monitors."""

from __future__ import annotations

from fastapi import APIRouter, Request

from emporium.core.context import Ctx
from emporium.core.errors import errors_doc
from emporium.core.params import API_PREFIX
from emporium.core.responses import Envelope, ok
from emporium.operations.auth import SystemReader
from emporium.operations.health import health
from emporium.operations.schemas import HealthReport

router = APIRouter(prefix=f"{API_PREFIX}/admin/health", tags=["admin"])


@router.get("", responses=errors_doc(401, 403))
async def system_health(request: Request, ctx: Ctx, _: SystemReader) -> Envelope[HealthReport]:
    return ok(await health.report(ctx, request.app.version))
