"""``/admin/health``: whether the database, the cache and the job broker answer (and how fast), the job
outbox's backlog by kind, its oldest pending job, running and dead jobs, the media disk, the version and
the migration revision. A part that is down shows as down with its reason; the page itself still answers.
The same report is JSON at ``GET /api/v1/admin/health`` for monitors (operations/api.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi.responses import HTMLResponse

from emporium.admin.page import AdminContext, AdminWith
from emporium.admin.routing import admin_router
from emporium.analytics.periods import shop_zone
from emporium.core.permissions import Permission
from emporium.operations.health import health

router = admin_router(prefix="/admin/health")

HealthPage = Annotated[AdminContext, AdminWith(Permission.SYSTEM_READ)]
COMPONENT_LABELS = {"database": "Database", "cache": "Cache", "broker": "Job broker"}


def size(count: int | None) -> str:
    """Bytes for people: 1.5 GB."""
    if count is None:
        return "—"
    value = float(count)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def duration(seconds: int) -> str:
    """An age for people: 45 s, 12 min, 3 h 20 min, 2 d 4 h."""
    if seconds < 60:
        return f"{seconds} s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 3600:
        return f"{minutes} min"
    if seconds < 86400:
        return f"{hours} h {minutes % 60} min"
    return f"{days} d {hours % 24} h"


@router.get("", response_class=HTMLResponse, response_model=None)
async def health_page(page: HealthPage) -> HTMLResponse:
    report = await health.report(page.ctx, page.request.app.version)
    return await page.render(
        "admin/operations/health.html.j2",
        title="System health",
        breadcrumbs=[("Health", None)],
        report=report,
        labels=COMPONENT_LABELS,
        zone=shop_zone(page.settings),
        size=size,
        duration=duration,
    )
