"""What the settings tests share: a shopper with a cart ready for checkout, and reading a PDF's text."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import httpx
from pypdf import PdfReader

from emporium.core.context import AppContext
from tests.conftest import sign_up
from tests.inventory.factory import make_product
from tests.orders.factory import ADDRESS, make_cart, make_shipping
from tests.support import data


@dataclass
class Ready:
    headers: dict[str, str]
    method_id: int


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


async def shopper_with_cart(
    client: httpx.AsyncClient, ctx: AppContext, email: str = "ada@example.com"
) -> Ready:
    """A signed-up shopper whose cart holds two lamps of 40.00 USD; delivery to the US costs 5.00."""
    shopper = await sign_up(client, email, first_name="Ada", last_name="Lovelace")
    me = data(await client.get("/api/v1/users/profile", headers=shopper.headers))
    async with ctx.db.session() as session:
        made = await make_product(session, "Desk lamp", prices=("40.00",), on_hand=20)
        method = await make_shipping(session, price="5.00", name="Standard")
        await make_cart(session, [(made.variants[0], 2)], user_id=me["id"])
        method_id = method.id
    return Ready(shopper.headers, method_id)


async def quote(client: httpx.AsyncClient, ready: Ready) -> dict[str, Any]:
    """The cart's totals for delivery to ADDRESS by the standard method, as checkout computes them."""
    params = {
        "country": ADDRESS["country"],
        "region": ADDRESS["region"],
        "shipping_method_id": ready.method_id,
    }
    totals: dict[str, Any] = data(await client.get("/api/v1/cart", params=params, headers=ready.headers))[
        "totals"
    ]
    return totals


async def place(client: httpx.AsyncClient, ready: Ready, payment_method: str) -> httpx.Response:
    body = {
        "shipping_address": ADDRESS,
        "shipping_method_id": ready.method_id,
        "payment_method": payment_method,
    }
    return await client.post("/api/v1/orders", json=body, headers=ready.headers)
