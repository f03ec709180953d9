"""The store's settings edited at /admin/settings: they show on the storefront, on a new invoice and in the
reports' days; a blank field goes back to the environment's default; every change is audited; hostile input
is refused with a message and changes nothing; only a role with settings:manage reaches the screens."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from emporium.audit.service import audit
from emporium.core.context import AppContext
from tests.admin.conftest import StaffClient, StaffClientFactory, csrf_of
from tests.admin.settings.shop import pdf_text, place, shopper_with_cart
from tests.inventory.factory import make_product, staff_headers
from tests.support import SmtpServer, data

STORE = {
    "name": "Sweet Corner",
    "legal_name": "Sweet Corner Trading Ltd",
    "address": "4 Candy Road\r\nSpringfield 12345\r\nGermany",
    "tax_id": "DE 999 999 999",
    "tax_id_label": "VAT number",
    "contact_email": "Hello@Sweet-Corner.example",
    "timezone": "Asia/Tokyo",
    "currency_display": "code",
}


async def save(owner: StaffClient, **values: Any) -> httpx.Response:
    form = await owner.get("/admin/settings")
    assert form.status_code == 200
    return await owner.post("/admin/settings", data={"csrf_token": csrf_of(form.text), **values})


async def store_history(ctx: AppContext) -> list[Any]:
    async with ctx.db.session() as session:
        return list(await audit.for_object(session, "store", 1, limit=50))


async def test_store_details_show_on_a_new_invoice_and_on_the_storefront(
    client: httpx.AsyncClient, ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    owner = await staff_client("super_admin")
    saved = await save(owner, **STORE)
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == "/admin/settings"

    home = await client.get("/")
    assert "<title>Sweet Corner</title>" in home.text
    assert '<span class="logo__name">Sweet Corner</span>' in home.text
    assert 'href="mailto:Hello@sweet-corner.example"' in home.text

    ready = await shopper_with_cart(client, ctx)
    order = data(await place(client, ready, "cash_on_delivery"), 201)
    staff = await staff_headers(client, ctx, email="clerk@example.com", role="admin")
    url = f"/api/v1/admin/orders/{order['id']}"
    data(await client.put(url, json={"status": "confirmed"}, headers=staff))
    pdf = await client.get(f"/api/v1/orders/{order['id']}/invoice.pdf", headers=ready.headers)
    assert pdf.status_code == 200
    text = pdf_text(pdf.content)
    for expected in (
        "Sweet Corner Trading Ltd",
        "4 Candy Road",
        "Springfield 12345",
        "VAT number: DE 999 999 999",
    ):
        assert expected in text, text

    # The back office's layout names the shop too, and the audit log holds the change, field by field.
    assert "Sweet Corner" in (await owner.get("/admin")).text
    [entry] = await store_history(ctx)
    assert entry.action == "store.settings_updated"
    assert entry.actor_email == owner.email
    assert entry.changes["name"] == [None, "Sweet Corner"]
    assert entry.changes["address"] == [None, "4 Candy Road / Springfield 12345 / Germany"]
    assert entry.changes["contact_email"] == [None, "Hello@sweet-corner.example"]


async def test_the_time_zone_and_the_currency_display_reach_reports_and_prices(
    client: httpx.AsyncClient, ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    async with ctx.db.session() as session:
        made = await make_product(session, "Brass lamp", prices=("1234.50",))
        url = f"/p/{made.product.slug}"
    before = await client.get(url)
    assert "$1,234.50" in before.text
    owner = await staff_client("super_admin")
    assert (await save(owner, timezone="Asia/Tokyo", currency_display="code")).status_code == 303

    after = await client.get(url)
    assert "USD\xa01,234.50" in after.text or "USD 1,234.50" in after.text
    assert "$1,234.50" not in after.text
    reports = await owner.get("/admin/reports")
    assert "days begin at midnight, Asia/Tokyo" in reports.text


async def test_a_blank_field_goes_back_to_the_environments_default(
    client: httpx.AsyncClient, ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    owner = await staff_client("super_admin")
    assert (await save(owner, name="Sweet Corner")).status_code == 303
    assert "<title>Sweet Corner</title>" in (await client.get("/")).text
    # The form shows what is stored, and the environment's value it replaces.
    form = (await owner.get("/admin/settings")).text
    assert 'value="Sweet Corner"' in form
    assert f"Default: {ctx.settings.shop_name}" in form
    assert (await save(owner, name="  ")).status_code == 303
    assert f"<title>{ctx.settings.shop_name}</title>" in (await client.get("/")).text
    form = (await owner.get("/admin/settings")).text
    assert f"Default: {ctx.settings.shop_name}" in form
    assert [e.changes["name"] for e in await store_history(ctx)] == [
        ["Sweet Corner", None],
        [None, "Sweet Corner"],
    ]
    # Saving what is already stored changes nothing and writes no entry.
    again = await save(owner, name="")
    assert again.status_code == 303
    assert len(await store_history(ctx)) == 2


HOSTILE = [
    pytest.param({"timezone": "Mars/Olympus_Mons"}, "timezone", "is not a time zone", id="unknown-zone"),
    pytest.param({"timezone": "../../etc/passwd"}, "timezone", "is not a time zone", id="path-as-zone"),
    pytest.param({"contact_email": "not-an-address"}, "contact_email", "", id="bad-email"),
    pytest.param({"name": "<script>alert(1)</script>"}, "name", "no &lt; or &gt;", id="script-in-name"),
    pytest.param({"name": "x" * 300}, "name", "at most 100 characters", id="long-name"),
    pytest.param({"tax_id": "DE\x00123"}, "tax_id", "", id="nul"),
    pytest.param({"address": "\n".join(f"line {n}" for n in range(12))}, "address", "", id="many-lines"),
    pytest.param({"currency_display": "emoji"}, "currency_display", "", id="unknown-display"),
]


@pytest.mark.parametrize(("values", "field", "message"), HOSTILE)
async def test_hostile_input_is_refused_with_a_message_and_changes_nothing(
    client: httpx.AsyncClient,
    ctx: AppContext,
    staff_client: StaffClientFactory,
    values: dict[str, str],
    field: str,
    message: str,
) -> None:
    owner = await staff_client("super_admin")
    assert (await save(owner, name="Sweet Corner", timezone="Europe/Berlin")).status_code == 303
    refused = await save(owner, **{"name": "Other name", **values})
    assert refused.status_code == 422
    assert "Nothing was saved" in refused.text
    assert re.search(rf'id="{field}-error">[^<]+<', refused.text), refused.text
    assert message in refused.text
    assert "<script>alert(1)" not in refused.text
    assert "<title>Sweet Corner</title>" in (await client.get("/")).text
    assert len(await store_history(ctx)) == 1


async def test_a_field_longer_than_any_form_allows_is_refused_before_anything_runs(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    owner = await staff_client("super_admin")
    refused = await save(owner, name="y" * 5_000)
    assert 400 <= refused.status_code < 500
    assert await store_history(ctx) == []


SCREENS = [
    "/admin/settings",
    "/admin/settings/payments",
    "/admin/settings/taxes",
    "/admin/settings/shipping",
    "/admin/pages",
    "/admin/pages/privacy",
]


@pytest.mark.parametrize("role", ["support", "moderator", "admin"])
async def test_only_a_role_with_settings_manage_reaches_the_screens(
    ctx: AppContext, staff_client: StaffClientFactory, role: str
) -> None:
    staff = await staff_client(role)
    home = await staff.get("/admin")
    assert 'href="/admin/settings"' not in home.text
    assert 'href="/admin/pages"' not in home.text
    for url in SCREENS:
        assert (await staff.get(url)).status_code == 403, url
    token = csrf_of(home.text)
    posts = {
        "/admin/settings": {"name": "Taken over"},
        "/admin/settings/payments": {"method": "test"},
        "/admin/settings/taxes": {"country": "US", "name": "Tax", "rate": "50"},
        "/admin/pages/privacy": {"title": "Privacy", "body": "Nothing."},
    }
    for url, form in posts.items():
        assert (await staff.post(url, data={"csrf_token": token, **form})).status_code == 403, url
    assert await store_history(ctx) == []


async def test_the_owner_finds_both_sections_in_the_sidebar(staff_client: StaffClientFactory) -> None:
    owner = await staff_client("super_admin")
    home = (await owner.get("/admin")).text
    assert 'href="/admin/settings"' in home
    assert 'href="/admin/pages"' in home


async def test_the_order_mail_names_the_shop_and_where_to_write(
    client: httpx.AsyncClient, ctx: AppContext, staff_client: StaffClientFactory, smtp: SmtpServer
) -> None:
    owner = await staff_client("super_admin")
    saved = await save(owner, name="Sweet Corner", contact_email="help@sweet-corner.example")
    assert saved.status_code == 303
    ready = await shopper_with_cart(client, ctx, email="mail@example.com")
    order = data(await place(client, ready, "cash_on_delivery"), 201)
    await ctx.jobs.run_until_idle()
    [mail] = [m for m in smtp.sink.to("mail@example.com") if order["number"] in m.subject]
    assert "Sweet Corner" in mail.text
    assert "Questions? Write to help@sweet-corner.example." in mail.text
    assert 'href="mailto:help@sweet-corner.example"' in mail.html
