"""Confirmations racing for invoice numbers on PostgreSQL: every transaction really commits or rolls back,
all start together, and the numbers that stay are consecutive, with no gap left by the ones that failed."""

from __future__ import annotations

import asyncio
import os

import pytest
from sqlalchemy import select

from emporium.app import create_app
from emporium.core.context import AppContext
from emporium.orders.lifecycle import lifecycle
from emporium.orders.models import InvoiceCounter, Order, OrderStatus
from emporium.orders.repository import OrderRepository
from tests.conftest import MakeContext, sign_up
from tests.inventory.factory import make_product, staff_headers
from tests.orders.factory import ADDRESS, make_cart, make_shipping
from tests.support import asgi_client, data

ORDERS = 24
POSTGRES_ONLY = pytest.mark.skipif(
    not os.environ.get("EMPORIUM_DATABASE_URL", "").startswith("postgresql"),
    reason="needs PostgreSQL: SQLite runs one writer at a time, so nothing races there",
)


class ConfirmationFailed(RuntimeError):
    """A confirmation that fails after it took its number (a later step of its transaction refused)."""


async def _pending_orders(ctx: AppContext, count: int) -> tuple[list[int], dict[str, str]]:
    """``count`` cash-on-delivery orders, committed, waiting for staff; and a staff member's headers."""
    async with asgi_client(create_app(ctx=ctx)) as client:
        shopper = await sign_up(client, "racer@example.com")
        staff = await staff_headers(client, ctx, email="racing-staff@example.com", role="admin")
        me = data(await client.get("/api/v1/users/profile", headers=shopper.headers))
        async with ctx.db.session() as session:
            made = await make_product(session, "Race tee", prices=("9.00",), on_hand=10 * count)
            method = await make_shipping(session)
        ids = []
        for _ in range(count):
            async with ctx.db.session() as session:
                await make_cart(session, [(made.variants[0], 1)], user_id=me["id"])
            body = {
                "shipping_address": ADDRESS,
                "shipping_method_id": method.id,
                "payment_method": "cash_on_delivery",
            }
            ids.append(
                data(await client.post("/api/v1/orders", json=body, headers=shopper.headers), 201)["id"]
            )
    return ids, staff


async def _numbers(ctx: AppContext) -> dict[int, str | None]:
    async with ctx.db.session() as session:
        rows = await session.execute(select(Order.id, Order.invoice_number))
        return {order_id: number for order_id, number in rows.all()}


def _values(numbers: list[str | None]) -> list[int]:
    assert all(number is not None for number in numbers), numbers
    return sorted(int(str(number).rsplit("-", 1)[1]) for number in numbers)


@POSTGRES_ONLY
async def test_racing_confirmations_leave_no_gap_even_when_some_roll_back(
    make_committed_context: MakeContext,
) -> None:
    ctx = make_committed_context()
    ids, _ = await _pending_orders(ctx, ORDERS)
    # The series' counter row does not exist yet: the first numbers also race to create it.
    start = asyncio.Event()

    async def confirm(i: int, order_id: int) -> bool:
        await start.wait()
        try:
            async with ctx.db.session() as session:
                order = await OrderRepository(session).order(order_id, lock=True)
                assert order is not None
                await lifecycle.move(session, ctx.settings, order, OrderStatus.CONFIRMED, actor_user_id=None)
                assert order.invoice_number is not None
                if i % 3 == 0:
                    # Let others queue on the counter behind this transaction before it rolls back.
                    await asyncio.sleep(0.05)
                    raise ConfirmationFailed(order.invoice_number)
        except ConfirmationFailed:
            return False
        return True

    tasks = [asyncio.create_task(confirm(i, order_id)) for i, order_id in enumerate(ids)]
    await asyncio.sleep(0)
    start.set()
    committed = await asyncio.gather(*tasks)

    numbers = await _numbers(ctx)
    kept = [numbers[order_id] for order_id, ok in zip(ids, committed, strict=True) if ok]
    rolled_back = [numbers[order_id] for order_id, ok in zip(ids, committed, strict=True) if not ok]
    assert len(kept) == ORDERS - len(range(0, ORDERS, 3))
    assert rolled_back == [None] * len(range(0, ORDERS, 3))
    assert _values(kept) == list(range(1, len(kept) + 1))
    async with ctx.db.session() as session:
        counters = (await session.execute(select(InvoiceCounter))).scalars().all()
        assert [counter.last_value for counter in counters] == [len(kept)]


@POSTGRES_ONLY
async def test_staff_confirming_at_once_through_the_api_get_consecutive_numbers(
    make_committed_context: MakeContext,
) -> None:
    ctx = make_committed_context()
    ids, staff = await _pending_orders(ctx, ORDERS)
    async with asgi_client(create_app(ctx=ctx)) as client:
        responses = await asyncio.gather(
            *(
                client.put(f"/api/v1/admin/orders/{order_id}", json={"status": "confirmed"}, headers=staff)
                for order_id in ids
            )
        )
    answered = [data(response)["invoice_number"] for response in responses]
    assert _values(answered) == list(range(1, ORDERS + 1))
    stored = await _numbers(ctx)
    assert [stored[order_id] for order_id in ids] == answered
