"""Custom field values of orders and lines, indexed for the dashboard's and GET /orders' field filter.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 12:00:00

Written by hand to match models/db/custom_fields.py (tests/test_migrations.py checks it against the models). The
definitions are a settings document (the settings table): no schema of their own.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "order_custom_fields",
        sa.Column("order_number", sa.String(length=32), nullable=False),
        sa.Column("line_id", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(["order_number"], ["orders.order_number"]),
        sa.PrimaryKeyConstraint("order_number", "line_id", "name"),
    )
    op.create_index("ix_order_custom_fields_name_value", "order_custom_fields", ["name", "value"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_order_custom_fields_name_value", table_name="order_custom_fields")
    op.drop_table("order_custom_fields")
