"""Who reaches the product screens: staff whose role grants products:write. Support and moderators get a
403 on every route of these screens (a forged POST included) and see no Products section."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from emporium.admin.products import bulk, editor, listing
from emporium.core.context import AppContext
from tests.admin.conftest import StaffClientFactory
from tests.admin.products.conftest import shelf

ROUTES = [
    (method, route.path)
    for module in (listing, bulk, editor)
    for route in module.router.routes
    if isinstance(route, APIRoute)
    for method in sorted(route.methods)
]


def test_every_products_route_is_listed() -> None:
    assert len(ROUTES) == 11


@pytest.mark.parametrize("role", ["support", "moderator"])
async def test_roles_without_products_write_get_403_everywhere_and_no_section(
    ctx: AppContext, staff_client: StaffClientFactory, role: str
) -> None:
    made = await shelf(ctx)
    client = await staff_client(role)
    home = await client.get("/admin")
    assert home.status_code == 200
    assert 'href="/admin/products"' not in home.text
    for method, path in ROUTES:
        url = re.sub(r"\{\w+\}", str(made.ids["Alpha shirt"]), path)
        if method == "GET":
            response = await client.get(url)
        else:
            response = await client.post(
                url, data={"csrf_token": client.csrf, "scope": "selected", "action": "publish", "name": "x"}
            )
        assert response.status_code == 403, (method, url)


async def test_admins_see_the_section_after_orders(ctx: AppContext, staff_client: StaffClientFactory) -> None:
    admin = await staff_client("admin")
    home = await admin.get("/admin")
    sidebar = re.findall(r'class="admin-sidebar__link[^"]*" href="([^"]+)"', home.text)
    assert sidebar.index("/admin/products") == sidebar.index("/admin/orders") + 1
