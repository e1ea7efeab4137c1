"""Pure rules for settling an order's payments: what is taken at placement, captured at handover, voided on
cancellation, re-authorised before it lapses, and where a refund goes back to.

The split rule: an order has at most two payments. With two, one is stored value (gift card or wallet) and
the other pays the rest. Stored value is taken first and at once (prepaid or auth_capture); a refund goes back
to the card (or other method) first and to stored value last, so the customer's own money returns first.

The workflow asks these functions what to do, runs the gateway operations they describe, and hands each
`GatewayResult` back to `apply_gateway_result`. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from models import journey
from models.money import Money
from models.order import (
    GATEWAY_MODES,
    STORED_VALUE_METHODS,
    AlertType,
    OrderState,
    PaymentMode,
    PaymentRecord,
    PlaceOrder,
    RefundRecord,
)
from models.payment_policy import PaymentPolicy
from models.payments import GatewayOperationKind, GatewayResult


@dataclass(frozen=True)
class PaymentProblem:
    field: str
    message: str


def payment_problems(
    order: PlaceOrder, order_total: int, policy: PaymentPolicy, gateways: frozenset[str]
) -> list[PaymentProblem]:
    """What is wrong with an order's payments; the caller has checked every amount is in the order's currency."""
    problems: list[PaymentProblem] = []
    given = order.given_payments
    if order.customer.id in policy.blocked_customers:
        problems.append(PaymentProblem("customer.id", f"customer {order.customer.id} is blocked; the order is refused"))
    if len(given) == 2:
        stored_value = [path for path, payment in given if payment.method in STORED_VALUE_METHODS]
        if len(stored_value) != 1:
            problems.append(
                PaymentProblem(
                    "payments", "two payments must be gift card or wallet funds plus one other payment method"
                )
            )
        for path, payment in given:
            if payment.amount.amount <= 0:
                problems.append(PaymentProblem(f"{path}.amount.amount", "each of two payments must be more than zero"))
    for path, payment in given:
        if payment.method in STORED_VALUE_METHODS and payment.mode not in (
            PaymentMode.prepaid,
            PaymentMode.auth_capture,
        ):
            problems.append(
                PaymentProblem(f"{path}.mode", f"{payment.method} funds are taken at once: prepaid or auth_capture")
            )
        if payment.mode in GATEWAY_MODES and payment.gateway is not None and payment.gateway not in gateways:
            known = ", ".join(sorted(gateways))
            problems.append(PaymentProblem(f"{path}.gateway", f"unknown gateway {payment.gateway!r} (known: {known})"))
    paid = sum(payment.amount.amount for _path, payment in given)
    if not problems and paid != order_total:
        field = f"{given[0][0]}.amount.amount" if len(given) == 1 else "payments"
        problems.append(PaymentProblem(field, f"the order comes to {order_total}, not {paid}"))
    return problems


def approval_reason(order: PlaceOrder, order_total: Money, policy: PaymentPolicy) -> str | None:
    """Why Head Office must approve this order before it goes ahead, or None."""
    if order.channel.value in policy.approval_channels:
        return f"orders from the {order.channel} channel need approval"
    if order.customer.id in policy.approval_customers:
        return f"customer {order.customer.id} needs approval for every order"
    limit = policy.approval_above.get(order_total.currency)
    if limit is not None and order_total.amount > limit:
        return f"the order ({order_total}) is above {Money(amount=limit, currency=order_total.currency)}"
    return None


def initial_payments(order: PlaceOrder, default_gateway: str, now: datetime) -> list[PaymentRecord]:
    """The order's payments as placed, stored value first (it is taken first)."""
    requests = sorted((p for _path, p in order.given_payments), key=lambda p: p.method not in STORED_VALUE_METHODS)
    actor = f"{order.channel}:{order.customer.id}"
    records = []
    for index, request in enumerate(requests, start=1):
        status = {
            PaymentMode.prepaid: "taken",
            PaymentMode.auth_capture: "pending",
            PaymentMode.authorise: "pending",
            PaymentMode.offline: "awaiting",
            PaymentMode.on_collection: "due",
        }[request.mode]
        if request.amount.amount == 0:
            status = "taken"  # nothing to pay (a fully discounted order): no gateway is asked for nothing
        records.append(
            PaymentRecord(
                payment_id=f"P{index}",
                mode=request.mode.value,
                method=request.method,
                amount=request.amount,
                status=status,  # type: ignore[arg-type]
                at=now if status == "taken" else None,
                actor=actor if status == "taken" else "",
                reference="prepaid by the channel" if status == "taken" else "",
                gateway=(request.gateway or default_gateway) if request.mode in GATEWAY_MODES else None,
                token=request.token,
            )
        )
    return records


