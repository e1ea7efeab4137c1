"""How the Head Office dashboard's queries behave at 10 000 orders: times each one and shows its plan.

    .venv/bin/python bench/dashboard_queries.py [--orders 10000] [--database-url sqlite:////tmp/dash.db]

Fills a scratch database with synthetic order projections (about 1 in 10 with an open alert), then runs the
queries behind /ui/orders and GET /orders. Prints figures only; it never fails on a time.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from models.db import analyze, create_tables, make_engine, orders
from models.money import Money
from models.order import Alert, AlertType, Channel, Customer, OrderLine, OrderState, OrderStatus

STORES = [f"S{n:03d}" for n in range(1, 41)]


def synthetic_order(number: int, rng: random.Random, now: datetime) -> OrderState:
    created = now - timedelta(minutes=number)
    state = OrderState(
        order_number=str(500000 + number),
        web_reference=f"WEB-{number}",
        channel=rng.choice(list(Channel)),
        customer=Customer(id=f"C{number % 3000}", name=f"Customer {number % 3000}", email=f"c{number % 3000}@ex.com"),
        store_id=rng.choice(STORES),
        status=rng.choice(list(OrderStatus)),
        status_since=created,
        created_at=created,
        lines=[
            OrderLine(
                line_id="L1",
                sku="TEE-WHI-M",
                style="TEE",
                size="M",
                colour="white",
                quantity=1,
                unit_price=Money(amount=1500, currency="GBP"),
            )
        ],
        version=1,
    )
    if rng.random() < 0.1:
        state.alerts.append(Alert(alert_id="A1", type=rng.choice(list(AlertType)), raised_at=created))
    return state


def timed(label: str, runs: int, function) -> None:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    for _ in range(runs):
        result = function()
    per_call = (time.perf_counter() - started) / runs * 1000
    size = len(result[0]) if isinstance(result, tuple) else len(result)
    print(f"{label:<44} {per_call:8.2f} ms   ({size} rows)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--database-url", default="sqlite:////tmp/baton-dashboard-bench.db")
    args = parser.parse_args()
    engine = make_engine(args.database_url)
    create_tables(engine)
    rng, now = random.Random(7), datetime.now(UTC)
    with Session(engine) as session:
        orders.forget_all_orders(session)
        for number in range(args.orders):
            orders.save_projection(session, synthetic_order(number, rng, now))
        analyze(session)
        print(f"{args.orders} orders in {engine.dialect.name}\n")
        timed("newest page (no filter)", 20, lambda: orders.search_orders(session, limit=25))
        timed("branch S007", 20, lambda: orders.search_orders(session, store_id="S007", limit=25))
        timed("status on_hold", 20, lambda: orders.search_orders(session, status="on_hold", limit=25))
        timed("open alert (any)", 20, lambda: orders.search_orders(session, has_alert=True, limit=25))
        timed("alert type not_picked", 20, lambda: orders.search_orders(session, alert_type="not_picked", limit=25))
        timed("customer c42@ex.com", 20, lambda: orders.search_orders(session, customer="c42@ex.com", limit=25))
        timed("counts by status", 20, lambda: orders.count_orders_by_status(session))
        timed("counts by open alert type", 20, lambda: orders.count_open_alerts_by_type(session))


if __name__ == "__main__":
    main()
