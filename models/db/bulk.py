"""Loading many order views into the read model at once, with their analytics and customer rows: for bench/,
which measures the queries at 100,000 orders without running 100,000 workflows. A scratch database only: rows
are inserted, never merged."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from models.db.insight import OrderBreachRow, OrderFactsRow, OrderRefundRow, fact_rows, fact_upserts
from models.db.tables import OrderOpenAlertRow, OrderRecordRow


def load_views(session: Session, views: list[dict[str, Any]], now: datetime) -> None:
    """Insert each view's read-model row, open alerts and facts, merge its customer (the newest order names
    them), and commit. Load in batches into an emptied read model."""
    orders, alerts, facts, breaches, refunds = [], [], [], [], []
    customers: dict[str, dict[str, Any]] = {}
    for view in views:
        customer, open_types = view["customer"], sorted({a["type"] for a in view["alerts"] if not a["cleared_at"]})
        orders.append(
            {
                "order_number": view["order_number"],
                "version": view["version"],
                "status": view["status"],
                "store_id": view["store_id"],
                "channel": view["channel"],
                "web_reference": view["web_reference"],
                "customer_id": customer["id"],
                "customer_name": customer["name"],
                "customer_email": customer["email"].lower(),
                "has_alert": bool(open_types),
                "created_at": datetime.fromisoformat(view["created_at"]),
                "updated_at": now,
                "view": view,
                "seen_event_ids": [],
            }
        )
        alerts += [
            {"order_number": view["order_number"], "alert_type": t, "store_id": view["store_id"]} for t in open_types
        ]
        rows = fact_rows(view)
        facts.append(rows.facts)
        breaches += rows.breaches
        refunds += rows.refunds
        known = customers.get(rows.customer["customer_id"])
        if known is None or known["last_order_at"] <= rows.customer["last_order_at"]:
            customers[rows.customer["customer_id"]] = rows.customer
    for table, values in (
        (OrderRecordRow, orders),
        (OrderOpenAlertRow, alerts),
        (OrderFactsRow, facts),
        (OrderBreachRow, breaches),
        (OrderRefundRow, refunds),
    ):
        if values:
            session.exec(insert(table), params=values)
    session.exec(fact_upserts(session.get_bind().dialect.name)["customer"], params=list(customers.values()))
    session.commit()
