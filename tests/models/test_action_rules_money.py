"""Every rule that refuses a Head Office action on an order's money (models/payment_actions.py, through
models.actions.BY_NAME): approvals, confirmations, retries, overrides, charges and refunds. Each condition that
refuses names its rule; the same action applies once the condition is gone."""

from __future__ import annotations

import pytest

from models import operations
from models.money import MAX_AMOUNT
from models.order import HoldReason, OrderState, OrderStatus
from models.payments import GatewayOperationKind, PaymentRecord
from tests.models.factories import (
    T0,
    applied,
    at,
    captured,
    card,
    cleared_state,
    due,
    gbp,
    make_state,
    prepaid,
    refund,
    refused_by,
)

S = OrderStatus
Kind = GatewayOperationKind


def _gbp(amount: int, currency: str = "GBP") -> dict:
    return {"amount": amount, "currency": currency}


def _awaiting(amount: int = 7500, payment_id: str = "P1") -> PaymentRecord:
    return PaymentRecord(payment_id=payment_id, mode="offline", method="bank", amount=gbp(amount), status="awaiting")


def _with_unknown(state: OrderState, payment_index: int = 0) -> OrderState:
    """An operation on the payment went unanswered: Baton reconciles it."""
    operation = operations.queue(state, state.payments[payment_index], Kind.refund, 100, T0)
    operations.mark_unknown(state, operation, "timed out", T0)
    return state


# ---- approve, reject ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["approve_order", "reject_order"])
@pytest.mark.parametrize("status", [S.received, S.awaiting_payment, S.on_hold, S.acknowledged, S.cancelled])
def test_approval_refused_when_order_not_awaiting_approval(name: str, status: OrderStatus) -> None:
    assert refused_by(name, make_state(status, approval_reason="phone order")) == "order_not_awaiting_approval"


@pytest.mark.parametrize("name", ["approve_order", "reject_order"])
def test_approval_applies_to_an_order_awaiting_approval(name: str) -> None:
    applied(name, make_state(S.awaiting_approval, approval_reason="phone order", payments=[prepaid()]))


# ---- confirm payment ---------------------------------------------------------------------------------------------


def test_confirm_payment_refused_when_no_payment_to_confirm() -> None:
    assert refused_by("confirm_payment", cleared_state(payments=[prepaid()])) == "no_payment_to_confirm"


def test_confirm_payment_refused_when_the_named_payment_waits_for_nothing() -> None:
    state = cleared_state(payments=[prepaid(6000), due(1500, "P2")])
    assert refused_by("confirm_payment", state, payment_id="P1") == "no_payment_to_confirm"


def test_confirm_payment_applies_to_the_named_amount_due() -> None:
    state = cleared_state(payments=[prepaid(6000), due(1500, "P2")])
    applied("confirm_payment", state, payment_id="P2")
    assert state.payments[1].status == "taken"


def test_confirm_payment_applies_to_an_offline_payment() -> None:
    state = make_state(S.awaiting_payment, payments=[_awaiting()])
    applied("confirm_payment", state)
    assert state.history[-1].action == "offline_payment_received"


# ---- retry payment -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason"), [(S.acknowledged, None), (S.on_hold, HoldReason.stock_shortage)], ids=["active", "stock"]
)
def test_retry_payment_refused_when_no_declined_payment(status: OrderStatus, reason: HoldReason | None) -> None:
    assert refused_by("retry_payment", make_state(status, hold_reason=reason)) == "no_declined_payment"


def test_retry_payment_refused_when_payment_outcome_unknown() -> None:
    state = make_state(S.on_hold, hold_reason=HoldReason.payment_declined, payments=[card("declined")])
    assert refused_by("retry_payment", _with_unknown(state)) == "payment_outcome_unknown"


def test_retry_payment_applies_to_an_order_held_for_a_declined_payment() -> None:
    state = make_state(S.on_hold, hold_reason=HoldReason.payment_declined, payments=[card("declined")])
    applied("retry_payment", state, token="tok_new")
    assert (state.payments[0].status, state.payments[0].token) == ("pending", "tok_new")


# ---- override payment --------------------------------------------------------------------------------------------


def test_override_payment_refused_when_no_failed_payment() -> None:
    assert refused_by("override_payment", cleared_state(S.completed, payments=[captured()])) == "no_failed_payment"


