"""The audit log: one row per staff change, written in the transaction of the change itself.

Rows name their object by type and id as plain values, not foreign keys, so an entry outlives the object it
describes; the actor's e-mail is copied for the same reason (an erased or deleted staff member's entries
still say who acted).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from emporium.core.db import Base, IdMixin, UTCDateTime, utcnow


class AuditEntry(IdMixin, Base):
    __tablename__ = "audit_entries"

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_email: Mapped[str | None] = mapped_column(String(320))
    ip_address: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    object_label: Mapped[str | None] = mapped_column(String(255))
    # JSON: {"field": [before, after], ...}; values are strings or numbers as the staff saw them.
    changes: Mapped[str | None] = mapped_column(Text)


Index("ix_audit_entries_created", AuditEntry.created_at, AuditEntry.id)
Index("ix_audit_entries_object", AuditEntry.object_type, AuditEntry.object_id, AuditEntry.id)
Index("ix_audit_entries_actor", AuditEntry.actor_user_id, AuditEntry.id)
Index("ix_audit_entries_action", AuditEntry.action, AuditEntry.id)
