"""/admin/coupons: each kind created and edited from the form then applied at checkout through the cart and
order API as configured; the usage and revenue figures of a coupon; hostile input refused with a message and
nothing changed; audit entries; support staff get 403; statements per list page."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from emporium.audit.models import AuditEntry
from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.payments.models import PaymentTransaction
from emporium.pricing.models import Coupon
from tests.admin.conftest import StaffClient, StaffClientFactory
from tests.inventory.factory import make_category, make_product
from tests.orders.factory import make_cart, make_shipping, order_body, usd
from tests.support import count_statements

FORM: dict[str, str] = {
    "code": "",
    "description": "",
    "kind": "percentage",
    "percent_off": "",
    "amount_off": "",
    "min_subtotal": "",
    "starts_at": "",
    "ends_at": "",
    "usage_limit": "",
    "per_customer_limit": "",
    "product_ids": "",
    "is_active": "1",
}


async def submit(client: StaffClient, url: str, form: dict[str, Any]) -> httpx.Response:
    page = await client.get(url)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    return await client.post(url, data={**FORM, **form, "csrf_token": token.group(1)})


async def coupon_named(ctx: AppContext, code: str) -> Coupon | None:
    async with ctx.db.session() as session:
        return (await session.execute(select(Coupon).where(Coupon.code == code))).scalar_one_or_none()


async def coupon_count(ctx: AppContext) -> int:
    async with ctx.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Coupon)) or 0)


async def audit_of(ctx: AppContext, coupon_id: int) -> list[tuple[str, str | None]]:
    async with ctx.db.session() as session:
        rows = await session.execute(
            select(AuditEntry.action, AuditEntry.changes)
            .where(AuditEntry.object_type == "coupon", AuditEntry.object_id == str(coupon_id))
            .order_by(AuditEntry.id)
        )
        return [(a, c) for a, c in rows.all()]


async def checkout(client: httpx.AsyncClient, token: str, code: str, method_id: int) -> tuple[int, Any]:
    """Apply ``code`` to the cart through the cart API, then place the order; (status, body)."""
    headers = {"X-Cart-Token": token}
    applied = await client.post("/api/v1/cart/coupon", json={"code": code}, headers=headers)
    if applied.status_code != 200:
        return applied.status_code, applied.json()
    placed = await client.post("/api/v1/orders", json=order_body(method_id), headers=headers)
    return placed.status_code, placed.json()


async def test_a_percentage_coupon_limited_to_a_category_applies_at_checkout(
    ctx: AppContext, client: httpx.AsyncClient, staff_client: StaffClientFactory
) -> None:
    async with ctx.db.session() as session:
        shirts = await make_category(session, "Shirts")
        polos = await make_category(session, "Polos", parent=shirts)
        polo = await make_product(session, "Polo", category=polos, prices=("40.00",))
        mug = await make_product(session, "Mug", prices=("10.00",))
        method = await make_shipping(session, price="5.00")
        token = await make_cart(session, [(polo.variants[0], 1), (mug.variants[0], 1)])
    admin = await staff_client("admin")
    created = await submit(
        admin,
        "/admin/coupons/new",
        {"code": "polo-25", "percent_off": "25", "category_ids": [str(shirts.id)], "description": "Polos"},
    )
    assert created.status_code == 303
    coupon = await coupon_named(ctx, "POLO-25")
    assert coupon is not None
    assert (coupon.percent_off_ppm, coupon.category_ids, coupon.is_active) == (250_000, [shirts.id], True)
    [(action, changes)] = await audit_of(ctx, coupon.id)
    assert action == "coupon.created"
    assert '"code": [null, "POLO-25"]' in str(changes)

    status, order = await checkout(client, token, "polo-25", method.id)
    assert status == 201, order
    # 25 % of the polo only (a subcategory of Shirts), not of the mug.
    assert order["data"]["totals"]["discount"] == "10.00"
    listed = await admin.get("/admin/coupons")
    assert "POLO-25" in listed.text
    assert "25 % off" in listed.text
    assert "1 / ∞" in listed.text


async def test_a_fixed_amount_coupon_with_a_minimum_and_a_product(
    ctx: AppContext, client: httpx.AsyncClient, staff_client: StaffClientFactory
) -> None:
    async with ctx.db.session() as session:
        tee = await make_product(session, "Tee", prices=("30.00",))
        other = await make_product(session, "Other", prices=("30.00",))
        method = await make_shipping(session, price="5.00")
        small = await make_cart(session, [(tee.variants[0], 1)])
        big = await make_cart(session, [(tee.variants[0], 2), (other.variants[0], 1)])
    admin = await staff_client("admin")
    form = {
        "code": "TEE5",
        "kind": "fixed_amount",
        "amount_off": "5.00",
        "percent_off": "99",  # belongs to another kind: not read
        "min_subtotal": "50",
        "product_ids": f"{tee.product.id}",
        "usage_limit": "10",
        "per_customer_limit": "2",
    }
    assert (await submit(admin, "/admin/coupons/new", form)).status_code == 303
    coupon = await coupon_named(ctx, "TEE5")
    assert coupon is not None
    assert (coupon.amount_off_minor, coupon.percent_off_ppm, coupon.min_subtotal_minor) == (500, None, 5000)
    assert (coupon.usage_limit, coupon.per_customer_limit, coupon.product_ids) == (10, 2, [tee.product.id])

    status, refused = await checkout(client, small, "TEE5", method.id)
    assert status == 422
    assert "at least 50.00" in refused["error"]["message"]
    status, order = await checkout(client, big, "TEE5", method.id)
    assert status == 201, order
    assert order["data"]["totals"]["discount"] == "5.00"


async def test_a_free_shipping_coupon_and_its_dates(
    ctx: AppContext, client: httpx.AsyncClient, staff_client: StaffClientFactory
) -> None:
    async with ctx.db.session() as session:
        tee = await make_product(session, "Shipped tee", prices=("20.00",))
        method = await make_shipping(session, price="7.00")
        early = await make_cart(session, [(tee.variants[0], 1)])
        later = await make_cart(session, [(tee.variants[0], 1)])
    admin = await staff_client("admin")
    tomorrow = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    form = {"code": "SHIPFREE", "kind": "free_shipping", "starts_at": tomorrow}
    assert (await submit(admin, "/admin/coupons/new", form)).status_code == 303
    status, refused = await checkout(client, early, "SHIPFREE", method.id)
    assert status == 422
    assert "not valid yet" in refused["error"]["message"]

    coupon = await coupon_named(ctx, "SHIPFREE")
    assert coupon is not None
    yesterday = (utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    edited = await submit(admin, f"/admin/coupons/{coupon.id}/edit", {**form, "starts_at": yesterday})
    assert edited.status_code == 303
    status, order = await checkout(client, later, "SHIPFREE", method.id)
    assert status == 201, order
    assert order["data"]["totals"]["shipping"] == "0.00"
    actions = [a for a, _ in await audit_of(ctx, coupon.id)]
    assert actions == ["coupon.created", "coupon.updated"]


async def test_editing_a_coupon_changes_its_kind_and_is_audited(
    ctx: AppContext, client: httpx.AsyncClient, staff_client: StaffClientFactory
) -> None:
    async with ctx.db.session() as session:
        tee = await make_product(session, "Edit tee", prices=("50.00",))
        method = await make_shipping(session, price="5.00")
        token = await make_cart(session, [(tee.variants[0], 1)])
    admin = await staff_client("admin")
    assert (
        await submit(admin, "/admin/coupons/new", {"code": "flex", "percent_off": "10"})
    ).status_code == 303
    coupon = await coupon_named(ctx, "FLEX")
    assert coupon is not None
    form_page = await admin.get(f"/admin/coupons/{coupon.id}/edit")
    assert 'value="FLEX"' in form_page.text
    assert 'value="10"' in form_page.text
    edited = await submit(
        admin,
        f"/admin/coupons/{coupon.id}/edit",
        {"code": "FLEX", "kind": "fixed_amount", "amount_off": "12.50"},
    )
    assert edited.status_code == 303
    [_, (action, changes)] = await audit_of(ctx, coupon.id)
    assert action == "coupon.updated"
    assert '"kind": ["percentage", "fixed_amount"]' in str(changes)
    assert '"amount_off": [null, "12.50"]' in str(changes)
    status, order = await checkout(client, token, "flex", method.id)
    assert status == 201, order
    assert order["data"]["totals"]["discount"] == "12.50"


async def test_deactivating_stops_the_coupon_and_is_audited(
    ctx: AppContext, client: httpx.AsyncClient, staff_client: StaffClientFactory
) -> None:
    async with ctx.db.session() as session:
        tee = await make_product(session, "Off tee", prices=("50.00",))
        method = await make_shipping(session, price="5.00")
        token = await make_cart(session, [(tee.variants[0], 1)])
    admin = await staff_client("admin")
    assert (
        await submit(admin, "/admin/coupons/new", {"code": "GONE", "percent_off": "10"})
    ).status_code == 303
    coupon = await coupon_named(ctx, "GONE")
    assert coupon is not None
    page = await admin.get(f"/admin/coupons/{coupon.id}")
    response = await admin.post(
        f"/admin/coupons/{coupon.id}/deactivate",
        data={"csrf_token": re.findall(r'name="csrf_token" value="([^"]+)"', page.text)[0]},
    )
    assert response.status_code == 303
    status, refused = await checkout(client, token, "GONE", method.id)
    assert status == 422
    assert "not valid" in refused["error"]["message"]
    assert [a for a, _ in await audit_of(ctx, coupon.id)] == ["coupon.created", "coupon.deactivated"]
    assert "state=inactive" not in (await admin.get("/admin/coupons", params={"state": "active"})).text
    assert "GONE" not in (await admin.get("/admin/coupons", params={"state": "active"})).text
    assert "GONE" in (await admin.get("/admin/coupons", params={"state": "inactive"})).text


async def test_usage_and_revenue_net_of_refunds(
    ctx: AppContext, client: httpx.AsyncClient, staff_client: StaffClientFactory
) -> None:
    async with ctx.db.session() as session:
        tee = await make_product(session, "Money tee", prices=("40.00",))
        method = await make_shipping(session, price="5.00")
        carts = [await make_cart(session, [(tee.variants[0], 1)]) for _ in range(3)]
    admin = await staff_client("admin")
    assert (
        await submit(admin, "/admin/coupons/new", {"code": "HALF", "percent_off": "50"})
    ).status_code == 303
    coupon = await coupon_named(ctx, "HALF")
    assert coupon is not None
    orders = []
    for token in carts[:2]:
        status, order = await checkout(client, token, "HALF", method.id)
        assert status == 201, order
        orders.append(order["data"])
    # The third order uses no coupon and must not count.
    placed = await client.post(
        "/api/v1/orders", json=order_body(method.id), headers={"X-Cart-Token": carts[2]}
    )
    assert placed.status_code == 201
    # Each: 40.00 - 20.00 + 5.00 shipping = 25.00. A refund of 7.00 on the first.
    assert [o["totals"]["total"] for o in orders] == ["25.00", "25.00"]
    async with ctx.db.session() as session:
        session.add(
            PaymentTransaction(
                order_id=orders[0]["id"],
                kind="refund",
                status="succeeded",
                amount_minor=usd("7.00"),
                currency="USD",
                gateway="test",
            )
        )
        session.add(
            PaymentTransaction(
                order_id=orders[1]["id"],
                kind="refund",
                status="failed",
                amount_minor=usd("9.00"),
                currency="USD",
                gateway="test",
            )
        )
    page = await admin.get(f"/admin/coupons/{coupon.id}")
    text = unescape(page.text)
    revenue = text[text.index("Revenue") : text.index("Orders that used it")]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", revenue)
    assert cells == ["2", "$50.00", "$40.00", "$7.00", "$43.00"]
    usage = text[text.index("Orders that used it") :]
    for order in orders:
        assert f'<a href="/admin/orders/{order["id"]}">{order["number"]}</a>' in usage
    assert "$7.00" in usage
    assert "Uses</dt><dd>2 of no limit" in text


@pytest.mark.parametrize(
    ("form", "field_message"),
    [
        ({"code": "<script>alert(1)</script>", "percent_off": "10"}, "Use 3 to 64 letters"),
        ({"code": "AB", "percent_off": "10"}, "Use 3 to 64 letters"),
        ({"code": "OK1", "percent_off": "-5"}, "above 0 and at most 100"),
        ({"code": "OK1", "percent_off": "100.5"}, "above 0 and at most 100"),
        ({"code": "OK1", "percent_off": "0"}, "above 0 and at most 100"),
        ({"code": "OK1", "percent_off": "NaN"}, "as a number"),
        ({"code": "OK1", "percent_off": "1e999999"}, "above 0 and at most 100"),
        ({"code": "OK1", "percent_off": "12.34567"}, "At most four decimal places"),
        ({"code": "OK1", "percent_off": ""}, "as a number"),
        ({"code": "OK1", "kind": "fixed_amount", "amount_off": "-3"}, "above 0"),
        ({"code": "OK1", "kind": "fixed_amount", "amount_off": "5.001"}, "at most 2 decimal places"),
        ({"code": "OK1", "kind": "fixed_amount", "amount_off": "9" * 30}, "At most"),
        ({"code": "OK1", "kind": "bogus"}, "Choose what the coupon gives"),
        ({"code": "OK1", "kind": "free_shipping", "min_subtotal": "-1"}, "cannot be negative"),
        ({"code": "OK1", "kind": "free_shipping", "usage_limit": "0"}, "from 1 to 10,000,000"),
        ({"code": "OK1", "kind": "free_shipping", "usage_limit": "99999999999"}, "from 1 to 10,000,000"),
        ({"code": "OK1", "kind": "free_shipping", "per_customer_limit": "-2"}, "from 1 to 10,000,000"),
        ({"code": "OK1", "kind": "free_shipping", "starts_at": "2026-13-45T10:00"}, "Give a date and time"),
        (
            {
                "code": "OK1",
                "kind": "free_shipping",
                "starts_at": "2026-12-10T10:00",
                "ends_at": "2026-12-01T10:00",
            },
            "The end must come after the start.",
        ),
        ({"code": "OK1", "kind": "free_shipping", "product_ids": "999999"}, "No product has the id 999999."),
        ({"code": "OK1", "kind": "free_shipping", "product_ids": "12, abc"}, "is not a product id"),
        ({"code": "OK1", "kind": "free_shipping", "product_ids": "-4"}, "is not a product id"),
        (
            {"code": "OK1", "kind": "free_shipping", "category_ids": ["424242"]},
            "No category has the id 424242.",
        ),
        ({"code": "OK1", "kind": "free_shipping", "category_ids": ["x"]}, "is not a category id"),
        ({"code": "OK1", "kind": "free_shipping", "description": "a\x00b"}, "Use plain text"),
        ({"code": "OK1", "kind": "free_shipping", "description": "x" * 5000}, "far too long"),
    ],
)
async def test_hostile_input_answers_a_message_and_creates_nothing(
    ctx: AppContext, staff_client: StaffClientFactory, form: dict[str, Any], field_message: str
) -> None:
    admin = await staff_client("admin")
    response = await submit(admin, "/admin/coupons/new", form)
    assert response.status_code == 422
    assert field_message in unescape(response.text)
    assert "<script>alert(1)" not in response.text
    assert await coupon_count(ctx) == 0


async def test_codes_are_unique_whatever_their_case_and_edits_change_nothing_when_refused(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    admin = await staff_client("admin")
    assert (
        await submit(admin, "/admin/coupons/new", {"code": "SUMMER", "percent_off": "10"})
    ).status_code == 303
    assert (
        await submit(admin, "/admin/coupons/new", {"code": "WINTER", "percent_off": "10"})
    ).status_code == 303
    taken = await submit(admin, "/admin/coupons/new", {"code": "summer", "percent_off": "20"})
    assert taken.status_code == 409
    assert "A coupon with this code already exists." in taken.text
    assert await coupon_count(ctx) == 2
    winter = await coupon_named(ctx, "WINTER")
    assert winter is not None
    clash = await submit(admin, f"/admin/coupons/{winter.id}/edit", {"code": "Summer", "percent_off": "30"})
    assert clash.status_code == 409
    bad = await submit(admin, f"/admin/coupons/{winter.id}/edit", {"code": "WINTER", "percent_off": "300"})
    assert bad.status_code == 422
    after = await coupon_named(ctx, "WINTER")
    assert after is not None
    assert after.percent_off_ppm == 100_000
    assert [a for a, _ in await audit_of(ctx, winter.id)] == ["coupon.created"]


async def test_a_description_is_shown_as_text(ctx: AppContext, staff_client: StaffClientFactory) -> None:
    admin = await staff_client("admin")
    form = {"code": "SAFE1", "percent_off": "5", "description": '<img src=x onerror="alert(1)">'}
    assert (await submit(admin, "/admin/coupons/new", form)).status_code == 303
    listed = await admin.get("/admin/coupons", params={"q": "safe"})
    assert "&lt;img src=x" in listed.text
    assert "<img src=x" not in listed.text


async def test_support_staff_get_403(ctx: AppContext, staff_client: StaffClientFactory) -> None:
    async with ctx.db.session() as session:
        session.add(Coupon(code="SECRET", kind="percentage", percent_off_ppm=100_000))
    coupon = await coupon_named(ctx, "SECRET")
    assert coupon is not None
    support = await staff_client("support")
    for url in ("/admin/coupons", "/admin/coupons/new", f"/admin/coupons/{coupon.id}"):
        assert (await support.get(url)).status_code == 403, url
    forged = await support.post(f"/admin/coupons/{coupon.id}/deactivate", data={"csrf_token": support.csrf})
    assert forged.status_code == 403
    after = await coupon_named(ctx, "SECRET")
    assert after is not None
    assert after.is_active
    assert 'href="/admin/coupons"' not in (await support.get("/admin")).text


async def test_unknown_coupons_and_bad_parameters(staff_client: StaffClientFactory) -> None:
    admin = await staff_client("admin")
    assert (await admin.get("/admin/coupons/99999")).status_code == 404
    assert (await admin.get("/admin/coupons/99999/edit")).status_code == 404
    assert (await admin.get("/admin/coupons", params={"kind": "bogus"})).status_code == 422
    assert (await admin.get("/admin/coupons", params={"after": "%%%"})).status_code == 422


async def test_the_list_searches_pages_and_costs_the_same_statements(
    ctx: AppContext, staff_client: StaffClientFactory, engine: AsyncEngine
) -> None:
    admin = await staff_client("admin")
    counts = []
    for batch in (0, 1):
        async with ctx.db.session() as session:
            for n in range(30):
                session.add(
                    Coupon(code=f"B{batch}-{n:02d}", kind="free_shipping", description=f"batch {batch}")
                )
        with count_statements(engine) as sent:
            assert (await admin.get("/admin/coupons")).status_code == 200
        counts.append(len(sent))
    # The staff session and the coupons.
    assert counts == [2, 2]
    first = await admin.get("/admin/coupons")
    codes = re.findall(r"<code>(B\d-\d\d)</code>", first.text)
    assert len(codes) == 50
    assert codes[0] == "B1-29"
    link = re.search(r'href="(/admin/coupons\?after=[^"]+)" rel="next"', first.text)
    assert link
    rest = re.findall(r"<code>(B\d-\d\d)</code>", (await admin.get(unescape(link.group(1)))).text)
    assert len(rest) == 10
    assert not set(rest) & set(codes)
    found = await admin.get("/admin/coupons", params={"q": "B0-1"})
    assert sorted(re.findall(r"<code>(B\d-\d\d)</code>", found.text)) == [f"B0-1{n}" for n in range(10)]
    by_kind = await admin.get("/admin/coupons", params={"kind": "percentage"})
    assert "No coupon matches this filter." in by_kind.text


async def test_the_usage_limit_cannot_go_below_the_uses(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    async with ctx.db.session() as session:
        session.add(Coupon(code="POPULAR", kind="percentage", percent_off_ppm=100_000, used_count=3))
    coupon = await coupon_named(ctx, "POPULAR")
    assert coupon is not None
    admin = await staff_client("admin")
    form = {"code": "POPULAR", "percent_off": "10", "usage_limit": "2"}
    refused = await submit(admin, f"/admin/coupons/{coupon.id}/edit", form)
    assert refused.status_code == 409
    assert "at least 3" in refused.text
    assert "The coupon was already used 3 times. Nothing was saved." in refused.text
    after = await coupon_named(ctx, "POPULAR")
    assert after is not None
    assert after.usage_limit is None
    assert (
        await submit(admin, f"/admin/coupons/{coupon.id}/edit", {**form, "usage_limit": "3"})
    ).status_code == 303
