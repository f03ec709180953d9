"""The global search (``/`` on any back-office page): an order number, a customer's e-mail or phone, a
product's name or SKU. Each kind of result is shown only to a role that may open it.

The text is read first (core/search_text.py): an order number is looked up as a number alone and, when
that order exists, opens it at once; nothing else is queried. Anything else (an order number no order has
included: a SKU may be written like one) goes to the customer and product lookups, which read it again for
their own kinds (an e-mail address looks up that customer only, a phone number the customers' phones).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Query
from fastapi.responses import HTMLResponse, Response

from emporium.accounts.customers import customers
from emporium.admin.page import AdminContext, AdminPage
from emporium.admin.params import OPTIONAL_TEXT
from emporium.admin.routing import admin_router
from emporium.catalog.lookup import ProductMatch, find_products
from emporium.core.permissions import Permission
from emporium.core.search_text import is_order_number
from emporium.orders.service import orders

router = admin_router(prefix="/admin/search")

SearchText = Annotated[str, Query(max_length=100, pattern=OPTIONAL_TEXT)]
PER_KIND = 5


@dataclass(frozen=True)
class Hit:
    kind: str
    label: str
    detail: str
    url: str | None


def _product_hit(match: ProductMatch) -> Hit:
    detail = f"SKU {match.sku} · {match.status}" if match.sku else match.status
    return Hit("Product", match.name, detail, f"/p/{match.slug}" if match.status == "active" else None)


async def _customer_hits(page: AdminContext, text: str) -> list[Hit]:
    found = await customers.search(page.session, page.settings, text, None, PER_KIND)
    return [
        Hit(
            "Customer",
            user.email,
            " · ".join(filter(None, [" ".join(filter(None, [user.first_name, user.last_name])), user.phone])),
            f"/admin/customers/{user.id}",
        )
        for user in found.rows
    ]


@router.get("", response_class=HTMLResponse, response_model=None)
async def search(page: AdminPage, q: SearchText = "") -> Response:
    text = q.strip()
    hits: list[Hit] = []
    if text and is_order_number(text) and page.can(Permission.ORDERS_READ):
        order = await orders.order_by_number(page.session, text.upper())
        if order is not None:
            return page.redirect(f"/admin/orders/{order.id}")
    if text:
        if page.can(Permission.CUSTOMERS_READ):
            hits += await _customer_hits(page, text)
        if page.can(Permission.PRODUCTS_WRITE):
            hits += [_product_hit(match) for match in await find_products(page.session, text, PER_KIND)]
    return await page.render(
        "admin/search.html.j2", title="Search", breadcrumbs=[("Search", None)], q=text, hits=hits
    )
