"""Pure rules for an order's money while it lives: what to charge, capture, void and refund, and what each
gateway answer means.

The rules never move money: they queue `MoneyOperation`s on the order (`state.operations`), each with an
operation id that is the gateway's idempotency key, and the workflow carries them out one at a time, outside
any message, handing each answer back to `apply_result` (or `mark_unknown` when none came).

One function keeps the money right: `rebalance` compares what the customer owes (`state.total()`) with what
Baton holds and expects, and queues the difference: a refund of anything kept beyond what is owed (card first,
newest first, stored value last), a charge for a shortfall (on the stored card, or due at the till), and, once
the order is final, captures up to what is owed and voids of every authorisation left.
"""

from __future__ import annotations

from datetime import datetime

from models import journey, operations, sla
from models.money import Money
from models.order import AlertType, HoldReason, OrderState, OrderStatus
from models.payments import (
    GATEWAY_MODES,
    GatewayOperationKind,
    GatewayResult,
    MoneyOperation,
    PaymentMode,
    PaymentRecord,
    RefundRecord,
)

Kind = GatewayOperationKind


# ---- what the gateway answered -------------------------------------------------------------------------------


def apply_result(state: OrderState, operation: MoneyOperation, result: GatewayResult, now: datetime) -> None:
    """Record the gateway's answer on the payment (or refund) and in the history; then keep the money right."""
    state.operations = [op for op in state.operations if op.operation_id != operation.operation_id]
    payment = state.payment(operation.payment_id)
    assert payment is not None
    ref = f" ({result.reference})" if result.reference else ""
    what = f"{payment.payment_id} {operation.kind} of {operation.amount}"
    if operation.kind in (Kind.authorise, Kind.sale) and operation.replaces:
        _reauthorised(state, payment, operation, result, now)
    elif operation.kind in (Kind.authorise, Kind.sale):
        _placed(state, payment, operation, result, now)
    elif operation.kind is Kind.capture:
        if result.approved:
            payment.status, payment.reference, payment.captured_amount = (
                "captured",
                result.reference,
                result.amount.amount,
            )
            payment.authorised_until, payment.at = None, now
            journey.record(state, now, journey.SYSTEM, "payment_captured", f"{what}{ref}")
        else:
            payment.status, payment.detail = "capture_failed", result.detail
            journey.raise_alert(state, AlertType.payment_failed, now, f"{what} declined: {result.detail}")
    elif operation.kind is Kind.void:
        current = operation.reference == payment.authorisation_reference
        if not current:  # the authorisation a renewal replaced: the payment holds the new one
            outcome = "voided" if result.approved else f"not voided ({result.detail}); it lapses by itself"
            journey.record(state, now, journey.SYSTEM, "authorisation_replaced", f"{operation.reference} {outcome}")
        elif result.approved:
            payment.status, payment.authorised_until = "voided", None
            journey.record(state, now, journey.SYSTEM, "authorisation_voided", f"{what}{ref}")
        else:  # an authorisation that cannot be voided lapses by itself
            journey.record(state, now, journey.SYSTEM, "void_declined", f"{what}: {result.detail}")
            if payment.status == "authorised":
                payment.status = "voided"
    elif operation.kind is Kind.refund:
        _refunded(state, payment, operation, result, now)
    journey.settle_alerts(state, now)
    rebalance(state, now)


def _placed(
    state: OrderState, payment: PaymentRecord, operation: MoneyOperation, result: GatewayResult, now: datetime
) -> None:
    what = f"{payment.payment_id} {operation.kind} of {operation.amount}"
    if not result.approved:
        payment.detail = result.detail
        if state.cleared_at is not None or payment.mode == "charge":
            # A later charge on the stored card: the store takes it at the till instead.
            payment.status = "due"
            journey.record(state, now, journey.SYSTEM, "charge_declined", f"{what}: {result.detail}; due at handover")
        else:
            payment.status = "declined"
            action = "still_declined" if state.status == OrderStatus.on_hold else f"{operation.kind}_declined"
            journey.record(state, now, journey.SYSTEM, action, f"{what} declined: {result.detail}")
        return
    payment.at = now
    if operation.kind is Kind.authorise:
        payment.status, payment.authorisation_reference = "authorised", result.reference
        payment.authorised_until = lapses_at(result, state, now)
        journey.record(state, now, journey.SYSTEM, "payment_authorised", f"{what} ({result.reference})")
    else:
        payment.status, payment.reference, payment.captured_amount = "captured", result.reference, result.amount.amount
        journey.record(state, now, journey.SYSTEM, "payment_captured", f"{what} ({result.reference})")


