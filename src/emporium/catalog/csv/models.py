"""A catalog CSV uploaded in the back office, kept between its checked preview and the staff member's "Apply".

The row belongs to the staff member who uploaded it (only they may apply it) and expires; it also carries the
state of the import once applied (queued, running, done, failed) and its report, which the progress page
reads. The file's text is dropped once the import has run.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from emporium.core.db import Base, BigId, IdMixin, UTCDateTime, utcnow


class ImportStatus(StrEnum):
    CHECKED = "checked"  # previewed without a problem, waiting for "Apply"
    QUEUED = "queued"  # applied as a background job that has not started
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class CatalogImport(IdMixin, Base):
    __tablename__ = "catalog_imports"
    __table_args__ = (Index("ix_catalog_imports_expires_at", "expires_at"),)

    # The id in the back office's URLs: not guessable, though the owner check holds without it.
    token: Mapped[str] = mapped_column(String(64), unique=True)
    staff_user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    rows: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=ImportStatus.CHECKED)
    # The counts of the import (and the rows it refused when the catalog changed since the preview).
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    job_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
