"""Customer requests as the API lists them: one row per request, written by its workflow after every change.
Each query takes an open Session."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, Session, SQLModel, col, func, select

from models.db.types import utc_column
from models.requests import CustomerRequest


class CustomerRequestRow(SQLModel, table=True):
    __tablename__ = "customer_requests"

    request_id: str = Field(primary_key=True, max_length=64)
    order_number: str = Field(index=True, max_length=32)
    status: str = Field(index=True, max_length=16)
    kind: str = Field(max_length=24)
    view: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(sa_column=utc_column())


def save(session: Session, request: CustomerRequest, now: datetime) -> None:
    row = session.get(CustomerRequestRow, request.request_id) or CustomerRequestRow(
        request_id=request.request_id, order_number=request.order_number, status="", kind="", view={}, updated_at=now
    )
    row.status, row.kind, row.updated_at = request.status.value, request.kind.value, now
    row.view = request.model_dump(mode="json")
    session.add(row)
    session.commit()


def for_order(session: Session, order_number: str) -> list[CustomerRequest]:
    query = select(CustomerRequestRow).where(CustomerRequestRow.order_number == order_number)
    return [
        CustomerRequest.model_validate(r.view) for r in session.exec(query.order_by(col(CustomerRequestRow.request_id)))
    ]


def get(session: Session, request_id: str) -> CustomerRequest | None:
    row = session.get(CustomerRequestRow, request_id)
    return None if row is None else CustomerRequest.model_validate(row.view)


def open_requests(session: Session, limit: int, offset: int = 0) -> list[CustomerRequest]:
    query = select(CustomerRequestRow).where(CustomerRequestRow.status == "open")
    rows = session.exec(query.order_by(col(CustomerRequestRow.updated_at)).offset(offset).limit(limit))
    return [CustomerRequest.model_validate(r.view) for r in rows]


def count_for_order(session: Session, order_number: str) -> int:
    return int(session.exec(select(func.count()).where(CustomerRequestRow.order_number == order_number)).one())
