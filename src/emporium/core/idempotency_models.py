"""Idempotency keys of retried writes (create order, pay, refund)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from emporium.core.db import Base, UTCDateTime, utcnow


class IdempotencyKey(Base):
    """The first request made with a key, by one caller, on one operation.

    The row is written in the same transaction as the work it guards, so a concurrent request with the same
    key waits on the primary key until the first commits (PostgreSQL) or is serialised behind it (SQLite),
    then finds the row and replays the result.
    """

    __tablename__ = "idempotency_keys"

    # "user:12" or "cart:<digest>": keys of different callers never collide.
    scope: Mapped[str] = mapped_column(String(100), primary_key=True)
    operation: Mapped[str] = mapped_column(String(50), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_digest: Mapped[str] = mapped_column(String(64))
    # What the operation made (an order id), to answer a repeated request with the same thing.
    resource_id: Mapped[int | None] = mapped_column(BigInteger)
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
