"""The order table's search box reads its text as one kind and runs that kind's lookup alone: a whole order
number, a whole e-mail address, a phone number, or words (a piece of the name or of the address, digits at
the number's end). Each kind costs the same statements however many orders match, and on PostgreSQL each
is answered from an index (migration 0018)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from emporium.core.context import AppContext
from emporium.orders.models import Order
from tests.admin.conftest import StaffClientFactory
from tests.admin.orders.conftest import goods, make_order, numbers_in
from tests.admin.plans import indexes_read, statements_sent, the_one
from tests.support import count_statements


async def _numbers(client: httpx.AsyncClient, q: str) -> set[str]:
    response = await client.get("/admin/orders", params={"q": q})
    assert response.status_code == 200, response.text
    return set(numbers_in(response.text))


async def _hopper_orders(ctx: AppContext, count: int = 1) -> list[Order]:
    async with ctx.db.session() as session:
        made = await goods(session)
        return [
            await make_order(
                session,
                made,
                contact_name="Grace Hopper",
                contact_email="grace@navy.example",
                contact_phone="+12025550143",
            )
            for _ in range(count)
        ]


async def test_each_kind_finds_what_it_names(ctx: AppContext, staff_client: StaffClientFactory) -> None:
    grace = (await _hopper_orders(ctx))[0]
    async with ctx.db.session() as session:
        made = await goods(session)
        amazing = await make_order(
            session, made, contact_name="Amazing Grace", contact_email="amazing.grace@navy.example"
        )
        digits = await make_order(
            session, made, contact_name="Ada Byron", contact_email="ada1985@example.com"
        )
    admin = await staff_client("admin")
    # A whole number, in any case: that order.
    assert await _numbers(admin, grace.number.lower()) == {grace.number}
    assert await _numbers(admin, "ORD-1999-000001") == set()
    # A whole address, in any case: the orders placed with it, not those of an address holding it.
    assert await _numbers(admin, "Grace@Navy.example") == {grace.number}
    # A piece of an address, or of a name: every order holding it.
    assert await _numbers(admin, "grace@navy") == {grace.number, amazing.number}
    assert await _numbers(admin, "GRACE") == {grace.number, amazing.number}
    assert await _numbers(admin, "hopper") == {grace.number}
    # Digits: at the number's end, or anywhere in the name or the address.
    assert await _numbers(admin, str(int(digits.number[-6:]))) == {digits.number}
    assert await _numbers(admin, "1985") == {digits.number}
    # A phone number in any format: the orders with that number.
    assert await _numbers(admin, "(202) 555-0143") == {grace.number}
    assert await _numbers(admin, "+1 202 555 0199") == set()


async def test_statements_per_kind_do_not_grow_with_the_orders_found(
    ctx: AppContext, engine: AsyncEngine, staff_client: StaffClientFactory
) -> None:
    first = (await _hopper_orders(ctx))[0]
    support = await staff_client("support")
    kinds = {
        "number": first.number,
        "email": "grace@navy.example",
        "phone": "+1 202-555-0143",
        "words": "hopper",
        "digits": str(int(first.number[-6:])),
    }

    async def counts() -> dict[str, int]:
        found = {}
        for kind, q in {"none": "", **kinds}.items():
            with count_statements(engine) as statements:
                response = await support.get("/admin/orders", params={"q": q})
            assert response.status_code == 200
            found[kind] = len(statements)
        return found

    few = await counts()
    await _hopper_orders(ctx, 30)
    assert await counts() == few
    # The search adds no statement to the table's own; on PostgreSQL words first ask for plans made for
    # their text (core/db.py plan_for_each_value).
    table = few["none"]
    words = table + (1 if engine.dialect.name == "postgresql" else 0)
    assert few == {
        "none": table,
        "number": table,
        "email": table,
        "phone": table,
        "words": words,
        "digits": words,
    }


@pytest.mark.parametrize(
    ("q", "indexes"),
    [
        ("{number}", {"uq_orders_number"}),
        ("Grace@Navy.example", {"ix_orders_contact_email"}),
        ("(202) 555-0143", {"ix_orders_contact_phone"}),
        ("hopper", {"ix_orders_contact_name_trgm", "ix_orders_contact_email_trgm"}),
        (
            "{digits}",
            {"ix_orders_contact_name_trgm", "ix_orders_contact_email_trgm", "ix_orders_number_tail"},
        ),
    ],
)
async def test_postgresql_answers_each_kind_from_an_index(
    ctx: AppContext, engine: AsyncEngine, staff_client: StaffClientFactory, q: str, indexes: set[str]
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no trigram index and scans for words")
    order = (await _hopper_orders(ctx))[0]
    support = await staff_client("support")
    with statements_sent(engine) as sent:
        typed = q.format(number=order.number, digits=str(int(order.number[-6:])))
        assert await _numbers(support, typed) == {order.number}
    search = the_one(sent, "FROM orders", "ORDER BY orders.created_at DESC")
    assert indexes <= await indexes_read(ctx.db, *search)
