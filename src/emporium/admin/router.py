"""Every back-office route, in one router. A module adds its router to ``ADMIN_ROUTERS`` and its sidebar
entry to navigation.py; it inherits the CSRF check, which refuses any POST without the browser's token
before the route runs.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from emporium.admin import audit_pages, dashboard, reports, search, sign_in
from emporium.admin.routing import admin_router
from emporium.web.csrf import require_csrf

ADMIN_ROUTERS: tuple[APIRouter, ...] = (
    sign_in.router,
    dashboard.router,
    reports.router,
    audit_pages.router,
    search.router,
)

router = admin_router(dependencies=[Depends(require_csrf)])

for _pages in ADMIN_ROUTERS:
    router.include_router(_pages)
