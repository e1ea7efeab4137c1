"""Pure rules for getting a new order to its store: Head Office approval first, then the placement payments,
then stock reserved at the store and the order sent to it."""

from __future__ import annotations

from datetime import datetime

from models import delivery_stages, journey, operations, settlement, stock_waits
from models.catalogue import LineReservation, ReservationOutcome
from models.deliveries import DeliveryMethod
from models.effects import Effects
from models.order import AlertType, HoldReason, OrderState, OrderStatus
from models.payments import PaymentRecord
from models.store_events import cancel_everything


def clear_for_store(state: OrderState, now: datetime) -> Effects | None:
    """The next step towards the store. Safe to call after every message: it changes the order only when a step
    is due, queues at most one placement payment at a time (stored value first: a card is not tried once the gift
    card is declined), and answers `Effects(send_to_store=True)` once, when nothing blocks the order any more."""
    if state.cleared_at is not None or state.is_final:
        return None
    if state.approval_reason and state.approved_at is None:
        if state.status == OrderStatus.received:
            journey.transition(
                state, OrderStatus.awaiting_approval, now, journey.SYSTEM, "approval_required", state.approval_reason
            )
        return None
    if any(op.status != "unknown" for op in state.operations):
        return None  # a placement payment is on its way: decided again when it answers
    if state.unknown_operations():
        settlement.hold_for_unknown(state, now)
        return None
    declined = [p for p in state.payments if p.status == "declined"]
    if declined:
        return _declined(state, declined, now)
    pending = sorted((p for p in state.payments if p.status == "pending"), key=lambda p: not p.is_stored_value)
    if pending:
        payment = pending[0]
        operations.queue(state, payment, settlement.placement_kind(payment), payment.amount.amount, now)
        return None
    if any(p.status == "awaiting" for p in state.payments):
        if state.status != OrderStatus.awaiting_payment:
            detail = "offline payment to confirm"
            journey.transition(state, OrderStatus.awaiting_payment, now, journey.SYSTEM, "awaiting_payment", detail)
        return None
    if stock_waits.before_release(state, now):
        return None  # a preorder: sent out on its release date (the order's alarm wakes it)
    state.cleared_at = now
    if any(p.status in ("taken", "captured", "authorised") for p in state.payments):
        journey.record(state, now, journey.SYSTEM, "payment_confirmed", confirmation(state))
    settlement.rebalance(state, now)  # anything changed while the order waited (lines cancelled, say)
    return Effects(send_to_store=True)


def _declined(state: OrderState, declined: list[PaymentRecord], now: datetime) -> Effects | None:
    reason = "; ".join(f"{p.payment_id} {p.method} declined: {p.detail}" for p in declined)
    if state.payment_policy.on_decline == "cancel":
        effects = Effects()
        cancel_everything(state, now, journey.SYSTEM, "payment_declined", reason, effects)
        settlement.rebalance(state, now, journey.SYSTEM, "payment declined")  # stored value taken goes back
        return effects
    if state.status != OrderStatus.on_hold:
        journey.hold(state, HoldReason.payment_declined, now, journey.SYSTEM, reason)
    elif state.hold_reason is not HoldReason.payment_declined:  # held while its outcome was unknown: now known
        state.hold_reason = HoldReason.payment_declined
        journey.record(state, now, journey.SYSTEM, "held_payment_declined", reason)
        journey.raise_alert(state, AlertType.payment_declined, now, reason)
    return None


def confirmation(state: OrderState) -> str:
    """What the history says when payment is confirmed (the INITPAID moment)."""
    return "; ".join(f"{p.payment_id} {p.method} {p.amount} {p.status}" for p in state.payments)


def lines_to_reserve(state: OrderState) -> list[LineReservation]:
    """The lines of the order's own journey, reserved at its store (further deliveries reserve at theirs)."""
    own = delivery_stages.own_line_ids(state)
    return [
        LineReservation(line_id=line.line_id, sku=line.sku, quantity=line.quantity)
        for line in state.lines
        if line.quantity and line.line_id in own
    ]


def after_reservation(state: OrderState, outcome: ReservationOutcome, now: datetime) -> Effects:
    """Stock reserved at the store: the order goes to it (placed for home delivery: to its location, to dispatch).
    Short: the order is held for Head Office."""
    if not outcome.reserved:
        if stock_waits.delivery_backordered(state, outcome, now):
            return Effects(send_to_store=True)  # the rest of the order goes out without it
        if stock_waits.backordered(state, outcome.detail, now):
            return Effects()
        if state.status == OrderStatus.on_hold:
            journey.record(state, now, journey.SYSTEM, "still_short", outcome.detail)
        else:
            journey.hold(state, HoldReason.stock_shortage, now, journey.SYSTEM, outcome.detail)
        return Effects()
    journey.record(state, now, journey.SYSTEM, "stock_reserved", f"at {state.store_id}")
    effects = Effects()
    if state.fulfilment_method == DeliveryMethod.direct_sale:
        # Sold at the till: handed over at once, the stock leaves the store, the order completes.
        effects.commit_at = state.store_id
        settlement.settle_at_handover(state, f"{state.order_number}:till", journey.SYSTEM, now)
        journey.transition(state, OrderStatus.completed, now, journey.SYSTEM, "sold", "handed over at the till")
        settlement.rebalance(state, now, journey.SYSTEM, "sold")
        return effects
    if state.fulfilment_method == DeliveryMethod.home_delivery:
        # Placed for home delivery: its location ships it, and reports packed, shipped and delivered.
        journey.transition(state, OrderStatus.awaiting_dispatch, now, journey.SYSTEM, "sent_for_dispatch")
        effects.tell_store("delivery_created")
        if delivery_stages.electronic_only(state, delivery_stages.own_line_ids(state)):
            # Nothing to pack: ready to ship at once, without a packed stage or its not_packed clock.
            detail = "electronic items: no packing"
            journey.transition(state, OrderStatus.ready_to_ship, now, journey.SYSTEM, "ready_to_ship", detail)
    else:
        journey.transition(state, OrderStatus.awaiting_acknowledgement, now, journey.SYSTEM, "sent_to_store")
        effects.tell_store("order_created")
    delivery_stages.allocate(state, now, effects)
    return effects
