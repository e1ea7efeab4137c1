"""Merchants and marketplace orders: merchants, the locations and products that belong to one, marketplace (parent)
orders and their child orders, and the merchant ledger.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 19:00:00

Written by hand to match models/db/merchants.py (tests/test_migrations.py checks it against the models).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0024"
down_revision: str | Sequence[str] | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Text = sa.String


def upgrade() -> None:
    op.create_table(
        "merchants",
        sa.Column("merchant_id", Text(length=32), nullable=False),
        sa.Column("name", Text(), nullable=False),
        sa.Column("payout_account", Text(length=120), nullable=False),
        sa.Column("commission_bp", sa.Integer(), nullable=False),
        sa.Column("webhook_url", Text(), nullable=True),
        sa.Column("subscriber_id", Text(length=64), nullable=True),
        sa.PrimaryKeyConstraint("merchant_id"),
    )
    op.create_table(
        "merchant_locations",
        sa.Column("store_id", Text(length=32), nullable=False),
        sa.Column("merchant_id", Text(length=32), nullable=False),
        sa.PrimaryKeyConstraint("store_id"),
    )
    op.create_index("ix_merchant_locations_merchant_id", "merchant_locations", ["merchant_id"])
    op.create_table(
        "merchant_products",
        sa.Column("sku", Text(length=64), nullable=False),
        sa.Column("merchant_id", Text(length=32), nullable=False),
        sa.PrimaryKeyConstraint("sku"),
    )
    op.create_index("ix_merchant_products_merchant_id", "merchant_products", ["merchant_id"])
    op.create_table(
        "marketplace_orders",
        sa.Column("parent_id", Text(length=32), nullable=False),
        sa.Column("holder", Text(length=64), nullable=False),
        sa.Column("idempotency_key", Text(length=200), nullable=True),
        sa.Column("request_hash", Text(length=64), nullable=False),
        sa.Column("web_reference", Text(length=64), nullable=False),
        sa.Column("customer_id", Text(length=64), nullable=False),
        sa.Column("currency", Text(length=3), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("parent_id"),
        sa.UniqueConstraint("holder", "idempotency_key", name="uq_marketplace_orders_holder_key"),
    )
    op.create_index("ix_marketplace_orders_customer_id", "marketplace_orders", ["customer_id"])
    op.create_table(
        "marketplace_children",
        sa.Column("order_number", Text(length=32), nullable=False),
        sa.Column("parent_id", Text(length=32), nullable=False),
        sa.Column("merchant_id", Text(length=32), nullable=False),
        sa.Column("share", sa.BigInteger(), nullable=False),
        sa.Column("commission_bp", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("order_number"),
        sa.UniqueConstraint("parent_id", "merchant_id", name="uq_marketplace_children_merchant"),
    )
    op.create_index("ix_marketplace_children_parent_id", "marketplace_children", ["parent_id"])
    op.create_index("ix_marketplace_children_merchant_id", "marketplace_children", ["merchant_id"])
    op.create_table(
        "merchant_ledger",
        sa.Column("order_number", Text(length=32), nullable=False),
        sa.Column("merchant_id", Text(length=32), nullable=False),
        sa.Column("parent_id", Text(length=32), nullable=False),
        sa.Column("sale", sa.BigInteger(), nullable=False),
        sa.Column("commission", sa.BigInteger(), nullable=False),
        sa.Column("owed", sa.BigInteger(), nullable=False),
        sa.Column("currency", Text(length=3), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("order_number"),
    )
    op.create_index("ix_merchant_ledger_merchant_id", "merchant_ledger", ["merchant_id"])


def downgrade() -> None:
    op.drop_index("ix_merchant_ledger_merchant_id", table_name="merchant_ledger")
    op.drop_table("merchant_ledger")
    op.drop_index("ix_marketplace_children_merchant_id", table_name="marketplace_children")
    op.drop_index("ix_marketplace_children_parent_id", table_name="marketplace_children")
    op.drop_table("marketplace_children")
    op.drop_index("ix_marketplace_orders_customer_id", table_name="marketplace_orders")
    op.drop_table("marketplace_orders")
    op.drop_index("ix_merchant_products_merchant_id", table_name="merchant_products")
    op.drop_table("merchant_products")
    op.drop_index("ix_merchant_locations_merchant_id", table_name="merchant_locations")
    op.drop_table("merchant_locations")
    op.drop_table("merchants")
