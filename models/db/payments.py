"""The payment ledger (payment_transactions): every gateway call's outcome and every recorded money movement,
keyed by the operation id, so a retry never records (or moves) money twice. Each takes an open Session."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, col, select

from models.db.engine import commit_unless_taken
from models.db.tables import PaymentTransactionRow
from models.money import Money
from models.payments import GatewayOperationKind, GatewayRequest, GatewayResult

FINAL_STATUSES = ("approved", "declined")


def payment_transactions(session: Session, order_number: str) -> list[PaymentTransactionRow]:
    """The order's payment ledger, oldest first: every gateway call (approved, declined or failing) and every
    recorded movement."""
    query = (
        select(PaymentTransactionRow)
        .where(PaymentTransactionRow.order_number == order_number)
        .order_by(col(PaymentTransactionRow.created_at), col(PaymentTransactionRow.transaction_id))
    )
    return list(session.exec(query))


def recorded_outcome(session: Session, operation_id: str) -> GatewayResult | None:
    """The gateway's final answer to this operation, if one is recorded."""
    row = session.get(PaymentTransactionRow, operation_id)
    return _result(row) if row is not None and row.status in FINAL_STATUSES else None


def record_outcome(
    session: Session, request: GatewayRequest, result: GatewayResult, attempt: int
) -> GatewayResult | None:
    """Write the final outcome over any error recorded before. A final outcome already there (a concurrent copy
    wrote it; the gateway answered both alike, by idempotency key) is kept and returned. None when a concurrent
    writer took the key meanwhile: try again in a new session."""
    row = session.get(PaymentTransactionRow, request.operation_id)
    if row is not None and row.status in FINAL_STATUSES:
        return _result(row)
    row = row or _new_row(request)
    row.status = "approved" if result.approved else "declined"
    row.gateway_reference = result.reference or None
    row.detail = result.detail[:500] or None
    row.answered_at = result.at
    row.expires_at = result.expires_at
    row.attempts = attempt
    return result if commit_unless_taken(session, row) else None


def record_error(session: Session, request: GatewayRequest, detail: str, attempt: int) -> bool:
    """Record a failed attempt, unless a final outcome is already there. False when a concurrent writer took the
    key meanwhile: try again in a new session."""
    row = session.get(PaymentTransactionRow, request.operation_id)
    if row is not None and row.status in FINAL_STATUSES:
        return True
    row = row or _new_row(request)
    row.status = "error"
    row.detail = detail[:500]
    row.attempts = attempt
    return commit_unless_taken(session, row)


def record_movement(
    session: Session, transaction_id: str, order_number: str, kind: str, method: str, amount: Money, actor: str
) -> None:
    """Record a payment or refund made outside a gateway call, once per transaction id."""
    if session.get(PaymentTransactionRow, transaction_id) is None:
        # A concurrent copy of the same activity may record it first: either copy's row is the one.
        commit_unless_taken(
            session,
            PaymentTransactionRow(
                transaction_id=transaction_id,
                order_number=order_number,
                kind=kind,
                method=method,
                amount=amount.amount,
                currency=amount.currency,
                actor=actor,
                created_at=datetime.now(UTC),
            ),
        )


def _new_row(request: GatewayRequest) -> PaymentTransactionRow:
    return PaymentTransactionRow(
        transaction_id=request.operation_id,
        order_number=request.order_number,
        kind=request.kind.value,
        method=request.method,
        amount=request.amount.amount,
        currency=request.amount.currency,
        actor=request.actor,
        created_at=datetime.now(UTC),
        gateway=request.gateway,
        request_reference=request.reference,
    )


def _result(row: PaymentTransactionRow) -> GatewayResult:
    return GatewayResult(
        operation_id=row.transaction_id,
        kind=GatewayOperationKind(row.kind),
        approved=row.status == "approved",
        reference=row.gateway_reference or "",
        detail=row.detail or "",
        amount=Money(amount=row.amount, currency=row.currency),
        at=row.answered_at or row.created_at,
        expires_at=row.expires_at,
    )
