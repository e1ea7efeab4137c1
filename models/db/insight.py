"""The read model's analytics and customer tables, written with the order's projection (models/db/orders.py
`write_projection`) from its view, so they are exactly as fresh as the order list: one row of facts per order, one
row per SLA breach and per refund (to group by type and reason from an index), and one row per customer (to search
customers without scanning orders). Derived, never the truth: `backfill` rebuilds them from the stored views."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel, col, select

from models.db.tables import OrderRecordRow
from models.db.types import utc_column
from models.insight import STAGES, customer_facts, order_facts

COVERED = (
    "created_at",
    "store_id",
    "channel",
    "currency",
    "status",
    "sla_breaches",
    "total_amount",
    "refunded_amount",
    "created_day",
    "customer_id",
    *(f"{stage}_seconds" for stage in STAGES),
)


class OrderFactsRow(SQLModel, table=True):
    """One order as analytics counts it (models/insight.py `OrderFacts`)."""

    __tablename__ = "order_facts"
    __table_args__ = (
        # Covers every range query that is not filtered by store, so SQLite reads the index alone, in time order.
        Index("ix_order_facts_created", *COVERED),
        Index("ix_order_facts_store_created", "store_id", "created_at"),
        Index("ix_order_facts_channel_created", "channel", "created_at"),
        Index("ix_order_facts_customer_channel", "customer_id", "channel"),
    )

    order_number: str = Field(primary_key=True, max_length=32)
    store_id: str = Field(max_length=32)
    channel: str = Field(max_length=16)
    customer_id: str = Field(max_length=64)
    status: str = Field(max_length=32)
    currency: str = Field(max_length=3)
    total_amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    refunded_amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = Field(sa_column=utc_column())
    created_day: str = Field(max_length=10)
    acknowledged_seconds: int | None = None
    picked_seconds: int | None = None
    ready_seconds: int | None = None
    collected_seconds: int | None = None
    cancelled_by: str | None = Field(default=None, max_length=64)
    cancel_reason: str | None = Field(default=None, max_length=200)
    sla_breaches: int = 0


class OrderBreachRow(SQLModel, table=True):
    """One SLA alert an order's timers raised, with the order's store, channel and placement time."""

    __tablename__ = "order_breach_facts"
    __table_args__ = (
        Index("ix_order_breach_facts_created", "created_at"),
        Index("ix_order_breach_facts_store_created", "store_id", "created_at"),
    )

    order_number: str = Field(primary_key=True, max_length=32)
    alert_id: str = Field(primary_key=True, max_length=16)
    alert_type: str = Field(max_length=32)
    store_id: str = Field(max_length=32)
    channel: str = Field(max_length=16)
    created_at: datetime = Field(sa_column=utc_column())


class OrderRefundRow(SQLModel, table=True):
    """One refund done or instructed on an order, with its reason, and the order's store, channel and placement."""

    __tablename__ = "order_refund_facts"
    __table_args__ = (Index("ix_order_refund_facts_created", "created_at"),)

    order_number: str = Field(primary_key=True, max_length=32)
    refund_id: str = Field(primary_key=True, max_length=80)
    reason: str = Field(max_length=200)
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(max_length=3)
    store_id: str = Field(max_length=32)
    channel: str = Field(max_length=16)
    created_at: datetime = Field(sa_column=utc_column())


class CustomerRow(SQLModel, table=True):
    """A customer as their newest order names them, with lower-cased text to search (name, e-mail, id, phone)."""

    __tablename__ = "customers"
    __table_args__ = (Index("ix_customers_last_order", "last_order_at", "customer_id"),)

    customer_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    email: str = Field(max_length=254)
    phone: str = Field(max_length=40)
    search_text: str = Field(max_length=800)
    last_order_at: datetime = Field(sa_column=utc_column())


@dataclass(frozen=True)
class FactRows:
    """The rows one order's view makes, as column values: its facts, breaches, refunds and its customer."""

    facts: dict[str, Any]
    breaches: list[dict[str, Any]]
    refunds: list[dict[str, Any]]
    customer: dict[str, Any]