# ---- at placement ----------------------------------------------------------------------------------


def to_take_at_placement(state: OrderState) -> list[PaymentRecord]:
    """Gateway payments not tried yet, stored value first."""
    return [p for p in state.payments if p.status == "pending"]


def placement_kind(payment: PaymentRecord) -> GatewayOperationKind:
    return GatewayOperationKind.sale if payment.mode == PaymentMode.auth_capture else GatewayOperationKind.authorise


def declined(state: OrderState) -> list[PaymentRecord]:
    return [p for p in state.payments if p.status == "declined"]


def awaiting_offline_payment(state: OrderState) -> bool:
    return any(p.status == "awaiting" for p in state.payments)


def confirmation(state: OrderState) -> str:
    """What the history says when payment is confirmed (the INITPAID moment)."""
    parts = [f"{p.payment_id} {p.method} {p.amount} {p.status}" for p in state.payments]
    return "; ".join(parts)


def retry_declined(state: OrderState, token: str | None) -> list[PaymentRecord]:
    """Head Office retries declined payments, optionally with a new card token."""
    retried = declined(state)
    for payment in retried:
        payment.status = "pending"
        payment.detail = ""
        if token is not None:
            payment.token = token
    return retried


def confirm_offline(state: OrderState, reference: str, actor: str, now: datetime) -> None:
    for payment in state.payments:
        if payment.status == "awaiting":
            payment.status, payment.reference, payment.actor, payment.at = "taken", reference, actor, now


# ---- gateway results ---------------------------------------------------------------------------------


def apply_gateway_result(
    state: OrderState, payment: PaymentRecord, result: GatewayResult, policy: PaymentPolicy, now: datetime, actor: str
) -> None:
    """Record what the gateway answered on the payment and in the order's history."""
    kind, amount = result.kind, result.amount
    ref = f" ({result.reference})" if result.reference else ""
    if not result.approved:
        detail = f"{payment.payment_id} {kind} of {amount} declined: {result.detail}"
        if kind in (GatewayOperationKind.authorise, GatewayOperationKind.sale) and payment.status == "pending":
            payment.status, payment.detail = "declined", result.detail
        elif kind is GatewayOperationKind.capture:
            payment.status, payment.detail = "capture_failed", result.detail
            journey.raise_alert(state, AlertType.payment_failed, now, detail)
            return
        journey.record(state, now, actor, f"{kind}_declined", detail)
        return
    if kind is GatewayOperationKind.authorise:
        payment.status = "authorised"
        payment.authorisation_reference = result.reference
        payment.authorised_until = _lapses_at(result, policy, now)
        payment.at = now
        journey.record(state, now, actor, "payment_authorised", f"{payment.payment_id} {amount}{ref}")
    elif kind in (GatewayOperationKind.sale, GatewayOperationKind.capture):
        payment.status, payment.reference, payment.captured_amount, payment.at = (
            "captured",
            result.reference,
            amount.amount,
            now,
        )
        payment.authorised_until = None
        journey.record(state, now, actor, "payment_captured", f"{payment.payment_id} {amount}{ref}")
    elif kind is GatewayOperationKind.void:
        payment.status, payment.authorised_until = "voided", None
        journey.record(state, now, actor, "authorisation_voided", f"{payment.payment_id} {amount}{ref}")


def _lapses_at(result: GatewayResult, policy: PaymentPolicy, now: datetime) -> datetime:
    """The sooner of the gateway's own expiry and the configured authorisation lifetime."""
    configured = now + policy.authorisation_lifetime
    return min(result.expires_at, configured) if result.expires_at else configured


# ---- at handover -------------------------------------------------------------------------------------


def captures_at_handover(state: OrderState) -> list[tuple[PaymentRecord, Money]]:
    """Authorised payments and what to capture of each: what the order still comes to, card last. A zero
    amount means the authorisation is no longer needed and is voided."""
    owed = state.outstanding().amount
    plan = []
    for payment in sorted(state.payments, key=lambda p: not p.is_stored_value):
        if payment.status != "authorised":
            continue
        amount = min(payment.amount.amount, owed)
        owed -= amount
        plan.append((payment, Money(amount=amount, currency=payment.amount.currency)))
    return plan


