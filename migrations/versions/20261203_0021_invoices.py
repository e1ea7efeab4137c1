"""Invoices: one gapless number sequence across orders, each invoice issued once per order and key.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 19:00:00

Written by hand to match models/db/invoices.py (tests/test_migrations.py checks it against the models).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "invoices",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("order_number", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("gross", sa.BigInteger(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("number"),
        sa.UniqueConstraint("order_number", "key", name="uq_invoices_order_key"),
    )
    op.create_index(op.f("ix_invoices_order_number"), "invoices", ["order_number"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_invoices_order_number"), table_name="invoices")
    op.drop_table("invoices")
