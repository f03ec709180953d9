"""The customer search reads its text as one kind: a whole e-mail address finds the customer with that
address (in any case) and no address merely holding it; a piece of an address or a name is still found
anywhere; the CSV export of a search follows the same reading. Each kind costs one statement however many
customers match."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from emporium.accounts.models import User
from emporium.core.context import AppContext
from tests.admin.conftest import StaffClientFactory
from tests.support import count_statements


async def _customers(ctx: AppContext, *emails: str) -> None:
    async with ctx.db.session() as session:
        session.add_all(
            User(email=email, first_name="Ada", last_name="Lovelace", phone="+12025550143", role="customer")
            for email in emails
        )


async def test_a_whole_address_finds_that_customer_alone(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    await _customers(ctx, "ada@example.com", "grada@example.com", "ada@example.com.au")
    agent = await staff_client("support")
    found = await agent.get("/admin/customers", params={"q": " ADA@Example.com "})
    assert found.status_code == 200
    assert ">ada@example.com<" in found.text
    assert "grada@example.com" not in found.text
    assert "ada@example.com.au" not in found.text
    for piece in ("ada@", "@example.com", "ada@example"):
        page = await agent.get("/admin/customers", params={"q": piece})
        assert ">grada@example.com<" in page.text, piece
        assert ">ada@example.com.au<" in page.text, piece
    nobody = await agent.get("/admin/customers", params={"q": "ada@example.org"})
    assert "No customer matches" in nobody.text


async def test_the_export_reads_the_search_the_same_way(
    ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    await _customers(ctx, "ada@example.com", "grada@example.com")
    admin = await staff_client("admin")
    response = await admin.get("/admin/customers", params={"q": "Ada@Example.com", "format": "csv"})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.text)))
    assert [row[1] for row in rows[1:]] == ["ada@example.com"]


@pytest.mark.parametrize("q", ["lovelace", "ada@example.com", "(202) 555-0143"])
async def test_one_statement_per_search_however_many_match(
    ctx: AppContext, engine: AsyncEngine, staff_client: StaffClientFactory, q: str
) -> None:
    await _customers(ctx, "ada@example.com")
    agent = await staff_client("support")

    async def count(text: str) -> int:
        with count_statements(engine) as statements:
            assert (await agent.get("/admin/customers", params={"q": text})).status_code == 200
        return len(statements)

    few = await count(q)
    await _customers(ctx, *(f"ada{n}@example.org" for n in range(30)))
    assert await count(q) == few
    # Words ask PostgreSQL first for plans made for their text (core/db.py plan_for_each_value).
    words = q == "lovelace" and engine.dialect.name == "postgresql"
    assert few == await count("") + (1 if words else 0)
