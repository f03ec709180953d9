"""Staff maintain coupons, tax rates and shipping; shoppers read the methods for their country."""

from __future__ import annotations

import httpx
import pytest

from emporium.core.context import AppContext
from tests.conftest import Shopper
from tests.inventory.factory import make_product, staff_headers
from tests.support import data, error


@pytest.fixture
async def admin(client: httpx.AsyncClient, ctx: AppContext) -> dict[str, str]:
    # Tax and shipping are shop settings (settings:manage, granted to the super admin); coupons need
    # coupons:write, which admins have too.
    return await staff_headers(client, ctx, email="pricing-admin@example.com", role="super_admin")


COUPON = {
    "code": "spring-25",
    "kind": "percentage",
    "percent_off": "25",
    "min_subtotal": "40.00",
    "usage_limit": 100,
}


async def test_coupon_crud(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    created = data(await client.post("/api/v1/admin/coupons", json=COUPON, headers=admin), 201)
    assert (created["code"], created["percent_off"], created["min_subtotal"], created["used_count"]) == (
        "SPRING-25",
        "25",
        "40.00",
        0,
    )
    assert error(await client.post("/api/v1/admin/coupons", json=COUPON, headers=admin), 409)["code"] == (
        "COUPON_CODE_TAKEN"
    )
    url = f"/api/v1/admin/coupons/{created['id']}"
    changed = data(
        await client.put(url, json={**COUPON, "percent_off": "12.5", "is_active": False}, headers=admin)
    )
    assert (changed["percent_off"], changed["is_active"]) == ("12.5", False)
    listed = (await client.get("/api/v1/admin/coupons", headers=admin)).json()
    assert [c["code"] for c in listed["data"]] == ["SPRING-25"]
    assert data(await client.delete(url, headers=admin)) == {"outcome": "deleted"}
    assert error(await client.get(url, headers=admin), 404)


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "percentage", "percent_off": None},
        {"percent_off": "0"},
        {"percent_off": "100.5"},
        {"percent_off": "12.34567"},
        {"percent_off": 12.5},
        {"kind": "fixed_amount"},
        {"kind": "fixed_amount", "percent_off": None, "amount_off": "5.001"},
        {"kind": "fixed_amount", "percent_off": None, "amount_off": "-5"},
        {"min_subtotal": "1e30"},
        {"code": "no spaces allowed"},
        {"code": "x\x00y"},
        {"usage_limit": 0},
        {"usage_limit": "10"},
        {"starts_at": "2026-12-01T00:00:00", "ends_at": "2026-12-02T00:00:00Z"},
        {"starts_at": "2026-12-02T00:00:00Z", "ends_at": "2026-12-01T00:00:00Z"},
        {"product_ids": ["a"]},
        {"kind": "bogus"},
    ],
)
async def test_bad_coupons_are_refused(
    client: httpx.AsyncClient, admin: dict[str, str], change: dict[str, object]
) -> None:
    response = await client.post("/api/v1/admin/coupons", json={**COUPON, **change}, headers=admin)
    assert error(response, 422)["code"] == "VALIDATION_ERROR"


