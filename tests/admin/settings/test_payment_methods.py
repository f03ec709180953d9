"""Payment methods at /admin/settings/payments: every gateway listed with whether its credentials are set and
whether it takes real money; checkout (its page and the API) offers exactly the methods switched on, and an
order cannot be placed with one switched off; a gateway without credentials cannot be switched on."""

from __future__ import annotations

import re

import httpx

from emporium.app import create_app
from emporium.audit.service import audit
from emporium.core.context import AppContext
from emporium.orders.errors import OrderError
from tests.admin.conftest import StaffClient, StaffClientFactory, csrf_of, new_staff_client
from tests.admin.settings.shop import place, shopper_with_cart
from tests.conftest import MakeContext
from tests.support import asgi_client, data, error
from tests.web.test_checkout_review import open_shop, to_review

PAYMENTS = "/admin/settings/payments"


async def offer(owner: StaffClient, *methods: str) -> httpx.Response:
    page = await owner.get(PAYMENTS)
    assert page.status_code == 200
    return await owner.post(PAYMENTS, data={"csrf_token": csrf_of(page.text), "method": list(methods)})


async def api_methods(client: httpx.AsyncClient) -> list[str]:
    return [m["code"] for m in data(await client.get("/api/v1/payments/methods"))]


def review_methods(html: str) -> list[str]:
    return re.findall(r'name="payment_method" value="([a-z_]+)"', html)


async def test_a_method_switched_off_leaves_checkout_and_cannot_be_used(
    client: httpx.AsyncClient, ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    assert await api_methods(client) == ["test", "cash_on_delivery"]
    shop = await open_shop(ctx)
    assert review_methods(await to_review(client, shop)) == ["test", "cash_on_delivery"]
    owner = await staff_client("super_admin")

    saved = await offer(owner, "test")
    assert saved.status_code == 303, saved.text
    assert await api_methods(client) == ["test"]
    assert review_methods((await client.get("/checkout/review")).text) == ["test"]
    ready = await shopper_with_cart(client, ctx)
    refused = error(await place(client, ready, "cash_on_delivery"), 422)
    assert refused["code"] == OrderError.PAYMENT_METHOD_UNAVAILABLE
    data(await place(client, ready, "test"), 201)

    # Switched on again, it comes back after the test gateway, in the order the page lists them.
    assert (await offer(owner, "cash_on_delivery", "test", "bank_transfer")).status_code == 303
    assert await api_methods(client) == ["test", "cash_on_delivery", "bank_transfer"]
    async with ctx.db.session() as session:
        history = await audit.for_object(session, "store", 1)
    assert [entry.changes["payment_methods"] for entry in history] == [
        ["test", "test, cash_on_delivery, bank_transfer"],
        ["test, cash_on_delivery", "test"],
    ]


async def test_a_gateway_without_credentials_cannot_be_switched_on(
    client: httpx.AsyncClient, ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    owner = await staff_client("super_admin")
    page = (await owner.get(PAYMENTS)).text
    assert "not configured" in page
    assert "EMPORIUM_STRIPE_SECRET_KEY" in page
    assert re.search(r'id="method-stripe"[^>]* disabled', page)
    assert "Test mode: no real money" in page

    refused = await offer(owner, "test", "stripe")
    assert refused.status_code == 422
    assert "Card (Stripe) cannot be switched on: its credentials are not configured" in refused.text
    none = await offer(owner)
    assert none.status_code == 422
    assert "Keep at least one payment method switched on" in none.text
    unknown = await offer(owner, "test", "<script>")
    assert unknown.status_code == 422
    assert "<script>" not in unknown.text
    assert await api_methods(client) == ["test", "cash_on_delivery"]
    async with ctx.db.session() as session:
        assert await audit.for_object(session, "store", 1) == []


async def test_a_gateway_with_credentials_is_shown_in_its_mode_and_can_be_switched_on(
    make_context: MakeContext,
) -> None:
    ctx = make_context(
        stripe_secret_key="sk_test_0123456789", paypal_client_id="id", paypal_client_secret="s"
    )
    owner = await new_staff_client(ctx, "super_admin")
    try:
        page = (await owner.get(PAYMENTS)).text
        stripe_row = page.split('id="method-stripe"')[1].split("</tr>")[0]
        assert "configured" in stripe_row
        assert "not configured" not in stripe_row
        assert "Test mode: no real money" in stripe_row
        assert (await offer(owner, "stripe", "paypal")).status_code == 303
        async with asgi_client(create_app(ctx=ctx)) as shop:
            assert await api_methods(shop) == ["paypal", "stripe"]
    finally:
        await owner.aclose()
