"""Stock pools and the record of every change to them.

A variant draws ``draw_per_unit`` from a pool: a T-shirt size owns a pool drawing 1 piece; the 250 g,
500 g and 1 kg boxes of one sweet share one pool counted in grams (DESIGN.md, "Stock pools").
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from emporium.core.db import Base, BigId, IdMixin, TimestampMixin, UTCDateTime, utcnow
from emporium.inventory.availability import units_available


class StockUnit(StrEnum):
    PIECE = "pc"
    GRAM = "g"


class StockPool(IdMixin, TimestampMixin, Base):
    __tablename__ = "stock_pools"
    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
        CheckConstraint("low_stock_threshold >= 0", name="threshold_not_negative"),
        # The back office lists pools by name a page at a time (migration 0022).
        Index("ix_stock_pools_name_id", "name", "id"),
    )

    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(8), default=StockUnit.PIECE)
    on_hand: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)
    low_stock_threshold: Mapped[int] = mapped_column(BigInteger, default=0)

    @property
    def available(self) -> int:
        """The free stock, in the pool's unit (see ``availability``)."""
        return units_available(self.on_hand, self.reserved)


# Staff find pools by a piece of their name (the back office's pool list): a trigram index serves the
# contains-match on PostgreSQL (migration 0022); SQLite scans.
Index(
    "ix_stock_pools_name_trgm",
    func.lower(StockPool.name).label("name_lower"),
    postgresql_using="gin",
    postgresql_ops={"name_lower": "gin_trgm_ops"},
).ddl_if(dialect="postgresql")


class StockAdjustment(IdMixin, Base):
    """Who changed a pool, when, by how much and why; never updated or deleted."""

    __tablename__ = "stock_adjustments"

    pool_id: Mapped[int] = mapped_column(BigId, ForeignKey("stock_pools.id", ondelete="CASCADE"), index=True)
    delta: Mapped[int] = mapped_column(BigInteger)
    on_hand_after: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(500))
    actor_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
