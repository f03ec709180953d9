"""The demo package's one table: which one-off data loads already ran."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from emporium.core.db import Base, UTCDateTime, utcnow


class AppliedSeed(Base):
    """Which one-off data loads ran, so running setup again never loads them twice."""

    __tablename__ = "applied_seeds"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
