"""Returns as the API lists them: one row per return, written by its workflow after every change (a local
activity), with the return's whole state. Each query takes an open Session."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, Session, SQLModel, col, func, select

from models.db.types import utc_column
from models.returns import OrderFacts, ReturnState, ReturnStatus


class ReturnRow(SQLModel, table=True):
    __tablename__ = "order_returns"

    return_id: str = Field(primary_key=True, max_length=64)
    order_number: str = Field(index=True, max_length=32)
    status: str = Field(index=True, max_length=16)
    location_id: str = Field(max_length=32)
    view: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(sa_column=utc_column())


def save(session: Session, state: ReturnState, now: datetime) -> None:
    row = session.get(ReturnRow, state.return_id) or ReturnRow(
        return_id=state.return_id, order_number=state.order_number, status="", location_id="", view={}, updated_at=now
    )
    row.status, row.location_id, row.updated_at = state.status.value, state.location_id, now
    row.view = state.model_dump(mode="json")
    session.add(row)
    session.commit()


def for_order(session: Session, order_number: str) -> list[ReturnState]:
    query = select(ReturnRow).where(ReturnRow.order_number == order_number).order_by(col(ReturnRow.return_id))
    return [ReturnState.model_validate(row.view) for row in session.exec(query)]


def at_location(session: Session, location_id: str, statuses: list[ReturnStatus]) -> list[ReturnState]:
    """The location's returns in these statuses (the Pick Manager's: to receive, to inspect), oldest first."""
    query = (
        select(ReturnRow)
        .where(ReturnRow.location_id == location_id, col(ReturnRow.status).in_([s.value for s in statuses]))
        .order_by(col(ReturnRow.updated_at), col(ReturnRow.return_id))
    )
    return [ReturnState.model_validate(row.view) for row in session.exec(query)]


def get(session: Session, return_id: str) -> ReturnState | None:
    row = session.get(ReturnRow, return_id)
    return None if row is None else ReturnState.model_validate(row.view)


def count_for_order(session: Session, order_number: str) -> int:
    return int(session.exec(select(func.count()).where(ReturnRow.order_number == order_number)).one())


def order_facts(session: Session, order_number: str, view: dict[str, Any]) -> OrderFacts:
    """What the return policy needs of the order: its view (the read model's), and what earlier returns took."""
    completed = [h["at"] for h in view["history"] if h.get("to_status") == "completed"]
    returned: dict[str, int] = {}
    for earlier in for_order(session, order_number):
        if earlier.status not in (ReturnStatus.rejected, ReturnStatus.cancelled):
            for line in earlier.lines:
                returned[line.line_id] = returned.get(line.line_id, 0) + line.quantity
    return OrderFacts(
        order_number=order_number,
        status=view["status"],
        completed_at=datetime.fromisoformat(completed[-1]) if completed else None,
        lines={line["line_id"]: (line["sku"], line["style"], line["quantity"]) for line in view["lines"]},
        returned_before=returned,
        prices={line["line_id"]: line["unit_price"]["amount"] for line in view["lines"]},
        currency=view["total"]["currency"],
    )
