"""Small things a real shop gets right, on its pages: a variant line says what tells the variant apart, not
its product's name again ("Kalakand · 1 kg"); countries, statuses and payment methods read as names."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.catalog.models import ProductVariant
from emporium.core.context import AppContext
from tests.conftest import Shopper
from tests.inventory.factory import make_product
from tests.orders.factory import ADDRESS, GUEST, make_cart, make_shipping, make_tax, order_body
from tests.support import data
from tests.web.conftest import csrf_token
from tests.web.test_account_pages import web_sign_in


async def _kalakand(session: AsyncSession) -> tuple[ProductVariant, ProductVariant]:
    """A box of a sweet named as the demo names it, and a product's only variant named like it."""
    made = await make_product(session, "Kalakand", prices=("12.00", "40.00"))
    made.variants[0].name, made.variants[1].name = "Kalakand 250 g", "Kalakand 1 kg"
    plain = await make_product(session, "Copper Mug", prices=("9.00",))
    plain.variants[0].name = "Copper Mug"
    await make_shipping(session, price="5.00")
    await make_tax(session, "US", "10")
    return made.variants[1], plain.variants[0]


async def test_the_cart_names_variants_and_countries(client: httpx.AsyncClient, ctx: AppContext) -> None:
    async with ctx.db.session() as session:
        box, mug = await _kalakand(session)
        await session.commit()
    for variant in (box.id, mug.id):
        token = csrf_token((await client.get("/cart")).text)
        added = await client.post("/cart/add", data={"csrf_token": token, "variant_id": str(variant)})
        assert added.status_code in (200, 303)
    page = await client.get("/cart", params={"country": "US"})
    assert page.status_code == 200
    assert '<p class="cart-line__variant">1 kg</p>' in page.text
    assert "Kalakand 1 kg" not in page.text
    assert page.text.count('class="cart-line__variant"') == 1  # nothing under the mug
    assert '<option value="US" selected>United States</option>' in page.text


async def test_tracking_reads_in_names(client: httpx.AsyncClient, ctx: AppContext) -> None:
    async with ctx.db.session() as session:
        box, _ = await _kalakand(session)
        method = await make_shipping(session, price="0", name="Pickup")
        token = await make_cart(session, [(box, 1)])
    body = order_body(method.id, payment_method="cash_on_delivery")
    order = data(await client.post("/api/v1/orders", json=body, headers={"X-Cart-Token": token}), 201)
    found = await client.get("/track", params={"order_number": order["number"], "contact": GUEST["email"]})
    assert found.status_code == 200, found.text
    assert 'data-order-status="pending">Pending</span>' in found.text
    assert ">Awaiting payment</span>" in found.text
    assert (
        '1 \N{MULTIPLICATION SIGN} Kalakand <span class="review-line__variant">\N{MIDDLE DOT} 1 kg</span>'
        in found.text
    )
    assert "awaiting</span>" not in found.text


async def test_the_checkout_and_saved_addresses_name_countries(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    async with ctx.db.session() as session:
        box, _ = await _kalakand(session)
        me = data(await client.get("/api/v1/users/profile", headers=shopper.headers))
        await make_cart(session, [(box, 1)], user_id=me["id"])
    data(await client.post("/api/v1/users/addresses", json=ADDRESS, headers=shopper.headers), 201)
    await web_sign_in(client, shopper.email)
    checkout = await client.get("/checkout")
    assert checkout.status_code == 200, checkout.text
    assert f"{ADDRESS['city']} {ADDRESS['postal_code']}, United States</span>" in checkout.text
    assert (
        '1 \N{MULTIPLICATION SIGN} Kalakand <span class="review-line__variant">\N{MIDDLE DOT} 1 kg</span>'
        in checkout.text
    )
    saved = await client.get("/account/addresses")
    assert "United States" in saved.text
