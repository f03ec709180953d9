"""The account's order page: its figures add up (read back from the HTML), and "Cancel order" is offered,
and done, only where the order state machine lets the customer cancel."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

from emporium.app import create_app
from emporium.core.context import AppContext
from emporium.inventory.models import StockPool
from tests.conftest import MakeContext
from tests.inventory.factory import make_product, staff_headers
from tests.orders.factory import ADDRESS, make_cart, make_coupon, make_shipping, make_tax
from tests.support import asgi_client, data
from tests.web.conftest import csrf_token
from tests.web.test_account_pages import customer


@dataclass
class Figures:
    """The order page's table: its lines (name, quantity, unit price, amount) and its footer rows."""

    lines: list[tuple[str, int, Decimal, Decimal]] = field(default_factory=list)
    footer: list[tuple[str, Decimal]] = field(default_factory=list)

    def row(self, label: str) -> Decimal:
        found = [amount for name, amount in self.footer if name.startswith(label)]
        assert len(found) == 1, (label, self.footer)
        return found[0]


def money(text: str) -> Decimal:
    """``$1,234.50``, or ``-$3.18`` written with a minus sign or a hyphen, as a Decimal."""
    negative = text.strip().startswith(("\u2212", "-"))
    value = Decimal(re.sub(r"[^0-9.]", "", text))
    return -value if negative else value


