"""The built-in test gateway end to end: payment page, test cards, 3-D Secure, the signed webhook."""

from __future__ import annotations

import httpx
import pytest

from emporium.core.context import AppContext
from tests.payments.conftest import guest_order, order_view, pay_with, pool, start_payment
from tests.support import data, error


async def test_the_success_card_pays_confirms_and_deducts(client: httpx.AsyncClient, ctx: AppContext) -> None:
    placed = await guest_order(client, ctx)
    payment = await start_payment(client, placed)
    assert payment["state"] == "requires_action"
    assert payment["next_action"]["url"].startswith("/pay/test/")
    page = await client.get(payment["next_action"]["url"])
    assert page.status_code == 200
    assert "script-src" not in page.headers["content-security-policy"]
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "45.00 USD" in page.text
    assert "<script" not in page.text

    paid = await pay_with(client, payment, "4242 4242 4242 4242")
    # Back to the shop by itself, as a hosted payment page does, with no script.
    assert paid.status_code == 303
    assert paid.headers["location"] == f"http://shop.test/orders/{placed.order['id']}/paid"
    assert "Payment received" in (await client.get(payment["next_action"]["url"])).text
    await ctx.jobs.run_until_idle()  # the gateway's signed webhook, then its processing

    order = await order_view(client, placed)
    assert (order["status"], order["payment_status"], order["stock_state"]) == (
        "confirmed",
        "paid",
        "deducted",
    )
    assert await pool(ctx, placed.pool_id) == (8, 0)
    ledger = data(await client.get(f"/api/v1/orders/{placed.order['id']}/payments", headers=placed.headers))
    assert (ledger["captured"], ledger["refunded"], ledger["payment_status"]) == ("45.00", "0.00", "paid")
    assert [(t["kind"], t["status"]) for t in ledger["transactions"]] == [("capture", "succeeded")]
    assert ledger["payments"][0]["card_last4"] == "4242"
    # Paying again is refused; the page says it is settled.
    assert (
        error(
            await client.post(
                "/api/v1/payments/create-intent",
                json={"order_id": placed.order["id"]},
                headers=placed.headers,
            ),
            409,
        )["code"]
        == "PAYMENT_NOT_POSSIBLE"
    )
    assert (await pay_with(client, payment, "4242424242424242")).status_code == 409


@pytest.mark.parametrize(
    ("number", "message"),
    [("4000 0000 0000 0002", "declined"), ("4000000000009995", "insufficient funds")],
)
async def test_declined_cards_fail_and_keep_the_reservation(
    client: httpx.AsyncClient, ctx: AppContext, number: str, message: str
) -> None:
    placed = await guest_order(client, ctx)
    payment = await start_payment(client, placed)
    back = await pay_with(client, payment, number)
    assert back.status_code == 303
    assert back.headers["location"].endswith(f"/orders/{placed.order['id']}/paid")
    await ctx.jobs.run_until_idle()
    order = await order_view(client, placed)
    assert (order["status"], order["payment_status"]) == ("pending", "failed")
    assert order["timeline"][-1]["kind"] == "payment_failed"
    assert message in order["timeline"][-1]["note"]
    assert await pool(ctx, placed.pool_id) == (10, 2)  # released only when the order expires or is cancelled
    # The shopper may try again with a new payment.
    again = await start_payment(client, placed, key="pay-key-000002")
    assert again["id"] != payment["id"]


@pytest.mark.parametrize(("outcome", "status"), [("approve", "paid"), ("fail", "failed")])
async def test_three_d_secure(client: httpx.AsyncClient, ctx: AppContext, outcome: str, status: str) -> None:
    placed = await guest_order(client, ctx)
    payment = await start_payment(client, placed)
    challenge = await pay_with(client, payment, "4000 0027 6000 3184")
    assert "3-D Secure" in challenge.text
    await ctx.jobs.run_until_idle()
    assert (await order_view(client, placed))["payment_status"] == "awaiting"
    done = await client.post(payment["next_action"]["url"] + "/3ds", data={"outcome": outcome})
    assert done.status_code == 303
    assert done.headers["location"] == f"http://shop.test/orders/{placed.order['id']}/paid"
    await ctx.jobs.run_until_idle()
    assert (await order_view(client, placed))["payment_status"] == status