def take_due_at_handover(state: OrderState, reference: str, actor: str, now: datetime) -> list[PaymentRecord]:
    """Pay on collection or delivery: the store (or courier) took what the order still comes to."""
    taken = []
    for payment in state.payments:
        if payment.status != "due":
            continue
        amount = min(payment.amount.amount, state.outstanding().amount)
        payment.status, payment.captured_amount = "taken", amount
        payment.reference, payment.actor, payment.at = reference, actor, now
        journey.record(
            state,
            now,
            actor,
            "payment_taken_at_handover",
            f"{payment.payment_id} {Money(amount=amount, currency=payment.amount.currency)}",
        )
        taken.append(payment)
    return taken


# ---- re-authorisation, voids, overrides --------------------------------------------------------------


def reauthorisation_due(state: OrderState) -> datetime | None:
    """When the first authorisation must be renewed before it lapses (None when none needs it)."""
    if state.is_final:
        return None
    due = [
        p.authorised_until - state.payment_policy.reauthorise_before
        for p in state.payments
        if p.status == "authorised" and p.authorised_until is not None and p.token and p.renewable
    ]
    return min(due, default=None)


def to_reauthorise(state: OrderState, now: datetime) -> list[PaymentRecord]:
    return [
        p
        for p in state.payments
        if p.status == "authorised"
        and p.authorised_until is not None
        and p.token
        and p.renewable
        and p.authorised_until - state.payment_policy.reauthorise_before <= now
    ]


def reauthorised(
    state: OrderState, payment: PaymentRecord, result: GatewayResult, policy: PaymentPolicy, now: datetime
) -> str | None:
    """Record a renewal; returns the old authorisation's reference (to void) when it was approved."""
    if not result.approved:
        payment.renewable, payment.detail = False, f"re-authorisation declined: {result.detail}"
        journey.raise_alert(
            state,
            AlertType.payment_failed,
            now,
            f"{payment.payment_id} re-authorisation declined ({result.detail}); lapses {payment.authorised_until}",
        )
        return None
    old = payment.authorisation_reference
    payment.authorisation_reference = result.reference
    payment.authorised_until = _lapses_at(result, policy, now)
    journey.record(
        state,
        now,
        journey.SYSTEM,
        "payment_reauthorised",
        f"{payment.payment_id} {payment.amount} ({result.reference})",
    )
    return old


def to_void(state: OrderState) -> list[PaymentRecord]:
    return [p for p in state.payments if p.status == "authorised"]


def to_settle_by_hand(state: OrderState) -> list[PaymentRecord]:
    """Payments Head Office may settle by hand: a failed capture, or a card declined at placement."""
    return [p for p in state.payments if p.status in ("capture_failed", "declined")]


def override(
    state: OrderState, payment_id: str | None, reference: str, actor: str, reason: str, now: datetime
) -> list[PaymentRecord]:
    """Head Office settles failed payments by hand (money taken another way); audited in the history."""
    settled = [p for p in to_settle_by_hand(state) if payment_id in (None, p.payment_id)]
    for payment in settled:
        payment.status, payment.reference, payment.actor, payment.at = "taken", reference, actor, now
        payment.detail = f"settled by hand: {reason}"
        journey.record(
            state, now, actor, "payment_overridden", f"{payment.payment_id} {payment.amount} ({reference}) — {reason}"
        )
    journey.settle_alerts(state, now)
    return settled


# ---- refunds -----------------------------------------------------------------------------------------


def refunded_of(state: OrderState, payment: PaymentRecord) -> int:
    return sum(r.amount.amount for r in state.refunds if r.payment_id == payment.payment_id)


def refund_plan(state: OrderState, amount: Money) -> list[tuple[PaymentRecord, Money]]:
    """Where a refund goes back to: the card (or other method) first, stored value last."""
    left = amount.amount
    plan = []
    for payment in sorted(state.payments, key=lambda p: p.is_stored_value):
        available = payment.captured - refunded_of(state, payment)
        part = min(available, left)
        if part > 0:
            plan.append((payment, Money(amount=part, currency=amount.currency)))
            left -= part
    return plan


def record_refund(
    state: OrderState, payment: PaymentRecord, amount: Money, reference: str, actor: str, reason: str, now: datetime
) -> None:
    state.refunds.append(
        RefundRecord(
            amount=amount, at=now, actor=actor, reason=reason, reference=reference, payment_id=payment.payment_id
        )
    )
    journey.record(state, now, actor, "refunded", f"{amount} to {payment.payment_id} {payment.method} ({reference})")


def is_cleared(state: OrderState) -> bool:
    """Nothing blocks the order going ahead: no payment declined, awaiting or untried."""
    return not any(p.status in ("declined", "awaiting", "pending") for p in state.payments)
