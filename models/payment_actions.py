"""Head Office actions on an order's money: approve or reject it, confirm money received, retry or settle a
failed payment, charge more, refund. Refusals name their rule; effects come from `settlement` (money moves
after the action, never inside it) and `clearance` (an approved or paid order goes on to its store)."""

from __future__ import annotations

from datetime import datetime

from models import journey, operations, settlement
from models.effects import Effects, Refusal
from models.intervention_commands import (
    ApproveOrder,
    ConfirmPayment,
    IssueRefund,
    OverridePayment,
    RejectOrder,
    RetryPayment,
    TakePayment,
)
from models.interventions import closed, currency_refusal, record
from models.money import MAX_AMOUNT, Money
from models.order import HoldReason, OrderState, OrderStatus
from models.payments import Adjustment, Charge
from models.store_events import cancel_everything


def _unknown(state: OrderState, payment_id: str | None = None) -> Refusal | None:
    unknown = operations.unknown_on(state, payment_id)
    if unknown:
        ids = ", ".join(op.operation_id for op in unknown)
        return Refusal(
            "payment_outcome_unknown",
            f"a gateway call has no answer yet ({ids}); Baton is reconciling it and nothing else may move that money",
        )
    return None


# ---- approvals ---------------------------------------------------------------------------------------------


def refusal_for_approval(state: OrderState, command: ApproveOrder | RejectOrder) -> Refusal | None:
    if state.status != OrderStatus.awaiting_approval:
        return Refusal(
            "order_not_awaiting_approval", f"only an order awaiting approval can be approved (it is {state.status})"
        )
    return None


def apply_approve_order(state: OrderState, command: ApproveOrder, now: datetime) -> Effects:
    state.approved_at = now
    record(state, now, command, "order_approved")
    return Effects()  # clearance takes the payments next


def apply_reject_order(state: OrderState, command: RejectOrder, now: datetime) -> Effects:
    effects = Effects()
    cancel_everything(state, now, command.actor, "order_rejected", command.reason, effects)
    settlement.rebalance(state, now, command.actor, command.reason)  # anything prepaid goes back
    return effects


# ---- money received, retried, settled by hand ------------------------------------------------------------------


def refusal_for_confirm_payment(state: OrderState, command: ConfirmPayment) -> Refusal | None:
    waiting = [p for p in state.payments if p.status in ("awaiting", "due")]
    if not waiting:
        return Refusal("no_payment_to_confirm", "no offline payment or amount due waits for confirmation")
    if command.payment_id is not None and command.payment_id not in {p.payment_id for p in waiting}:
        ids = ", ".join(p.payment_id for p in waiting)
        return Refusal("no_payment_to_confirm", f"payment {command.payment_id} waits for nothing (waiting: {ids})")
    return None


def apply_confirm_payment(state: OrderState, command: ConfirmPayment, now: datetime) -> Effects:
    confirmed = settlement.confirm_received(state, command.payment_id, command.reference, command.actor, now)
    action = "offline_payment_received" if state.status == OrderStatus.awaiting_payment else "payment_received"
    record(state, now, command, action, f"{', '.join(confirmed)} ({command.reference})")
    settlement.rebalance(state, now, command.actor, command.reason)
    return Effects()


def refusal_for_retry_payment(state: OrderState, command: RetryPayment) -> Refusal | None:
    if state.status != OrderStatus.on_hold or state.hold_reason is not HoldReason.payment_declined:
        return Refusal("no_declined_payment", "only an order held for a declined payment can retry it")
    return _unknown(state)


def apply_retry_payment(state: OrderState, command: RetryPayment, now: datetime) -> Effects:
    settlement.retry_declined(state, command.token)
    record(state, now, command, "payment_retried")
    return Effects()  # clearance queues the retried payment


