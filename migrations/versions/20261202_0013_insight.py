"""The customer view and analytics: facts per order, SLA breaches and refunds per order, and customers, derived
from the order read model and backfilled here from the views already stored.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 12:00:00

Written by hand to match models/db/insight.py (tests/test_migrations.py checks it against the models).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel import Session

# Every column the range queries read, after the placement time: SQLite answers them from the index alone.
COVERED = ("created_at", "store_id", "channel", "currency", "status", "sla_breaches", "total_amount",
           "refunded_amount", "created_day", "customer_id", "acknowledged_seconds", "picked_seconds", "ready_seconds",
           "collected_seconds")  # fmt: skip

# revision identifiers, used by Alembic.
revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "order_facts",
        sa.Column("order_number", sa.String(length=32), nullable=False),
        sa.Column("store_id", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total_amount", sa.BigInteger(), nullable=False),
        sa.Column("refunded_amount", sa.BigInteger(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("created_day", sa.String(length=10), nullable=False),
        sa.Column("acknowledged_seconds", sa.Integer(), nullable=True),
        sa.Column("picked_seconds", sa.Integer(), nullable=True),
        sa.Column("ready_seconds", sa.Integer(), nullable=True),
        sa.Column("collected_seconds", sa.Integer(), nullable=True),
        sa.Column("cancelled_by", sa.String(length=64), nullable=True),
        sa.Column("cancel_reason", sa.String(length=200), nullable=True),
        sa.Column("sla_breaches", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("order_number"),
    )
    op.create_index("ix_order_facts_created", "order_facts", list(COVERED))
    op.create_index("ix_order_facts_store_created", "order_facts", ["store_id", "created_at"])
    op.create_index("ix_order_facts_channel_created", "order_facts", ["channel", "created_at"])
    op.create_index("ix_order_facts_customer_channel", "order_facts", ["customer_id", "channel"])
    op.create_table(
        "order_breach_facts",
        sa.Column("order_number", sa.String(length=32), nullable=False),
        sa.Column("alert_id", sa.String(length=16), nullable=False),
        sa.Column("alert_type", sa.String(length=32), nullable=False),
        sa.Column("store_id", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("order_number", "alert_id"),
    )
    op.create_index("ix_order_breach_facts_created", "order_breach_facts", ["created_at"])
    op.create_index("ix_order_breach_facts_store_created", "order_breach_facts", ["store_id", "created_at"])
    op.create_table(
        "order_refund_facts",
        sa.Column("order_number", sa.String(length=32), nullable=False),
        sa.Column("refund_id", sa.String(length=80), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("store_id", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("order_number", "refund_id"),
    )
    op.create_index("ix_order_refund_facts_created", "order_refund_facts", ["created_at"])
    op.create_table(
        "customers",
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("search_text", sa.String(length=800), nullable=False),
        sa.Column("last_order_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    op.create_index("ix_customers_last_order", "customers", ["last_order_at", "customer_id"])
    _backfill()


def _backfill() -> None:
    """Every order already in the read model gets its facts, by the same code the projection runs."""
    from models.db.insight import backfill, stored_views

    session = Session(bind=op.get_bind())
    try:
        backfill(session, stored_views(session))
    finally:
        session.close()


def downgrade() -> None:
    op.drop_index("ix_customers_last_order", table_name="customers")
    op.drop_table("customers")
    op.drop_index("ix_order_refund_facts_created", table_name="order_refund_facts")
    op.drop_table("order_refund_facts")
    op.drop_index("ix_order_breach_facts_store_created", table_name="order_breach_facts")
    op.drop_index("ix_order_breach_facts_created", table_name="order_breach_facts")
    op.drop_table("order_breach_facts")
    for index in ("customer_channel", "channel_created", "store_created", "created"):
        op.drop_index(f"ix_order_facts_{index}", table_name="order_facts")
    op.drop_table("order_facts")
