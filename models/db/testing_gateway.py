"""The built-in test gateway's books (test_gateway_operations), kept as an external gateway keeps its own: one
row per idempotency key. activities/gateways/testing.py decides the answers; these read and write the rows."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, func, select

from models.db.engine import commit_unless_taken
from models.db.tables import GatewayTestOperationRow
from models.money import Money
from models.payments import GatewayOperationKind, GatewayRequest, GatewayResult


def operation(session: Session, idempotency_key: str) -> GatewayTestOperationRow | None:
    return session.get(GatewayTestOperationRow, idempotency_key)


def approved_operation(session: Session, reference: str | None) -> GatewayTestOperationRow | None:
    """The approved operation that created `reference` (an authorisation, capture or sale)."""
    return session.exec(
        select(GatewayTestOperationRow).where(
            GatewayTestOperationRow.reference == reference, GatewayTestOperationRow.outcome == "approved"
        )
    ).first()


def moved_against(session: Session, reference: str) -> dict[str, int]:
    """Approved amounts by kind of the operations on one authorisation or capture (a key per kind seen)."""
    rows = session.exec(
        select(GatewayTestOperationRow.kind, func.sum(GatewayTestOperationRow.amount))
        .where(GatewayTestOperationRow.parent_reference == reference, GatewayTestOperationRow.outcome == "approved")
        .group_by(GatewayTestOperationRow.kind)
    ).all()
    return {kind: int(total or 0) for kind, total in rows}


def new_operation(
    request: GatewayRequest, token: str, parent: GatewayTestOperationRow | None, now: datetime
) -> GatewayTestOperationRow:
    """An operation not yet answered (outcome "failed" until decided)."""
    return GatewayTestOperationRow(
        idempotency_key=request.operation_id,
        order_number=request.order_number,
        kind=request.kind.value,
        method=request.method,
        token=token,
        parent_reference=parent.reference if parent else None,
        reference="",
        amount=request.amount.amount,
        currency=request.amount.currency,
        outcome="failed",
        created_at=now,
        answered_at=now,
    )


def write_down(session: Session, row: GatewayTestOperationRow) -> bool:
    """Commit the operation; False when a concurrent copy of the same call wrote its row first."""
    return commit_unless_taken(session, row)


def answer(row: GatewayTestOperationRow) -> GatewayResult:
    """The gateway's answer, as the books hold it."""
    return GatewayResult(
        operation_id=row.idempotency_key,
        kind=GatewayOperationKind(row.kind),
        approved=row.outcome == "approved",
        reference=row.reference,
        detail=row.detail,
        amount=Money(amount=row.amount, currency=row.currency),
        at=row.answered_at,
        expires_at=row.expires_at,
    )
