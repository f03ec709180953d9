"""``/admin/customers``: find a customer (e-mail, name, or phone in any format), see their account, orders and
lifetime value, deactivate or reactivate them, and answer GDPR requests (export, erasure).

Reading needs ``customers:read`` (support and admins); every change and the export need ``customers:manage``.
A staff account is never a customer here: its id is "not found" on these screens.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import Form, Query
from fastapi.responses import HTMLResponse, Response

from emporium.accounts.customers import customers
from emporium.admin.page import AdminContext, AdminWith
from emporium.admin.params import CursorParam, OptionalText
from emporium.admin.routing import admin_router
from emporium.audit.service import audit
from emporium.core.address_format import address_lines
from emporium.core.errors import ValidationFailed
from emporium.core.pagination import PageParams
from emporium.core.params import IdPath
from emporium.core.permissions import Permission
from emporium.notifications import preferences
from emporium.orders.schemas import OrderFilters
from emporium.orders.service import orders
from emporium.payments.customer_value import customer_value
from emporium.web.page import NO_STORE

router = admin_router(prefix="/admin/customers")

CustomersRead = Annotated[AdminContext, AdminWith(Permission.CUSTOMERS_READ)]
CustomersManage = Annotated[AdminContext, AdminWith(Permission.CUSTOMERS_MANAGE)]
PAGE_SIZE = 50
RECENT_ORDERS = 20
# A bigger list is a job for the database's own tools, not a page.
EXPORT_LIMIT = 50_000
CSV_HEADER = ["id", "email", "first_name", "last_name", "phone", "status", "created_at", "last_login_at"]


def _status(is_active: bool, erased: bool) -> str:
    return "erased" if erased else ("active" if is_active else "deactivated")


def _customer_url(user_id: int) -> str:
    return f"/admin/customers/{user_id}"


@router.get("", response_class=HTMLResponse, response_model=None)
async def customer_list(
    page: CustomersRead,
    q: OptionalText = "",
    after: CursorParam = "",
    format: Annotated[Literal["html", "csv"], Query()] = "html",
) -> Response:
    query = q.strip()
    if format == "csv":
        rows = [
            [
                user.id,
                user.email,
                user.first_name,
                user.last_name,
                user.phone,
                _status(user.is_active, user.erased_at is not None),
                user.created_at.isoformat(),
                user.last_login_at.isoformat() if user.last_login_at else "",
            ]
            async for user in customers.matching(page.session, page.settings, query, EXPORT_LIMIT)
        ]
        return page.csv("customers.csv", CSV_HEADER, rows)
    found = await customers.search(page.session, page.settings, query, after or None, PAGE_SIZE)
    return await page.render(
        "admin/people/customer_list.html.j2",
        title="Customers",
        breadcrumbs=[("Customers", None)],
        rows=found.rows,
        next_cursor=found.next_cursor,
        q=query,
    )


@router.get("/{user_id}", response_class=HTMLResponse, response_model=None)
async def customer_page(page: CustomersRead, user_id: IdPath) -> Response:
    user = await customers.customer(page.session, user_id)
    account = await customers.account(page.session, user)
    recent, order_count = await orders.page(
        page.session, OrderFilters(customer_id=user.id), PageParams(page=1, limit=RECENT_ORDERS)
    )
    locale = page.settings.locale
    return await page.render(
        "admin/people/customer_detail.html.j2",
        title=user.email,
        breadcrumbs=[("Customers", "/admin/customers"), (user.email, None)],
        customer=user,
        status=_status(user.is_active, user.erased_at is not None),
        account=account,
        addresses=[(a, address_lines(_address_dict(a), locale)) for a in account.addresses],
        orders=recent,
        order_count=order_count,
        lifetime=await customer_value.lifetime(page.session, user.id),
        history=await audit.for_object(page.session, "user", user.id, limit=20),
        preferences=await preferences.preferences_of(page.session, page.settings, user.id),
    )


@router.post("/{user_id}/deactivate", response_model=None)
async def deactivate(page: CustomersManage, user_id: IdPath) -> Response:
    user = await customers.customer(page.session, user_id)
    await customers.deactivate(page.session, page.actor, user)
    return page.redirect(
        _customer_url(user.id), flash="The customer is deactivated and signed out everywhere."
    )


@router.post("/{user_id}/reactivate", response_model=None)
async def reactivate(page: CustomersManage, user_id: IdPath) -> Response:
    user = await customers.customer(page.session, user_id)
    await customers.reactivate(page.session, page.actor, user)
    return page.redirect(_customer_url(user.id), flash="The customer may sign in again.")


@router.post("/{user_id}/export", response_model=None)
async def export(page: CustomersManage, user_id: IdPath) -> Response:
    """Everything held about the customer, as the JSON file the GDPR asks to hand over."""
    user = await customers.customer(page.session, user_id)
    data = await customers.export(page.session, page.actor, user)
    return Response(
        json.dumps(data, indent=2, ensure_ascii=False, default=str).encode(),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="customer-{user.id}-export.json"',
            "Cache-Control": NO_STORE,
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/{user_id}/erase", response_model=None)
async def erase(
    page: CustomersManage, user_id: IdPath, confirm_email: Annotated[str, Form(max_length=320)] = ""
) -> Response:
    """Erase on the customer's request; staff type the customer's e-mail address to confirm."""
    user = await customers.customer(page.session, user_id)
    if confirm_email.strip().lower() != user.email:
        raise ValidationFailed(
            "Type the customer's e-mail address to confirm the erasure; nothing was erased.",
            details=[{"field": "confirm_email", "message": "Type the customer's e-mail address."}],
        )
    await customers.erase(page.session, page.actor, user)
    return page.redirect(
        _customer_url(user.id),
        flash="The customer's personal data is erased; their orders stay in the books.",
    )


def _address_dict(address: object) -> dict[str, object]:
    names = ("full_name", "line1", "line2", "city", "region", "postal_code", "country")
    return {name: getattr(address, name) for name in names}
