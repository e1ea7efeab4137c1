"""Order numbers and Idempotency-Keys: each placement claims a number once. A key belongs to the API key holder
that sent it and remembers the hash of the body it came with and the order's first state. Each takes an open
Session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models.db.tables import OrderPlacementRow

ORDER_NUMBER_BASE = 100000


class IdempotencyKeyReused(Exception):
    """The Idempotency-Key was already used with a different request body."""


@dataclass(frozen=True)
class Placement:
    order_number: str
    request_hash: str
    initial_state: dict[str, Any] | None


def _order_number(row: OrderPlacementRow) -> str:
    assert row.id is not None  # the database gave the row its id when it was flushed
    return str(ORDER_NUMBER_BASE + row.id)


def find_placement(session: Session, holder: str, idempotency_key: str) -> Placement | None:
    """What this holder's key placed before, if anything."""
    row = session.exec(
        select(OrderPlacementRow).where(
            OrderPlacementRow.holder == holder, OrderPlacementRow.idempotency_key == idempotency_key
        )
    ).first()
    if row is None:
        return None
    return Placement(_order_number(row), row.request_hash, row.initial_state)


def claim_order_number(session: Session, holder: str, idempotency_key: str | None, request_hash: str) -> str | None:
    """A new order number (the row is added to the session, not committed: the caller commits it with the order's
    first state and projection). None when a concurrent request with the same key claimed it first."""
    row = OrderPlacementRow(
        holder=holder, idempotency_key=idempotency_key, request_hash=request_hash, created_at=datetime.now(UTC)
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return None
    return _order_number(row)


def keep_initial_state(session: Session, order_number: str, state: dict[str, Any]) -> None:
    row = session.get(OrderPlacementRow, int(order_number) - ORDER_NUMBER_BASE)
    assert row is not None
    row.initial_state = state
    session.add(row)
