"""Notification extracts: the outbox of XML extracts and their delivery attempts.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notification_extracts",
        sa.Column("extract_id", sa.String(length=160), nullable=False),
        sa.Column("order_number", sa.String(length=32), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("delivery_attempts", sa.Integer(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_to", sa.JSON(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("extract_id"),
    )
    with op.batch_alter_table("notification_extracts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notification_extracts_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_notification_extracts_order_number"), ["order_number"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notification_extracts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_extracts_order_number"))
        batch_op.drop_index(batch_op.f("ix_notification_extracts_created_at"))

    op.drop_table("notification_extracts")