class _TableReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.in_table = False
        self.section = ""
        self.rows: list[tuple[str, list[str]]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and "order-lines" in (dict(attrs).get("class") or ""):
            self.in_table = True
        elif self.in_table and tag in ("thead", "tbody", "tfoot"):
            self.section = tag
        elif self.in_table and tag == "tr":
            self.rows.append((self.section, []))
        elif self.in_table and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.in_table = False
        elif self.in_table and tag in ("td", "th") and self.cell is not None:
            self.rows[-1][1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def figures(html: str) -> Figures:
    reader = _TableReader()
    reader.feed(html)
    found = Figures()
    for section, cells in reader.rows:
        if section == "tbody":
            name, quantity, unit, amount = cells
            found.lines.append((name, int(quantity), money(unit), money(amount)))
        elif section == "tfoot":
            label, amount = cells
            found.footer.append((label, money(amount)))
    return found


@dataclass
class Bought:
    client: httpx.AsyncClient
    ctx: AppContext
    order: dict[str, Any]
    token: str
    headers: dict[str, str]
    staff: dict[str, str]
    pool_ids: list[int]

    @property
    def url(self) -> str:
        return f"/account/orders/{self.order['id']}"

    async def move(self, status: str) -> None:
        url = f"/api/v1/admin/orders/{self.order['id']}"
        data(await self.client.put(url, json={"status": status}, headers=self.staff))

    async def reserved(self) -> list[int]:
        async with self.ctx.db.session() as session:
            pools = [
                await session.get(StockPool, pool_id, populate_existing=True) for pool_id in self.pool_ids
            ]
            return [pool.reserved for pool in pools if pool is not None]


async def buy(
    client: httpx.AsyncClient, ctx: AppContext, email: str = "ada@example.com", *, tax: bool = True
) -> Bought:
    """Signed in through the web, an order of two boxes of one sweet with a coupon, tax and shipping."""
    shopper, token = await customer(client, email)
    staff = await staff_headers(client, ctx, email=f"staff-{email}", role="admin")
    me = data(await client.get("/api/v1/users/profile", headers=shopper.headers))
    async with ctx.db.session() as session:
        made = await make_product(session, f"Kalakand {email}", prices=("12.50", "6.75"), on_hand=50)
        made.variants[0].name = f"Kalakand {email} 1 kg"
        made.variants[1].name = f"Kalakand {email} 500 g"
        method = await make_shipping(session, price="5.00", name="Standard")
        if tax:
            await make_tax(session, "US", "8.25")
        await make_coupon(session, f"SWEET{email.split('@')[0].upper()}", usage_limit=10)
        await make_cart(
            session,
            [(made.variants[0], 2), (made.variants[1], 1)],
            user_id=me["id"],
            coupon_code=f"SWEET{email.split('@')[0].upper()}",
        )
    body = {
        "shipping_address": ADDRESS,
        "shipping_method_id": method.id,
        "payment_method": "cash_on_delivery",
    }
    order = data(await client.post("/api/v1/orders", json=body, headers=shopper.headers), 201)
    return Bought(client, ctx, order, token, shopper.headers, staff, [p.id for p in made.pools])


@pytest.mark.parametrize("prices_include_tax", [False, True], ids=["tax-added", "tax-included"])
async def test_the_order_page_figures_add_up(make_context: MakeContext, prices_include_tax: bool) -> None:
    ctx = make_context(prices_include_tax=prices_include_tax)
    async with asgi_client(create_app(ctx=ctx)) as client:
        bought = await buy(client, ctx)
        page = await client.get(bought.url)
    assert page.status_code == 200
    shown = figures(page.text)
    order, totals = bought.order, bought.order["totals"]

    # Lines: named once ("Kalakand · 1 kg"), each amount its quantity times its unit price, as ordered.
    assert [name for name, *_ in shown.lines] == [
        "Kalakand ada@example.com · 1 kg",
        "Kalakand ada@example.com · 500 g",
    ]
    for (_, quantity, unit, amount), line in zip(shown.lines, order["lines"], strict=True):
        assert (quantity, unit, amount) == (
            line["quantity"],
            Decimal(line["unit_price"]),
            Decimal(line["subtotal"]),
        )
        assert quantity * unit == amount

    subtotal, discount = shown.row("Subtotal"), shown.row("Discount")
    shipping, total = shown.row("Shipping"), shown.row("Total")
    assert subtotal == sum(amount for *_, amount in shown.lines) == Decimal(totals["subtotal"])
    assert discount == -Decimal(totals["discount"]) < 0
    assert shipping == Decimal(totals["shipping"]) == Decimal("5.00")
    assert total == Decimal(totals["total"])
    # Tax is stated once: added as a row before the total, or, when prices include it, under the total as
    # the part of it that is tax (then it is not added again).
    tax_rows = [(label, amount) for label, amount in shown.footer if "Tax" in label]
    assert len(tax_rows) == 1, shown.footer
    label, tax = tax_rows[0]
    assert tax == Decimal(totals["tax"]) > 0
    labels = [name for name, _ in shown.footer]
    if prices_include_tax:
        assert label == "Includes Tax 8.25%"
        assert labels.index(label) > labels.index("Total")
        assert subtotal + discount + shipping == total
    else:
        assert label == "Tax 8.25%"
        assert labels.index(label) < labels.index("Total")
        assert subtotal + discount + shipping + tax == total
    # Names, not codes.
    assert "Payment: Cash on delivery · Awaiting payment" in page.text
    assert "Arlington, VA 22202<br>United States" in page.text


async def test_cancel_is_offered_only_while_the_state_machine_allows_it(make_context: MakeContext) -> None:
    ctx = make_context()
    async with asgi_client(create_app(ctx=ctx)) as client:
        bought = await buy(client, ctx)
        offered = {}
        for status in ("pending", "confirmed", "processing", "shipped", "delivered"):
            if status != "pending":
                await bought.move(status)
            page = await client.get(bought.url)
            offered[status] = f'action="{bought.url}/cancel"' in page.text
            assert ("Cancel order" in page.text) == offered[status]
    assert offered == {
        "pending": True,
        "confirmed": True,
        "processing": True,
        "shipped": False,
        "delivered": False,
    }


async def test_cancelling_from_the_order_page_releases_the_stock(make_context: MakeContext) -> None:
    ctx = make_context()
    async with asgi_client(create_app(ctx=ctx)) as client:
        bought = await buy(client, ctx)
        assert await bought.reserved() == [2, 1]
        token = csrf_token((await client.get(bought.url)).text)

        # Without the form's CSRF token nothing happens.
        assert (await client.post(f"{bought.url}/cancel", data={})).status_code == 403
        assert (
            data(await client.get(f"/api/v1/orders/{bought.order['id']}", headers=bought.headers))["status"]
            == "pending"
        )

        response = await client.post(f"{bought.url}/cancel", data={"csrf_token": token})
        assert response.status_code == 303
        assert response.headers["location"] == f"{bought.url}?cancelled=1"
        page = await client.get(response.headers["location"])
        assert "Your order is cancelled." in page.text
        assert f'action="{bought.url}/cancel"' not in page.text
        # Cancelled before it was confirmed: nothing to invoice, so no invoice link.
        assert "invoice.pdf" not in page.text
        refused = await client.get(f"{bought.url}/invoice.pdf")
        assert refused.status_code == 409
        assert "cancelled before it was confirmed, so there is no invoice for it" in refused.text
        after = data(await client.get(f"/api/v1/orders/{bought.order['id']}", headers=bought.headers))
        assert after["status"] == "cancelled"
        assert after["timeline"][-1]["note"] == "Cancelled by the customer."
        assert await bought.reserved() == [0, 0]


async def test_a_forged_cancel_of_a_shipped_order_is_refused_with_a_reason(make_context: MakeContext) -> None:
    ctx = make_context()
    async with asgi_client(create_app(ctx=ctx)) as client:
        bought = await buy(client, ctx)
        for status in ("confirmed", "shipped"):
            await bought.move(status)
        page = await client.get(bought.url)
        assert f'action="{bought.url}/cancel"' not in page.text
        # The form is not on the page, but a crafted POST with a valid token tries anyway.
        response = await client.post(f"{bought.url}/cancel", data={"csrf_token": csrf_token(page.text)})
        assert response.status_code == 409
        assert "<!doctype html>" in response.text
        assert "This order has already been shipped, so it can no longer be cancelled." in response.text
        assert f"Order {bought.order['number']}" in response.text
        after = data(await client.get(f"/api/v1/orders/{bought.order['id']}", headers=bought.headers))
    assert after["status"] == "shipped"
    assert after["stock_state"] == "deducted"
    assert after["invoice_number"] is not None


async def test_another_customers_order_cannot_be_cancelled(make_context: MakeContext) -> None:
    ctx = make_context()
    async with asgi_client(create_app(ctx=ctx)) as client:
        theirs = await buy(client, ctx, "bob@example.com")
        client.cookies.clear()
        mine = await buy(client, ctx, "ada@example.com", tax=False)
        token = csrf_token((await client.get(mine.url)).text)
        response = await client.post(f"{theirs.url}/cancel", data={"csrf_token": token})
        assert response.status_code == 404
        assert "We could not find that page" in response.text
    assert await theirs.reserved() == [2, 1]
