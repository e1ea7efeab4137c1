"""The customer view's and analytics' queries at 100,000 orders, on SQLite and PostgreSQL side by side.

    createdb -h 127.0.0.1 -U postgres baton_insight_bench   # once
    .venv/bin/python bench/insight_queries.py [--orders 100000] [--sqlite-url sqlite:////tmp/baton-insight.db] \
        [--postgres-url postgresql+psycopg://postgres@127.0.0.1/baton_insight_bench]

Fills each scratch database's read model with synthetic orders spread over 90 days (40 stores, 3 channels,
25,000 customers; ~72% collected, ~8% cancelled, ~8% with an SLA breach, refunds on cancellations and a few
collected orders) by straight inserts (models/db/bulk.py, not workflows), then times every analytics query over
30 and 90 days and the customer search and view. Prints the median of --runs calls in milliseconds; never fails
on a time. `--postgres-url ''` skips PostgreSQL.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel import Session

from api import insight_service
from models.db import analytics, analyze, create_tables, customers, make_engine, orders
from models.db.analytics import Scope
from models.db.bulk import load_views

STORES = [f"S{n:03d}" for n in range(1, 41)]
CHANNELS = ["web", "web", "web", "phone", "store"]
FIRST = ["Ada", "Grace", "Alan", "Katherine", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances", "Edsger",
         "Radia", "Tim", "Hedy", "John", "Sophie", "Donald", "Shafi", "Guido", "Anita"]  # fmt: skip
LAST = ["Lovelace", "Hopper", "Turing", "Johnson", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson", "Allen",
        "Dijkstra", "Perlman", "Berners-Lee", "Lamarr", "Backus", "Wilson", "Knuth", "Goldwasser", "Rossum", "Borg",
        "Smith", "Jones", "Taylor", "Brown", "Williams"]  # fmt: skip
CANCEL_REASONS = ["customer changed mind", "found it cheaper", "ordered twice", "too slow"]
SLA_TYPES = ["not_acknowledged", "not_picked", "not_collected", "on_hold"]
CUSTOMERS = 25_000
DAYS = 90


def _at(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _money(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "GBP"}


def _customer(n: int) -> dict[str, Any]:
    first, last = FIRST[n % len(FIRST)], LAST[(n // len(FIRST)) % len(LAST)]
    return {
        "id": f"C{n:06d}",
        "name": f"{first} {last}",
        "email": f"{first.lower()}.{last.lower()}{n}@example.com",
        "phone": f"+44 7700 {900000 + n:06d}",
    }


def synthetic_view(number: int, rng: random.Random, now: datetime) -> dict[str, Any]:
    """An order view as the read model stores it, with the history, alerts and refunds analytics read."""
    created = now - timedelta(seconds=rng.randrange(DAYS * 86400))
    history: list[dict[str, Any]] = []
    status, at = "awaiting_acknowledgement", created

    def step(minutes: float, action: str, to: str) -> None:
        nonlocal status, at
        at = at + timedelta(seconds=int(minutes * 60))
        history.append({"at": _at(at), "actor": "store", "action": action, "detail": "", "from_status": status,
                        "to_status": to})  # fmt: skip
        status = to

    history.append({"at": _at(created), "actor": "system", "action": "sent_to_store", "detail": "",
                    "from_status": "received", "to_status": status})  # fmt: skip
    fate, total, refunds, alerts = rng.random(), rng.choice([1500, 2500, 4500, 7500, 12000]), [], []
    stop = rng.choice(["awaiting_acknowledgement", "acknowledged", "ready_for_collection"]) if fate > 0.8 else None
    if rng.random() < 0.08:
        alerts.append({"alert_id": "A1", "type": rng.choice(SLA_TYPES), "raised_at": _at(created + timedelta(hours=1)),
                       "cleared_at": None, "detail": ""})  # fmt: skip
    if fate < 0.048:  # cancelled by Head Office before the store acknowledged
        reason = rng.choice(CANCEL_REASONS)
        step(rng.lognormvariate(2, 1), "order_cancelled", "cancelled")
        history[-1]["detail"] = reason
        refunds.append({"refund_id": "R1", "amount": _money(total), "reason": reason, "status": "refunded"})
    elif stop != "awaiting_acknowledgement":
        step(rng.lognormvariate(2.3, 0.8), "acknowledged", "acknowledged")
        if stop != "acknowledged":
            step(rng.lognormvariate(3.4, 0.6), "picked", "ready_for_collection")
            if fate < 0.08:  # never collected
                step(60 * 24 * 7, "not_collected", "cancelled")
                refunds.append({"refund_id": "R1", "amount": _money(total), "reason": "not collected",
                                "status": "refunded"})  # fmt: skip
            elif stop is None:
                step(rng.lognormvariate(7, 0.9), "collected", "collected")
                step(0, "completed", "completed")
                if rng.random() < 0.05:
                    refunds.append({"refund_id": "R1", "amount": _money(total // 5), "reason": "damaged item",
                                    "status": "refunded"})  # fmt: skip
    for refund in refunds:
        refund.update(payment_id="P1", at=_at(at), actor="ho:alice", reference="", detail="")
    owed = 0 if status == "cancelled" else total
    refunded = sum(r["amount"]["amount"] for r in refunds)
    order_number = str(700000 + number)
    return {
        "order_number": order_number,
        "workflow_id": f"order-{order_number}",
        "web_reference": f"WEB-{number}",
        "channel": rng.choice(CHANNELS),
        "customer": _customer(rng.randrange(CUSTOMERS)),
        "store_id": rng.choice(STORES),
        "fulfilment_method": "click_and_collect",
        "status": status,
        "status_since": _at(at),
        "created_at": _at(created),
        "total": _money(owed),
        "has_alert": bool(alerts) and status not in ("completed", "cancelled"),
        "lines": [{"line_id": "L1", "sku": "TEE-WHI-M", "quantity": 1, "unit_price": _money(total)}],
        "payments": [
            {
                "payment_id": "P1",
                "mode": "prepaid",
                "method": "card",
                "amount": _money(total),
                "status": "taken",
                "at": _at(created),
                "actor": "webstore",
            }
        ],  # fmt: skip
        "refunds": refunds,
        "paid": _money(total),
        "refunded": _money(refunded),
        "outstanding": _money(0),
        "delivery_address": None,
        "notes": [],
        "alerts": alerts,
        "history": history,
        "version": len(history) + 1,
    }


def seed(url: str, count: int, batch: int = 5000) -> float:
    """Empty the read model at `url` and load `count` synthetic orders; seconds taken."""
    engine = make_engine(url)
    create_tables(engine)
    rng, now, started = random.Random(16), datetime.now(UTC), time.perf_counter()
    with Session(engine) as session:
        orders.forget_all_orders(session)
        for first in range(0, count, batch):
            views = [synthetic_view(n, rng, now) for n in range(first, min(count, first + batch))]
            load_views(session, views, now)
        analyze(session)
    engine.dispose()
    return time.perf_counter() - started


def queries(today: date, customer_id: str) -> list[tuple[str, Callable[[Session], Any]]]:
    month, quarter = Scope(today - timedelta(days=29), today), Scope(today - timedelta(days=DAYS), today)
    store = Scope(month.first, month.last, store_id="S007")
    web = Scope(month.first, month.last, channel="web")
    return [
        ("orders by day, 30 days", lambda s: analytics.orders_by(s, month, "day")),
        ("orders by channel, 30 days", lambda s: analytics.orders_by(s, month, "channel")),
        ("orders by store, 30 days", lambda s: analytics.orders_by(s, month, "store")),
        ("orders by day, 30 days, store S007", lambda s: analytics.orders_by(s, store, "day")),
        ("orders by store, 30 days, channel web", lambda s: analytics.orders_by(s, web, "store")),
        ("SLA breaches by store and type, 30 days", lambda s: analytics.breaches_by_store_and_type(s, month)),
        ("breach rate by store, 30 days", lambda s: analytics.breach_rates(s, month)),
        ("stage times (median, p90), 30 days", lambda s: analytics.stage_times(s, month)),
        ("stage times, 30 days, store S007", lambda s: analytics.stage_times(s, store)),
        ("stage times, 90 days", lambda s: analytics.stage_times(s, quarter)),
        ("cancellation reasons, 30 days", lambda s: analytics.cancellation_reasons(s, month)),
        ("refund reasons, 30 days", lambda s: analytics.refund_reasons(s, month)),
        ("orders summary, 30 days", lambda s: analytics.orders_summary(s, month)),
        ("orders summary, 90 days", lambda s: analytics.orders_summary(s, quarter)),
        ("customer analysis, 30 days, first page", lambda s: analytics.customer_orders(s, month, 50)[0]),
        ("customer analysis CSV, 90 days (all rows)", lambda s: insight_service.customers_csv(s, quarter)),
        ("analytics page (all its queries), 30 days", lambda s: insight_service.dashboard(s, month)),
        ("customer search: name 'lovelace'", lambda s: customers.search_customers(s, "lovelace", None, 25)[0]),
        ("customer search: e-mail 'hopper1234'", lambda s: customers.search_customers(s, "hopper1234", None, 25)[0]),
        ("customer search: phone '7700 912'", lambda s: customers.search_customers(s, "7700 912", None, 25)[0]),
        ("customer search: id 'C012345'", lambda s: customers.search_customers(s, "C012345", None, 25)[0]),
        ("customer search: no match", lambda s: customers.search_customers(s, "zzzz", None, 25)[0]),
        ("customer search: web channel key", lambda s: customers.search_customers(s, "turing", ["web"], 25)[0]),
        (f"customer view {customer_id}", lambda s: insight_service.customer_view(s, customer_id, None)["orders"]),
    ]


def measure(url: str, runs: int) -> dict[str, tuple[float, int]]:
    """Median milliseconds per query (after one warm-up call) and the rows it answered."""
    engine = make_engine(url)
    figures: dict[str, tuple[float, int]] = {}
    with Session(engine) as session:
        (sample, _orders), *_ = customers.search_customers(session, "lovelace", None, 1)[0]  # one who ordered
        for label, query in queries(datetime.now(UTC).date(), sample.customer_id):
            result = query(session)
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                query(session)
                times.append((time.perf_counter() - started) * 1000)
            size = len(result.body.splitlines()) - 1 if hasattr(result, "body") else len(result)
            figures[label] = (statistics.median(times), size)
    engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sqlite-url", default="sqlite:////tmp/baton-insight-bench.db")
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1/baton_insight_bench")
    args = parser.parse_args()
    databases = {"SQLite": args.sqlite_url, "PostgreSQL": args.postgres_url}
    results = {}
    for name, url in databases.items():
        if not url:
            continue
        seconds = seed(url, args.orders)
        print(f"{name}: {args.orders} orders loaded in {seconds:.1f} s")
        results[name] = measure(url, args.runs)
    names = list(results)
    print(
        f"\n{'query (median of ' + str(args.runs) + ' runs, ms)':<46}" + "".join(f"{n:>12}" for n in names) + "   rows"
    )
    for label in results[names[0]]:  # the customer view's label names the same customer on every database
        cells = "".join(f"{results[n][label][0]:>12.1f}" for n in names)
        print(f"{label:<46}{cells}   {results[names[0]][label][1]}")


if __name__ == "__main__":
    main()
