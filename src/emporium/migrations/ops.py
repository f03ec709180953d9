"""Operations that future migrations share.

An index on a big table (products, orders, order lines, stock movements, jobs) is built with
``create_index_concurrently``: on PostgreSQL ``CREATE INDEX CONCURRENTLY`` lets the shop keep selling while
the index builds (a plain ``CREATE INDEX`` blocks every write to the table until it is done, minutes at
millions of rows), at the price of running outside the migration's transaction. SQLite has no such option
and builds it as usual, inside the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op


def _is_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def create_index_concurrently(
    name: str,
    table: str,
    columns: Sequence[str | sa.TextClause],
    *,
    unique: bool = False,
    where: str | None = None,
    postgresql_using: str | None = None,
) -> None:
    """Build the index without locking writes out on PostgreSQL.

    The migration's transaction is committed first (``autocommit_block``), so put this last in a migration or
    in a migration of its own. ``IF NOT EXISTS`` makes a rerun after an interrupted build harmless, but an
    interrupted concurrent build leaves an INVALID index behind: drop it and run the migration again.
    ``where`` makes a partial index (the same SQL condition on both databases). ``postgresql_using`` names
    another index method than a B-tree on PostgreSQL (``gin`` for a trigram index, whose operator class
    follows the column: ``sa.text("lower(name) gin_trgm_ops")``).
    """
    partial: dict[str, Any] = (
        {} if where is None else {"postgresql_where": sa.text(where), "sqlite_where": sa.text(where)}
    )
    if not _is_postgresql():
        op.create_index(name, table, list(columns), unique=unique, **partial)
        return
    method = {"postgresql_using": postgresql_using} if postgresql_using else {}
    with op.get_context().autocommit_block():
        op.create_index(
            name,
            table,
            list(columns),
            unique=unique,
            postgresql_concurrently=True,
            if_not_exists=True,
            **partial,
            **method,
        )


def drop_index_concurrently(name: str, table: str) -> None:
    if not _is_postgresql():
        op.drop_index(name, table_name=table)
        return
    with op.get_context().autocommit_block():
        op.drop_index(name, table_name=table, postgresql_concurrently=True, if_exists=True)
