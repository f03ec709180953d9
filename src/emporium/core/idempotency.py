"""Idempotency keys: the same key and body gets the first result again; the same key with another body
is refused (DESIGN.md conventions).

``claim`` is called inside the transaction that does the work. The key's row is inserted there, so a
concurrent request with the same key waits on the primary key until the first transaction ends: if it
committed, the waiter finds the row and replays its result; if it rolled back (the order was refused), the
waiter goes ahead as if it were first. Either way the work is done at most once.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Header
from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.errors import Conflict, ValidationFailed
from emporium.core.idempotency_models import IdempotencyKey

_KEY = re.compile(r"[A-Za-z0-9._:\-]{8,200}")


class IdempotencyKeyReused(Conflict):
    code = "IDEMPOTENCY_KEY_REUSED"
    message = "This Idempotency-Key was already used with a different request."


async def _idempotency_key(
    idempotency_key: Annotated[
        str | None,
        Header(
            description="A unique value per intended operation (a UUID); a retry with the same key and body "
            "gets the first result.",
        ),
    ] = None,
) -> str | None:
    if idempotency_key is None:
        return None
    if not _KEY.fullmatch(idempotency_key):
        raise ValidationFailed(
            details=[
                {
                    "field": "Idempotency-Key",
                    "message": "8 to 200 characters: letters, digits, '.', '_', ':' or '-'.",
                }
            ]
        )
    return idempotency_key


IdempotencyKeyHeader = Annotated[str | None, Depends(_idempotency_key)]


def _same_key(scope: str, operation: str, key: str) -> tuple[ColumnElement[bool], ...]:
    return (IdempotencyKey.scope == scope, IdempotencyKey.operation == operation, IdempotencyKey.key == key)


def request_digest(body: Any) -> str:
    """A digest of the request as parsed (key order and spacing do not matter)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def claim(
    session: AsyncSession, *, scope: str, operation: str, key: str, digest: str
) -> IdempotencyKey | None:
    """None when this request is the first with the key (the key is now taken, in this transaction); the
    first request's row when it is a retry. Raises IdempotencyKeyReused for the same key with another body."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    inserted = await session.execute(
        insert(IdempotencyKey)
        .values(scope=scope, operation=operation, key=key, request_digest=digest)
        .on_conflict_do_nothing(index_elements=["scope", "operation", "key"])
        .returning(IdempotencyKey.key)
    )
    if inserted.scalar_one_or_none() is not None:
        return None
    first = (
        await session.execute(
            select(IdempotencyKey)
            .where(*_same_key(scope, operation, key))
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    if first.request_digest != digest:
        raise IdempotencyKeyReused()
    return first


async def result_of(session: AsyncSession, *, scope: str, operation: str, key: str) -> int | None:
    """What the request that took the key made (``complete``'s resource id); None if nothing yet."""
    found = await session.execute(select(IdempotencyKey.resource_id).where(*_same_key(scope, operation, key)))
    value = found.scalar_one_or_none()
    return int(value) if value is not None else None


async def forget_older_than(session: AsyncSession, cutoff: datetime) -> int:
    """Drop keys older than ``cutoff`` (clients retry within minutes, not weeks); how many went."""
    result = await session.execute(
        delete(IdempotencyKey)
        .where(IdempotencyKey.created_at < cutoff)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def complete(session: AsyncSession, *, scope: str, operation: str, key: str, resource_id: int) -> None:
    """Record what the first request made, for the retries to return."""
    await session.execute(
        update(IdempotencyKey)
        .where(*_same_key(scope, operation, key))
        .values(resource_id=resource_id)
        .execution_options(synchronize_session=False)
    )
