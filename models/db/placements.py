"""Order numbers and Idempotency-Keys: each placement claims a number once, and a key remembers the hash of
the body it came with. Each takes an open Session."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models.db.tables import OrderPlacementRow

ORDER_NUMBER_BASE = 100000


class IdempotencyKeyReused(Exception):
    """The Idempotency-Key was already used with a different request body."""


def claim_order_number(session: Session, idempotency_key: str | None, request_hash: str) -> tuple[str, bool]:
    """A new order number, or the one this key already claimed; True when it is new. Raises
    IdempotencyKeyReused when the key came before with another body."""
    if idempotency_key is not None:
        existing = session.exec(
            select(OrderPlacementRow).where(OrderPlacementRow.idempotency_key == idempotency_key)
        ).first()
        if existing is not None:
            if existing.request_hash != request_hash:
                raise IdempotencyKeyReused("this key was already used with a different request body")
            return str(ORDER_NUMBER_BASE + existing.id), False  # type: ignore[operator]
    row = OrderPlacementRow(idempotency_key=idempotency_key, request_hash=request_hash, created_at=datetime.now(UTC))
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        # Two requests raced with the same key: the other one won, answer as it did.
        session.rollback()
        return claim_order_number(session, idempotency_key, request_hash)
    session.refresh(row)
    return str(ORDER_NUMBER_BASE + row.id), True  # type: ignore[operator]
