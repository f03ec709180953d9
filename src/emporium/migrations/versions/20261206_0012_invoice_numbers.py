"""orders: gap-free invoice numbers (a counter row per year), the invoice date, and each line's tax rate

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 21:00:00.000000

Orders confirmed before this revision get their invoice numbers here, in the order they were confirmed
(their "confirmed" event), so the counters start after them. Lines sold before it keep a NULL tax rate: the
invoice then states their tax without a rate.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PREFIX = "INV"


def upgrade() -> None:
    op.create_table(
        "invoice_counters",
        sa.Column("series", sa.String(length=16), nullable=False),
        sa.Column("last_value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("series", name=op.f("pk_invoice_counters")),
    )
    # Plain ADD COLUMN on both databases (no batch rebuild, so SQLite keeps its triggers); the unique rule
    # is a unique index, which SQLite can add to an existing table.
    op.add_column("orders", sa.Column("invoice_number", sa.String(length=32), nullable=True))
    op.add_column("orders", sa.Column("invoiced_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_orders_invoice_number", "orders", ["invoice_number"], unique=True)
    op.add_column("order_lines", sa.Column("tax_rate_ppm", sa.Integer(), nullable=True))
    _number_confirmed_orders()


def _number_confirmed_orders() -> None:
    bind = op.get_bind()
    confirmed = bind.execute(
        sa.text(
            "SELECT e.order_id, MIN(e.created_at) AS at FROM order_events e "
            "WHERE e.to_status = 'confirmed' GROUP BY e.order_id ORDER BY MIN(e.created_at), e.order_id"
        )
    ).all()
    counters: dict[str, int] = {}
    for order_id, at in confirmed:
        # SQLite hands the timestamp back as text ("2026-12-06 20:00:00.000000+00:00").
        year = str(at)[:4]
        counters[year] = counters.get(year, 0) + 1
        bind.execute(
            sa.text("UPDATE orders SET invoice_number = :number, invoiced_at = :at WHERE id = :id"),
            {"number": f"{PREFIX}-{year}-{counters[year]:06d}", "at": at, "id": order_id},
        )
    for series, last in counters.items():
        bind.execute(
            sa.text("INSERT INTO invoice_counters (series, last_value) VALUES (:series, :last)"),
            {"series": series, "last": last},
        )


def downgrade() -> None:
    with op.batch_alter_table("order_lines") as batch:
        batch.drop_column("tax_rate_ppm")
    op.drop_index("ix_orders_invoice_number", table_name="orders")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("invoiced_at")
        batch.drop_column("invoice_number")
    op.drop_table("invoice_counters")
