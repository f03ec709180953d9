"""The order state machine: who may move an order where, and what each move does to stock and coupons."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from emporium.catalog.models import Product
from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.inventory.models import StockAdjustment, StockPool
from emporium.orders.lifecycle import lifecycle
from emporium.orders.models import Order
from emporium.orders.tasks import expire_unpaid
from emporium.pricing.models import Coupon
from tests.conftest import Shopper, sign_up
from tests.inventory.factory import staff_headers
from tests.orders.conftest import place_for
from tests.support import SmtpServer, data, error


async def _pool(ctx: AppContext, pool_id: int) -> tuple[int, int]:
    async with ctx.db.session() as session:
        pool = await session.get(StockPool, pool_id, populate_existing=True)
        assert pool is not None
        return pool.on_hand, pool.reserved


async def test_a_customer_cancels_and_the_stock_and_coupon_come_back(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    placed = await place_for(client, ctx, shopper, coupon="BACKAGAIN")
    assert await _pool(ctx, placed.pool_id) == (10, 2)
    url = f"/api/v1/orders/{placed.order['id']}/cancel"
    cancelled = data(await client.put(url, json={"reason": "changed my mind"}, headers=shopper.headers))
    assert cancelled["status"] == "cancelled"
    assert cancelled["stock_state"] == "released"
    assert cancelled["timeline"][-1]["note"] == "changed my mind"
    assert await _pool(ctx, placed.pool_id) == (10, 0)
    async with ctx.db.session() as session:
        coupon = (await session.execute(select(Coupon).where(Coupon.code == "BACKAGAIN"))).scalar_one()
        assert coupon.used_count == 0
    assert error(await client.put(url, headers=shopper.headers), 409)["code"] == "ILLEGAL_TRANSITION"


async def test_another_customers_order_is_not_found(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    placed = await place_for(client, ctx, shopper)
    other = await sign_up(client, "nosy@example.com")
    order_id = placed.order["id"]
    assert error(await client.get(f"/api/v1/orders/{order_id}", headers=other.headers), 404)["code"] == (
        "ORDER_NOT_FOUND"
    )
    assert error(await client.put(f"/api/v1/orders/{order_id}/cancel", headers=other.headers), 404)
    assert error(await client.get(f"/api/v1/orders/{order_id}/invoice.pdf", headers=other.headers), 404)
    assert error(await client.get(f"/api/v1/orders/{order_id}"), 401)
    assert error(await client.get("/api/v1/admin/orders", headers=other.headers), 403)
    assert await _pool(ctx, placed.pool_id) == (10, 2)


async def test_cash_on_delivery_from_confirmation_to_delivery(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper, staff: dict[str, str], smtp: SmtpServer
) -> None:
    placed = await place_for(client, ctx, shopper, payment_method="cash_on_delivery")
    url = f"/api/v1/admin/orders/{placed.order['id']}"

    confirmed = data(await client.put(url, json={"status": "confirmed", "note": "called"}, headers=staff))
    assert (confirmed["status"], confirmed["stock_state"]) == ("confirmed", "deducted")
    assert await _pool(ctx, placed.pool_id) == (8, 0)  # the reservation became a deduction
    async with ctx.db.session() as session:
        reasons = (
            await session.execute(
                select(StockAdjustment.reason).where(StockAdjustment.pool_id == placed.pool_id)
            )
        ).scalars()
        assert list(reasons) == [f"sold: order {placed.order['number']}"]
        product = await session.get(Product, placed.product.product.id, populate_existing=True)
        assert product is not None
        assert product.sold_count == 2

    shipped = data(
        await client.put(
            url, json={"status": "shipped", "carrier": "DHL", "tracking_number": "JD0146"}, headers=staff
        )
    )
    assert (shipped["carrier"], shipped["tracking_number"]) == ("DHL", "JD0146")
    delivered = data(await client.put(url, json={"status": "delivered"}, headers=staff))
    assert (delivered["status"], delivered["payment_status"]) == ("delivered", "paid")
    kinds = [(e["kind"], e["to_status"]) for e in delivered["timeline"]]
    assert kinds == [
        ("placed", "pending"),
        ("status", "confirmed"),
        ("shipment", None),
        ("status", "shipped"),
        ("status", "delivered"),
    ]
    assert delivered["timeline"][1]["note"] == "called"

    assert error(await client.put(url, json={"status": "processing"}, headers=staff), 409)["code"] == (
        "ILLEGAL_TRANSITION"
    )
    cancel = await client.put(f"/api/v1/orders/{placed.order['id']}/cancel", headers=shopper.headers)
    assert error(cancel, 409)["code"] == "ILLEGAL_TRANSITION"

    await ctx.jobs.run_until_idle()
    subjects = [m.subject for m in smtp.sink.to("ada@example.com")]
    assert sum("is confirmed" in s for s in subjects) == 1
    shipped_mail = next(m for m in smtp.sink.to("ada@example.com") if "is shipped" in m.subject)
    assert "JD0146" in shipped_mail.text


async def test_an_unpaid_online_order_cannot_be_confirmed(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper, staff: dict[str, str]
) -> None:
    placed = await place_for(client, ctx, shopper, payment_method="test")
    url = f"/api/v1/admin/orders/{placed.order['id']}"
    assert (
        error(await client.put(url, json={"status": "confirmed"}, headers=staff), 409)["code"]
        == "ORDER_NOT_PAID"
    )
    assert await _pool(ctx, placed.pool_id) == (10, 2)
    for body in ({"status": "refunded"}, {"status": "teleported"}, {}, {"note": 5}):
        assert error(await client.put(url, json=body, headers=staff), 422)


async def test_a_captured_payment_confirms_the_order_and_deducts_stock(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    placed = await place_for(client, ctx, shopper, payment_method="test")
    async with ctx.db.session() as session:
        order = await session.get(Order, placed.order["id"])
        assert order is not None
        assert await lifecycle.confirm_payment(session, ctx.settings, order) is True
    assert await _pool(ctx, placed.pool_id) == (8, 0)
    shown = data(await client.get(f"/api/v1/orders/{placed.order['id']}", headers=shopper.headers))
    assert (shown["status"], shown["payment_status"], shown["stock_state"]) == (
        "confirmed",
        "paid",
        "deducted",
    )

    # Cancelling it now puts the deducted stock back and leaves a refund due for the payments side.
    cancelled = data(await client.put(f"/api/v1/orders/{placed.order['id']}/cancel", headers=shopper.headers))
    assert cancelled["stock_state"] == "restocked"
    assert cancelled["timeline"][-1]["kind"] == "refund_due"
    assert await _pool(ctx, placed.pool_id) == (10, 0)


async def test_a_payment_for_a_cancelled_order_is_not_taken(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    placed = await place_for(client, ctx, shopper)
    data(await client.put(f"/api/v1/orders/{placed.order['id']}/cancel", headers=shopper.headers))
    async with ctx.db.session() as session:
        order = await session.get(Order, placed.order["id"])
        assert order is not None
        assert await lifecycle.confirm_payment(session, ctx.settings, order) is False
    assert await _pool(ctx, placed.pool_id) == (10, 0)


async def test_unpaid_orders_expire_and_release_their_stock(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    online = await place_for(client, ctx, shopper, payment_method="test")
    cod = await place_for(client, ctx, shopper, payment_method="cash_on_delivery")
    assert await expire_unpaid(ctx) == 0  # not due yet
    async with ctx.db.session() as session:
        await session.execute(
            update(Order)
            .where(Order.id == online.order["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert await expire_unpaid(ctx) == 1
    shown = data(await client.get(f"/api/v1/orders/{online.order['id']}", headers=shopper.headers))
    assert (shown["status"], shown["stock_state"]) == ("cancelled", "released")
    assert shown["timeline"][-1]["kind"] == "expired"
    assert await _pool(ctx, online.pool_id) == (10, 0)
    assert await _pool(ctx, cod.pool_id) == (10, 2)
    assert await expire_unpaid(ctx) == 0


async def test_staff_filter_orders(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper, staff: dict[str, str]
) -> None:
    first = await place_for(client, ctx, shopper, payment_method="test")
    second = await place_for(client, ctx, shopper, payment_method="cash_on_delivery")
    data(await client.put(f"/api/v1/orders/{first.order['id']}/cancel", headers=shopper.headers))

    def numbers(response: httpx.Response) -> list[str]:
        return [o["number"] for o in data(response)]

    everything = await client.get("/api/v1/admin/orders", headers=staff)
    assert numbers(everything) == [second.order["number"], first.order["number"]]
    assert numbers(await client.get("/api/v1/admin/orders?status=cancelled", headers=staff)) == [
        first.order["number"]
    ]
    by_number = await client.get(
        f"/api/v1/admin/orders?number={second.order['number'].lower()}", headers=staff
    )
    assert numbers(by_number) == [second.order["number"]]
    assert numbers(await client.get("/api/v1/admin/orders?email=ADA@example.com", headers=staff)) == [
        second.order["number"],
        first.order["number"],
    ]
    future = (utcnow() + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert numbers(await client.get(f"/api/v1/admin/orders?created_from={future}", headers=staff)) == []
    for query in (
        "status=lost",
        "created_from=yesterday",
        "created_from=2026-11-24T00:00:00",
        "page=0",
        "limit=101",
    ):
        assert error(await client.get(f"/api/v1/admin/orders?{query}", headers=staff), 422)
    detail = data(await client.get(f"/api/v1/admin/orders/{first.order['id']}", headers=staff))
    assert detail["contact"]["email"] == "ada@example.com"
    assert error(await client.get("/api/v1/admin/orders/999999999", headers=staff), 404)


async def test_a_moderator_cannot_move_orders(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    placed = await place_for(client, ctx, shopper, payment_method="cash_on_delivery")
    moderator = await staff_headers(client, ctx, email="mod@example.com", role="moderator")
    url = f"/api/v1/admin/orders/{placed.order['id']}"
    assert data(await client.get(url, headers=moderator))["number"] == placed.order["number"]
    assert error(await client.put(url, json={"status": "confirmed"}, headers=moderator), 403)


@pytest.mark.parametrize("payment_method", ["test", "cash_on_delivery"])
async def test_the_invoice_is_a_pdf(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper, payment_method: str
) -> None:
    placed = await place_for(client, ctx, shopper, payment_method=payment_method)
    response = await client.get(f"/api/v1/orders/{placed.order['id']}/invoice.pdf", headers=shopper.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert response.content.rstrip().endswith(b"%%EOF")
    assert placed.order["number"].encode() in response.content  # the document title


async def test_staff_filters_refuse_nul(client: httpx.AsyncClient, staff: dict[str, str]) -> None:
    response = await client.get("/api/v1/admin/orders?email=a%00b@example.com", headers=staff)
    assert error(response, 422)["code"] == "VALIDATION_ERROR"
