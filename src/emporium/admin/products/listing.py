"""``/admin/products``: every product in any status, searched by name or SKU, filtered by category, brand,
status, stock and featured flag, sorted, a keyset page at a time; the bulk edits start from its form
(admin/products/bulk.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from fastapi.responses import HTMLResponse, Response

from emporium.admin.page import AdminContext, AdminWith
from emporium.admin.products.choices import brand_choices, category_choices
from emporium.admin.products.query import (
    SORT_NAMES,
    STATUS_NAMES,
    STOCK_NAMES,
    ProductTableQuery,
)
from emporium.admin.routing import admin_router
from emporium.catalog.bulk import ACTION_NAMES, SELECTION_LIMIT
from emporium.catalog.staff_list import staff_products
from emporium.core.permissions import Permission

router = admin_router(prefix="/admin/products")

ProductsPage = Annotated[AdminContext, AdminWith(Permission.PRODUCTS_WRITE)]


@router.get("", response_class=HTMLResponse, response_model=None)
async def product_list(page: ProductsPage, query: Annotated[ProductTableQuery, Query()]) -> Response:
    filters = query.filters()
    found = await staff_products.page(page.session, filters, query.sort, query.after or None, query.limit)
    count, exact = await staff_products.count(page.session, filters)
    params = query.params()
    next_params = {
        **params,
        "after": found.next_cursor or "",
        "limit": "" if query.limit == 50 else query.limit,
    }
    return await page.render(
        "admin/products/list.html.j2",
        title="Products",
        breadcrumbs=[("Products", None)],
        rows=found.rows,
        count=count,
        exact=exact,
        next_params=next_params if found.next_cursor else None,
        params=params,
        query=query,
        query_string=query.query_string(),
        export_query=query.export_query(),
        filtered=bool(set(params) - {"sort"}),
        first_page=not query.after,
        categories=await category_choices(page.session),
        brands=await brand_choices(page.session),
        statuses=STATUS_NAMES,
        stock_names=STOCK_NAMES,
        sorts=SORT_NAMES,
        actions=ACTION_NAMES,
        selection_limit=SELECTION_LIMIT,
    )
