"""Stamps that change when watched tables change, announced only after the commit.

A domain registers the tables whose rows feed something cached, and the stamp key to change with
``watch(("products", ...), "catalog:version")``, from its ``install`` in the wiring step (emporium/install.py;
watching again changes nothing). Every session then records, without the domain's code
doing anything, which stamps its writes touch: objects of a watched table flushed as new, changed or
deleted, and INSERT, UPDATE or DELETE statements on a watched table sent through ``Session.execute``
(ORM-enabled or Core, and plain-text SQL that starts with one of those verbs). Once the transaction has
committed, ``Database.session()`` hands the stamps to an announcer (``announce_to(cache)``), which gives
each a new random value in the shared cache, so every process reading the stamp sees the change on its
next request. A stamp is never changed before the commit: a reader in between could otherwise store old
rows under the new stamp.

Not seen: SQL sent on ``session.connection()`` directly (its sender calls ``wrote``), and database
triggers.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import structlog
from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, UOWTransaction
from sqlalchemy.sql.elements import TextClause

from emporium.core.cache import Cache

log = structlog.get_logger(__name__)

# A stamp outlives any page cached under it by far; a lost stamp only costs misses (see read_stamp).
STAMP_TTL_SECONDS = 30 * 24 * 3600

_PENDING = "emporium_changes_pending"
_COMMITTED = "emporium_changes_committed"
_TEXT_DML = re.compile(r'^\s*(?:insert\s+into|update|delete\s+from)\s+"?(\w+)', re.IGNORECASE)

_watched: dict[str, frozenset[str]] = {}

Announcer = Callable[[frozenset[str]], Awaitable[None]]


def watch(tables: Iterable[str], stamp: str) -> None:
    """Change ``stamp`` after every commit that wrote to one of ``tables``."""
    for table in tables:
        _watched[table] = _watched.get(table, frozenset()) | {stamp}


def watched() -> dict[str, frozenset[str]]:
    return dict(_watched)


def _mark(session: Session, table: str | None) -> None:
    stamps = _watched.get(table or "")
    if stamps:
        session.info.setdefault(_PENDING, set()).update(stamps)


def wrote(session: Session, tables: Iterable[str]) -> None:
    """Record writes this module cannot see (a COPY on the driver's connection) as if it had."""
    for table in tables:
        _mark(session, table)


def _table_of(target: Any) -> str | None:
    name = getattr(target, "name", None)
    return name if isinstance(name, str) else None


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _flush_context: UOWTransaction) -> None:
    if not _watched:
        return
    for obj in (*session.new, *session.deleted):
        for table in inspect(obj).mapper.tables:
            _mark(session, _table_of(table))
    for obj in session.dirty:
        if session.is_modified(obj, include_collections=False):
            for table in inspect(obj).mapper.tables:
                _mark(session, _table_of(table))


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    if not _watched:
        return
    statement = state.statement
    if state.is_insert or state.is_update or state.is_delete:
        _mark(state.session, _table_of(getattr(statement, "table", None)))
    elif isinstance(statement, TextClause):
        found = _TEXT_DML.match(statement.text)
        if found:
            _mark(state.session, found.group(1).lower())


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        session.info.setdefault(_COMMITTED, set()).update(pending)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    # What is still pending when the outermost transaction ends was never committed.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def take_committed(session: Session) -> frozenset[str]:
    """The stamps this session's commits have changed since the last call."""
    return frozenset(session.info.pop(_COMMITTED, None) or ())


def new_stamp() -> str:
    return secrets.token_hex(8)


async def read_stamp(cache: Cache, key: str) -> str:
    """The stamp's current value; a missing stamp is given a fresh one (never a value used before)."""
    value = await cache.get(key)
    if value is None:
        value = new_stamp()
        await cache.set(key, value, STAMP_TTL_SECONDS)
    return value


def announce_to(cache: Cache) -> Announcer:
    """An announcer that changes the stamps in ``cache``; failures are logged, never raised (the data
    is already committed, and the pages cached under the old stamp expire on their own)."""

    async def announce(stamps: frozenset[str]) -> None:
        for stamp in sorted(stamps):
            try:
                await cache.set(stamp, new_stamp(), STAMP_TTL_SECONDS)
            except Exception as exc:
                log.warning("cache_stamp_not_changed", stamp=stamp, error=repr(exc))

    return announce