def _reauthorised(
    state: OrderState, payment: PaymentRecord, operation: MoneyOperation, result: GatewayResult, now: datetime
) -> None:
    if not result.approved:
        payment.renewable, payment.detail = False, f"re-authorisation declined: {result.detail}"
        journey.raise_alert(
            state,
            AlertType.payment_failed,
            now,
            f"{payment.payment_id} re-authorisation declined ({result.detail}); lapses {payment.authorised_until}",
        )
        return
    old = operation.replaces or ""
    payment.authorisation_reference = result.reference
    payment.authorised_until = lapses_at(result, state, now)
    journey.record(
        state,
        now,
        journey.SYSTEM,
        "payment_reauthorised",
        f"{payment.payment_id} {payment.amount} ({result.reference})",
    )
    if payment.status == "authorised":
        # The new authorisation is in place: release the old one rather than let it hold funds.
        operations.queue(state, payment, Kind.void, payment.amount.amount, now, reference=old)
    else:  # captured or voided meanwhile: the new one is not needed either
        operations.queue(state, payment, Kind.void, payment.amount.amount, now, reference=result.reference)


def _refunded(
    state: OrderState, payment: PaymentRecord, operation: MoneyOperation, result: GatewayResult, now: datetime
) -> None:
    refund = next((r for r in state.refunds if r.refund_id == operation.refund_id), None)
    assert refund is not None
    if result.approved:
        refund.status, refund.reference, refund.at = "refunded", result.reference, now
        journey.record(
            state,
            now,
            refund.actor,
            "refunded",
            f"{refund.amount} to {payment.payment_id} {payment.method} ({result.reference})",
        )
    else:
        refund.status, refund.detail = "declined", result.detail
        detail = f"{refund.amount} to {payment.payment_id}: {result.detail}"
        journey.record(state, now, refund.actor, "refund_declined", detail)
        journey.raise_alert(state, AlertType.refund_failed, now, detail)


def lapses_at(result: GatewayResult, state: OrderState, now: datetime) -> datetime:
    """The sooner of the gateway's own expiry and the configured authorisation lifetime."""
    configured = sla.after(now, state.payment_policy.authorisation_lifetime)
    return min(result.expires_at, configured) if result.expires_at else configured


# ---- keeping the money right ---------------------------------------------------------------------------------


def rebalance(state: OrderState, now: datetime, actor: str = journey.SYSTEM, reason: str = "") -> None:
    """Queue what makes the money match what the customer owes now.

    Before handover: refund anything kept beyond the total, charge a shortfall, shrink payments still expected
    beyond it. Once handed over (a home delivery shipped) or final (completed or cancelled): also capture from
    authorisations up to the total and void every authorisation and due payment left."""
    if state.cleared_at is None and not state.is_final:
        return  # placement payments are settled by clear_for_store (models/clearance.py)
    owed, kept = state.total().amount, state.kept().amount
    if kept > owed and not _refunds_held(state):
        plan_refund(state, kept - owed, now, actor, reason or "no longer owed")
        kept = owed
    if state.is_final or state.handed_over_at is not None or any(d.handed_over for d in state.deliveries[1:]):
        _settle_final(state, owed - kept, now, actor)
        return
    shortfall = owed - kept - sum(p.expected_in for p in state.payments)
    if shortfall > 0:
        charge(state, shortfall, now, actor, reason or "the order came to more")
    elif shortfall < 0:
        _shrink_expected(state, -shortfall, now, actor)


def _refunds_held(state: OrderState) -> bool:
    """After a declined refund Baton does not try again by itself: Head Office decides (a new refund clears it)."""
    return any(a.is_open and a.type is AlertType.refund_failed for a in state.alerts)


