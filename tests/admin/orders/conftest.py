"""Helpers of the back-office order tests: orders written straight through the models (for the table's
filters and pages, many at once), orders placed and paid through the API (for the actions), and readers of
the pages' HTML."""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.orders.models import Order, OrderLine
from tests.conftest import Shopper
from tests.inventory.factory import Made, make_product
from tests.orders.factory import ADDRESS as ORDER_ADDRESS
from tests.orders.factory import make_cart, make_shipping
from tests.support import data

_serial = itertools.count(1)
ADDRESS = {
    "full_name": "Grace Hopper",
    "line1": "1 Navy Yard",
    "city": "Arlington",
    "region": "VA",
    "postal_code": "22202",
    "country": "US",
}


async def goods(session: AsyncSession) -> Made:
    return await make_product(session, f"Table tee {next(_serial)}", prices=("20.00",), on_hand=1000)


async def make_order(session: AsyncSession, made: Made, **fields: Any) -> Order:
    """An order row with one line of ``made``, as checkout would leave it; ``fields`` override."""
    n = next(_serial)
    quantity = int(fields.pop("quantity", 1))
    total = int(fields.pop("total_minor", 2000 * quantity + 500))
    country = fields.pop("country", "US")
    values: dict[str, Any] = {
        "number": f"ORD-2026-{900000 + n:06d}",
        "contact_name": f"Customer {n}",
        "contact_email": f"customer{n}@example.com",
        "contact_phone": None,
        "status": "pending",
        "payment_status": "awaiting",
        "payment_method": "test",
        "stock_state": "released",
        "currency": "USD",
        "subtotal_minor": total - 500,
        "discount_minor": 0,
        "shipping_minor": 500,
        "tax_minor": 0,
        "total_minor": total,
        "shipping_method_name": "Flat",
        "shipping_address": {**ADDRESS, "country": country},
        "billing_address": {**ADDRESS, "country": country},
        "created_at": utcnow(),
    }
    values.update(fields)
    order = Order(**values)
    session.add(order)
    await session.flush()
    variant = made.variants[0]
    session.add(
        OrderLine(
            order_id=order.id,
            product_id=made.product.id,
            variant_id=variant.id,
            pool_id=made.pools[0].id,
            product_name=made.product.name,
            variant_name=variant.name,
            sku=variant.sku,
            options={},
            quantity=quantity,
            stock_draw=quantity,
            unit_price_minor=2000,
            subtotal_minor=2000 * quantity,
            total_minor=2000 * quantity,
        )
    )
    await session.flush()
    return order


async def make_orders(
    ctx: AppContext, count: int, start: datetime | None = None, **fields: Any
) -> list[Order]:
    """``count`` orders one minute apart (oldest first), totals rising with the index."""
    begin = start or utcnow() - timedelta(days=1)
    async with ctx.db.session() as session:
        made = await goods(session)
        return [
            await make_order(
                session, made, created_at=begin + timedelta(minutes=i), total_minor=1000 + i, **fields
            )
            for i in range(count)
        ]


class _Table(HTMLParser):
    """The text of each cell of each body row of the first table with the given class."""

    def __init__(self, css_class: str) -> None:
        super().__init__()
        self.css_class = css_class
        self.inside = self.body = False
        self.done = False
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None
        self.skip = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag == "table" and self.css_class in classes and not self.done:
            self.inside = True
        elif self.inside and tag == "tbody":
            self.body = True
        elif self.body and tag == "tr":
            self.rows.append([])
        elif self.body and tag == "td":
            self.cell = []
            self.skip = "admin-select" in classes

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self.cell is not None:
            if not self.skip:
                self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "table" and self.inside:
            self.inside = self.body = False
            self.done = True

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def table_rows(html: str, css_class: str = "admin-orders-table") -> list[list[str]]:
    parser = _Table(css_class)
    parser.feed(html)
    return parser.rows


def numbers_in(html: str) -> list[str]:
    return [row[0] for row in table_rows(html)]


def next_link(html: str) -> str | None:
    found = re.search(r'href="(/admin/orders\?[^"]*)" rel="next"', html)
    return found.group(1).replace("&amp;", "&") if found else None


async def two_line_order(
    client: httpx.AsyncClient,
    ctx: AppContext,
    shopper: Shopper,
    *,
    payment_method: str = "test",
    pay: bool = True,
) -> dict[str, Any]:
    """A customer's order of 2 mugs at 12.00 and 1 teapot at 30.00, shipping 5.00 (total 59.00), paid
    through the test gateway's page unless ``pay`` is False or the method is not online."""
    me = data(await client.get("/api/v1/users/profile", headers=shopper.headers))
    async with ctx.db.session() as session:
        mug = await make_product(session, f"Mug {next(_serial)}", prices=("12.00",), on_hand=20)
        teapot = await make_product(session, f"Teapot {next(_serial)}", prices=("30.00",), on_hand=20)
        method = await make_shipping(session, price="5.00")
        await make_cart(session, [(mug.variants[0], 2), (teapot.variants[0], 1)], user_id=me["id"])
    body = {
        "shipping_address": ORDER_ADDRESS,
        "shipping_method_id": method.id,
        "payment_method": payment_method,
    }
    order: dict[str, Any] = data(await client.post("/api/v1/orders", json=body, headers=shopper.headers), 201)
    if pay and payment_method == "test":
        headers = {**shopper.headers, "Idempotency-Key": f"pay-key-{next(_serial):08d}"}
        payment = data(
            await client.post(
                "/api/v1/payments/create-intent", json={"order_id": order["id"]}, headers=headers
            ),
            201,
        )
        await client.post(
            payment["next_action"]["url"],
            data={"number": "4242424242424242", "expiry": "12/34", "cvc": "123"},
        )
        await ctx.jobs.run_until_idle()
        order = data(await client.get(f"/api/v1/orders/{order['id']}", headers=shopper.headers))
    return order


async def order_row(ctx: AppContext, order_id: int) -> Order:
    async with ctx.db.session() as session:
        order = await session.get(Order, order_id, populate_existing=True)
        assert order is not None
        session.expunge(order)
        return order
