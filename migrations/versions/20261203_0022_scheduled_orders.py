"""Scheduled orders: the order read model keeps the date a scheduled order waits for (the dashboard's "scheduled"
filter), orders.fulfil_on.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 18:40:00

Written by hand to match models/db/tables.py (tests/test_migrations.py checks it against the models).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0022"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch_op:
        batch_op.add_column(sa.Column("fulfil_on", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_orders_fulfil_on", ["fulfil_on"])


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch_op:
        batch_op.drop_index("ix_orders_fulfil_on")
        batch_op.drop_column("fulfil_on")
