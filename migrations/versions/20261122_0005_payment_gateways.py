"""Payment gateways: the ledger records every gateway call's outcome, and the test gateway keeps its own books.

payment_transactions gains the gateway, status (approved | declined | error), references, detail, attempt and
times; existing rows (recorded movements) read as approved. test_gateway_operations is the built-in test
gateway's table, keyed by idempotency key.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 02:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ledger_columns() -> list[sa.Column]:
    return [
        sa.Column("gateway", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="approved", nullable=False),
        sa.Column("gateway_reference", sa.String(length=80), nullable=True),
        sa.Column("request_reference", sa.String(length=80), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="1", nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
    ]


def upgrade() -> None:
    with op.batch_alter_table("payment_transactions", schema=None) as batch_op:
        for column in _ledger_columns():
            batch_op.add_column(column)

    op.create_table(
        "test_gateway_operations",
        sa.Column("idempotency_key", sa.String(length=120), nullable=False),
        sa.Column("order_number", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("token", sa.String(length=80), nullable=False),
        sa.Column("parent_reference", sa.String(length=80), nullable=True),
        sa.Column("reference", sa.String(length=80), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("idempotency_key"),
    )
    with op.batch_alter_table("test_gateway_operations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_test_gateway_operations_order_number"), ["order_number"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_test_gateway_operations_parent_reference"), ["parent_reference"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_test_gateway_operations_reference"), ["reference"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("test_gateway_operations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_test_gateway_operations_reference"))
        batch_op.drop_index(batch_op.f("ix_test_gateway_operations_parent_reference"))
        batch_op.drop_index(batch_op.f("ix_test_gateway_operations_order_number"))
    op.drop_table("test_gateway_operations")

    with op.batch_alter_table("payment_transactions", schema=None) as batch_op:
        for column in reversed(_ledger_columns()):
            batch_op.drop_column(column.name)
