"""What every part of the seeding shares: staff members, the COPY helper and id reservation."""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

# Rows per COPY: large enough that the round trips do not count, small enough to keep memory flat.
COPY_BATCH = 50_000


@dataclass(frozen=True)
class StaffMember:
    id: int
    email: str
    role: str
    # The address their back-office changes came from (the audit log keeps it).
    ip_address: str


def require_loopback_postgres(url: str) -> None:
    """Refuse any database but a PostgreSQL server on this machine's loopback interface."""
    if not url:
        raise SystemExit("set EMPORIUM_DATABASE_URL to the database to fill")
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise SystemExit(f"EMPORIUM_DATABASE_URL is not a database URL: {exc}") from exc
    if not parsed.drivername.startswith("postgresql"):
        raise SystemExit(f"refusing {parsed.drivername}: this seeding fills PostgreSQL only")
    host = parsed.host or ""
    try:
        address = ipaddress.ip_address(socket.gethostbyname(host))
    except (OSError, ValueError) as exc:
        raise SystemExit(f"refusing {host!r}: it does not resolve to an address ({exc})") from exc
    if not address.is_loopback:
        raise SystemExit(f"refusing {host}: this seeding only writes to a database on a loopback address")


def asyncpg_dsn(url: str) -> str:
    """The SQLAlchemy URL as asyncpg's connection string."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def as_json(value: object) -> str:
    """JSON columns (``json``, not ``jsonb``) go through COPY as text."""
    return json.dumps(value, separators=(",", ":"))


async def reserve_ids(conn: Any, table: str, count: int) -> list[int]:
    """``count`` ids from the table's own sequence, so rows can be sent by COPY with their ids and the
    sequence stays ahead of them."""
    if count == 0:
        return []
    rows = await conn.fetch(
        "SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, $2)", table, count
    )
    return [int(row[0]) for row in rows]


async def copy_rows(conn: Any, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> int:
    """COPY ``rows`` into ``table`` in batches; how many were sent."""
    for start in range(0, len(rows), COPY_BATCH):
        await conn.copy_records_to_table(
            table, records=rows[start : start + COPY_BATCH], columns=list(columns)
        )
    return len(rows)


async def drop_foreign_keys(conn: Any, tables: Sequence[str]) -> list[tuple[str, str, str]]:
    """Drop the foreign keys of ``tables`` while they are filled (``restore_foreign_keys`` adds them back,
    in the same transaction): PostgreSQL then checks each constraint once over the whole table instead of
    once per row copied, its own advice for populating a database."""
    found = await conn.fetch(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
        "FROM pg_constraint WHERE contype = 'f' AND conrelid = ANY($1::regclass[]) ORDER BY conname",
        list(tables),
    )
    dropped = [(str(table), str(name), str(definition)) for table, name, definition in found]
    for table, name, _definition in dropped:
        await conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    return dropped


async def restore_foreign_keys(conn: Any, dropped: list[tuple[str, str, str]]) -> None:
    """Add the constraints back: each one validates every row, so nothing inconsistent is committed."""
    for table, name, definition in dropped:
        await conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
