"""B2B accounts: b2b_accounts (each account's document), b2b_buyers (each buyer buys for one account) and order_b2b
(the read model's B2B account and references of each order, for `reference=` and `b2b_account=`).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-04 19:20:00

Written by hand to match models/db/b2b.py (tests/test_migrations.py checks it against the models).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0025"
down_revision: str | Sequence[str] | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "b2b_accounts",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id"),
    )
    op.create_table(
        "b2b_buyers",
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    op.create_index("ix_b2b_buyers_account_id", "b2b_buyers", ["account_id"])
    op.create_table(
        "order_b2b",
        sa.Column("order_number", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=True),
        sa.Column("search_references", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("order_number"),
    )
    op.create_index("ix_order_b2b_account_id", "order_b2b", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_order_b2b_account_id", table_name="order_b2b")
    op.drop_table("order_b2b")
    op.drop_index("ix_b2b_buyers_account_id", table_name="b2b_buyers")
    op.drop_table("b2b_buyers")
    op.drop_table("b2b_accounts")