async def test_only_staff_with_the_permission(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    for url in ("/api/v1/admin/coupons", "/api/v1/admin/tax-rates", "/api/v1/admin/shipping-zones"):
        assert error(await client.get(url), 401)
        assert error(await client.get(url, headers=shopper.headers), 403)
    support = await staff_headers(client, ctx, email="support@example.com", role="support")
    assert error(await client.post("/api/v1/admin/coupons", json=COUPON, headers=support), 403)
    admin = await staff_headers(client, ctx, email="plain-admin@example.com", role="admin")
    assert (
        data(await client.post("/api/v1/admin/coupons", json=COUPON, headers=admin), 201)["code"]
        == "SPRING-25"
    )
    assert error(await client.get("/api/v1/admin/tax-rates", headers=admin), 403)


async def test_tax_rates(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    body = {"country": "us", "region": "ny", "name": "New York", "rate": "8.875"}
    created = data(await client.post("/api/v1/admin/tax-rates", json=body, headers=admin), 201)
    assert (created["country"], created["region"], created["rate"]) == ("US", "NY", "8.875")
    assert error(await client.post("/api/v1/admin/tax-rates", json=body, headers=admin), 409)["code"] == (
        "TAX_RATE_EXISTS"
    )
    for bad in ({**body, "rate": "101"}, {**body, "country": "USA"}, {**body, "rate": "-1"}):
        assert error(await client.post("/api/v1/admin/tax-rates", json=bad, headers=admin), 422)
    url = f"/api/v1/admin/tax-rates/{created['id']}"
    assert data(await client.put(url, json={**body, "rate": "9"}, headers=admin))["rate"] == "9"
    data(await client.delete(url, headers=admin))
    assert data(await client.get("/api/v1/admin/tax-rates", headers=admin)) == []


async def test_shipping_zones_and_the_methods_a_country_sees(
    client: httpx.AsyncClient, ctx: AppContext, admin: dict[str, str]
) -> None:
    europe = data(
        await client.post(
            "/api/v1/admin/shipping-zones", json={"name": "Europe", "countries": ["de", "FR"]}, headers=admin
        ),
        201,
    )
    world = data(
        await client.post(
            "/api/v1/admin/shipping-zones", json={"name": "World", "countries": ["*"]}, headers=admin
        ),
        201,
    )
    eu_url = f"/api/v1/admin/shipping-zones/{europe['id']}/methods"
    standard = {"name": "Standard", "kind": "free_above", "price": "4.90", "free_above": "50.00"}
    data(await client.post(eu_url, json=standard, headers=admin), 201)
    data(
        await client.post(
            eu_url,
            json={"name": "Heavy", "kind": "by_weight", "price": "3.00", "per_kg": "1.50"},
            headers=admin,
        ),
        201,
    )
    world_url = f"/api/v1/admin/shipping-zones/{world['id']}/methods"
    data(
        await client.post(
            world_url, json={"name": "International", "kind": "flat_rate", "price": "19.00"}, headers=admin
        ),
        201,
    )
    for bad in (
        {"name": "X", "kind": "free_above", "price": "1.00"},
        {"name": "X", "kind": "by_weight", "price": "1.00"},
        {"name": "X", "kind": "flat_rate", "price": "1.001"},
        {"name": "X", "kind": "teleport"},
    ):
        assert error(await client.post(eu_url, json=bad, headers=admin), 422)
    assert error(
        await client.post(
            "/api/v1/admin/shipping-zones", json={"name": "Bad", "countries": ["Germany"]}, headers=admin
        ),
        422,
    )
    assert error(
        await client.post("/api/v1/admin/shipping-zones/999999/methods", json=standard, headers=admin), 404
    )

    german = data(await client.get("/api/v1/shipping/methods?country=DE"))
    assert [m["name"] for m in german] == ["Standard", "Heavy"]
    assert german[0]["free_above"] == "50.00"
    japanese = data(await client.get("/api/v1/shipping/methods?country=jp"))
    assert [m["name"] for m in japanese] == ["International"]
    assert error(await client.get("/api/v1/shipping/methods?country=Japan"), 422)

    zones = data(await client.get("/api/v1/admin/shipping-zones", headers=admin))
    assert [len(z["methods"]) for z in zones] == [2, 1]

    # Priced for the caller's cart: a 2.5 kg parcel costs 3.00 + 3 x 1.50.
    async with ctx.db.session() as session:
        made = await make_product(session, "Heavy box", prices=("20.00",))
        made.variants[0].weight_grams = 2500
    token = (await client.post("/api/v1/cart/items", json={"variant_id": made.variants[0].id})).headers[
        "X-Cart-Token"
    ]
    options = data(
        await client.get("/api/v1/cart/shipping-options?country=DE", headers={"X-Cart-Token": token})
    )
    assert {o["name"]: o["price"] for o in options} == {"Standard": "4.90", "Heavy": "7.50"}

    data(await client.delete(f"/api/v1/admin/shipping-zones/{world['id']}", headers=admin))
    assert data(await client.get("/api/v1/shipping/methods?country=JP")) == []


async def test_a_used_coupon_is_deactivated_not_deleted(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper, admin: dict[str, str]
) -> None:
    from tests.orders.conftest import place_for

    placed = await place_for(client, ctx, shopper, coupon="USEDONE")
    assert placed.order["coupon_code"] == "USEDONE"
    coupons = (await client.get("/api/v1/admin/coupons", headers=admin)).json()["data"]
    used = next(c for c in coupons if c["code"] == "USEDONE")
    assert used["used_count"] == 1
    url = f"/api/v1/admin/coupons/{used['id']}"
    assert data(await client.delete(url, headers=admin)) == {"outcome": "deactivated"}
    assert data(await client.get(url, headers=admin))["is_active"] is False
    lowered = {"code": "USEDONE", "kind": "percentage", "percent_off": "10", "usage_limit": 0}
    assert error(await client.put(url, json=lowered, headers=admin), 422)
    assert data(await client.put(url, json={**lowered, "usage_limit": 1}, headers=admin))["usage_limit"] == 1
