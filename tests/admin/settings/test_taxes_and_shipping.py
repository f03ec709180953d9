"""Tax rates and shipping at /admin/settings/taxes and /admin/settings/shipping: a change shows in the next
checkout quote; the API's rules refuse bad input with a message and nothing changed; every change is
audited; the lists cost a fixed number of statements."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from emporium.audit.schemas import AuditFilters
from emporium.audit.service import audit
from emporium.core.context import AppContext
from tests.admin.conftest import StaffClient, StaffClientFactory, csrf_of
from tests.admin.settings.shop import place, quote, shopper_with_cart
from tests.orders.factory import make_shipping, make_tax
from tests.support import count_statements, data


async def post(owner: StaffClient, url: str, form_url: str, **values: Any) -> httpx.Response:
    page = await owner.get(form_url)
    assert page.status_code == 200, page.text
    return await owner.post(url, data={"csrf_token": csrf_of(page.text), **values})


async def actions(ctx: AppContext) -> list[str]:
    async with ctx.db.session() as session:
        found = await audit.page(session, AuditFilters(), None, 100)
    return [row.action for row in found.rows if row.action.startswith(("tax_rate.", "shipping_"))]


async def test_a_tax_rate_added_changed_and_removed_shows_in_the_checkout_quote(
    client: httpx.AsyncClient, ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    ready = await shopper_with_cart(client, ctx)
    assert Decimal((await quote(client, ready))["tax"]) == 0
    owner = await staff_client("super_admin")
    taxes = "/admin/settings/taxes"

    added = await post(owner, taxes, taxes, country="US", region="", name="Sales tax", rate="10")
    assert added.status_code == 303, added.text
    totals = await quote(client, ready)
    assert (Decimal(totals["tax"]), Decimal(totals["total"])) == (Decimal("8.00"), Decimal("93.00"))

    listing = (await owner.get(taxes)).text
    assert "Sales tax" in listing
    assert "United States" in listing
    rate_id = int(listing.split('href="/admin/settings/taxes/')[1].split('"')[0])
    changed = await post(
        owner, f"{taxes}/{rate_id}", f"{taxes}/{rate_id}", country="US", name="Sales tax", rate="7.5%"
    )
    assert changed.status_code == 303, changed.text
    assert Decimal((await quote(client, ready))["tax"]) == Decimal("6.00")

    removed = await post(owner, f"{taxes}/{rate_id}/delete", f"{taxes}/{rate_id}")
    assert removed.status_code == 303
    assert Decimal((await quote(client, ready))["tax"]) == 0
    assert await actions(ctx) == ["tax_rate.deleted", "tax_rate.updated", "tax_rate.created"]
    async with ctx.db.session() as session:
        history = await audit.for_object(session, "tax_rate", rate_id, limit=10)
    [updated] = [entry for entry in history if entry.action == "tax_rate.updated"]
    assert updated.changes == {"rate": ["10", "7.5"]}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"country": "Atlantis", "name": "Tax", "rate": "10"}, "country"),
        ({"country": "US", "name": "Tax", "rate": "150"}, "A percentage is between 0 and 100."),
        ({"country": "US", "name": "Tax", "rate": "ten"}, "rate"),
        (
            {"country": "US", "name": "<script>alert(1)</script>", "rate": "10.123456"},
            "At most four decimal places.",
        ),
        ({"country": "US", "name": "", "rate": "10"}, "name"),
    ],
    ids=["unknown-country", "over-100", "not-a-number", "too-precise", "no-name"],
)
async def test_a_bad_tax_rate_is_refused_with_a_message_and_nothing_changes(
    client: httpx.AsyncClient,
    ctx: AppContext,
    staff_client: StaffClientFactory,
    values: dict[str, str],
    message: str,
) -> None:
    owner = await staff_client("super_admin")
    taxes = "/admin/settings/taxes"
    refused = await post(owner, taxes, taxes, **values)
    assert refused.status_code == 422, refused.text
    assert "Nothing was saved" in refused.text
    assert 'class="field__error"' in refused.text
    assert message in refused.text
    assert "<script>alert(1)" not in refused.text
    assert "No tax rate yet" in refused.text
    assert await actions(ctx) == []


async def test_a_second_rate_for_the_same_country_is_refused_and_the_first_stays(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    owner = await staff_client("super_admin")
    taxes = "/admin/settings/taxes"
    assert (await post(owner, taxes, taxes, country="DE", name="VAT", rate="19")).status_code == 303
    again = await post(owner, taxes, taxes, country="DE", name="VAT again", rate="7")
    assert again.status_code == 409
    assert "This country and region already have a rate." in again.text
    listing = (await owner.get(taxes)).text
    assert "VAT again" not in listing
    assert "19 %" in listing
    assert await actions(ctx) == ["tax_rate.created"]


async def test_shipping_zones_and_methods_edited_show_in_the_checkout_quote(
    client: httpx.AsyncClient, ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    ready = await shopper_with_cart(client, ctx)
    owner = await staff_client("super_admin")
    shipping = "/admin/settings/shipping"
    made = await post(owner, f"{shipping}/zones", shipping, name="North America", countries="us, CA")
    assert made.status_code == 303, made.text
    zone_url = made.headers["location"]
    zone_id = int(zone_url.rsplit("/", 1)[1])
    method = await post(
        owner,
        f"{zone_url}/methods",
        zone_url,
        name="Express",
        kind="flat_rate",
        price="12.50",
        position="1",
        is_active="on",
    )
    assert method.status_code == 303, method.text
    options = data(await client.get("/api/v1/shipping/methods", params={"country": "US"}))
    express = next(m for m in options if m["name"] == "Express")
    assert (express["zone_id"], express["price"]) == (zone_id, "12.50")
    ready.method_id = express["id"]
    assert Decimal((await quote(client, ready))["shipping"]) == Decimal("12.50")

    method_url = f"{shipping}/methods/{express['id']}"
    free = await post(
        owner,
        method_url,
        method_url,
        name="Express",
        kind="free_above",
        price="12.50",
        free_above="50",
        position="1",
        is_active="on",
    )
    assert free.status_code == 303, free.text
    assert Decimal((await quote(client, ready))["shipping"]) == 0

    # A free-above method without its threshold is refused, as the API refuses it; nothing changes.
    refused = await post(
        owner, method_url, method_url, name="Express", kind="free_above", price="3", position="1"
    )
    assert refused.status_code == 422
    assert "A free-above method needs free_above." in refused.text

    # Switched off, checkout no longer offers it and an order cannot use it.
    off = await post(owner, f"{method_url}/active", method_url, active="false")
    assert off.status_code == 303
    options = data(await client.get("/api/v1/shipping/methods", params={"country": "US"}))
    assert "Express" not in [m["name"] for m in options]
    assert (await place(client, ready, "cash_on_delivery")).status_code in (404, 409, 422)

    assert await actions(ctx) == [
        "shipping_method.updated",
        "shipping_method.updated",
        "shipping_method.created",
        "shipping_zone.created",
    ]


async def test_a_zone_name_taken_or_a_bad_country_is_refused_with_a_message(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    owner = await staff_client("super_admin")
    shipping = "/admin/settings/shipping"
    assert (
        await post(owner, f"{shipping}/zones", shipping, name="Europe", countries="DE, FR")
    ).status_code == 303
    taken = await post(owner, f"{shipping}/zones", shipping, name="Europe", countries="NL")
    assert taken.status_code == 409
    assert "A shipping zone with this name already exists." in taken.text
    bad = await post(owner, f"{shipping}/zones", shipping, name="Moon", countries="M00")
    assert bad.status_code == 422
    assert "is not a two-letter ISO country code" in bad.text
    assert (await owner.get(f"{shipping}/zones/999999")).status_code == 404
    assert (await owner.get("/admin/settings/taxes/999999")).status_code == 404
    assert await actions(ctx) == ["shipping_zone.created"]


async def test_the_lists_cost_the_same_statements_however_many_rows(
    ctx: AppContext, staff_client: StaffClientFactory, engine: AsyncEngine
) -> None:
    owner = await staff_client("super_admin")
    counts: dict[str, set[int]] = {"/admin/settings/taxes": set(), "/admin/settings/shipping": set()}
    for rows in (1, 6):
        async with ctx.db.session() as session:
            for n in range(rows):
                await make_tax(session, "US", "5", region=f"R{rows}{n}")
                await make_shipping(session, countries=("FR",), price="4.00")
        for url, seen in counts.items():
            assert (await owner.get(url)).status_code == 200
            with count_statements(engine) as sent:
                assert (await owner.get(url)).status_code == 200
            seen.add(len(sent))
    # The staff session, then the rows: tax rates (1); zones and methods (2).
    assert counts == {"/admin/settings/taxes": {2}, "/admin/settings/shipping": {3}}
    # The content pages: the staff session and the saved pages.
    with count_statements(engine) as sent:
        assert (await owner.get("/admin/pages")).status_code == 200
    assert len(sent) == 2
