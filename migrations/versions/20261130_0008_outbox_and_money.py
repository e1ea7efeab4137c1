"""The outbox (order events, store messages, lane cursors, export states and queued export runs), money as BIGINT,
and idempotency keys per API key holder.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 09:00:00

Written by hand to match models/db/tables.py (tests/test_migrations.py checks it against the models).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY_COLUMNS = [
    ("payment_transactions", "amount"),
    ("test_gateway_operations", "amount"),
    ("products", "price_amount"),
]
# The unnamed UNIQUE(idempotency_key) of 0001: PostgreSQL named it itself; SQLite is given a name to drop it by.
SQLITE_NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _outbox_id() -> sa.Column:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False)


def _is_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    for table, column in MONEY_COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sa.Integer(), type_=sa.BigInteger(), existing_nullable=False)

    _placements_per_holder()

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seen_event_ids", sa.JSON(), nullable=False, server_default="[]"))
    # The old projection kept the whole state, seen event ids included: carry them over.
    if _is_sqlite():
        op.execute(
            "UPDATE orders SET seen_event_ids = json_extract(view, '$.seen_event_ids') "
            "WHERE json_type(view, '$.seen_event_ids') = 'array'"
        )
    else:
        op.execute(
            "UPDATE orders SET seen_event_ids = (view::jsonb -> 'seen_event_ids')::json "
            "WHERE jsonb_typeof(view::jsonb -> 'seen_event_ids') = 'array'"
        )

    with op.batch_alter_table("notification_extracts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_notification_extracts_pending", ["delivered_at", "failed_at", "created_at"])
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_deliveries_subscriber_status", ["subscriber_id", "status"])
    with op.batch_alter_table("order_exports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_order_exports_exporter_outcome", ["exporter", "outcome", "queued_at"])

    op.create_table(
        "order_export_states",
        sa.Column("order_number", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=64), nullable=False),
        sa.Column("reached_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("order_number", "state"),
    )
    op.create_table(
        "order_events",
        _outbox_id(),
        sa.Column("event_id", sa.String(length=80), nullable=False),
        sa.Column("order_number", sa.String(length=32), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", name="uq_order_events_event_id"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("order_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_events_order_number"), ["order_number"], unique=False)
    op.create_table(
        "store_messages",
        _outbox_id(),
        sa.Column("message_id", sa.String(length=120), nullable=False),
        sa.Column("store_id", sa.String(length=32), nullable=False),
        sa.Column("order_number", sa.String(length=32), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id", name="uq_store_messages_message_id"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("store_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_store_messages_order_number"), ["order_number"], unique=False)
        batch_op.create_index("ix_store_messages_store_status", ["store_id", "status", "id"], unique=False)
    op.create_table(
        "outbox_cursors",
        sa.Column("lane", sa.String(length=200), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("lane"),
    )


def _placements_per_holder() -> None:
    """An Idempotency-Key is unique per API key holder; old rows belong to holder ''."""
    sqlite = _is_sqlite()
    old_unique = "uq_order_placements_idempotency_key" if sqlite else "order_placements_idempotency_key_key"
    with op.batch_alter_table("order_placements", schema=None, naming_convention=SQLITE_NAMING) as batch_op:
        batch_op.add_column(sa.Column("holder", sa.String(length=120), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("initial_state", sa.JSON(), nullable=True))
        batch_op.drop_constraint(old_unique, type_="unique")
        batch_op.create_unique_constraint("uq_order_placements_holder_key", ["holder", "idempotency_key"])


def downgrade() -> None:
    op.drop_table("outbox_cursors")
    with op.batch_alter_table("store_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_store_messages_store_status")
        batch_op.drop_index(batch_op.f("ix_store_messages_order_number"))
    op.drop_table("store_messages")
    with op.batch_alter_table("order_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_events_order_number"))
    op.drop_table("order_events")
    op.drop_table("order_export_states")

    with op.batch_alter_table("order_exports", schema=None) as batch_op:
        batch_op.drop_index("ix_order_exports_exporter_outcome")
        batch_op.drop_column("queued_at")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_subscriber_status")
    with op.batch_alter_table("notification_extracts", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_extracts_pending")
        batch_op.drop_column("failed_at")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("seen_event_ids")

    # Keys that were told apart only by their holder cannot all stay: the oldest of each keeps it.
    op.execute(
        "UPDATE order_placements SET idempotency_key = NULL WHERE idempotency_key IS NOT NULL AND id NOT IN "
        "(SELECT MIN(id) FROM order_placements WHERE idempotency_key IS NOT NULL GROUP BY idempotency_key)"
    )
    with op.batch_alter_table("order_placements", schema=None) as batch_op:
        batch_op.drop_constraint("uq_order_placements_holder_key", type_="unique")
        old_unique = "uq_order_placements_idempotency_key" if _is_sqlite() else "order_placements_idempotency_key_key"
        batch_op.create_unique_constraint(old_unique, ["idempotency_key"])
        batch_op.drop_column("initial_state")
        batch_op.drop_column("holder")

    for table, column in MONEY_COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sa.BigInteger(), type_=sa.Integer(), existing_nullable=False)