def refusal_for_override_payment(state: OrderState, command: OverridePayment) -> Refusal | None:
    failed = [p.payment_id for p in settlement.to_settle_by_hand(state)]
    if not failed:
        return _unknown(state, command.payment_id) or Refusal(
            "no_failed_payment", "the order has no failed capture or declined payment to settle"
        )
    if command.payment_id is not None and command.payment_id not in failed:
        return Refusal(
            "no_failed_payment", f"payment {command.payment_id} has not failed (failed: {', '.join(failed)})"
        )
    return None


def apply_override_payment(state: OrderState, command: OverridePayment, now: datetime) -> Effects:
    settlement.override(state, command.payment_id, command.reference, command.actor, command.reason, now)
    settlement.rebalance(state, now, command.actor, command.reason)
    return Effects()  # a declined placement payment settled by hand lets clearance go on


# ---- charge, refund ---------------------------------------------------------------------------------------------


def refusal_for_take_payment(state: OrderState, command: TakePayment) -> Refusal | None:
    if refusal := closed(state):
        return refusal
    if command.amount.amount <= 0:
        return Refusal("amount_not_positive", "a payment must be more than zero")
    if state.total().amount + command.amount.amount > MAX_AMOUNT:
        return Refusal("amount_too_large", "the order would come to more than Baton takes")
    return currency_refusal(state, command.amount) or _unknown(state)


def apply_take_payment(state: OrderState, command: TakePayment, now: datetime) -> Effects:
    """Head Office charges more: the order comes to that much more and the money is taken for it."""
    state.charges.append(
        Charge(
            charge_id=f"C{len(state.charges) + 1}",
            amount=command.amount,
            reason=command.reason,
            actor=command.actor,
            at=now,
        )
    )
    record(state, now, command, "charge_added", f"{command.amount} ({command.method})")
    settlement.rebalance(state, now, command.actor, command.reason)
    return Effects()


def refund_amount(state: OrderState, command: IssueRefund) -> Money | Refusal:
    """The amount asked for, or the value of the lines named."""
    if command.amount is not None:
        return command.amount
    total = 0
    for item in command.lines or []:
        line = state.line(item.line_id)
        if line is None:
            return Refusal("unknown_line", f"line {item.line_id} is not on the order")
        if item.quantity > line.quantity:
            return Refusal("quantity_exceeds_line", f"line {line.line_id} has {line.quantity}, not {item.quantity}")
        total += line.unit_price.amount * item.quantity
    return Money(amount=total, currency=state.currency)


def refusal_for_refund(state: OrderState, command: IssueRefund) -> Refusal | None:
    amount = refund_amount(state, command)
    if isinstance(amount, Refusal):
        return amount
    if refusal := currency_refusal(state, amount):
        return refusal
    if amount.amount <= 0:
        return Refusal("amount_not_positive", "a refund must be more than zero")
    if amount.amount > state.refundable().amount:
        return Refusal(
            "refund_exceeds_captured",
            f"at most {state.refundable()} can be refunded (money taken less refunds done or on their way)",
        )
    return None


def apply_refund(state: OrderState, command: IssueRefund, now: datetime) -> Effects:
    """Pay back what was asked. Beyond anything overpaid it is goodwill: the customer then owes that much less."""
    amount = refund_amount(state, command)
    assert isinstance(amount, Money)  # the refusal check ran first
    overpaid = max(0, state.kept().amount - state.total().amount)
    goodwill = amount.amount - overpaid
    if goodwill > 0:
        state.adjustments.append(
            Adjustment(
                amount=Money(amount=goodwill, currency=state.currency),
                reason=command.reason,
                actor=command.actor,
                at=now,
            )
        )
    lines = ", ".join(f"{item.line_id} × {item.quantity}" for item in command.lines or [])
    record(state, now, command, "refund_asked", f"{amount} for {lines}" if lines else str(amount))
    settlement.plan_refund(state, amount.amount, now, command.actor, command.reason)
    journey.settle_alerts(state, now)  # a refund_failed alert clears once Head Office asks again
    return Effects()
