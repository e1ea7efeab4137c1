"""Money movements on an order, kept in Baton's payment ledger (payment_transactions, models/db/payments.py).

Each transaction id derives from the workflow and the operation (`order-100001:refund:2`), so a retried
activity or a replayed workflow never moves money twice. `call_gateway` moves money through a gateway adapter
(activities/gateways/) and records every outcome, approved, declined or failed, under the operation id.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.gateways import GatewayErrorType, GatewayUnavailable, PaymentGateway, misconfigured, perform
from activities.write_errors import uncurable_writes_are_final
from models.db import payments as ledger
from models.money import Money
from models.payments import GatewayRequest, GatewayResult


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
        with uncurable_writes_are_final(f"ledger read of {operation_id}"), Session(self._engine) as session:
            return ledger.recorded_outcome(session, operation_id)

    def _record_outcome(self, request: GatewayRequest, result: GatewayResult) -> GatewayResult:
        """Write the final outcome over any error recorded before; if a concurrent copy already wrote one, keep
        it (the gateway answered both alike, by idempotency key)."""
        for _ in range(3):
            with uncurable_writes_are_final(f"ledger entry {request.operation_id}"), Session(self._engine) as session:
                recorded = ledger.record_outcome(session, request, result, _attempt())
                if recorded is not None:
                    return recorded
        raise RuntimeError(f"could not record {request.operation_id}")  # retried; the gateway answers alike

    def _record_error(self, request: GatewayRequest, detail: str) -> None:
        """Record a failed attempt, unless a final outcome is already there."""
        for _ in range(3):
            with uncurable_writes_are_final(f"ledger entry {request.operation_id}"), Session(self._engine) as session:
                if ledger.record_error(session, request, detail, _attempt()):
                    return

    @activity.defn
    def record_payment_transaction(self, transaction: PaymentTransaction) -> str:
        """Record a payment or refund once; returns its reference (the transaction id)."""
        ledger_entry = uncurable_writes_are_final(f"ledger entry {transaction.transaction_id}")
        with ledger_entry, Session(self._engine) as session:
            ledger.record_movement(
                session,
                transaction.transaction_id,
                transaction.order_number,
                transaction.kind,
                transaction.method,
                transaction.amount,
                transaction.actor,
            )
        return transaction.transaction_id


def _attempt() -> int:
    return activity.info().attempt if activity.in_activity() else 1
