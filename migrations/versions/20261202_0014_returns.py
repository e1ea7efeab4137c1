"""Returns (RMA) as the API lists them: one row per return, written by its workflow.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 12:00:00

Written by hand to match models/db/returns.py (tests/test_migrations.py checks it against the models).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "order_returns",
        sa.Column("return_id", sa.String(length=64), nullable=False),
        sa.Column("order_number", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("location_id", sa.String(length=32), nullable=False),
        sa.Column("view", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("return_id"),
    )
    op.create_index("ix_order_returns_order_number", "order_returns", ["order_number"])
    op.create_index("ix_order_returns_status", "order_returns", ["status"])


def downgrade() -> None:
    op.drop_index("ix_order_returns_status", table_name="order_returns")
    op.drop_index("ix_order_returns_order_number", table_name="order_returns")
    op.drop_table("order_returns")
