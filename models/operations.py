"""Pure rules for the gateway operations an order has decided on: queued one at a time per payment, each under an
operation id that is the gateway's idempotency key; an operation without an answer is `unknown` and is asked again
later under the same id, never redone; authorisations are renewed before they lapse.

The workflow runs what `next_operation` hands it and gives each answer to `settlement.apply_result` (or
`mark_unknown` when none came)."""

from __future__ import annotations

from datetime import datetime, timedelta

from models import journey, sla
from models.money import Money
from models.order import AlertType, OrderState, order_workflow_id
from models.payments import GatewayOperationKind, MoneyOperation, PaymentRecord

Kind = GatewayOperationKind
RECONCILE_BACKOFF_CAP = timedelta(hours=1)


# ---- queueing ------------------------------------------------------------------------------------------------


def queue(
    state: OrderState,
    payment: PaymentRecord,
    kind: Kind,
    amount: int,
    now: datetime,
    *,
    reference: str | None = None,
    refund_id: str | None = None,
    replaces: str | None = None,
    actor: str = journey.SYSTEM,
) -> MoneyOperation:
    state.money_operations += 1
    operation = MoneyOperation(
        operation_id=f"{order_workflow_id(state.order_number)}:{kind}:{state.money_operations}",
        payment_id=payment.payment_id,
        kind=kind,
        amount=Money(amount=amount, currency=payment.amount.currency),
        reference=reference,
        refund_id=refund_id,
        replaces=replaces,
        actor=actor,
        since=now,
    )
    state.operations.append(operation)
    return operation


def busy(state: OrderState, payment_id: str) -> bool:
    """An operation on this payment is queued, running or unknown: nothing else may start on it."""
    return any(op.payment_id == payment_id for op in state.operations)


def unknown_on(state: OrderState, payment_id: str | None = None) -> list[MoneyOperation]:
    return [op for op in state.unknown_operations() if payment_id in (None, op.payment_id)]


def next_operation(state: OrderState) -> MoneyOperation | None:
    """The first queued operation whose payment has nothing running or unknown; it is marked running."""
    held = {op.payment_id for op in state.operations if op.status != "queued"}
    for operation in state.operations:
        if operation.status == "queued" and operation.payment_id not in held:
            operation.status = "running"
            return operation
    return None


def recheck_due(state: OrderState, now: datetime) -> bool:
    """Unknown operations whose time has come are queued again, under the same operation id: a gateway answers a
    repeated idempotency key from its books, so asking again can never move the money twice."""
    due = [op for op in state.unknown_operations() if op.check_at is not None and op.check_at <= now]
    for operation in due:
        operation.status = "queued"
    return bool(due)


def next_reconciliation(state: OrderState) -> datetime | None:
    return min((op.check_at for op in state.unknown_operations() if op.check_at), default=None)


def mark_unknown(state: OrderState, operation: MoneyOperation, detail: str, now: datetime) -> None:
    """No answer through every retry: it may have happened. Ask again later under the same id; never redo it."""
    first = operation.check_at is None
    operation.checks = 0 if first else operation.checks + 1
    if first:
        operation.since = now
    operation.status = "unknown"
    # In seconds, exponent capped: a timedelta doubled past ~38 checks (or a huge stored interval) overflows.
    backoff = state.payment_policy.reconcile_every.total_seconds() * 2.0 ** min(operation.checks, 32)
    operation.check_at = now + timedelta(seconds=min(backoff, RECONCILE_BACKOFF_CAP.total_seconds()))
    if first:
        text = f"{operation.payment_id} {operation.kind} of {operation.amount} ({operation.operation_id}): {detail}"
        journey.record(state, now, journey.SYSTEM, "payment_outcome_unknown", text)
        if not any(a.is_open and a.type is AlertType.payment_unknown for a in state.alerts):
            journey.raise_alert(state, AlertType.payment_unknown, now, text)


# ---- re-authorisation ----------------------------------------------------------------------------------------


def reauthorisation_due(state: OrderState) -> datetime | None:
    """When the first authorisation must be renewed before it lapses (None when none needs it)."""
    if state.is_final:
        return None  # a final order's authorisations are captured or voided, not renewed
    due = [
        sla.before(p.authorised_until, state.payment_policy.reauthorise_before)
        for p in _renewable(state)
        if p.authorised_until is not None
    ]
    return min(due, default=None)


def reauthorise_due(state: OrderState, now: datetime) -> None:
    for payment in _renewable(state):
        if payment.authorised_until and payment.authorised_until - state.payment_policy.reauthorise_before <= now:
            queue(state, payment, Kind.authorise, payment.amount.amount, now, replaces=payment.authorisation_reference)


def _renewable(state: OrderState) -> list[PaymentRecord]:
    return [
        p
        for p in state.payments
        if p.status == "authorised" and p.token and p.renewable and not busy(state, p.payment_id)
    ]
