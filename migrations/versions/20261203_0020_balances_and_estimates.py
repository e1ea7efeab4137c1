"""Customers' balances as a ledger (customer_balance_entries, customer_balance_locks) and estimates kept two hours
for placement by their id (estimates).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 18:30:00

Written by hand to match models/db/balances.py and models/db/estimates.py (tests/test_migrations.py checks it).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.db.types import UtcDateTime

# revision identifiers, used by Alembic.
revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_balance_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("entry_key", sa.String(length=200), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("order_number", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("entry_key", name="uq_customer_balance_entries_key"),
    )
    op.create_index("ix_customer_balance_entries_customer_id", "customer_balance_entries", ["customer_id"])
    op.create_table(
        "customer_balance_locks",
        sa.Column("customer_id", sa.String(length=64), primary_key=True),
        sa.Column("account", sa.String(length=16), primary_key=True),
        sa.Column("currency", sa.String(length=3), primary_key=True),
        sa.Column("debits", sa.Integer(), nullable=False),
    )
    op.create_table(
        "estimates",
        sa.Column("estimation_id", sa.String(length=40), primary_key=True),
        sa.Column("holder", sa.String(length=120), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("locked", sa.JSON(), nullable=False),
        sa.Column("used_by", sa.String(length=330), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("estimates")
    op.drop_table("customer_balance_locks")
    op.drop_index("ix_customer_balance_entries_customer_id", table_name="customer_balance_entries")
    op.drop_table("customer_balance_entries")