def _settle_final(state: OrderState, need: int, now: datetime, actor: str) -> None:
    """Capture up to what is still owed, card last; void every authorisation and expectation left. Before the order
    is final, a payment authorised for a delivery not yet shipped or handed over is kept for it (its share is
    captured when it goes)."""
    later = [] if state.is_final else [p for p in state.payments if not _delivery_gone(state, p)]
    need -= sum(p.expected_in for p in later)
    for payment in sorted(state.payments, key=lambda p: (not p.is_stored_value, p.payment_id)):
        if operations.busy(state, payment.payment_id) or payment in later:
            continue  # an operation on it is under way, or its delivery has not gone: decided again later
        if payment.status == "authorised":
            amount = min(payment.amount.amount, max(need, 0))
            need -= amount
            if amount:
                operations.queue(state, payment, Kind.capture, amount, now, reference=payment.authorisation_reference)
            else:
                operations.queue(
                    state, payment, Kind.void, payment.amount.amount, now, reference=payment.authorisation_reference
                )
        elif payment.status in ("pending", "awaiting", "due"):
            payment.status, payment.detail = "voided", "no longer owed"
            journey.record(state, now, actor, "payment_released", f"{payment.payment_id} {payment.amount}")


def _delivery_gone(state: OrderState, payment: PaymentRecord) -> bool:
    """Whether the goods a payment pays for left Baton's hands: its delivery shipped or was handed over (a payment
    for the whole order, or for the order's own journey, goes with that journey's handover)."""
    further = {d.delivery_id: d for d in state.deliveries[1:]}
    delivery = further.get(payment.delivery_id or "")
    return delivery.handed_over if delivery is not None else state.handed_over_at is not None


def _shrink_expected(state: OrderState, surplus: int, now: datetime, actor: str) -> None:
    """The order came to less: payments not yet taken expect less (due first, then awaiting, then untried)."""
    order = {"due": 0, "awaiting": 1, "pending": 2}
    for payment in sorted(state.payments, key=lambda p: (order.get(p.status, 9), p.payment_id)):
        if surplus <= 0 or payment.status not in order or operations.busy(state, payment.payment_id):
            continue
        cut = min(surplus, payment.amount.amount)
        surplus -= cut
        payment.amount = Money(amount=payment.amount.amount - cut, currency=payment.amount.currency)
        if payment.amount.amount == 0:
            payment.status = "voided"
        journey.record(state, now, actor, "payment_reduced", f"{payment.payment_id} now {payment.amount}")


def charge(state: OrderState, amount: int, now: datetime, actor: str, reason: str) -> PaymentRecord:
    """Money the order now comes to beyond what is held: on the stored card if there is one, else due at the till.

    Authorised orders get another authorisation (captured at handover with the rest); orders paid at once get a
    sale. Without a stored card (prepaid, offline, on collection) the amount is due: the store takes it at the
    till on handover, or Head Office confirms money received with a reference."""
    card = _stored_card(state)
    payment = PaymentRecord(
        payment_id=f"P{len(state.payments) + 1}",
        mode="charge",
        method=card.method if card else "till",
        amount=Money(amount=amount, currency=state.currency),
        status="pending" if card else "due",
        gateway=card.gateway if card else None,
        token=card.token if card else None,
        detail=reason,
    )
    state.payments.append(payment)
    if card is not None:
        kind = Kind.authorise if any(p.status == "authorised" for p in state.payments) else Kind.sale
        operations.queue(state, payment, kind, amount, now, actor=actor)
    journey.record(state, now, actor, "payment_requested", f"{payment.payment_id} {payment.amount} {payment.status}")
    return payment


def _stored_card(state: OrderState) -> PaymentRecord | None:
    cards = [
        p
        for p in state.payments
        if p.token
        and p.gateway
        and not p.is_stored_value
        and p.status in ("authorised", "captured")
        and p.mode in (*GATEWAY_MODES, "charge")
    ]
    return cards[-1] if cards else None


