"""Wishlists: a customer's named lists (one of them the default), or a guest's one list found by the
digest of a token the browser keeps; each holds products, each with an optional chosen variant and the
price it had when it was added."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from emporium.core.db import Base, BigId, IdMixin, TimestampMixin, UTCDateTime

NAME_MAX = 100
MAX_LISTS = 20
MAX_ITEMS = 500


class Visibility(StrEnum):
    PRIVATE = "private"
    # Anyone holding the link may read it; the page asks search engines not to index it.
    LINK = "link"
    # Anyone holding the link may read it, and search engines may index it.
    PUBLIC = "public"


class Wishlist(IdMixin, TimestampMixin, Base):
    __tablename__ = "wishlists"
    __table_args__ = (
        CheckConstraint("user_id IS NOT NULL OR token_hash IS NOT NULL", name="has_owner"),
        CheckConstraint("visibility IN ('private', 'link', 'public')", name="visibility_known"),
        # A customer has at most one default list, even when two first adds race.
        Index(
            "uq_wishlists_one_default",
            "user_id",
            unique=True,
            postgresql_where=text("is_default"),
            sqlite_where=text("is_default"),
        ),
    )

    # NULL for a guest's list.
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # SHA-256 of the guest's wishlist token (the token itself is never stored).
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    visibility: Mapped[str] = mapped_column(String(10), default=Visibility.PRIVATE)
    # SHA-256 of the share link's token: enough to find the list by its link, useless to make one.
    share_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # A guest's list goes after this many days without a change; NULL for a customer's.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class WishlistItem(IdMixin, TimestampMixin, Base):
    __tablename__ = "wishlist_items"
    __table_args__ = (
        # One line per product in a list: adding it again changes the chosen variant, never duplicates.
        UniqueConstraint("wishlist_id", "product_id", name="uq_wishlist_items_list_product"),
    )

    wishlist_id: Mapped[int] = mapped_column(BigId, ForeignKey("wishlists.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id", ondelete="CASCADE"), index=True)
    # The chosen variant; NULL means the product's default (else first active) variant.
    variant_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("product_variants.id", ondelete="SET NULL"), index=True
    )
    # The unit price of that variant when it was added, for "was X, now Y".
    price_added_minor: Mapped[int] = mapped_column(BigInteger)
