"""The invoice PDF states every figure of its order, read back from the PDF's text (pypdf); invoice numbers
are issued on confirmation, one after another, and a rolled-back confirmation gives its number back."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from pypdf import PdfReader
from sqlalchemy import create_engine, text

from emporium.app import create_app
from emporium.core.context import AppContext
from emporium.core.migrations import upgrade
from emporium.orders.lifecycle import lifecycle
from emporium.orders.models import Order, OrderStatus
from emporium.orders.repository import OrderRepository
from tests.conftest import MakeContext, sign_up
from tests.inventory.factory import make_product, staff_headers
from tests.orders.conftest import place_for
from tests.orders.factory import ADDRESS, make_cart, make_coupon, make_shipping, make_tax
from tests.support import asgi_client, data, error

SELLER = {
    "seller_name": "Mithai Traders Ltd",
    "seller_address": ["12 Sweet Lane", "Leicester LE1 5AA", "United Kingdom"],
    "seller_tax_id": "GB 123 4567 89",
    "seller_tax_id_label": "VAT number",
}
BILLING: dict[str, Any] = {
    "full_name": "Ada Lovelace",
    "line1": "Unter den Linden 5",
    "city": "Berlin",
    "postal_code": "10117",
    "country": "DE",
}
INVOICE_NUMBER = re.compile(r"INV-\d{4}-\d{6}")


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def usd(amount: str) -> str:
    return f"{Decimal(amount):.2f} USD"


@dataclass
class Sold:
    client: httpx.AsyncClient
    ctx: AppContext
    order: dict[str, Any]
    shopper_headers: dict[str, str]
    staff: dict[str, str]


async def _sell_kalakand(
    client: httpx.AsyncClient, ctx: AppContext, *, payment_method: str = "cash_on_delivery"
) -> Sold:
    """Two boxes of one sweet (variants named after the product, as shops name them), a 10 % coupon, 8.25 %
    tax, 5.00 shipping, billed to Berlin and delivered to Arlington."""
    shopper = await sign_up(client, "ada@example.com", first_name="Ada", last_name="Lovelace")
    staff = await staff_headers(client, ctx, email="invoices@example.com", role="admin")
    me = data(await client.get("/api/v1/users/profile", headers=shopper.headers))
    async with ctx.db.session() as session:
        made = await make_product(session, "Kalakand", prices=("12.50", "6.75"), on_hand=50)
        made.variants[0].name = "Kalakand 1 kg"
        made.variants[1].name = "Kalakand 500 g"
        method = await make_shipping(session, price="5.00", name="Standard")
        await make_tax(session, "US", "8.25")
        await make_coupon(session, "SWEET10", usage_limit=10)
        await make_cart(
            session, [(made.variants[0], 2), (made.variants[1], 1)], user_id=me["id"], coupon_code="SWEET10"
        )
    body = {
        "shipping_address": ADDRESS,
        "billing_address": BILLING,
        "shipping_method_id": method.id,
        "payment_method": payment_method,
    }
    order = data(await client.post("/api/v1/orders", json=body, headers=shopper.headers), 201)
    return Sold(client, ctx, order, shopper.headers, staff)


async def _confirm(sold: Sold) -> dict[str, Any]:
    url = f"/api/v1/admin/orders/{sold.order['id']}"
    return data(await sold.client.put(url, json={"status": "confirmed"}, headers=sold.staff))  # type: ignore[no-any-return]


def _money_line(text: str, label: str) -> str:
    """The amount printed on the line that starts with ``label``."""
    for line in text.splitlines():
        if line.strip().startswith(label):
            found = re.findall(r"-?\d+\.\d{2} USD", line)
            assert found, line
            return found[-1]
    raise AssertionError(f"no line {label!r} in:\n{text}")


@pytest.mark.parametrize("prices_include_tax", [False, True], ids=["tax-added", "tax-included"])
async def test_the_invoice_states_every_figure_of_the_order(
    make_context: MakeContext, prices_include_tax: bool
) -> None:
    ctx = make_context(prices_include_tax=prices_include_tax, **SELLER)
    async with asgi_client(create_app(ctx=ctx)) as client:
        sold = await _sell_kalakand(client, ctx)
        order = await _confirm(sold)
        response = await sold.client.get(
            f"/api/v1/orders/{order['id']}/invoice.pdf", headers=sold.shopper_headers
        )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    text = pdf_text(response.content)

    # The document and its number: issued at confirmation, shown on the order too.
    assert text.splitlines()[0].endswith("Invoice")
    assert "Pro-forma" not in text
    assert order["invoice_number"] is not None
    assert INVOICE_NUMBER.fullmatch(order["invoice_number"])
    assert f"Invoice number: {order['invoice_number']}" in text
    assert f"Order: {order['number']}" in text
    # The seller, from the settings.
    for expected in (*SELLER["seller_address"], "Mithai Traders Ltd", "VAT number: GB 123 4567 89"):
        assert expected in text
    # Buyer and delivery addresses in their countries' formats, with country names, not codes.
    for expected in ("Unter den Linden 5", "10117 Berlin", "Germany"):
        assert expected in text
    for expected in ("1 Navy Yard", "Arlington, VA 22202", "United States"):
        assert expected in text
    assert not re.search(r"^(US|DE)$|\s(US|DE)$", text, re.MULTILINE)
    # Payment by its name, not its code.
    assert "Payment method: Cash on delivery" in text
    assert "Payment status: Awaiting payment" in text
    assert "cash_on_delivery" not in text

    # Every line: name once, quantity, unit price and amount as the order has them.
    currency = order["currency"]
    assert currency == "USD"
    names = {"Kalakand 1 kg": "Kalakand · 1 kg", "Kalakand 500 g": "Kalakand · 500 g"}
    for line in order["lines"]:
        row = next(r for r in text.splitlines() if r.startswith(names[line["variant_name"]]))
        assert row.split()[-5:] == [
            str(line["quantity"]),
            *usd(line["unit_price"]).split(),
            *usd(line["subtotal"]).split(),
        ], row
    assert "(Kalakand" not in text
    assert "Kalakand Kalakand" not in text

    # The totals, each as the order has it, and they add up.
    totals = order["totals"]
    assert _money_line(text, "Subtotal") == usd(totals["subtotal"])
    assert sum(Decimal(line["subtotal"]) for line in order["lines"]) == Decimal(totals["subtotal"])
    assert _money_line(text, "Discount (SWEET10)") == usd(f"-{totals['discount']}")
    assert _money_line(text, "Shipping (Standard)") == usd(totals["shipping"])
    assert _money_line(text, "Total") == usd(totals["total"])
    # Tax stated once per rate, on the net amount it was computed on.
    tax_rows = [row for row in text.splitlines() if "Tax 8.25% on" in row]
    assert len(tax_rows) == 1, text
    net = sum(Decimal(x["subtotal"]) - Decimal(x["discount"]) for x in order["lines"])
    if prices_include_tax:
        net -= Decimal(totals["tax"])
    assert tax_rows[0].startswith("Tax 8.25% on" if not prices_include_tax else "Includes Tax 8.25% on")
    assert f"on {usd(str(net))}" in tax_rows[0]
    assert tax_rows[0].endswith(usd(totals["tax"]))
    assert Decimal(totals["tax"]) > 0
    added_tax = Decimal(0) if prices_include_tax else Decimal(totals["tax"])
    assert Decimal(totals["subtotal"]) - Decimal(totals["discount"]) + Decimal(
        totals["shipping"]
    ) + added_tax == Decimal(totals["total"])


async def test_an_unpaid_online_order_gets_a_pro_forma_invoice(make_context: MakeContext) -> None:
    ctx = make_context(**SELLER)
    async with asgi_client(create_app(ctx=ctx)) as client:
        sold = await _sell_kalakand(client, ctx, payment_method="test")
        response = await sold.client.get(
            f"/api/v1/orders/{sold.order['id']}/invoice.pdf", headers=sold.shopper_headers
        )
    text = pdf_text(response.content)
    assert text.splitlines()[0].endswith("Pro-forma invoice")
    assert sold.order["invoice_number"] is None
    assert "Invoice number" not in text
    assert not INVOICE_NUMBER.search(text)
    assert "This is not a tax invoice." in text
    assert _money_line(text, "Amount due") == usd(sold.order["totals"]["total"])
    assert "Payment method: Card (test mode)" in text


async def test_an_order_cancelled_before_confirmation_has_no_invoice(make_context: MakeContext) -> None:
    ctx = make_context()
    async with asgi_client(create_app(ctx=ctx)) as client:
        sold = await _sell_kalakand(client, ctx, payment_method="test")
        url = f"/api/v1/orders/{sold.order['id']}"
        data(await sold.client.put(f"{url}/cancel", headers=sold.shopper_headers))
        refused = error(await sold.client.get(f"{url}/invoice.pdf", headers=sold.shopper_headers), 409)
    assert refused["code"] == "NO_INVOICE"
    assert (
        refused["message"]
        == "This order was cancelled before it was confirmed, so there is no invoice for it."
    )


async def test_a_confirmed_then_cancelled_order_keeps_its_invoice(make_context: MakeContext) -> None:
    ctx = make_context()
    async with asgi_client(create_app(ctx=ctx)) as client:
        sold = await _sell_kalakand(client, ctx)
        number = (await _confirm(sold))["invoice_number"]
        url = f"/api/v1/orders/{sold.order['id']}"
        cancelled = data(await sold.client.put(f"{url}/cancel", headers=sold.shopper_headers))
        response = await sold.client.get(f"{url}/invoice.pdf", headers=sold.shopper_headers)
    assert cancelled["invoice_number"] == number
    assert f"Invoice number: {number}" in pdf_text(response.content)


async def _pending(ctx: AppContext, count: int) -> list[int]:
    client = asgi_client(create_app(ctx=ctx))
    async with client:
        shopper = await sign_up(client, "numbers@example.com")
        ids = []
        for _ in range(count):
            placed = await place_for(client, ctx, shopper, payment_method="cash_on_delivery", quantity=1)
            ids.append(placed.order["id"])
    return ids


def _value(number: str | None) -> int:
    assert number is not None
    return int(number.rsplit("-", 1)[1])


async def test_numbers_follow_each_other_and_a_rolled_back_confirmation_leaves_no_gap(
    make_context: MakeContext,
) -> None:
    ctx = make_context()
    first_id, rolled_back_id, second_id = await _pending(ctx, 3)
    async with ctx.db.session() as session:
        repo = OrderRepository(session)

        async def confirm(order_id: int) -> Order:
            order = await repo.order(order_id, lock=True)
            assert order is not None
            await lifecycle.move(session, ctx.settings, order, OrderStatus.CONFIRMED, actor_user_id=None)
            return order

        first = await confirm(first_id)
        taken: list[str | None] = []

        async def confirm_then_fail() -> None:
            async with session.begin_nested():
                taken.append((await confirm(rolled_back_id)).invoice_number)
                raise RuntimeError("the confirmation fails after its number was taken")

        with pytest.raises(RuntimeError):
            await confirm_then_fail()
        assert _value(taken[0]) == _value(first.invoice_number) + 1
        second = await confirm(second_id)
        assert _value(second.invoice_number) == _value(first.invoice_number) + 1
        refreshed = await repo.order(rolled_back_id, lock=True)
        assert refreshed is not None
        assert refreshed.invoice_number is None
        assert refreshed.status == OrderStatus.PENDING


async def test_a_payment_recorded_after_confirmation_keeps_the_number(make_context: MakeContext) -> None:
    ctx = make_context()
    (order_id,) = await _pending(ctx, 1)
    async with ctx.db.session() as session:
        order = await OrderRepository(session).order(order_id, lock=True)
        assert order is not None
        await lifecycle.move(session, ctx.settings, order, OrderStatus.CONFIRMED, actor_user_id=None)
        number = order.invoice_number
        assert await lifecycle.confirm_payment(session, ctx.settings, order)
        assert order.invoice_number == number is not None


async def test_a_captured_payment_confirms_and_numbers_an_online_order(make_context: MakeContext) -> None:
    ctx = make_context()
    async with asgi_client(create_app(ctx=ctx)) as client:
        sold = await _sell_kalakand(client, ctx, payment_method="test")
    async with ctx.db.session() as session:
        order = await OrderRepository(session).order(sold.order["id"], lock=True)
        assert order is not None
        assert order.invoice_number is None
        assert await lifecycle.confirm_payment(session, ctx.settings, order)
        assert order.status == OrderStatus.CONFIRMED
        assert order.invoice_number is not None
        assert INVOICE_NUMBER.fullmatch(order.invoice_number)
        assert order.invoiced_at is not None


def test_the_migration_numbers_orders_confirmed_before_it(tmp_path: Path) -> None:
    """Orders confirmed before invoice numbers existed get them in the order they were confirmed, per year,
    and the counters continue after them."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'before.db'}"
    upgrade(url, "0011")
    engine = create_engine(url.replace("+aiosqlite", ""))
    order_row = text(
        "INSERT INTO orders (id, number, contact_name, contact_email, status, payment_status,"
        " payment_method, stock_state, currency, subtotal_minor, discount_minor, shipping_minor, tax_minor,"
        " total_minor, prices_include_tax, shipping_method_name, shipping_address, billing_address,"
        " created_at, updated_at) VALUES (:id, :number, 'A', 'a@example.com', :status, 'paid', 'test',"
        " 'deducted', 'USD', 100, 0, 0, 0, 100, 0, 'Standard', '{}', '{}', :at, :at)"
    )
    event_row = text(
        "INSERT INTO order_events (order_id, kind, from_status, to_status, data, created_at)"
        " VALUES (:id, 'status', 'pending', :to, '{}', :at)"
    )
    with engine.begin() as conn:
        # Order 1 was confirmed last in 2025; 2 first; 3 in 2026; 4 never (cancelled while pending).
        for order_id, status, confirmed_at in (
            (1, "delivered", "2025-12-30 10:00:00.000000"),
            (2, "shipped", "2025-03-01 10:00:00.000000"),
            (3, "confirmed", "2026-01-02 10:00:00.000000"),
            (4, "cancelled", None),
        ):
            at = confirmed_at or "2026-01-03 10:00:00.000000"
            conn.execute(order_row, {"id": order_id, "number": f"ORD-{order_id}", "status": status, "at": at})
            moved_to = "confirmed" if confirmed_at else "cancelled"
            conn.execute(event_row, {"id": order_id, "to": moved_to, "at": at})
    upgrade(url)
    with engine.connect() as conn:
        numbers = dict(conn.execute(text("SELECT id, invoice_number FROM orders")).all())
        counters = dict(conn.execute(text("SELECT series, last_value FROM invoice_counters")).all())
    engine.dispose()
    assert numbers == {1: "INV-2025-000002", 2: "INV-2025-000001", 3: "INV-2026-000001", 4: None}
    assert counters == {"2025": 2, "2026": 1}
