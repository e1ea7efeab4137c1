"""Money movements on an order, kept in Baton's payment ledger (payment_transactions).

Each transaction id derives from the workflow and the operation (`order-100001:refund:2`), so a retried
activity or a replayed workflow never moves money twice. Gateway adapters (card, wallet) plug in here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from temporalio import activity

from models.money import Money
from models.tables import PaymentTransactionRow


class PaymentTransaction(BaseModel):
    transaction_id: str
    order_number: str
    kind: Literal["payment", "refund"]
    method: str
    amount: Money
    actor: str


class PaymentActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn
    def record_payment_transaction(self, transaction: PaymentTransaction) -> str:
        """Record a payment or refund once; returns its reference (the transaction id)."""
        with Session(self._engine) as session:
            if session.get(PaymentTransactionRow, transaction.transaction_id) is None:
                session.add(
                    PaymentTransactionRow(
                        transaction_id=transaction.transaction_id,
                        order_number=transaction.order_number,
                        kind=transaction.kind,
                        method=transaction.method,
                        amount=transaction.amount.amount,
                        currency=transaction.amount.currency,
                        actor=transaction.actor,
                        created_at=datetime.now(UTC),
                    )
                )
                try:
                    session.commit()
                except IntegrityError:
                    session.rollback()  # a concurrent copy of this activity recorded it first
        return transaction.transaction_id
