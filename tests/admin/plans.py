"""What PostgreSQL answers a request's statements from: the statements a request sends, with their values,
and the indexes the planner reads for one of them."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from emporium.core.db import Database

_INDEX_READ = re.compile(r"(?:Index Scan|Index Only Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\w+)")


@contextmanager
def statements_sent(engine: AsyncEngine) -> Iterator[list[tuple[str, Any]]]:
    """Every SELECT sent through ``engine`` while the block runs, with its parameters."""
    sent: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


def the_one(sent: list[tuple[str, Any]], *parts: str) -> tuple[str, Any]:
    """The statement holding every one of ``parts``; there must be exactly one."""
    found = [item for item in sent if all(part in item[0] for part in parts)]
    assert len(found) == 1, [statement[:120] for statement, _ in sent]
    return found[0]


async def indexes_read(
    db: Database, statement: str, parameters: Any, *, without: Collection[str] = ()
) -> set[str]:
    """The indexes PostgreSQL's plan of ``statement`` reads when it may neither read a table whole nor walk
    an index in its order: the indexes whose conditions the statement's own conditions can use. The test
    tables are small, so without this the planner would rightly read them whole. ``without`` names indexes
    dropped for the question (in a savepoint rolled back after it), where a test's few rows make another
    index look better than it is in a shop. Runs in the test's transaction, which sees the test's rows."""
    async with db.session() as session:
        savepoint = await session.begin_nested()
        connection = await session.connection()
        for index in without:
            await connection.exec_driver_sql(f"DROP INDEX {index}")
        await connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        await connection.exec_driver_sql("SET LOCAL enable_indexscan = off")
        result = await connection.exec_driver_sql("EXPLAIN " + statement, tuple(parameters))
        plan = "\n".join(row[0] for row in result)
        await savepoint.rollback()
    return set(_INDEX_READ.findall(plan))
