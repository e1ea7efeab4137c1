"""E-mail about orders: every message the mail lane sent (or held back), and customers' mail preferences. The
stock ledger (every movement, with who and why) and the feed messages applied. An index for the stuck-order sweep.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 09:00:00

Written by hand to match models/db/mail.py and models/db/stock_ledger.py (tests/test_migrations.py checks it
against the models).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mail_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=80), nullable=False),
        sa.Column("order_number", sa.String(length=32), nullable=False),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("template", sa.String(length=40), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", "address", name="uq_mail_deliveries_event_address"),
    )
    op.create_index("ix_mail_deliveries_order", "mail_deliveries", ["order_number", "id"])
    op.create_table(
        "customer_mail_preferences",
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("suppressed", sa.Boolean(), nullable=False),
        sa.Column("suppressed_types", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("customer_id"),
    )

    op.create_table(
        "stock_movements",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("location_id", sa.String(length=32), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("on_hand_delta", sa.Integer(), nullable=False),
        sa.Column("reserved_delta", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("order_number", sa.String(length=32), nullable=True),
        sa.Column("message_id", sa.String(length=120), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_stock_movements_sku_location", "stock_movements", ["sku", "location_id", "id"])
    op.create_table(
        "feed_messages",
        sa.Column("message_id", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("message_id"),
    )

    op.create_index("ix_orders_status_updated", "orders", ["status", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_orders_status_updated", table_name="orders")
    op.drop_table("feed_messages")
    op.drop_index("ix_stock_movements_sku_location", table_name="stock_movements")
    op.drop_table("stock_movements")
    op.drop_table("customer_mail_preferences")
    op.drop_index("ix_mail_deliveries_order", table_name="mail_deliveries")
    op.drop_table("mail_deliveries")
