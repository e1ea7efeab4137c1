"""Analytics over the read model's facts (models/db/insight.py), for orders placed in a date range, optionally at
one store and through one channel. Every query starts from an index on (store or channel, placement time) or on
placement time alone (which covers the columns they read) and groups in the database, except stage times, whose
percentiles are taken from the seconds one range scan reads. Money is summed per currency, never across currencies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func
from sqlalchemy import select as select_columns  # any number of columns (sqlmodel's select takes up to 4)
from sqlmodel import Session, col, select

from models.db.insight import CustomerRow, OrderBreachRow, OrderFactsRow, OrderRefundRow
from models.insight import STAGES, nearest_rank


@dataclass(frozen=True)
class Scope:
    """Orders placed on days `first` to `last` (inclusive, UTC), at one store and through one channel if given."""

    first: date
    last: date
    store_id: str | None = None
    channel: str | None = None

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), UTC)


def _where(scope: Scope, table: Any) -> list[ColumnElement[bool]]:
    conditions = [col(table.created_at) >= scope.start, col(table.created_at) < scope.end]
    if scope.store_id:
        conditions.append(col(table.store_id) == scope.store_id)
    if scope.channel:
        conditions.append(col(table.channel) == scope.channel)
    return conditions


_F = OrderFactsRow
_CANCELLED = func.sum(case((col(_F.status) == "cancelled", 1), else_=0))
_BREACHED = func.sum(case((col(_F.sla_breaches) > 0, 1), else_=0))

GROUPINGS = {"day": _F.created_day, "channel": _F.channel, "store": _F.store_id}


def orders_by(session: Session, scope: Scope, by: str) -> list[dict[str, Any]]:
    """Orders, cancellations, revenue (order totals) and refunds per day, channel or store, and currency."""
    key = col(GROUPINGS[by])
    query = (
        select_columns(
            key,
            col(_F.currency),
            func.count(),
            _CANCELLED,
            func.sum(_F.total_amount),
            func.sum(_F.refunded_amount),
        )
        .where(*_where(scope, _F))
        .group_by(key, _F.currency)
        .order_by(key, _F.currency)
    )
    return [
        {
            by: value,
            "currency": currency,
            "orders": orders,
            "cancelled": int(cancelled or 0),
            "revenue": int(revenue or 0),
            "refunded": int(refunded or 0),
        }
        for value, currency, orders, cancelled, revenue, refunded in session.execute(query)
    ]


def breaches_by_store_and_type(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """SLA alerts raised on the orders, per store and alert type."""
    B = OrderBreachRow
    query = (
        select(B.store_id, B.alert_type, func.count())
        .where(*_where(scope, B))
        .group_by(B.store_id, B.alert_type)
        .order_by(B.store_id, B.alert_type)
    )
    return [{"store_id": s, "alert_type": t, "breaches": n} for s, t, n in session.exec(query)]


def breach_rates(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """Per store: orders, orders with at least one SLA breach, and their share (4 decimals)."""
    query = (
        select(_F.store_id, func.count(), _BREACHED)
        .where(*_where(scope, _F))
        .group_by(_F.store_id)
        .order_by(_F.store_id)
    )
    return [
        {"store_id": store, "orders": n, "breached_orders": int(b or 0), "breach_rate": round(int(b or 0) / n, 4)}
        for store, n, b in session.exec(query)
    ]


def stage_times(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """Per store with orders in scope (and "*" for all of them): how many orders reached each stage, and the median
    and p90 seconds from placement to it, nearest-rank (the value at rank ceil(p x n)). One index-only range scan
    reads the seconds (ix_order_facts_created covers them); sorting them here is cheaper on both databases than a
    window function per stage and store."""
    columns = [col(getattr(_F, f"{stage}_seconds")) for stage in STAGES]
    seconds: dict[str, list[list[int]]] = {}
    for store, *values in session.execute(select_columns(col(_F.store_id), *columns).where(*_where(scope, _F))):
        for every in (seconds.setdefault(store, [[] for _ in STAGES]), seconds.setdefault("*", [[] for _ in STAGES])):
            for per_stage, value in zip(every, values, strict=True):
                if value is not None:
                    per_stage.append(value)
    rows = []
    for store in sorted(seconds):
        row: dict[str, Any] = {"store_id": store}
        for stage, values in zip(STAGES, seconds[store], strict=True):
            values.sort()
            median, p90 = nearest_rank(values, 500), nearest_rank(values, 900)
            row[stage] = {"orders": len(values), "median_seconds": median, "p90_seconds": p90}
        rows.append(row)
    return rows


def cancellation_reasons(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """Cancelled orders per cancelling action and reason, most frequent first."""
    query = (
        select(_F.cancelled_by, _F.cancel_reason, func.count())
        .where(*_where(scope, _F), col(_F.cancelled_by).is_not(None))
        .group_by(col(_F.cancelled_by), col(_F.cancel_reason))
        .order_by(func.count().desc(), col(_F.cancelled_by), col(_F.cancel_reason))
    )
    return [{"cancelled_by": by, "reason": reason, "orders": n} for by, reason, n in session.exec(query)]


def refund_reasons(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """Refunds done or instructed per reason and currency: how many, and how much."""
    R = OrderRefundRow
    query = (
        select(R.reason, R.currency, func.count(), func.sum(R.amount))
        .where(*_where(scope, R))
        .group_by(R.reason, R.currency)
        .order_by(func.count().desc(), R.reason, R.currency)
    )
    return [
        {"reason": reason, "currency": currency, "refunds": n, "amount": int(amount or 0)}
        for reason, currency, n, amount in session.exec(query)
    ]


def orders_summary(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """The Orders Summary: per day, store, channel and currency, orders, cancellations, orders that breached an
    SLA, revenue and refunds."""
    query = (
        select_columns(
            col(_F.created_day),
            col(_F.store_id),
            col(_F.channel),
            col(_F.currency),
            func.count(),
            _CANCELLED,
            _BREACHED,
            func.sum(_F.total_amount),
            func.sum(_F.refunded_amount),
        )
        .where(*_where(scope, _F))
        .group_by(_F.created_day, _F.store_id, _F.channel, _F.currency)
        .order_by(_F.created_day, _F.store_id, _F.channel, _F.currency)
    )
    keys = ("day", "store_id", "channel", "currency", "orders", "cancelled", "breached_orders", "revenue", "refunded")
    rows = session.execute(query)
    return [dict(zip(keys, (*row[:5], *(int(value or 0) for value in row[5:])), strict=True)) for row in rows]


def customer_orders(session: Session, scope: Scope, limit: int, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """The per-customer orders analysis: each customer's orders in scope, cancellations, revenue and refunds (per
    currency), first and last order; biggest revenue first. One page, and how many rows there are in all."""
    revenue = func.sum(_F.total_amount)
    grouped = (
        select_columns(
            col(_F.customer_id),
            col(_F.currency),
            func.count().label("orders"),
            _CANCELLED.label("cancelled"),
            revenue.label("revenue"),
            func.sum(_F.refunded_amount).label("refunded"),
            func.min(_F.created_at).label("first_order_at"),
            func.max(_F.created_at).label("last_order_at"),
        )
        .where(*_where(scope, _F))
        .group_by(_F.customer_id, _F.currency)
        .subquery()
    )
    total = session.exec(select(func.count()).select_from(grouped)).one()
    query = (
        select_columns(grouped, col(CustomerRow.name), col(CustomerRow.email))
        .join(CustomerRow, col(CustomerRow.customer_id) == grouped.c.customer_id, isouter=True)
        .order_by(grouped.c.revenue.desc(), grouped.c.customer_id, grouped.c.currency)
        .limit(limit)
        .offset(offset)
    )
    rows = []
    for row in session.execute(query):
        item = dict(row._mapping)
        for key in ("cancelled", "revenue", "refunded"):
            item[key] = int(item[key] or 0)
        for key in ("first_order_at", "last_order_at"):
            item[key] = _utc(item[key])
        rows.append(item)
    return rows, total


def _utc(value: datetime | str) -> datetime:
    """MIN/MAX of a UTC column come back without the column's type on SQLite (a string, or a naive datetime)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
