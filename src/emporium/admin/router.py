"""Every back-office route, in one router. A module adds its router to ``ADMIN_ROUTERS`` and its sidebar
entry to navigation.py; it inherits the CSRF check, which refuses any POST without the browser's token
before the route runs.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from emporium.admin import (
    account_security,
    audit_pages,
    content_pages,
    customer_pages,
    dashboard,
    invitation,
    reports,
    search,
    settings_pages,
    settings_shipping,
    settings_taxes,
    sign_in,
    sign_in_code,
    staff_pages,
)
from emporium.admin.orders import actions as order_actions
from emporium.admin.orders import detail as order_detail
from emporium.admin.orders import listing as order_listing
from emporium.admin.orders import shipping_file as order_shipping_file
from emporium.admin.routing import admin_router
from emporium.web.csrf import require_csrf

ADMIN_ROUTERS: tuple[APIRouter, ...] = (
    sign_in.router,
    sign_in_code.router,
    invitation.router,
    dashboard.router,
    reports.router,
    audit_pages.router,
    search.router,
    customer_pages.router,
    staff_pages.router,
    account_security.router,
    # Fixed paths (/admin/orders/bulk-ship) before the order page's /admin/orders/{order_id}.
    order_listing.router,
    order_shipping_file.router,
    order_detail.router,
    order_actions.router,
    settings_pages.router,
    settings_taxes.router,
    settings_shipping.router,
    content_pages.router,
)

router = admin_router(dependencies=[Depends(require_csrf)])

for _pages in ADMIN_ROUTERS:
    router.include_router(_pages)
