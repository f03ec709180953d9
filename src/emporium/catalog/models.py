"""Categories, brands, products, their variants, tags and images."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from emporium.core.db import Base, BigId, IdMixin, TimestampMixin, UTCDateTime, utcnow


class ProductStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    ARCHIVED = "archived"


class Category(IdMixin, TimestampMixin, Base):
    """A node of the category tree. ``path`` ("/1/5/12/") makes "this category and its descendants" one
    indexed prefix match."""

    __tablename__ = "categories"

    parent_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("categories.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(140), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    path: Mapped[str] = mapped_column(String(1000), default="/", index=True)


class Brand(IdMixin, TimestampMixin, Base):
    __tablename__ = "brands"

    name: Mapped[str] = mapped_column(String(120), unique=True)
    slug: Mapped[str] = mapped_column(String(140), unique=True)
    description: Mapped[str | None] = mapped_column(Text)


class Product(IdMixin, TimestampMixin, Base):
    __tablename__ = "products"
    __table_args__ = (
        Index("ix_products_status_featured", "status", "is_featured"),
        # The id ends the list's indexes as it ends its sorts: tied values need no sort. A category's or
        # a brand's count of active products reads its index alone (migration 0009).
        Index("ix_products_status_price_min", "status", "price_min_minor", "id"),
        Index("ix_products_status_created_at", "status", "created_at", "id"),
        # The other sorts of the list, read backwards where they run high to low (migration 0010). A
        # product without a price sorts below every priced one when read backwards.
        Index("ix_products_status_price_high", "status", text("coalesce(price_min_minor, -1)"), "id"),
        Index("ix_products_status_name", "status", text("lower(name)"), "id"),
        Index("ix_products_status_rating", "status", "rating_average", "rating_count", "id"),
        Index("ix_products_status_sold", "status", "sold_count", "id"),
        Index("ix_products_category_id", "category_id", "status"),
        Index("ix_products_brand_id", "brand_id", "status"),
        # The back office's list shows every status at once, newest or by name (migration 0020).
        Index("ix_products_created_at_id", "created_at", "id"),
        Index("ix_products_name_lower_id", text("lower(name)"), "id"),
        # Its price sorts put a product without a price last either way (catalog/staff_list_repository.py).
        Index("ix_products_price_low_id", text("coalesce(price_min_minor, 9223372036854775807)"), "id"),
        Index("ix_products_price_high_id", text("coalesce(price_min_minor, -1)"), "id"),
    )

    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(220), unique=True)
    # Sanitised on the server before it is stored: safe to render as HTML.
    description_html: Mapped[str] = mapped_column(Text, default="")
    # What the merchant wrote and in which format ("markdown" or "html"), so the editor shows it again;
    # null for products written before the editor kept it (the editor then offers the stored HTML).
    description_source: Mapped[str | None] = mapped_column(Text)
    description_format: Mapped[str | None] = mapped_column(String(8))
    brand_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("brands.id", ondelete="SET NULL"))
    category_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("categories.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default=ProductStatus.DRAFT)
    is_featured: Mapped[bool] = mapped_column(Boolean, default=False)
    seo_title: Mapped[str | None] = mapped_column(String(200))
    seo_description: Mapped[str | None] = mapped_column(String(500))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    # Kept equal to the cheapest and dearest active variant by the catalog service, for sorts and filters.
    price_min_minor: Mapped[int | None] = mapped_column(BigInteger)
    price_max_minor: Mapped[int | None] = mapped_column(BigInteger)
    # Maintained by the reviews domain.
    rating_average: Mapped[Decimal] = mapped_column(Numeric(3, 2), default=Decimal("0"))
    rating_count: Mapped[int] = mapped_column(Integer, default=0)
    # Units sold, maintained by the orders domain; the "popularity" sort.
    sold_count: Mapped[int] = mapped_column(BigInteger, default=0)
    # PostgreSQL: the distinct option sets of the active variants (a JSON array of their texts), written by
    # the search index's refresh for the category facets (migration 0028); never written here, never read
    # with the product. SQLite leaves it NULL.
    option_sets: Mapped[str | None] = mapped_column(Text, deferred=True)


# Staff look products up by a piece of their name (catalog/lookup.py): a trigram index serves the
# contains-match on PostgreSQL (migration 0018); SQLite scans.
Index(
    "ix_products_name_trgm",
    func.lower(Product.name).label("name_lower"),
    postgresql_using="gin",
    postgresql_ops={"name_lower": "gin_trgm_ops"},
).ddl_if(dialect="postgresql")


class ProductTag(Base):
    __tablename__ = "product_tags"

    product_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(60), primary_key=True, index=True)


class ProductVariant(IdMixin, TimestampMixin, Base):
    __tablename__ = "product_variants"
    __table_args__ = (
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
        CheckConstraint("compare_at_minor IS NULL OR compare_at_minor >= 0", name="compare_at_not_negative"),
        CheckConstraint("draw_per_unit >= 1", name="draw_positive"),
        # Staff look a SKU up in any case (catalog/lookup.py, migration 0018).
        Index("ix_product_variants_sku_lower", text("lower(sku)")),
    )

    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Option values, e.g. {"size": "M", "colour": "Red"} or {"weight": "500 g"}.
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    price_minor: Mapped[int] = mapped_column(BigInteger)
    compare_at_minor: Mapped[int | None] = mapped_column(BigInteger)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    pool_id: Mapped[int] = mapped_column(BigId, ForeignKey("stock_pools.id", ondelete="RESTRICT"), index=True)
    draw_per_unit: Mapped[int] = mapped_column(BigInteger, default=1)
    weight_grams: Mapped[int | None] = mapped_column(Integer)


class ProductImage(IdMixin, Base):
    """An uploaded picture, re-encoded to WebP in several sizes; ``files`` maps size name to storage key."""

    __tablename__ = "product_images"

    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("product_variants.id", ondelete="SET NULL")
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    alt_text: Mapped[str] = mapped_column(String(300), default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    files: Mapped[dict[str, str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BulkEditStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ProductBulkEdit(IdMixin, Base):
    """A change staff asked for on every product of a filter, carried out by a background job in batches.

    ``last_id`` is the highest product id handled: each batch commits its changes with the new ``last_id``
    and counts, so a job that is retried after a crash carries on where it stopped and never changes a
    product twice."""

    __tablename__ = "product_bulk_edits"

    action: Mapped[str] = mapped_column(String(20))
    # The action's own values (the category, the price change), as the service wrote them.
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The filter of the back office's product list the edit applies to.
    filters: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=BulkEditStatus.PENDING)
    total: Mapped[int] = mapped_column(Integer, default=0)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    last_id: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    # The job carrying the edit out: when it has died (or been discarded), the edit reads as stopped.
    job_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    actor_email: Mapped[str | None] = mapped_column(String(320))
    actor_ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
