"""The audit log's service: every staff change calls ``audit.record`` inside the transaction that makes it,
so the change and its entry are committed together or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.audit.models import AuditEntry
from emporium.audit.repository import audit_repository
from emporium.audit.schemas import Actor, AuditedObject, AuditFilters, AuditRecord, AuditValue
from emporium.core.db import utcnow
from emporium.core.keyset import KeysetPage, decode_cursor, encode_cursor

Change = tuple[object, object]


def plain(value: object) -> AuditValue:
    """A value as the log keeps it: text or a number, whatever type the field had."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def diff(before: Mapping[str, object], after: Mapping[str, object]) -> dict[str, Change]:
    """The fields whose value changed, each as (before, after)."""
    return {
        name: (before.get(name), value)
        for name, value in after.items()
        if plain(before.get(name)) != plain(value)
    }


def _entry(
    actor: Actor, action: str, obj: AuditedObject, changes: Mapping[str, Change] | None
) -> dict[str, object]:
    written = {name: [plain(old), plain(new)] for name, (old, new) in (changes or {}).items()}
    return {
        "created_at": utcnow(),
        "actor_user_id": actor.user_id,
        "actor_email": actor.email.lower() if actor.email else None,
        "ip_address": actor.ip_address,
        "action": action,
        "object_type": obj.type,
        "object_id": None if obj.id is None else str(obj.id),
        "object_label": obj.label[:255] if obj.label else None,
        "changes": json.dumps(written, sort_keys=True) if written else None,
    }


class AuditService:
    def record(
        self,
        session: AsyncSession,
        actor: Actor,
        action: str,
        obj: AuditedObject,
        changes: Mapping[str, Change] | None = None,
    ) -> None:
        """Add the entry to the session's transaction; it is written when the change is."""
        audit_repository.add(session, AuditEntry(**_entry(actor, action, obj, changes)))

    async def record_many(
        self,
        session: AsyncSession,
        actor: Actor,
        entries: Sequence[tuple[str, AuditedObject, Mapping[str, Change] | None]],
    ) -> None:
        """Several entries ``(action, object, changes)`` by one actor, written now in one batched INSERT
        (a change to a hundred rows records a hundred entries without a hundred statements)."""
        await audit_repository.add_many(
            session, [_entry(actor, action, obj, changes) for action, obj, changes in entries]
        )

    async def page(
        self, session: AsyncSession, filters: AuditFilters, after: str | None, limit: int
    ) -> KeysetPage[AuditRecord]:
        rows = await audit_repository.page(session, filters, decode_cursor(after), limit)
        more = len(rows) > limit
        shown = [_record(row) for row in rows[:limit]]
        next_cursor = encode_cursor(None, shown[-1].id) if more and shown else None
        return KeysetPage(rows=shown, next_cursor=next_cursor)

    async def for_object(
        self, session: AsyncSession, object_type: str, object_id: int | str, limit: int = 50
    ) -> list[AuditRecord]:
        rows = await audit_repository.for_object(session, object_type, str(object_id), limit)
        return [_record(row) for row in rows]


def _record(row: AuditEntry) -> AuditRecord:
    return AuditRecord(
        id=row.id,
        created_at=row.created_at,
        actor_user_id=row.actor_user_id,
        actor_email=row.actor_email,
        ip_address=row.ip_address,
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        object_label=row.object_label,
        changes=json.loads(row.changes) if row.changes else {},
    )


audit = AuditService()
