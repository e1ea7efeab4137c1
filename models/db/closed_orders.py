"""Closed orders' final state (closed_orders): kept by an order's workflow as it ends, so a refund given after it
closed (a Refund workflow, workflows/refunds.py) decides on the whole order, as the order itself would, long after
Temporal has forgotten the closed workflow. `revision` makes each change a compare-and-set: two late refunds on
one order never both spend the same money. Each query takes an open Session."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col

from models.db.types import utc_column
from models.order import OrderState


class ClosedOrderRow(SQLModel, table=True):
    __tablename__ = "closed_orders"

    order_number: str = Field(primary_key=True, max_length=32)
    revision: int
    state: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    # Refund workflow id -> the gateway operation ids it claimed (empty: nothing to send through a gateway).
    claims: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    closed_at: datetime = Field(sa_column=utc_column())
    updated_at: datetime = Field(sa_column=utc_column())


class ClosedOrder(SQLModel):
    revision: int
    state: OrderState
    claims: dict[str, list[str]]


def keep(session: Session, state: OrderState, now: datetime) -> None:
    """Keep the order's final state as it closes. A retried write changes nothing; a newer state of the closing order
    (a signal it handled meanwhile) replaces the kept one while no late change has been made to it."""
    row = session.get(ClosedOrderRow, state.order_number)
    if row is not None:
        if row.revision == 0 and int(row.state.get("version", 0)) < state.version:
            row.state, row.updated_at = state.model_dump(mode="json"), now
            session.add(row)
            session.commit()
        return
    row = ClosedOrderRow(
        order_number=state.order_number,
        revision=0,
        state=state.model_dump(mode="json"),
        claims={},
        closed_at=now,
        updated_at=now,
    )
    session.add(row)
    try:
        session.commit()
    except IntegrityError:  # a concurrent copy of the write kept it first: the same state
        session.rollback()


def is_kept(session: Session, order_number: str) -> bool:
    return session.get(ClosedOrderRow, order_number) is not None


def load(session: Session, order_number: str) -> ClosedOrder | None:
    row = session.get(ClosedOrderRow, order_number)
    if row is None:
        return None
    return ClosedOrder(revision=row.revision, state=OrderState.model_validate(row.state), claims=dict(row.claims))


def replace(session: Session, order_number: str, seen: ClosedOrder, now: datetime) -> bool:
    """Write the changed state and claims if nobody changed them since `seen` was loaded; False when somebody did
    (load again and decide again). Leaves the commit to the caller."""
    result = session.exec(
        update(ClosedOrderRow)
        .where(col(ClosedOrderRow.order_number) == order_number, col(ClosedOrderRow.revision) == seen.revision)
        .values(
            revision=seen.revision + 1,
            state=seen.state.model_dump(mode="json"),
            claims=seen.claims,
            updated_at=now,
        )
    )
    return bool(result.rowcount)
