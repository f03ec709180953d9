"""What the audit log records and how it is read back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

AuditValue = str | int | bool | None


@dataclass(frozen=True)
class Actor:
    """Who made a change: the staff member (copied, so the entry outlives their account) and their address."""

    user_id: int | None
    email: str | None
    ip_address: str | None = None


@dataclass(frozen=True)
class AuditedObject:
    """What was changed: a type (``order``, ``user``, ``product``...), its id and a label people recognise
    (the order number, the e-mail), kept as text so the entry reads the same after the object is gone."""

    type: str
    id: int | str | None
    label: str | None = None


@dataclass(frozen=True)
class AuditFilters:
    actor_email: str | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    created_from: datetime | None = None
    created_until: datetime | None = None


@dataclass(frozen=True)
class AuditRecord:
    id: int
    created_at: datetime
    actor_user_id: int | None
    actor_email: str | None
    ip_address: str | None
    action: str
    object_type: str
    object_id: str | None
    object_label: str | None
    changes: dict[str, list[AuditValue]] = field(default_factory=dict)