@pytest.mark.parametrize(
    ("number", "expiry", "cvc", "text"),
    [
        ("4111 1111 1111 1111", "12/34", "123", "only the documented test cards"),
        ("4242 4242 4242 4241", "12/34", "123", "not a valid card number"),
        ("4242 4242 4242 4242", "13/34", "123", "MM/YY"),
        ("4242 4242 4242 4242", "12/34", "12a", "CVC"),
    ],
)
async def test_the_page_refuses_bad_cards(
    client: httpx.AsyncClient, ctx: AppContext, number: str, expiry: str, cvc: str, text: str
) -> None:
    placed = await guest_order(client, ctx)
    payment = await start_payment(client, placed)
    page = await client.post(
        payment["next_action"]["url"], data={"number": number, "expiry": expiry, "cvc": cvc}
    )
    assert page.status_code == 422
    assert text in page.text
    await ctx.jobs.run_until_idle()
    assert (await order_view(client, placed))["payment_status"] == "awaiting"


async def test_an_unknown_page_is_not_found(client: httpx.AsyncClient) -> None:
    assert error(await client.get("/pay/test/" + "x" * 32), 404)
    assert error(await client.get("/pay/test/short"), 422)


async def test_the_same_open_payment_is_handed_out_again(client: httpx.AsyncClient, ctx: AppContext) -> None:
    placed = await guest_order(client, ctx)
    first = await start_payment(client, placed)
    second = await start_payment(client, placed, key="another-key-01")
    assert first["id"] == second["id"]
    process = await client.post(
        "/api/v1/payments/process",
        json={"order_id": placed.order["id"], "payment_method": "test"},
        headers=placed.headers,
    )
    assert data(process, 201)["id"] == first["id"]
    wrong = await client.post(
        "/api/v1/payments/process",
        json={"order_id": placed.order["id"], "payment_method": "cash_on_delivery"},
        headers=placed.headers,
    )
    assert error(wrong, 422)


async def test_confirm_reconciles_with_the_gateway(client: httpx.AsyncClient, ctx: AppContext) -> None:
    """A webhook that never came: asking the gateway records the capture, once."""
    placed = await guest_order(client, ctx)
    payment = await start_payment(client, placed)
    await pay_with(client, payment, "4242424242424242")
    # No job runs (the webhook is "lost"); the shopper's browser asks instead, twice.
    for _ in range(2):
        confirmed = data(
            await client.post(
                "/api/v1/payments/confirm", json={"payment_id": payment["id"]}, headers=placed.headers
            )
        )
        assert confirmed["state"] == "succeeded"
    await ctx.jobs.run_until_idle()  # the late webhook changes nothing more
    ledger = data(await client.get(f"/api/v1/orders/{placed.order['id']}/payments", headers=placed.headers))
    assert [(t["kind"], t["status"]) for t in ledger["transactions"]] == [("capture", "succeeded")]
    assert await pool(ctx, placed.pool_id) == (8, 0)


async def test_other_peoples_orders_and_payments_are_not_found(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    placed = await guest_order(client, ctx)
    payment = await start_payment(client, placed)
    wrong = {"X-Order-Token": "0" * 64}
    assert error(
        await client.post(
            "/api/v1/payments/create-intent", json={"order_id": placed.order["id"]}, headers=wrong
        ),
        404,
    )
    assert error(await client.get(f"/api/v1/payments/{payment['id']}", headers=wrong), 404)
    assert error(await client.get(f"/api/v1/orders/{placed.order['id']}", headers=wrong), 404)
    assert error(await client.get(f"/api/v1/orders/{placed.order['id']}/payments"), 404)
    assert (
        data(await client.get(f"/api/v1/payments/{payment['id']}", headers=placed.headers))["id"]
        == payment["id"]
    )
