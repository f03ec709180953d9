"""Back in stock: alerts on the edge from sold out to available (never on a level), a few per unit, each
once; a guest's alert only once confirmed; the API and the product page's "Notify me"."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select

from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.journeys.alerts import stock_alerts
from emporium.journeys.edges import BACK_IN_STOCK_JOB
from emporium.journeys.models import StockAlert
from emporium.journeys.tasks import back_in_stock_job
from tests.conftest import Shopper
from tests.inventory.factory import Made, make_pool, make_product, staff_headers
from tests.journeys.helpers import jobs, planned
from tests.orders.factory import make_cart, make_shipping
from tests.support import data, error
from tests.web.conftest import csrf_token, visitor_token

API = "/api/v1"


async def _sold_out(ctx: AppContext, name: str = "Blue mug") -> Made:
    async with ctx.db.session() as session:
        return await make_product(session, name, prices=("9.00",), on_hand=0)


async def _guest_alert(ctx: AppContext, variant_id: int, email: str, *, confirm: bool) -> None:
    async with ctx.db.session() as session:
        await stock_alerts.subscribe(
            session, ctx.settings, variant_id, user_id=None, email=email, now=utcnow()
        )
    if confirm:
        [asked] = [
            p for p in await planned(ctx, "stock.alert_confirm") if p["recipients"][0]["email"] == email
        ]
        token = urlsplit(asked["context"]["confirm_url"]).path.rsplit("/", 1)[1]
        async with ctx.db.session() as session:
            await stock_alerts.confirm(session, ctx.settings, token, utcnow())


async def _adjust(client: httpx.AsyncClient, staff: dict[str, str], pool_id: int, delta: int) -> None:
    body = {"delta": delta, "reason": "count"}
    data(await client.post(f"{API}/inventory/pools/{pool_id}/adjustments", json=body, headers=staff), 201)


async def _send_waiting(ctx: AppContext) -> list[dict[str, Any]]:
    """Run the back-in-stock jobs queued so far (as the worker would); their payloads."""
    queued = await jobs(ctx, BACK_IN_STOCK_JOB)
    for payload in queued:
        await back_in_stock_job(ctx, payload)
    return queued


async def test_an_edge_sends_a_few_alerts_per_unit_and_a_level_sends_none(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    mug = await _sold_out(ctx)
    variant = mug.variants[0]
    await _guest_alert(ctx, variant.id, "unsure@example.com", confirm=False)  # the oldest, never confirmed
    for i in range(20):
        await _guest_alert(ctx, variant.id, f"fan{i}@example.com", confirm=True)
    url = f"{API}/products/{mug.product.slug}/variants/{variant.id}/stock-alerts"
    mine = data(await client.post(url, headers=shopper.headers), 201)
    assert mine["active"] is True
    staff = await staff_headers(client, ctx)

    await _adjust(client, staff, mug.pools[0].id, 5)  # 0 -> 5: the edge
    assert [(j["variant_id"], j["units"]) for j in await _send_waiting(ctx)] == [(variant.id, 5)]
    sent = await planned(ctx, "stock.back_in_stock")
    assert len(sent) == 15  # back_in_stock_per_unit (3) x 5 units
    told = [p["recipients"][0]["email"] for p in sent]
    assert told == [f"fan{i}@example.com" for i in range(15)]  # oldest first; the unconfirmed one never
    assert len({p["key"] for p in sent}) == 15
    context = sent[0]["context"]
    assert context["product_url"].endswith(f"/p/{mug.product.slug}")
    assert context["email_headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    async with ctx.db.session() as session:
        alerts = list((await session.execute(select(StockAlert).order_by(StockAlert.id))).scalars())
    assert sum(a.notified_at is not None for a in alerts) == 15
    assert next(a for a in alerts if a.email == "unsure@example.com").notified_at is None

    await _adjust(client, staff, mug.pools[0].id, 3)  # 5 -> 8: a level, not an edge
    assert len(await jobs(ctx, BACK_IN_STOCK_JOB)) == 1
    await _send_waiting(ctx)  # the old job again: still 15, each alert once
    assert len(await planned(ctx, "stock.back_in_stock")) == 15

    await _adjust(client, staff, mug.pools[0].id, -8)  # sold out again
    await _adjust(client, staff, mug.pools[0].id, 1)  # 0 -> 1: the next edge, three more
    assert len(await jobs(ctx, BACK_IN_STOCK_JOB)) == 2
    await _send_waiting(ctx)
    later = [p["recipients"][0] for p in await planned(ctx, "stock.back_in_stock")][15:]
    assert [r["email"] for r in later] == ["fan15@example.com", "fan16@example.com", "fan17@example.com"]


async def test_nothing_moves_from_zero_to_zero(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    mug = await _sold_out(ctx, "Grey mug")
    url = f"{API}/products/{mug.product.slug}/variants/{mug.variants[0].id}/stock-alerts"
    data(await client.post(url, headers=shopper.headers), 201)
    staff = await staff_headers(client, ctx)
    body = {"pools": [{"pool_id": mug.pools[0].id, "on_hand": 0, "reason": "count"}]}
    data(await client.put(f"{API}/inventory/product/{mug.product.id}", json=body, headers=staff))
    assert await jobs(ctx, BACK_IN_STOCK_JOB) == []
    assert await planned(ctx, "stock.back_in_stock") == []


async def test_a_gram_pool_brings_back_only_the_boxes_it_can_fill(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    async with ctx.db.session() as session:
        grams = await make_pool(session, "Barfi", unit="g", on_hand=100)
        sweet = await make_product(session, "Barfi", prices=("4.00", "7.00"), pool=grams, draws=(250, 1000))
    small, large = sweet.variants
    for variant in (small, large):
        url = f"{API}/products/{sweet.product.slug}/variants/{variant.id}/stock-alerts"
        data(await client.post(url, headers=shopper.headers), 201)
    staff = await staff_headers(client, ctx)
    await _adjust(client, staff, grams.id, 400)  # 100 g -> 500 g: the 250 g box is back, the 1 kg is not
    assert [(j["variant_id"], j["units"]) for j in await _send_waiting(ctx)] == [(small.id, 2)]
    assert len(await planned(ctx, "stock.back_in_stock")) == 1


async def test_the_api_refuses_bad_input_with_the_standard_error(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    mug = await _sold_out(ctx, "Red mug")
    async with ctx.db.session() as session:
        stocked = await make_product(session, "Full mug", prices=("9.00",), on_hand=4)
    variant = mug.variants[0]
    url = f"{API}/products/{mug.product.slug}/variants/{variant.id}/stock-alerts"
    first = data(await client.post(url, headers=shopper.headers), 201)
    again = data(await client.post(url, headers=shopper.headers), 201)
    assert again["id"] == first["id"]  # asking twice changes nothing
    assert error(await client.post(url), 401)["code"] in {"UNAUTHORIZED", "NOT_AUTHENTICATED"}
    in_stock = f"{API}/products/{stocked.product.slug}/variants/{stocked.variants[0].id}/stock-alerts"
    assert error(await client.post(in_stock, headers=shopper.headers), 409)["code"] == "VARIANT_IN_STOCK"
    wrong_product = f"{API}/products/{stocked.product.slug}/variants/{variant.id}/stock-alerts"
    assert (
        error(await client.post(wrong_product, headers=shopper.headers), 404)["code"] == "VARIANT_NOT_FOUND"
    )
    unknown = f"{API}/products/{mug.product.slug}/variants/999999/stock-alerts"
    assert error(await client.post(unknown, headers=shopper.headers), 404)["code"] == "VARIANT_NOT_FOUND"
    for bad in ("abc", "0", "-1", str(2**63)):
        response = await client.post(
            f"{API}/products/{mug.product.slug}/variants/{bad}/stock-alerts", headers=shopper.headers
        )
        assert error(response, 422)["code"] == "VALIDATION_ERROR"
    long_slug = f"{API}/products/{'s' * 300}/variants/{variant.id}/stock-alerts"
    assert error(await client.post(long_slug, headers=shopper.headers), 422)["code"] == "VALIDATION_ERROR"


async def _page_token(client: httpx.AsyncClient, slug: str) -> tuple[str, str]:
    page = await client.get(f"/p/{slug}")
    assert page.status_code == 200, page.text
    # A shared page carries no token: the visitor fragment gives it, as shop.js fetches it.
    return page.text, await visitor_token(client)


async def test_notify_me_on_the_product_page_for_a_guest(client: httpx.AsyncClient, ctx: AppContext) -> None:
    mug = await _sold_out(ctx, "Green mug")
    html, token = await _page_token(client, mug.product.slug)
    assert 'formaction="/stock-alerts"' in html
    assert 'name="email"' in html
    variant_id = str(mug.variants[0].id)

    saved = await client.post(
        "/stock-alerts", data={"csrf_token": token, "variant_id": variant_id, "email": "gu@example.com"}
    )
    assert saved.status_code == 200
    assert "Check your e-mail" in saved.text
    [asked] = await planned(ctx, "stock.alert_confirm")
    assert asked["recipients"][0]["email"] == "gu@example.com"
    async with ctx.db.session() as session:
        alert = (await session.execute(select(StockAlert))).scalar_one()
        assert alert.confirmed_at is None  # nothing is sent before the guest confirms

    confirm = urlsplit(asked["context"]["confirm_url"]).path
    assert "gu@" not in confirm
    confirmed = await client.get(confirm)
    assert confirmed.status_code == 200
    assert "Alert confirmed" in confirmed.text
    async with ctx.db.session() as session:
        alert = (
            await session.execute(select(StockAlert).execution_options(populate_existing=True))
        ).scalar_one()
        assert alert.confirmed_at is not None

    tampered = confirm[:-3] + ("AAA" if not confirm.endswith("AAA") else "BBB")
    refused = await client.get(tampered)
    assert refused.status_code == 400
    assert "text/html" in refused.headers["content-type"]


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"variant_id": "abc", "email": "a@example.com"}, 422),
        ({"variant_id": "", "email": "a@example.com"}, 422),
        ({"variant_id": "99999999999999999999", "email": "a@example.com"}, 422),
        ({"variant_id": "VARIANT", "email": "not-an-email"}, 422),
        ({"variant_id": "VARIANT", "email": "x" * 400}, 422),
        ({"variant_id": "VARIANT", "email": "a\x00b@example.com"}, 422),
        ({"variant_id": "424242", "email": "a@example.com"}, 404),
        ({"variant_id": "STOCKED", "email": "a@example.com"}, 409),
    ],
)
async def test_notify_me_refuses_bad_input_with_a_page(
    client: httpx.AsyncClient, ctx: AppContext, fields: dict[str, str], status: int
) -> None:
    mug = await _sold_out(ctx, "Odd mug")
    async with ctx.db.session() as session:
        stocked = await make_product(session, "Stocked mug", prices=("9.00",), on_hand=3)
    _, token = await _page_token(client, mug.product.slug)
    swap = {"VARIANT": str(mug.variants[0].id), "STOCKED": str(stocked.variants[0].id)}
    body = {k: swap.get(v, v) for k, v in fields.items()}
    response = await client.post("/stock-alerts", data={"csrf_token": token, **body})
    assert response.status_code == status, response.text
    assert "text/html" in response.headers["content-type"]
    assert (await client.post("/stock-alerts", data=body)).status_code == 403  # no CSRF token


async def test_notify_me_is_one_click_when_signed_in(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    mug = await _sold_out(ctx, "Teal mug")
    client.headers.pop("Authorization", None)
    page = await client.get("/account/sign-in")
    body = {"csrf_token": csrf_token(page.text), "email": shopper.email, "password": shopper.password}
    assert (await client.post("/account/sign-in", data=body)).status_code == 303
    html, token = await _page_token(client, mug.product.slug)
    assert 'formaction="/stock-alerts"' in html
    assert 'name="email"' not in html
    saved = await client.post(
        "/stock-alerts", data={"csrf_token": token, "variant_id": str(mug.variants[0].id)}
    )
    assert saved.status_code == 200
    assert "We will tell you" in saved.text
    assert await planned(ctx, "stock.alert_confirm") == []
    async with ctx.db.session() as session:
        alert = (await session.execute(select(StockAlert))).scalar_one()
    assert alert.user_id is not None
    assert alert.confirmed_at is not None


async def test_a_cancelled_order_giving_back_the_last_units_is_an_edge(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    me = data(await client.get(f"{API}/users/profile", headers=shopper.headers))
    async with ctx.db.session() as session:
        mug = await make_product(session, "Last mug", prices=("9.00",), on_hand=2)
        method = await make_shipping(session, price="5.00")
        await make_cart(session, [(mug.variants[0], 2)], user_id=me["id"])
    address = {"full_name": "Ada", "line1": "1 Square", "city": "Washington", "region": "DC"}
    address |= {"postal_code": "20001", "country": "US"}
    body = {
        "shipping_address": address,
        "shipping_method_id": method.id,
        "payment_method": "cash_on_delivery",
    }
    order = data(await client.post(f"{API}/orders", json=body, headers=shopper.headers), 201)
    await _guest_alert(ctx, mug.variants[0].id, "late@example.com", confirm=True)  # sold out: both reserved

    data(await client.put(f"{API}/orders/{order['id']}/cancel", headers=shopper.headers))
    assert [(j["variant_id"], j["units"]) for j in await _send_waiting(ctx)] == [(mug.variants[0].id, 2)]
    assert [p["recipients"][0]["email"] for p in await planned(ctx, "stock.back_in_stock")] == [
        "late@example.com"
    ]