def test_override_payment_refused_when_the_named_payment_has_not_failed() -> None:
    state = cleared_state(S.completed, payments=[captured(2000, "P1"), card("capture_failed", 5500, "P2")])
    assert refused_by("override_payment", state, payment_id="P1") == "no_failed_payment"


def test_override_payment_refused_when_its_outcome_is_unknown() -> None:
    state = cleared_state(S.completed, payments=[card("capture_failed")])
    assert refused_by("override_payment", _with_unknown(state)) == "payment_outcome_unknown"


def test_override_payment_applies_to_the_named_failed_capture() -> None:
    state = cleared_state(S.completed, payments=[captured(2000, "P1"), card("capture_failed", 5500, "P2")])
    applied("override_payment", state, payment_id="P2")
    assert state.payments[1].status == "taken" and state.paid() == gbp(7500)


# ---- take payment ------------------------------------------------------------------------------------------------


def test_take_payment_refused_when_amount_not_positive() -> None:
    assert refused_by("take_payment", cleared_state(), amount=_gbp(0)) == "amount_not_positive"


def test_take_payment_refused_when_amount_too_large() -> None:
    assert refused_by("take_payment", cleared_state(), amount=_gbp(MAX_AMOUNT - 7500 + 1)) == "amount_too_large"


def test_take_payment_applies_up_to_the_largest_amount() -> None:
    applied("take_payment", cleared_state(), amount=_gbp(MAX_AMOUNT - 7500))


def test_take_payment_refused_when_currency_differs() -> None:
    assert refused_by("take_payment", cleared_state(), amount=_gbp(500, "EUR")) == "currency_mismatch"


def test_take_payment_refused_when_payment_outcome_unknown() -> None:
    state = _with_unknown(cleared_state(payments=[captured()]))
    assert refused_by("take_payment", state) == "payment_outcome_unknown"


def test_take_payment_applies_once_the_unknown_outcome_is_answered() -> None:
    state = _with_unknown(cleared_state(payments=[captured()]))
    state.operations.clear()
    applied("take_payment", state)


# ---- refund ------------------------------------------------------------------------------------------------------


def test_refund_refused_when_amount_not_positive() -> None:
    assert refused_by("refund", cleared_state(), amount=_gbp(0)) == "amount_not_positive"


def test_refund_refused_when_currency_differs() -> None:
    assert refused_by("refund", cleared_state(), amount=_gbp(500, "EUR")) == "currency_mismatch"


def test_refund_refused_when_it_exceeds_what_was_taken() -> None:
    assert refused_by("refund", cleared_state(), amount=_gbp(7501)) == "refund_exceeds_captured"


def test_refund_refused_beyond_what_earlier_refunds_left() -> None:
    state = cleared_state(refunds=[refund(7000, status="instructed")])
    assert refused_by("refund", state, amount=_gbp(501)) == "refund_exceeds_captured"


def test_refund_applies_to_what_earlier_refunds_left() -> None:
    state = cleared_state(refunds=[refund(7000, status="instructed")])
    applied("refund", state, amount=_gbp(500))


def test_refund_refused_when_money_is_only_authorised() -> None:
    assert refused_by("refund", cleared_state(payments=[card("authorised")])) == "refund_exceeds_captured"


def test_refund_applies_again_after_a_declined_refund() -> None:
    state = cleared_state(payments=[captured()], refunds=[refund(7500, status="declined")])
    applied("refund", state, amount=_gbp(7500))


def test_refund_refused_when_line_unknown() -> None:
    lines = [{"line_id": "L9", "quantity": 1}]
    assert refused_by("refund", cleared_state(), amount=None, lines=lines) == "unknown_line"


def test_refund_refused_when_quantity_exceeds_line() -> None:
    lines = [{"line_id": "L2", "quantity": 2}]
    assert refused_by("refund", cleared_state(), amount=None, lines=lines) == "quantity_exceeds_line"


def test_refund_applies_to_the_value_of_lines() -> None:
    state = cleared_state(S.completed)
    applied("refund", state, amount=None, lines=[{"line_id": "L1", "quantity": 1}], now=at(5))
    assert [(r.amount, r.status) for r in state.refunds] == [(gbp(1500), "instructed")]
