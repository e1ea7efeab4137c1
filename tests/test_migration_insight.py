"""Migration 0013 on a database in use: orders already in the read model get their analytics facts and customers
from their stored views, by the same code the projection runs."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from models.db import run_migrations
from models.order import Alert, AlertType, HistoryEntry, OrderStatus
from models.views import for_api
from tests.models.factories import T0, captured, make_state
from tests.test_migrations import postgres_url, sqlite_url  # noqa: F401  (fixtures)


def _view() -> dict:
    state = make_state(OrderStatus.acknowledged, payments=[captured()])
    state.history.append(
        HistoryEntry(
            at=T0 + timedelta(minutes=7),
            actor="store:S001",
            action="acknowledged",
            from_status=OrderStatus.awaiting_acknowledgement,
            to_status=OrderStatus.acknowledged,
        )
    )
    state.alerts.append(Alert(alert_id="A1", type=AlertType.not_acknowledged, raised_at=T0 + timedelta(minutes=5)))
    return for_api(state).model_dump(mode="json")


def _backfills(url: str) -> None:
    run_migrations(url, "0012")
    view = _view()
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO orders (order_number, version, status, store_id, channel, web_reference, customer_id, "
                    "customer_name, customer_email, has_alert, created_at, updated_at, view, seen_event_ids) VALUES "
                    "(:n, 3, 'acknowledged', :store, 'web', 'W', :cid, 'Ada', 'a@b.c', true, :at, :at, :view, '[]')"
                ),
                [
                    {
                        "n": view["order_number"],
                        "store": view["store_id"],
                        "cid": view["customer"]["id"],
                        "at": T0.isoformat(),
                        "view": json.dumps(view),
                    },  # fmt: skip
                    {"n": "999999", "store": "S1", "cid": "C9", "at": T0.isoformat(), "view": '{"status": "received"}'},
                ],
            )
        run_migrations(url)
        with engine.begin() as conn:
            facts = conn.execute(
                text("SELECT order_number, store_id, acknowledged_seconds, sla_breaches, created_day FROM order_facts")
            ).all()
            breaches = conn.execute(text("SELECT order_number, alert_type FROM order_breach_facts")).all()
            customers = conn.execute(text("SELECT customer_id, name FROM customers")).all()
    finally:
        engine.dispose()
    number = view["order_number"]
    # The hand-made row with an incomplete view is skipped, not a failed migration.
    assert [tuple(row) for row in facts] == [(number, view["store_id"], 420, 1, T0.date().isoformat())]
    assert [tuple(row) for row in breaches] == [(number, "not_acknowledged")]
    assert [tuple(row) for row in customers] == [(view["customer"]["id"], view["customer"]["name"])]


def test_sqlite_migration_backfills_facts_from_stored_views(sqlite_url: str) -> None:  # noqa: F811
    _backfills(sqlite_url)


def test_postgres_migration_backfills_facts_from_stored_views(postgres_url: str) -> None:  # noqa: F811
    _backfills(postgres_url)
