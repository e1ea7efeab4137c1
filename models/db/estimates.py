"""Estimates (`POST /estimates`) kept for two hours, so `POST /orders` with their `estimation_id` places exactly
what was estimated: the prices, charges and discounts locked in `locked`. An estimate is used once: `use` claims it
for one placement (by the placing holder's Idempotency-Key), so a retry of that placement finds it its own and any
other placement finds it used. Each query takes an open Session."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, or_, update
from sqlmodel import Field, Session, SQLModel, col

from models.db.types import utc_column


class EstimateRow(SQLModel, table=True):
    __tablename__ = "estimates"

    estimation_id: str = Field(primary_key=True, max_length=40)
    holder: str = Field(max_length=120)  # the API key holder that asked for it
    scope: str = Field(max_length=16)  # "full" or "fulfilment"
    created_at: datetime = Field(sa_column=utc_column())
    expires_at: datetime = Field(sa_column=utc_column())
    request: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # the order as estimated
    locked: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # prices by SKU and charges
    used_by: str | None = Field(default=None, max_length=330)  # the placement that claimed it


def keep(session: Session, row: EstimateRow) -> None:
    session.add(row)
    session.commit()


def find(session: Session, estimation_id: str) -> EstimateRow | None:
    return session.get(EstimateRow, estimation_id)


def use(session: Session, estimation_id: str, placement: str) -> bool:
    """Claim the estimate for `placement`; True when it is now (or already was) this placement's."""
    claimed = session.execute(
        update(EstimateRow)
        .where(
            col(EstimateRow.estimation_id) == estimation_id,
            or_(col(EstimateRow.used_by).is_(None), col(EstimateRow.used_by) == placement),
        )
        .values(used_by=placement)
    )
    session.commit()
    return bool(claimed.rowcount)  # type: ignore[attr-defined]
