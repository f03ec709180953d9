"""Audit entries: written beside the change they record, read newest first a page at a time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, and_, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.audit.models import AuditEntry
from emporium.audit.schemas import AuditFilters
from emporium.core.keyset import Cursor


class AuditRepository:
    def add(self, session: AsyncSession, entry: AuditEntry) -> None:
        session.add(entry)

    async def add_many(self, session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
        """Many entries in one batched INSERT (no row is read back)."""
        if rows:
            await session.execute(insert(AuditEntry), list(rows))

    async def page(
        self, session: AsyncSession, filters: AuditFilters, after: Cursor | None, limit: int
    ) -> list[AuditEntry]:
        """Newest first; ``limit`` + 1 rows, so the caller knows whether another page follows."""
        query = _filtered(select(AuditEntry), filters)
        if after is not None:
            query = query.where(AuditEntry.id < after.id)
        query = query.order_by(AuditEntry.id.desc()).limit(limit + 1)
        return list((await session.scalars(query)).all())

    async def for_object(
        self, session: AsyncSession, object_type: str, object_id: str, limit: int
    ) -> list[AuditEntry]:
        query = (
            select(AuditEntry)
            .where(AuditEntry.object_type == object_type, AuditEntry.object_id == object_id)
            .order_by(AuditEntry.id.desc())
            .limit(limit)
        )
        return list((await session.scalars(query)).all())


def _filtered(query: Select[Any], filters: AuditFilters) -> Select[Any]:
    conditions = []
    if filters.actor_email:
        conditions.append(AuditEntry.actor_email == filters.actor_email.lower())
    if filters.action:
        # "order" finds every order action; "order.refunded" just that one.
        conditions.append(
            or_(AuditEntry.action == filters.action, AuditEntry.action.startswith(filters.action + "."))
        )
    if filters.object_type:
        conditions.append(AuditEntry.object_type == filters.object_type)
    if filters.object_id:
        conditions.append(
            or_(AuditEntry.object_id == filters.object_id, AuditEntry.object_label == filters.object_id)
        )
    if filters.created_from:
        conditions.append(AuditEntry.created_at >= filters.created_from)
    if filters.created_until:
        conditions.append(AuditEntry.created_at < filters.created_until)
    return query.where(and_(*conditions)) if conditions else query


audit_repository = AuditRepository()
