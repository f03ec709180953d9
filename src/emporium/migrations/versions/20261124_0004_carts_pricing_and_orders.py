"""carts, pricing (coupons, tax, shipping), orders and idempotency keys

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 06:28:35.418906

Order numbers come from ``order_number_seq``: a real sequence on PostgreSQL; on SQLite, which has none, a
table whose AUTOINCREMENT key plays the part (orders/repository.py draws from either). Neither is a model,
so core/migrations.py leaves it out of the models-versus-migrations comparison.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import emporium.core.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE order_number_seq START WITH 1")
    else:
        op.execute("CREATE TABLE order_number_seq (id INTEGER PRIMARY KEY AUTOINCREMENT)")
    op.create_table(
        "job_schedules",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("next_run_at", emporium.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_schedules")),
    )
    op.create_table(
        "coupons",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("percent_off_ppm", sa.Integer(), nullable=True),
        sa.Column("amount_off_minor", sa.BigInteger(), nullable=True),
        sa.Column("min_subtotal_minor", sa.BigInteger(), nullable=True),
        sa.Column("starts_at", emporium.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ends_at", emporium.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("usage_limit", sa.Integer(), nullable=True),
        sa.Column("per_customer_limit", sa.Integer(), nullable=True),
        sa.Column("used_count", sa.Integer(), nullable=False),
        sa.Column("product_ids", sa.JSON(), nullable=False),
        sa.Column("category_ids", sa.JSON(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", emporium.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", emporium.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "amount_off_minor IS NULL OR amount_off_minor > 0", name=op.f("ck_coupons_amount_positive")
        ),
        sa.CheckConstraint(
            "percent_off_ppm IS NULL OR (percent_off_ppm > 0 AND percent_off_ppm <= 1000000)",
            name=op.f("ck_coupons_percent_range"),
        ),
        sa.CheckConstraint(
            "usage_limit IS NULL OR used_count <= usage_limit", name=op.f("ck_coupons_used_within_limit")
        ),
        sa.CheckConstraint("used_count >= 0", name=op.f("ck_coupons_used_count_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupons")),
        sa.UniqueConstraint("code", name=op.f("uq_coupons_code")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(length=100), nullable=False),
        sa.Column("operation", sa.String(length=50), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_digest", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.BigInteger(), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("created_at", emporium.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "operation", "key", name=op.f("pk_idempotency_keys")),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_idempotency_keys_created_at"), ["created_at"], unique=False)

    op.create_table(
        "shipping_zones",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("countries", sa.JSON(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", emporium.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", emporium.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipping_zones")),
        sa.UniqueConstraint("name", name=op.f("uq_shipping_zones_name")),
    )
    op.create_table(
        "tax_rates",
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("rate_ppm", sa.Integer(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", emporium.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", emporium.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("rate_ppm >= 0 AND rate_ppm <= 1000000", name=op.f("ck_tax_rates_rate_range")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tax_rates")),
        sa.UniqueConstraint("country", "region", name="uq_tax_rates_country_region"),
    )
    op.create_table(
        "carts",
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("coupon_code", sa.String(length=64), nullable=True),
        sa.Column("expires_at", emporium.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", emporium.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", emporium.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("user_id IS NOT NULL OR token_hash IS NOT NULL", name=op.f("ck_carts_has_owner")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_carts_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carts")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_carts_token_hash")),
        sa.UniqueConstraint("user_id", name=op.f("uq_carts_user_id")),
    )
    with op.batch_alter_table("carts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_carts_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "shipping_methods",
        sa.Column("zone_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("free_above_minor", sa.BigInteger(), nullable=True),
        sa.Column("per_kg_minor", sa.BigInteger(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", emporium.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", emporium.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "free_above_minor IS NULL OR free_above_minor >= 0",
            name=op.f("ck_shipping_methods_free_above_not_negative"),
        ),
        sa.CheckConstraint(
            "per_kg_minor IS NULL OR per_kg_minor >= 0", name=op.f("ck_shipping_methods_per_kg_not_negative")
        ),
        sa.CheckConstraint("price_minor >= 0", name=op.f("ck_shipping_methods_price_not_negative")),
        sa.ForeignKeyConstraint(
            ["zone_id"],
            ["shipping_zones.id"],
            name=op.f("fk_shipping_methods_zone_id_shipping_zones"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipping_methods")),
    )
    with op.batch_alter_table("shipping_methods", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shipping_methods_zone_id"), ["zone_id"], unique=False)

    op.create_table(
        "orders",
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("contact_name", sa.String(length=200), nullable=False),
        sa.Column("contact_email", sa.String(length=320), nullable=False),
        sa.Column("contact_phone", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("payment_status", sa.String(length=24), nullable=False),
        sa.Column("payment_method", sa.String(length=32), nullable=False),
        sa.Column("stock_state", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("subtotal_minor", sa.BigInteger(), nullable=False),
        sa.Column("discount_minor", sa.BigInteger(), nullable=False),
        sa.Column("shipping_minor", sa.BigInteger(), nullable=False),
        sa.Column("tax_minor", sa.BigInteger(), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("prices_include_tax", sa.Boolean(), nullable=False),
        sa.Column("coupon_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("coupon_code", sa.String(length=64), nullable=True),
        sa.Column("shipping_method_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("shipping_method_name", sa.String(length=100), nullable=False),
        sa.Column("shipping_address", sa.JSON(), nullable=False),
        sa.Column("billing_address", sa.JSON(), nullable=False),
        sa.Column("customer_note", sa.String(length=1000), nullable=True),
        sa.Column("carrier", sa.String(length=100), nullable=True),
        sa.Column("tracking_number", sa.String(length=100), nullable=True),
        sa.Column("expires_at", emporium.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", emporium.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", emporium.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("discount_minor >= 0", name=op.f("ck_orders_discount_minor_not_negative")),
        sa.CheckConstraint("shipping_minor >= 0", name=op.f("ck_orders_shipping_minor_not_negative")),
        sa.CheckConstraint("subtotal_minor >= 0", name=op.f("ck_orders_subtotal_minor_not_negative")),
        sa.CheckConstraint("tax_minor >= 0", name=op.f("ck_orders_tax_minor_not_negative")),
        sa.CheckConstraint("total_minor >= 0", name=op.f("ck_orders_total_minor_not_negative")),
        sa.ForeignKeyConstraint(
            ["coupon_id"], ["coupons.id"], name=op.f("fk_orders_coupon_id_coupons"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["shipping_method_id"],
            ["shipping_methods.id"],
            name=op.f("fk_orders_shipping_method_id_shipping_methods"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_orders_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("number", name=op.f("uq_orders_number")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orders_contact_email"), ["contact_email"], unique=False)
        batch_op.create_index(batch_op.f("ix_orders_contact_phone"), ["contact_phone"], unique=False)
        batch_op.create_index(batch_op.f("ix_orders_payment_status"), ["payment_status"], unique=False)
        batch_op.create_index(batch_op.f("ix_orders_status"), ["status"], unique=False)
        batch_op.create_index("ix_orders_status_expires_at", ["status", "expires_at"], unique=False)
        batch_op.create_index("ix_orders_user_id_created_at", ["user_id", "created_at"], unique=False)

    op.create_table(
        "cart_items",
        sa.Column("cart_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("variant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("price_seen_minor", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", emporium.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", emporium.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity >= 1 AND quantity <= 999", name=op.f("ck_cart_items_quantity_range")),
        sa.ForeignKeyConstraint(
            ["cart_id"], ["carts.id"], name=op.f("fk_cart_items_cart_id_carts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["variant_id"],
            ["product_variants.id"],
            name=op.f("fk_cart_items_variant_id_product_variants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cart_items")),
        sa.UniqueConstraint("cart_id", "variant_id", name="uq_cart_items_cart_variant"),
    )
    with op.batch_alter_table("cart_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cart_items_cart_id"), ["cart_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cart_items_variant_id"), ["variant_id"], unique=False)

    op.create_table(
        "coupon_redemptions",
        sa.Column("coupon_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("email_digest", sa.String(length=64), nullable=False),
        sa.Column("discount_minor", sa.BigInteger(), nullable=False),
        sa.Column("created_at", emporium.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["coupon_id"],
            ["coupons.id"],
            name=op.f("fk_coupon_redemptions_coupon_id_coupons"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_coupon_redemptions_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_coupon_redemptions_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_redemptions")),
        sa.UniqueConstraint("order_id", name=op.f("uq_coupon_redemptions_order_id")),
    )
    with op.batch_alter_table("coupon_redemptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_coupon_redemptions_coupon_id"), ["coupon_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_coupon_redemptions_email_digest"), ["email_digest"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_coupon_redemptions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "order_events",
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=24), nullable=True),
        sa.Column("to_status", sa.String(length=24), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("actor_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", emporium.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["users.id"],
            name=op.f("fk_order_events_actor_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_events_order_id_orders"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_events")),
    )
    with op.batch_alter_table("order_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_events_order_id"), ["order_id"], unique=False)

    op.create_table(
        "order_lines",
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("variant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("pool_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("product_name", sa.String(length=200), nullable=False),
        sa.Column("variant_name", sa.String(length=200), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("stock_draw", sa.BigInteger(), nullable=False),
        sa.Column("unit_price_minor", sa.BigInteger(), nullable=False),
        sa.Column("subtotal_minor", sa.BigInteger(), nullable=False),
        sa.Column("discount_minor", sa.BigInteger(), nullable=False),
        sa.Column("tax_minor", sa.BigInteger(), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.CheckConstraint("quantity >= 1", name=op.f("ck_order_lines_quantity_positive")),
        sa.CheckConstraint("total_minor >= 0", name=op.f("ck_order_lines_total_not_negative")),
        sa.CheckConstraint("unit_price_minor >= 0", name=op.f("ck_order_lines_unit_price_not_negative")),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_lines_order_id_orders"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["pool_id"],
            ["stock_pools.id"],
            name=op.f("fk_order_lines_pool_id_stock_pools"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_order_lines_product_id_products"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["variant_id"],
            ["product_variants.id"],
            name=op.f("fk_order_lines_variant_id_product_variants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_lines")),
    )
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_lines_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_order_lines_product_id"), ["product_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_order_lines_variant_id"), ["variant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_lines_variant_id"))
        batch_op.drop_index(batch_op.f("ix_order_lines_product_id"))
        batch_op.drop_index(batch_op.f("ix_order_lines_order_id"))

    op.drop_table("order_lines")
    with op.batch_alter_table("order_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_events_order_id"))

    op.drop_table("order_events")
    with op.batch_alter_table("coupon_redemptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coupon_redemptions_user_id"))
        batch_op.drop_index(batch_op.f("ix_coupon_redemptions_email_digest"))
        batch_op.drop_index(batch_op.f("ix_coupon_redemptions_coupon_id"))

    op.drop_table("coupon_redemptions")
    with op.batch_alter_table("cart_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cart_items_variant_id"))
        batch_op.drop_index(batch_op.f("ix_cart_items_cart_id"))

    op.drop_table("cart_items")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_user_id_created_at")
        batch_op.drop_index("ix_orders_status_expires_at")
        batch_op.drop_index(batch_op.f("ix_orders_status"))
        batch_op.drop_index(batch_op.f("ix_orders_payment_status"))
        batch_op.drop_index(batch_op.f("ix_orders_contact_phone"))
        batch_op.drop_index(batch_op.f("ix_orders_contact_email"))

    op.drop_table("orders")
    with op.batch_alter_table("shipping_methods", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipping_methods_zone_id"))

    op.drop_table("shipping_methods")
    with op.batch_alter_table("carts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carts_expires_at"))

    op.drop_table("carts")
    op.drop_table("tax_rates")
    op.drop_table("shipping_zones")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_created_at"))

    op.drop_table("idempotency_keys")
    op.drop_table("coupons")
    op.drop_table("job_schedules")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE order_number_seq")
    else:
        op.execute("DROP TABLE order_number_seq")