def plan_refund(state: OrderState, amount: int, now: datetime, actor: str, reason: str) -> list[RefundRecord]:
    """Pay `amount` back: to the card (newest payment first) before stored value. Money a gateway took goes back
    through that gateway; money taken outside one (by the channel, at the till, by transfer) is instructed."""
    left, planned = amount, []
    ordered = sorted(state.payments, key=lambda p: (p.is_stored_value, -int(p.payment_id.lstrip("P") or 0)))
    for payment in ordered:
        part = min(state.refundable_of(payment), left)
        if part <= 0:
            continue
        left -= part
        refund = RefundRecord(
            refund_id=f"R{len(state.refunds) + 1}",
            payment_id=payment.payment_id,
            amount=Money(amount=part, currency=state.currency),
            at=now,
            actor=actor,
            reason=reason,
        )
        state.refunds.append(refund)
        planned.append(refund)
        if payment.status == "captured" and payment.gateway:
            operations.queue(
                state,
                payment,
                Kind.refund,
                part,
                now,
                reference=payment.reference,
                refund_id=refund.refund_id,
                actor=actor,
            )
            journey.record(state, now, actor, "refund_requested", f"{refund.amount} to {payment.payment_id}")
        else:
            refund.status, refund.reference = "instructed", payment.reference
            journey.record(
                state,
                now,
                actor,
                "refund_instructed",
                f"{refund.amount} to {payment.payment_id} {payment.method} ({payment.reference or 'no reference'})",
            )
    return planned


# ---- at handover ---------------------------------------------------------------------------------------------


def settle_at_handover(state: OrderState, reference: str, actor: str, now: datetime) -> None:
    """The goods left with the customer: the store took what was due at the till; authorisations are captured
    up to the total (in `rebalance`, the order being final by then)."""
    state.handed_over_at = now
    need = (
        state.total().amount
        - state.kept().amount
        - sum(p.expected_in for p in state.payments if p.status in ("authorised", "pending"))
    )
    for payment in state.payments:
        if payment.status != "due":
            continue
        taken = min(payment.amount.amount, max(need, 0))
        need -= taken
        payment.status, payment.reference, payment.actor, payment.at = "taken", reference, actor, now
        payment.captured_amount = taken
        journey.record(
            state,
            now,
            actor,
            "payment_taken_at_handover",
            f"{payment.payment_id} {Money(amount=taken, currency=state.currency)}",
        )


# ---- Head Office: confirmations, overrides, retries ----------------------------------------------------------


def confirm_received(state: OrderState, payment_id: str | None, reference: str, actor: str, now: datetime) -> list[str]:
    """Money arrived outside a gateway (offline transfer, or a due amount paid by phone): it is taken."""
    confirmed = []
    for payment in state.payments:
        if payment.status in ("awaiting", "due") and payment_id in (None, payment.payment_id):
            payment.status, payment.reference, payment.actor, payment.at = "taken", reference, actor, now
            confirmed.append(payment.payment_id)
    return confirmed


def override(state: OrderState, payment_id: str | None, reference: str, actor: str, reason: str, now: datetime) -> None:
    """Head Office settles failed payments by hand (money taken another way); audited in the history."""
    for payment in to_settle_by_hand(state):
        if payment_id not in (None, payment.payment_id):
            continue
        payment.status, payment.reference, payment.actor, payment.at = "taken", reference, actor, now
        payment.gateway, payment.detail = None, f"settled by hand: {reason}"  # refunds of it are instructed
        journey.record(
            state, now, actor, "payment_overridden", f"{payment.payment_id} {payment.amount} ({reference}) — {reason}"
        )
    journey.settle_alerts(state, now)


def to_settle_by_hand(state: OrderState) -> list[PaymentRecord]:
    """Payments Head Office may settle by hand: a failed capture, or a card declined at placement."""
    return [
        p
        for p in state.payments
        if p.status in ("capture_failed", "declined") and not operations.busy(state, p.payment_id)
    ]


def retry_declined(state: OrderState, token: str | None) -> list[PaymentRecord]:
    """Head Office retries declined payments, optionally with a new card token (queued by clear_for_store)."""
    retried = [p for p in state.payments if p.status == "declined"]
    for payment in retried:
        payment.status, payment.detail = "pending", ""
        if token is not None:
            payment.token = token
    return retried


def placement_kind(payment: PaymentRecord) -> Kind:
    return Kind.sale if payment.mode in (PaymentMode.auth_capture, "charge") else Kind.authorise


def hold_for_unknown(state: OrderState, now: datetime) -> None:
    """A placement payment has no answer: the order waits on hold (the payment_unknown alert says why)."""
    if state.status != OrderStatus.on_hold:
        detail = "a payment's outcome is not known yet; it goes ahead once reconciled"
        journey.hold(state, HoldReason.payment_unknown, now, journey.SYSTEM, detail, alert=False)
