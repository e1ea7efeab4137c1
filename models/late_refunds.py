"""Pure rules for a refund given after its order's workflow closed: Head Office's refund action on a closed order,
or the refund a return owes when its order has closed (issue 14). Each runs in a Refund workflow
(`refund-<order>-<k>`, workflows/refunds.py) over the order's kept final state (models/db/closed_orders.py).

The money rules are the order's own (models/payment_actions.py, models/settlement.py): the same refusal (never
more than was taken less refunds done or on their way), the same plan (card first, stored value last; money taken
outside a gateway is instructed), the same answers. What differs is the idempotency key: each gateway operation a
Refund workflow claims is named after that workflow (`refund-<order>-<k>:refund:<i>`), so a retried ask, a
restarted worker or a replayed workflow sends it once, and the ledger records it once."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from models import operations, payment_actions, settlement
from models.intervention_commands import IssueRefund
from models.order import OrderState
from models.payment_policy import PaymentPolicy
from models.payments import GatewayRequest, GatewayResult, MoneyOperation

REFUND_WORKFLOW = "Refund"


def refund_workflow_id(order_number: str, key: str) -> str:
    return f"refund-{order_number}-{key}"


class LateRefundAsk(BaseModel):
    """What a Refund workflow starts from."""

    refund_id: str  # the Refund workflow's id: refund-<order>-<k>
    order_number: str
    command: IssueRefund


class GatewayCall(BaseModel):
    request: GatewayRequest
    policy: PaymentPolicy  # its timeouts and how long to retry


class Claimed(BaseModel):
    """A claim's answer: the refusal (its rule and why), or the gateway calls to make (none: instructed only)."""

    refused_rule: str = ""
    refused_message: str = ""
    calls: list[GatewayCall] = Field(default_factory=list)


class LateRefundOutcome(BaseModel):
    refund_id: str
    order_number: str
    refused_rule: str = ""
    refused_message: str = ""
    refunded: int = 0  # minor units the gateways approved
    declined: list[str] = Field(default_factory=list)  # why each declined part was declined


class Settling(BaseModel):
    """A gateway's answer to one claimed operation, for the kept order."""

    refund_id: str
    order_number: str
    result: GatewayResult


class Unanswered(BaseModel):
    """A claimed operation the gateway has not answered through every retry: it may have happened."""

    order_number: str
    operation_id: str
    detail: str


def claim(state: OrderState, ask: LateRefundAsk, now: datetime) -> Claimed:
    """Refund as the order's own refund action would, on its kept state; the operations it queues are named after
    the Refund workflow and marked running (they are this workflow's to send)."""
    refusal = payment_actions.refusal_for_refund(state, ask.command)
    if refusal is not None:
        return Claimed(refused_rule=refusal.rule, refused_message=refusal.message)
    before = {operation.operation_id for operation in state.operations}
    payment_actions.apply_refund(state, ask.command, now)
    mine = [operation for operation in state.operations if operation.operation_id not in before]
    for number, operation in enumerate(mine, start=1):
        operation.operation_id, operation.status = f"{ask.refund_id}:{operation.kind}:{number}", "running"
    return Claimed(calls=[gateway_call(state, operation) for operation in mine])


def claimed_calls(state: OrderState, operation_ids: list[str]) -> list[GatewayCall]:
    """A claim asked again (a retried activity): the gateway calls of it not answered yet."""
    return [gateway_call(state, op) for op in state.operations if op.operation_id in operation_ids]


def settle(state: OrderState, result: GatewayResult, now: datetime) -> bool:
    """Record the gateway's answer on the kept order, as the order would; False when it is recorded already."""
    operation = next((op for op in state.operations if op.operation_id == result.operation_id), None)
    if operation is None:
        return False
    settlement.apply_result(state, operation, result, now)
    return True


def note_unknown(state: OrderState, operation_id: str, detail: str, now: datetime) -> bool:
    """The operation's outcome is unknown, as the order would say (history, a payment_unknown alert until it is
    answered); False when it is answered or known unknown already."""
    operation = next((op for op in state.operations if op.operation_id == operation_id), None)
    if operation is None or operation.status == "unknown":
        return False
    operations.mark_unknown(state, operation, detail, now)
    return True


def take_queued(state: OrderState) -> list[GatewayCall]:
    """Operations the order's rules queued on an answer (a capture or void left to settle): this workflow sends
    them, under the order's own operation ids."""
    queued = [op for op in state.operations if op.status == "queued"]
    for operation in queued:
        operation.status = "running"
    return [gateway_call(state, operation) for operation in queued]


def gateway_call(state: OrderState, operation: MoneyOperation) -> GatewayCall:
    payment = state.payment(operation.payment_id)
    assert payment is not None
    request = GatewayRequest(
        operation_id=operation.operation_id,
        order_number=state.order_number,
        kind=operation.kind,
        gateway=payment.gateway or "test",
        method=payment.method,
        amount=operation.amount,
        reference=operation.reference,
        actor=operation.actor,
    )
    return GatewayCall(request=request, policy=state.payment_policy)


def outcome(ask: LateRefundAsk, results: list[GatewayResult]) -> LateRefundOutcome:
    return LateRefundOutcome(
        refund_id=ask.refund_id,
        order_number=ask.order_number,
        refunded=sum(result.amount.amount for result in results if result.approved),
        declined=[result.detail for result in results if not result.approved],
    )


def recheck_after(policy: PaymentPolicy, checks: int) -> timedelta:
    """How long to wait before asking the gateway again about an operation that got no answer (same id): the
    policy's reconcile_every, doubled at each check, at most an hour (as the order reconciles its own)."""
    backoff = policy.reconcile_every.total_seconds() * 2.0 ** min(checks, 32)
    return timedelta(seconds=min(backoff, operations.RECONCILE_BACKOFF_CAP.total_seconds()))
