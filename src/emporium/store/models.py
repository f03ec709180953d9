"""The store's settings (one row) and its content pages.

A NULL column means "not set here": the environment's setting of the same meaning applies
(store/profile.py). Secrets never live here; they stay in the environment.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from emporium.core.db import Base, UTCDateTime, utcnow

# The one row of store_settings.
STORE_ROW_ID = 1


class StoreSettings(Base):
    __tablename__ = "store_settings"
    __table_args__ = (CheckConstraint(f"id = {STORE_ROW_ID}", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100))
    legal_name: Mapped[str | None] = mapped_column(String(200))
    # The postal address as the lines an invoice prints.
    address: Mapped[list[str] | None] = mapped_column(JSON)
    tax_id: Mapped[str | None] = mapped_column(String(50))
    tax_id_label: Mapped[str | None] = mapped_column(String(40))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    timezone: Mapped[str | None] = mapped_column(String(64))
    currency_display: Mapped[str | None] = mapped_column(String(10))
    # The payment methods checkout offers, in order; NULL: the environment's EMPORIUM_PAYMENT_METHODS.
    payment_methods: Mapped[list[str] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ContentPage(Base):
    """A page the merchant wrote (privacy policy, terms...); a page without a row shows its default text."""

    __tablename__ = "content_pages"

    slug: Mapped[str] = mapped_column(String(40), primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    body_markdown: Mapped[str] = mapped_column(Text)
    # body_markdown rendered and sanitised (core/sanitize.py) when saved.
    body_html: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
