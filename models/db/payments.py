"""The payment ledger (payment_transactions): every gateway call's outcome and every recorded money movement,
keyed by the operation id, so a retry never records (or moves) money twice. Each takes an open Session."""

from __future__ import annotations

from sqlmodel import Session, select

from models.db.tables import PaymentTransactionRow


def payment_transactions(session: Session, order_number: str) -> list[PaymentTransactionRow]:
    """The order's payment ledger, oldest first: every gateway call (approved, declined or failing) and every
    recorded movement."""
    query = (
        select(PaymentTransactionRow)
        .where(PaymentTransactionRow.order_number == order_number)
        .order_by(PaymentTransactionRow.created_at, PaymentTransactionRow.transaction_id)  # type: ignore[arg-type]
    )
    return list(session.exec(query))