def fact_rows(view: dict[str, Any]) -> FactRows:
    facts = order_facts(view)
    where: dict[str, Any] = {"order_number": facts.order_number, "store_id": facts.store_id}
    where.update(channel=facts.channel, created_at=facts.created_at)
    return FactRows(
        facts={
            "order_number": facts.order_number,
            "store_id": facts.store_id,
            "channel": facts.channel,
            "customer_id": facts.customer_id,
            "status": facts.status,
            "currency": facts.currency,
            "total_amount": facts.total_amount,
            "refunded_amount": facts.refunded_amount,
            "created_at": facts.created_at,
            "created_day": facts.created_day,
            **{f"{stage}_seconds": facts.seconds[stage] for stage in STAGES},
            "cancelled_by": facts.cancelled_by,
            "cancel_reason": facts.cancel_reason,
            "sla_breaches": len(facts.breaches),
        },
        breaches=[{**where, "alert_id": b.alert_id, "alert_type": b.alert_type} for b in facts.breaches],
        refunds=[
            {**where, "refund_id": r.refund_id, "reason": r.reason, "amount": r.amount, "currency": r.currency}
            for r in facts.refunds
        ],
        customer=customer_facts(view).model_dump(),
    )


def write_facts(session: Session, view: dict[str, Any]) -> None:
    """Bring the order's facts up to `view` (the projection just written) and keep its customer's row current.
    Leaves the commit to the caller. An order's SLA alerts and counted refunds are never taken back (an alert is
    cleared, not removed; a refund done or instructed stays so), so their rows are only ever added."""
    rows = fact_rows(view)
    statements = fact_upserts(session.get_bind().dialect.name)
    session.exec(statements["facts"], params=rows.facts)
    if rows.breaches:
        session.exec(statements["breaches"], params=rows.breaches)
    if rows.refunds:
        session.exec(statements["refunds"], params=rows.refunds)
    session.exec(statements["customer"], params=rows.customer)


@functools.cache
def fact_upserts(dialect: str) -> dict[str, Any]:
    """The upserts write_facts runs, built once per dialect (their values come as parameters): a projection is
    written at every change of every order, and building them was most of the cost."""
    insert_for = postgresql.insert if dialect == "postgresql" else sqlite.insert
    facts = insert_for(OrderFactsRow.__table__)  # type: ignore[attr-defined]
    customers = insert_for(CustomerRow.__table__)  # type: ignore[attr-defined]
    customer_columns = ("name", "email", "phone", "search_text", "last_order_at")
    return {
        "facts": facts.on_conflict_do_update(
            index_elements=["order_number"],
            set_={c.name: facts.excluded[c.name] for c in OrderFactsRow.__table__.columns if not c.primary_key},  # type: ignore[attr-defined]
        ),
        "breaches": insert_for(OrderBreachRow.__table__).on_conflict_do_nothing(),  # type: ignore[attr-defined]
        "refunds": insert_for(OrderRefundRow.__table__).on_conflict_do_nothing(),  # type: ignore[attr-defined]
        # Unless a newer order of theirs already named them.
        "customer": customers.on_conflict_do_update(
            index_elements=["customer_id"],
            set_={column: customers.excluded[column] for column in customer_columns},
            where=CustomerRow.__table__.c.last_order_at <= customers.excluded.last_order_at,  # type: ignore[attr-defined]
        ),
    }


def backfill(session: Session, views: Any, batch: int = 500) -> tuple[int, int]:
    """Write the facts of every view in `views` (an iterable of view dicts), committing every `batch`; returns how
    many were written and how many skipped (a view too incomplete to count: only hand-made rows are). For a
    migration over orders already projected, and for bench/."""
    written = skipped = 0
    for view in views:
        try:
            with session.begin_nested():
                write_facts(session, view)
        except (KeyError, TypeError, ValueError):
            skipped += 1
            continue
        written += 1
        if written % batch == 0:
            session.commit()
    session.commit()
    return written, skipped


def stored_views(session: Session, batch: int = 500) -> Any:
    """Every order's stored view, read in pages of `batch` by order number (for `backfill`)."""
    last = ""
    while True:
        rows = session.exec(
            select(OrderRecordRow.order_number, OrderRecordRow.view)
            .where(col(OrderRecordRow.order_number) > last)
            .order_by(col(OrderRecordRow.order_number))
            .limit(batch)
        ).all()
        if not rows:
            return
        for _number, view in rows:
            yield view
        last = rows[-1][0]


def forget_all_facts(session: Session) -> None:
    """Empty the derived tables (with `orders.forget_all_orders`, for scratch databases only)."""
    for table in (OrderBreachRow, OrderRefundRow, OrderFactsRow, CustomerRow):
        session.exec(delete(table))
