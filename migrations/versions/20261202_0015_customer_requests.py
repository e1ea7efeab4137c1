"""Customer requests as the API lists them: one row per request, written by its workflow.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 13:00:00

Written by hand to match models/db/requests.py (tests/test_migrations.py checks it against the models).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_requests",
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("order_number", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("view", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("request_id"),
    )
    op.create_index("ix_customer_requests_order_number", "customer_requests", ["order_number"])
    op.create_index("ix_customer_requests_status", "customer_requests", ["status"])


def downgrade() -> None:
    op.drop_index("ix_customer_requests_status", table_name="customer_requests")
    op.drop_index("ix_customer_requests_order_number", table_name="customer_requests")
    op.drop_table("customer_requests")
