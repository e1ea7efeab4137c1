"""A tiny workflow that calls `call_gateway` the way an order workflow does (a regular activity with retries),
and helpers to build requests and read the ledger and the test gateway's books."""

from __future__ import annotations

import uuid
from datetime import timedelta

from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.payments import PaymentActivities
    from models.db.tables import GatewayTestOperationRow, PaymentTransactionRow
    from models.money import Money
    from models.payments import GatewayOperationKind, GatewayRequest, GatewayResult


class GatewayCalls(BaseModel):
    requests: list[GatewayRequest]
    start_to_close_seconds: float = 10.0


class GatewayCallOutcome(BaseModel):
    result: GatewayResult | None = None
    error_type: str | None = None  # the ApplicationError type when the activity failed for good


@workflow.defn
class GatewayCallsWorkflow:
    """Calls the gateway for each request in turn; returns each result or the type of error that ended it."""

    @workflow.run
    async def run(self, calls: GatewayCalls) -> list[GatewayCallOutcome]:
        outcomes = []
        for request in calls.requests:
            try:
                result = await workflow.execute_activity_method(
                    PaymentActivities.call_gateway,
                    request,
                    start_to_close_timeout=timedelta(seconds=calls.start_to_close_seconds),
                    retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100), maximum_attempts=5),
                )
                outcomes.append(GatewayCallOutcome(result=result))
            except ActivityError as error:
                cause = error.cause
                outcomes.append(
                    GatewayCallOutcome(error_type=cause.type if isinstance(cause, ApplicationError) else "")
                )
        return outcomes


def new_order_number() -> str:
    return f"T{uuid.uuid4().hex[:12]}"


def gateway_request(
    order_number: str,
    kind: GatewayOperationKind,
    amount: int,
    *,
    sequence: int = 1,
    token: str | None = None,
    reference: str | None = None,
    gateway: str = "test",
    method: str = "card",
    currency: str = "GBP",
) -> GatewayRequest:
    return GatewayRequest(
        operation_id=f"order-{order_number}:{kind.value}:{sequence}",
        order_number=order_number,
        kind=kind,
        gateway=gateway,
        method=method,
        amount=Money(amount=amount, currency=currency),
        token=token,
        reference=reference,
    )


def ledger(engine: Engine, order_number: str) -> dict[str, PaymentTransactionRow]:
    with Session(engine) as session:
        rows = session.exec(select(PaymentTransactionRow).where(PaymentTransactionRow.order_number == order_number))
        return {row.transaction_id: row for row in rows}


def gateway_books(engine: Engine, order_number: str) -> list[GatewayTestOperationRow]:
    with Session(engine) as session:
        return list(
            session.exec(select(GatewayTestOperationRow).where(GatewayTestOperationRow.order_number == order_number))
        )
