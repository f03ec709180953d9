"""Saved searches of the order table, one list per staff member: a name and the table's query string. Only
their owner lists, uses or deletes them; another member's id is simply not found."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.audit.schemas import Actor, AuditedObject
from emporium.audit.service import audit
from emporium.core.errors import Conflict, NotFound
from emporium.orders.models import SavedOrderFilter
from emporium.orders.schemas import SavedFilterRead
from emporium.orders.search_repository import SavedFilterRepository

MAX_SAVED_FILTERS = 30


def _read(row: SavedOrderFilter) -> SavedFilterRead:
    return SavedFilterRead(id=row.id, name=row.name, query=row.query)


def filter_not_found() -> NotFound:
    return NotFound("No such saved filter.")


class SavedFilters:
    async def of(self, session: AsyncSession, user_id: int) -> list[SavedFilterRead]:
        return [_read(row) for row in await SavedFilterRepository(session).of(user_id)]

    async def save(self, session: AsyncSession, actor: Actor, name: str, query: str) -> SavedFilterRead:
        """Save ``query`` (already checked by the caller) under ``name`` for the acting staff member; a name
        they used before is replaced."""
        assert actor.user_id is not None
        user_id = actor.user_id
        repo = SavedFilterRepository(session)
        row = await repo.named(user_id, name)
        before = row.query if row is not None else None
        if row is None:
            if await repo.count(user_id) >= MAX_SAVED_FILTERS:
                raise Conflict(
                    f"You have {MAX_SAVED_FILTERS} saved filters; delete one before saving another."
                )
            row = SavedOrderFilter(user_id=user_id, name=name, query=query)
            session.add(row)
        else:
            row.query = query
        await session.flush()
        audit.record(
            session,
            actor,
            "saved_filter.saved",
            AuditedObject("saved_filter", row.id, name),
            {"query": (before, query)},
        )
        return _read(row)

    async def delete(self, session: AsyncSession, actor: Actor, filter_id: int) -> str:
        """Delete the acting member's own filter and give its name; anyone else's is not found."""
        assert actor.user_id is not None
        name = await SavedFilterRepository(session).delete(actor.user_id, filter_id)
        if name is None:
            raise filter_not_found()
        audit.record(session, actor, "saved_filter.deleted", AuditedObject("saved_filter", filter_id, name))
        return name


saved_filters = SavedFilters()
