"""search: bulk loads may defer the PostgreSQL insert triggers and index each chunk once

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 04:40:00.000000

A bulk load inserts products and then their tags, so the statement-level insert triggers indexed every
product twice. With ``emporium.search_deferred`` set to ``on`` for the transaction (``set_config(...,
true)``), the insert triggers leave the work to the loader, which calls ``product_search_refresh`` once
for the chunk before it commits. Update and delete triggers are unaffected. SQLite is unchanged.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DEFERRED = "IF current_setting('emporium.search_deferred', true) = 'on' THEN RETURN NULL; END IF;"

_FUNCTIONS = {
    "product_search_on_new_products": "PERFORM product_search_refresh(ARRAY(SELECT id FROM new_rows));",
    "product_search_on_new_tags": (
        "PERFORM product_search_refresh(ARRAY(SELECT DISTINCT product_id FROM new_rows));"
    ),
}


def _replace(deferrable: bool) -> None:
    for name, body in _FUNCTIONS.items():
        guard = _DEFERRED if deferrable else ""
        op.execute(
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n    {guard}\n    {body}\n    RETURN NULL;\nEND\n$$"
        )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _replace(deferrable=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _replace(deferrable=False)
