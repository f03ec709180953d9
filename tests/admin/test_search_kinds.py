"""The global search reads its text as one kind first: an order number opens the order at once without any
other lookup; an e-mail address looks up that customer alone; anything else goes to the customer and
product lookups. Each kind costs the same statements however much matches, and on PostgreSQL each lookup is
answered from an index (migration 0018)."""

from __future__ import annotations

import itertools

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from emporium.accounts.models import User
from emporium.core.context import AppContext
from tests.admin.conftest import StaffClientFactory
from tests.admin.orders.conftest import goods, make_order
from tests.admin.plans import indexes_read, statements_sent, the_one
from tests.inventory.factory import make_product
from tests.support import count_statements

_serial = itertools.count()


async def _hoppers(ctx: AppContext, count: int) -> None:
    """``count`` customers and ``count`` products that "hopper" and the customers' phone find."""
    async with ctx.db.session() as session:
        for _ in range(count):
            n = next(_serial)
            session.add(
                User(
                    email=f"hopper{n}@example.com",
                    first_name="Grace",
                    last_name="Hopper",
                    phone="+12025550143",
                    role="customer",
                )
            )
            await make_product(session, f"Hopper mug {n}", prices=("9.00",), on_hand=1)


async def _count(engine: AsyncEngine, client: httpx.AsyncClient, q: str) -> int:
    with count_statements(engine) as statements:
        response = await client.get("/admin/search", params={"q": q})
    assert response.status_code in (200, 303)
    return len(statements)


async def test_an_order_number_opens_the_order_with_no_other_lookup(
    ctx: AppContext, engine: AsyncEngine, staff_client: StaffClientFactory
) -> None:
    async with ctx.db.session() as session:
        made = await goods(session)
        order = await make_order(session, made, contact_email="buyer@example.com")
        # A product whose SKU is the number, too: the order still opens at once.
        same = await make_product(session, "Numbered print", prices=("5.00",), on_hand=1)
        same.variants[0].sku = order.number
    admin = await staff_client("admin")
    response = await admin.get("/admin/search", params={"q": order.number.lower()})
    assert response.status_code == 303
    assert response.headers["location"] == f"/admin/orders/{order.id}"
    assert await _count(engine, admin, order.number) == await _count(engine, admin, "") + 1


async def test_a_number_no_order_has_is_looked_up_like_any_text(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    async with ctx.db.session() as session:
        made = await make_product(session, "Poster ABCD", prices=("5.00",), on_hand=1)
        made.variants[0].sku = "ABCD-2024-7"
    admin = await staff_client("admin")
    response = await admin.get("/admin/search", params={"q": "abcd-2024-7"})
    assert response.status_code == 200
    assert "Poster ABCD" in response.text
    assert "SKU ABCD-2024-7" in response.text


async def test_an_address_finds_that_customer_alone(
    ctx: AppContext, engine: AsyncEngine, staff_client: StaffClientFactory
) -> None:
    async with ctx.db.session() as session:
        session.add_all(
            [
                User(email="ada@example.com", first_name="Ada", role="customer"),
                User(email="grada@example.com", first_name="Grada", role="customer"),
            ]
        )
    admin = await staff_client("admin")
    found = await admin.get("/admin/search", params={"q": "ADA@example.com"})
    assert found.status_code == 200
    assert ">ada@example.com<" in found.text
    assert "grada@example.com" not in found.text
    # A piece of an address still finds every address holding it.
    piece = await admin.get("/admin/search", params={"q": "ada@"})
    assert ">ada@example.com<" in piece.text
    assert ">grada@example.com<" in piece.text
    # No product is looked up by an address: the customer's lookup is the only statement added.
    assert await _count(engine, admin, "ada@example.com") == await _count(engine, admin, "") + 1


@pytest.mark.parametrize(("q", "shown"), [("hopper", 5), ("(202) 555-0143", 5), ("ORD-2026-999999", 0)])
async def test_statements_do_not_grow_with_what_matches(
    ctx: AppContext, engine: AsyncEngine, staff_client: StaffClientFactory, q: str, shown: int
) -> None:
    await _hoppers(ctx, 1)
    admin = await staff_client("admin")
    few = await _count(engine, admin, q)
    await _hoppers(ctx, 8)
    page = await admin.get("/admin/search", params={"q": q})
    assert page.text.count("<td>Customer</td>") == shown  # five of a kind at most
    assert await _count(engine, admin, q) == few
    # The customer lookup, the product's SKU and its name (and the ask for plans made for the text on
    # PostgreSQL); a number no order has is first looked up as a number.
    lookups = 3 + (1 if engine.dialect.name == "postgresql" else 0) + (1 if q.startswith("ORD") else 0)
    assert few == await _count(engine, admin, "") + lookups


_TRIGRAMS = {"ix_users_email_trgm", "ix_users_first_name_trgm", "ix_users_last_name_trgm"}


@pytest.mark.parametrize(
    ("q", "statement", "indexes"),
    [
        ("hopper", "ORDER BY users.id DESC", _TRIGRAMS),
        ("Someone@Example.com", "ORDER BY users.id DESC", {"uq_users_email"}),
        ("hopper", "JOIN product_variants", {"ix_product_variants_sku_lower"}),
        ("hopper", "lower(products.name) LIKE", {"ix_products_name_trgm"}),
    ],
)
async def test_postgresql_answers_each_lookup_from_an_index(
    ctx: AppContext,
    engine: AsyncEngine,
    staff_client: StaffClientFactory,
    q: str,
    statement: str,
    indexes: set[str],
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no trigram index and scans for words")
    await _hoppers(ctx, 1)
    admin = await staff_client("admin")
    with statements_sent(engine) as sent:
        assert (await admin.get("/admin/search", params={"q": q})).status_code == 200
    lookup = the_one(sent, statement)
    # Every user of a shop but its staff is a customer: the role's index never narrows a customer search,
    # though at a test's few rows the planner would take it.
    assert indexes <= await indexes_read(ctx.db, *lookup, without={"ix_users_role"})


async def test_sqlite_reads_a_sku_from_its_lower_case_index(
    ctx: AppContext, engine: AsyncEngine, staff_client: StaffClientFactory
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's plan; PostgreSQL's are read above")
    admin = await staff_client("admin")
    with statements_sent(engine) as sent:
        assert (await admin.get("/admin/search", params={"q": "MUG-1"})).status_code == 200
    statement, parameters = the_one(sent, "JOIN product_variants")
    async with ctx.db.session() as session:
        connection = await session.connection()
        plan = await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, tuple(parameters))
        assert "USING INDEX ix_product_variants_sku_lower" in " ".join(str(row[-1]) for row in plan)
