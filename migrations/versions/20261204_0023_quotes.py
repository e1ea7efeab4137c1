"""Requests for quote: the request, Head Office's offer, the answer and the order it placed (quotes).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 19:20:00

Written by hand to match models/db/quotes.py (tests/test_migrations.py checks it against the models).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.db.types import UtcDateTime

# revision identifiers, used by Alembic.
revision: str = "0023"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "quotes",
        sa.Column("quote_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=120), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("requested_at", UtcDateTime(), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("offer", sa.JSON(), nullable=True),
        sa.Column("locked", sa.JSON(), nullable=True),
        sa.Column("order_number", sa.String(length=32), nullable=True),
        sa.Column("accept_key", sa.String(length=200), nullable=True),
        sa.Column("answered_at", UtcDateTime(), nullable=True),
        sa.Column("answer", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("quote_id"),
        sa.UniqueConstraint("requested_by", "idempotency_key", name="uq_quotes_requested_by_key"),
    )
    op.create_index("ix_quotes_status", "quotes", ["status"])


def downgrade() -> None:
    op.drop_index("ix_quotes_status", table_name="quotes")
    op.drop_table("quotes")
