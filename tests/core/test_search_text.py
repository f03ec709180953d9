"""A search box's text is read as one kind before anything is queried (core/search_text.py), and the
contains-matches behind words are planned for their own text on PostgreSQL (core/db.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from emporium.core.db import Database, plan_for_each_value
from emporium.core.search_text import SearchKind, classify, is_order_number
from emporium.settings import AppSettings
from tests.support import count_statements


@pytest.mark.parametrize(
    "typed", ["ORD-2026-000123", "ord-2026-000123", "  Ord-2026-1234567 ", "ABCD-2024-7"]
)
def test_order_numbers_in_any_case(typed: str) -> None:
    assert is_order_number(typed)
    assert classify(typed) is SearchKind.ORDER_NUMBER
    # A text written as a number is a number even when some parser could read it as a phone.
    assert classify(typed, {"+12025550143"}) is SearchKind.ORDER_NUMBER


@pytest.mark.parametrize("typed", ["Ada@Example.com", " grace.hopper+navy@mail.example ", "a@b.co.uk"])
def test_whole_email_addresses(typed: str) -> None:
    assert classify(typed) is SearchKind.EMAIL


@pytest.mark.parametrize("typed", ["ada@", "@example.com", "ada@example", "ada@example.", "ada @example.com"])
def test_pieces_of_an_address_are_words(typed: str) -> None:
    assert classify(typed) is SearchKind.WORDS


def test_a_phone_is_what_the_caller_reads_as_one() -> None:
    assert classify("(202) 555-0143", {"+12025550143"}) is SearchKind.PHONE
    # The same digits nobody could dial stay words (the caller found no number in them).
    assert classify("(202) 555-0143") is SearchKind.WORDS


@pytest.mark.parametrize(
    "typed",
    ["Grace Hopper", "hopper", "123", "MITHAI-070451-1000G", "ORD-2026-", "ORD 2026 000123", "100%", "a_b"],
)
def test_everything_else_is_words(typed: str) -> None:
    assert not is_order_number(typed)
    assert classify(typed) is SearchKind.WORDS


async def test_custom_plans_are_asked_for_once_per_transaction(
    engine: AsyncEngine, settings: AppSettings
) -> None:
    # A database of its own: the setting must be seen to end with the transaction that asked for it.
    database = Database(settings.database_url)
    try:
        async with database.session() as session:
            postgresql = session.get_bind().dialect.name == "postgresql"
            with count_statements(database.engine) as statements:
                await plan_for_each_value(session)
                await plan_for_each_value(session)
            if postgresql:
                assert statements == ["SET LOCAL plan_cache_mode = force_custom_plan"]
                assert await session.scalar(text("SHOW plan_cache_mode")) == "force_custom_plan"
            else:
                assert statements == []  # SQLite has no plan cache of this kind
        if postgresql:
            async with database.session() as session:
                assert await session.scalar(text("SHOW plan_cache_mode")) == "auto"
                with count_statements(database.engine) as statements:
                    await plan_for_each_value(session)
                assert len(statements) == 1  # a new transaction asks again
    finally:
        await database.dispose()
