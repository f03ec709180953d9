"""jobs.lapses: runs cut short by a dead worker, counted apart from failed attempts

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-12 09:00:00.000000

A claim whose worker died used to count as a failed attempt, so jobs went dead while no worker was up.
Now a lapsed claim is sent again as the same attempt, and ``lapses`` bounds the jobs that keep killing
their worker (core/jobs/runner.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("lapses", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("lapses")
