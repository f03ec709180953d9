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
    coupon_pages,
    customer_pages,
    dashboard,
    health_pages,
    image_pages,
    invitation,
    job_pages,
    mailbox_pages,
    reports,
    review_pages,
    search,
    settings_pages,
    settings_shipping,
    settings_taxes,
    sign_in,
    sign_in_code,
    staff_pages,
    stock_pages,
    variant_pages,
)
from emporium.admin.catalog import brands as catalog_brands
from emporium.admin.catalog import categories as catalog_categories
from emporium.admin.catalog import export as catalog_export
from emporium.admin.catalog import imports as catalog_imports
from emporium.admin.orders import actions as order_actions
from emporium.admin.orders import detail as order_detail
from emporium.admin.orders import listing as order_listing
from emporium.admin.orders import shipping_file as order_shipping_file
from emporium.admin.products import bulk as product_bulk
from emporium.admin.products import editor as product_editor
from emporium.admin.products import listing as product_listing
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
    job_pages.router,
    health_pages.router,
    mailbox_pages.router,
    stock_pages.router,
    # Fixed paths (/admin/coupons/new) are declared before /admin/coupons/{coupon_id} in the module.
    coupon_pages.router,
    # Fixed paths only (/admin/reviews, /admin/reviews/moderate).
    review_pages.router,
    # Fixed paths (/admin/orders/bulk-ship) before the order page's /admin/orders/{order_id}.
    order_listing.router,
    order_shipping_file.router,
    order_detail.router,
    order_actions.router,
    # Fixed paths (/admin/products/bulk/..., /new, the previews) before /admin/products/{product_id}.
    product_listing.router,
    product_bulk.router,
    product_editor.router,
    # A product's variants and images (/admin/products/{id}/variants, /images).
    variant_pages.router,
    image_pages.router,
    catalog_imports.router,
    catalog_export.router,
    catalog_categories.router,
    catalog_brands.router,
    settings_pages.router,
    settings_taxes.router,
    settings_shipping.router,
    content_pages.router,
)

router = admin_router(dependencies=[Depends(require_csrf)])

for _pages in ADMIN_ROUTERS:
    router.include_router(_pages)
