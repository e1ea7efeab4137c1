"""The stock ledger: every movement of stock (a reservation, release, commit, transfer, count, receipt or
adjustment) with who made it and why, written in the same transaction as the change itself. Its ids are also the
availability feed: an outbox lane reads the movements after its place, folds them per SKU and location and tells
webhook subscribers what is available now (`stock_changed`). Each query takes an open Session."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, and_, func, or_
from sqlmodel import Field, Session, SQLModel, col, select

from models.db.tables import StockLevelRow
from models.db.types import utc_column


class StockMovementRow(SQLModel, table=True):
    __tablename__ = "stock_movements"
    __table_args__ = (
        Index("ix_stock_movements_sku_location", "sku", "location_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    )
    location_id: str = Field(max_length=32)
    sku: str = Field(max_length=64)
    kind: str = Field(max_length=16)  # reserve, release, commit, transfer_out, transfer_in, count, receipt, adjustment
    on_hand_delta: int = 0
    reserved_delta: int = 0
    actor: str = Field(max_length=120)
    reason: str = Field(default="", max_length=500)
    order_number: str | None = Field(default=None, max_length=32)
    message_id: str | None = Field(default=None, max_length=120)
    created_at: datetime = Field(sa_column=utc_column())


class FeedMessageRow(SQLModel, table=True):
    """A feed message applied (products, counts, movements): a retried one is answered from here, not applied."""

    __tablename__ = "feed_messages"

    message_id: str = Field(primary_key=True, max_length=120)
    kind: str = Field(max_length=16)
    actor: str = Field(max_length=120)
    outcome: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    received_at: datetime = Field(sa_column=utc_column())


def record(
    session: Session,
    location_id: str,
    sku: str,
    kind: str,
    *,
    on_hand: int = 0,
    reserved: int = 0,
    actor: str,
    reason: str = "",
    order_number: str | None = None,
    message_id: str | None = None,
    now: datetime,
) -> None:
    """Add one movement to the session (the caller's transaction commits it with the change)."""
    session.add(
        StockMovementRow(
            location_id=location_id,
            sku=sku,
            kind=kind,
            on_hand_delta=on_hand,
            reserved_delta=reserved,
            actor=actor[:120],
            reason=reason[:500],
            order_number=order_number,
            message_id=message_id,
            created_at=now,
        )
    )


def movements(
    session: Session, sku: str | None, location_id: str | None, limit: int, offset: int
) -> tuple[list[StockMovementRow], int]:
    """The ledger, newest first, filtered by SKU and location; and how many rows match."""
    query = select(StockMovementRow)
    if sku:
        query = query.where(StockMovementRow.sku == sku)
    if location_id:
        query = query.where(StockMovementRow.location_id == location_id)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(col(StockMovementRow.id).desc()).offset(offset).limit(limit)).all()
    return list(rows), int(total)


def movements_after(session: Session, position: int, limit: int) -> list[StockMovementRow]:
    query = select(StockMovementRow).where(col(StockMovementRow.id) > position)
    return list(session.exec(query.order_by(col(StockMovementRow.id)).limit(limit)))


def last_movement_id(session: Session) -> int:
    return int(session.exec(select(func.max(StockMovementRow.id))).one() or 0)


def available(session: Session, places: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """What is available now (on hand less reserved) for each (sku, location); 0 where nothing is stocked."""
    if not places:
        return {}
    wanted = [and_(col(StockLevelRow.sku) == sku, col(StockLevelRow.location_id) == loc) for sku, loc in places]
    rows = session.exec(select(StockLevelRow).where(or_(*wanted))).all()
    found = {(row.sku, row.location_id): row.on_hand - row.reserved for row in rows}
    return {place: found.get(place, 0) for place in places}


def applied(session: Session, message_id: str) -> FeedMessageRow | None:
    return session.get(FeedMessageRow, message_id)


def remember(session: Session, message_id: str, kind: str, actor: str, outcome: dict[str, Any], now: datetime) -> None:
    session.add(FeedMessageRow(message_id=message_id, kind=kind, actor=actor, outcome=outcome, received_at=now))
