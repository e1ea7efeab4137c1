"""Money movements on an order, kept in Baton's payment ledger (payment_transactions).

Each transaction id derives from the workflow and the operation (`order-100001:refund:2`), so a retried
activity or a replayed workflow never moves money twice. `call_gateway` moves money through a gateway adapter
(activities/gateways/) and records every outcome, approved, declined or failed, under the operation id.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.gateways import GatewayErrorType, GatewayUnavailable, PaymentGateway, misconfigured, perform
from models.db import commit_unless_taken
from models.db.tables import PaymentTransactionRow
from models.money import Money
from models.payments import GatewayRequest, GatewayResult

FINAL_STATUSES = ("approved", "declined")


class PaymentTransaction(BaseModel):
    transaction_id: str
    order_number: str
    kind: Literal["payment", "refund"]
    method: str
    amount: Money
    actor: str


class PaymentActivities:
    def __init__(self, engine: Engine, gateways: dict[str, PaymentGateway] | None = None) -> None:
        self._engine = engine
        self._gateways = gateways or {}

    @activity.defn
    async def call_gateway(self, request: GatewayRequest) -> GatewayResult:
        """Move money through the request's gateway once; a decline is a result (approved=False), not an error."""
        recorded = await asyncio.to_thread(self._recorded_outcome, request.operation_id)
        if recorded is not None:
            return recorded  # a retry, a duplicate or a replay: the gateway already answered
        try:
            result = await perform(self._gateway(request.gateway), request)
        except GatewayUnavailable as fault:
            await asyncio.to_thread(self._record_error, request, str(fault))
            raise ApplicationError(str(fault), type=GatewayErrorType.unavailable) from fault  # retried
        except ApplicationError as error:
            await asyncio.to_thread(self._record_error, request, str(error))
            raise
        return await asyncio.to_thread(self._record_outcome, request, result)

    def _gateway(self, name: str) -> PaymentGateway:
        gateway = self._gateways.get(name)
        if gateway is None:
            known = ", ".join(sorted(self._gateways)) or "none"
            raise misconfigured(f"gateway {name!r} is not configured on this worker (configured: {known})")
        return gateway

    def _recorded_outcome(self, operation_id: str) -> GatewayResult | None:
        with Session(self._engine) as session:
            row = session.get(PaymentTransactionRow, operation_id)
            return _result(row) if row is not None and row.status in FINAL_STATUSES else None

    def _record_outcome(self, request: GatewayRequest, result: GatewayResult) -> GatewayResult:
        """Write the final outcome over any error recorded before; if a concurrent copy already wrote one, keep
        it (the gateway answered both alike, by idempotency key)."""
        status = "approved" if result.approved else "declined"
        for _ in range(3):
            with Session(self._engine) as session:
                row = session.get(PaymentTransactionRow, request.operation_id)
                if row is not None and row.status in FINAL_STATUSES:
                    return _result(row)
                row = row or _new_row(request)
                row.status = status
                row.gateway_reference = result.reference or None
                row.detail = result.detail[:500] or None
                row.answered_at = result.at
                row.expires_at = result.expires_at
                row.attempts = _attempt()
                if commit_unless_taken(session, row):
                    return result
        raise RuntimeError(f"could not record {request.operation_id}")  # retried; the gateway answers alike

    def _record_error(self, request: GatewayRequest, detail: str) -> None:
        """Record a failed attempt, unless a final outcome is already there."""
        for _ in range(3):
            with Session(self._engine) as session:
                row = session.get(PaymentTransactionRow, request.operation_id)
                if row is not None and row.status in FINAL_STATUSES:
                    return
                row = row or _new_row(request)
                row.status = "error"
                row.detail = detail[:500]
                row.attempts = _attempt()
                if commit_unless_taken(session, row):
                    return

    @activity.defn
    def record_payment_transaction(self, transaction: PaymentTransaction) -> str:
        """Record a payment or refund once; returns its reference (the transaction id)."""
        with Session(self._engine) as session:
            if session.get(PaymentTransactionRow, transaction.transaction_id) is None:
                # A concurrent copy of this activity may record it first: either copy's row is the one.
                commit_unless_taken(
                    session,
                    PaymentTransactionRow(
                        transaction_id=transaction.transaction_id,
                        order_number=transaction.order_number,
                        kind=transaction.kind,
                        method=transaction.method,
                        amount=transaction.amount.amount,
                        currency=transaction.amount.currency,
                        actor=transaction.actor,
                        created_at=datetime.now(UTC),
                    ),
                )
        return transaction.transaction_id


def _attempt() -> int:
    return activity.info().attempt if activity.in_activity() else 1


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
        kind=row.kind,  # type: ignore[arg-type]
        approved=row.status == "approved",
        reference=row.gateway_reference or "",
        detail=row.detail or "",
        amount=Money(amount=row.amount, currency=row.currency),
        at=row.answered_at or row.created_at,
        expires_at=row.expires_at,
    )
