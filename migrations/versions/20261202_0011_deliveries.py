"""Orders list their deliveries' fulfilment methods (the dashboard's fulfilment filter and column) and the
locations that fulfil them (a warehouse's or store's Pick Manager lists the deliveries it ships).

Revision ID: 0011
Revises: 0009 (the integrator re-points it to 0010, staff accounts, when both land)
Create Date: 2026-12-02 09:00:00

Written by hand to match models/db/tables.py (tests/test_migrations.py checks it against the models). Orders
already in the read model were placed before deliveries: each is one click & collect delivery, or one home
delivery when it was switched to one (its view names a dispatch location), plus a direct sale at the till for
lines held to buy in store.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ORDERS = sa.table(
    "orders",
    sa.column("order_number", sa.String),
    sa.column("view", sa.JSON),
    sa.column("fulfilment_methods", sa.String),
    sa.column("delivery_locations", sa.Text),
)


def _methods(view: dict) -> str:
    lines = view.get("lines", [])
    found = {"home_delivery" if view.get("dispatch_location") else "click_and_collect"}
    if any(line.get("fulfilment") == "buy_in_store" for line in lines):
        found.add("direct_sale")
    return " ".join(sorted(found))


def _locations(view: dict) -> str:
    found = {view.get("store_id"), view.get("dispatch_location")} - {None, ""}
    return f" {' '.join(sorted(found))} " if found else ""


def upgrade() -> None:
    op.add_column("orders", sa.Column("fulfilment_methods", sa.String(length=64), nullable=False, server_default=""))
    op.create_index(op.f("ix_orders_fulfilment_methods"), "orders", ["fulfilment_methods"], unique=False)
    op.add_column("orders", sa.Column("delivery_locations", sa.Text(), nullable=False, server_default=""))
    bind = op.get_bind()
    for number, view in bind.execute(sa.select(_ORDERS.c.order_number, _ORDERS.c.view)).all():
        methods = _methods(view if isinstance(view, dict) else {})
        locations = _locations(view if isinstance(view, dict) else {})
        changes = {"fulfilment_methods": methods, "delivery_locations": locations}
        bind.execute(_ORDERS.update().where(_ORDERS.c.order_number == number).values(**changes))


def downgrade() -> None:
    op.drop_column("orders", "delivery_locations")
    op.drop_index(op.f("ix_orders_fulfilment_methods"), table_name="orders")
    op.drop_column("orders", "fulfilment_methods")
