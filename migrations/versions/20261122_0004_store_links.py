"""Store links: each store's link state (online / offline) and its history of going offline and online.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "store_links",
        sa.Column("store_id", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("store_id"),
    )
    op.create_table(
        "store_link_changes",
        sa.Column("change_id", sa.String(length=80), nullable=False),
        sa.Column("store_id", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("previous", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("change_id"),
    )
    with op.batch_alter_table("store_link_changes", schema=None) as batch_op:
        batch_op.create_index("ix_store_link_changes_store_at", ["store_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("store_link_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_store_link_changes_store_at")
    op.drop_table("store_link_changes")
    op.drop_table("store_links")
