"""Settling payments (models/settlement.py): gateway answers, queued operations, rebalancing, refunds, handover,
reconciliation of unknown outcomes and re-authorisation."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models import clearance, journey, operations, settlement
from models.order import AlertType, HoldReason, OrderState, OrderStatus
from models.payment_policy import PaymentPolicy
from models.payments import GatewayOperationKind, GatewayResult, MoneyOperation, PaymentRecord
from tests.models.factories import T0, TOKEN, at, captured, card, cleared_state, due, gbp, make_state, prepaid

Kind = GatewayOperationKind


def _result(
    operation: MoneyOperation, approved: bool = True, reference: str = "ref-1", **extra: object
) -> GatewayResult:
    return GatewayResult(
        operation_id=operation.operation_id,
        kind=operation.kind,
        approved=approved,
        reference=reference if approved else "",
        detail=str(extra.pop("detail", "" if approved else "card declined")),
        amount=extra.pop("amount", operation.amount),  # type: ignore[arg-type]
        at=T0,
        **extra,  # type: ignore[arg-type]
    )


def _answer(state: OrderState, approved: bool = True, now: datetime = T0, **extra: object) -> MoneyOperation:
    """The gateway answers the next queued operation."""
    operation = operations.next_operation(state)
    assert operation is not None
    settlement.apply_result(state, operation, _result(operation, approved, **extra), now)
    return operation


def _ops(state: OrderState) -> list[tuple[str, str, int, str | None]]:
    return [(op.payment_id, op.kind, op.amount.amount, op.reference) for op in state.operations]


def _queue(state: OrderState, kind: Kind, amount: int = 7500, **extra: str) -> MoneyOperation:
    return operations.queue(state, state.payments[0], kind, amount, T0, **extra)


def _nothing_owed(state: OrderState) -> OrderState:
    for line in state.lines:
        line.cancelled_quantity, line.quantity = line.quantity, 0
    return state


# ---- queueing ----------------------------------------------------------------------------------------------------


def test_queue_numbers_operation_ids_per_order() -> None:
    state = make_state(payments=[card("pending")])
    first, second = _queue(state, Kind.sale), _queue(state, Kind.refund, 100)
    assert [first.operation_id, second.operation_id] == ["order-100001:sale:1", "order-100001:refund:2"]
    assert state.money_operations == 2 and [op.status for op in state.operations] == ["queued", "queued"]


def test_next_operation_runs_one_operation_per_payment_at_a_time() -> None:
    state = make_state(payments=[card("captured", 2000, "P1"), card("captured", 5500, "P2")])
    p1_first = operations.queue(state, state.payments[0], Kind.refund, 100, T0)
    p1_second = operations.queue(state, state.payments[0], Kind.refund, 200, T0)
    p2 = operations.queue(state, state.payments[1], Kind.refund, 300, T0)
    assert operations.next_operation(state) is p1_first and p1_first.status == "running"
    assert operations.next_operation(state) is p2  # P1 is busy until its first refund answers
    assert operations.next_operation(state) is None
    state.operations.remove(p1_first)
    assert operations.next_operation(state) is p1_second


# ---- gateway answers ---------------------------------------------------------------------------------------------


def test_apply_result_authorise_records_its_reference_and_lapse() -> None:
    state = make_state(payments=[card("pending")], payment_policy=PaymentPolicy(authorisation_lifetime="P5D"))
    _queue(state, Kind.authorise)
    operation = _answer(state, reference="auth-1")
    payment = state.payments[0]
    assert (payment.status, payment.authorisation_reference, payment.authorised_until) == (
        "authorised",
        "auth-1",
        T0 + timedelta(days=5),
    )
    assert state.authorised() == gbp(7500) and state.paid() == gbp(0) and state.outstanding() == gbp(7500)
    assert state.operations == [] and operation.status == "running"
    assert state.history[-1].action == "payment_authorised"


@pytest.mark.parametrize(("gateway_days", "expected_days"), [(2, 2), (30, 7)])
def test_apply_result_authorise_lapses_at_the_sooner_of_gateway_expiry_and_policy(
    gateway_days: int, expected_days: int
) -> None:
    state = make_state(payments=[card("pending")])
    _queue(state, Kind.authorise)
    _answer(state, expires_at=T0 + timedelta(days=gateway_days))
    assert state.payments[0].authorised_until == T0 + timedelta(days=expected_days)


def test_apply_result_sale_captures_and_counts_as_paid() -> None:
    state = make_state(payments=[card("pending", mode="auth_capture")])
    _queue(state, Kind.sale)
    _answer(state, reference="ch_1")
    payment = state.payments[0]
    assert (payment.status, payment.reference, payment.captured_amount) == ("captured", "ch_1", 7500)
    assert state.paid() == gbp(7500) and state.outstanding() == gbp(0)


def test_apply_result_decline_at_placement_holds_the_order() -> None:
    state = make_state(payments=[card("pending")])
    assert clearance.clear_for_store(state, T0) is None  # queues the authorisation
    _answer(state, approved=False)
    assert (state.payments[0].status, state.payments[0].detail) == ("declined", "card declined")
    assert clearance.clear_for_store(state, at(1)) is None
    assert (state.status, state.hold_reason) == (OrderStatus.on_hold, HoldReason.payment_declined)
    assert [a.type for a in state.alerts if a.is_open] == [AlertType.payment_declined]


def test_apply_result_declined_charge_after_clearance_is_due_at_handover() -> None:
    state = cleared_state(payments=[captured(7000), card("pending", 500, "P2", mode="charge")])
    operations.queue(state, state.payments[1], Kind.sale, 500, T0)
    _answer(state, approved=False)
    assert state.payments[1].status == "due"
    assert state.history[-1].action == "charge_declined"


def test_apply_result_capture_declined_raises_payment_failed_that_outlives_completion() -> None:
    state = make_state(OrderStatus.collected, payments=[card("authorised")])
    _queue(state, Kind.capture, reference="auth-P1")
    _answer(state, approved=False)
    assert state.payments[0].status == "capture_failed"
    journey.transition(state, OrderStatus.completed, at(1), journey.SYSTEM, "completed")
    assert [a.type for a in state.alerts if a.is_open] == [AlertType.payment_failed]
    settlement.override(state, None, "PDQ 1", "ho:alice", "taken by phone", at(2))
    assert state.payments[0].status == "taken" and state.paid() == gbp(7500)
    assert state.payments[0].gateway is None  # refunds of money taken by hand are instructed
    assert not state.has_open_alert
    assert state.history[-2].action == "payment_overridden" and "taken by phone" in state.history[-2].detail


def test_apply_result_void_approved_releases_the_authorisation() -> None:
    state = make_state(payments=[card("authorised")])
    _queue(state, Kind.void, reference="auth-P1")
    _answer(state)
    assert (state.payments[0].status, state.payments[0].authorised_until) == ("voided", None)
    assert state.authorised() == gbp(0)


def test_apply_result_void_declined_lets_the_authorisation_lapse() -> None:
    state = make_state(payments=[card("authorised")])
    _queue(state, Kind.void, reference="auth-P1")
    _answer(state, approved=False)
    assert state.payments[0].status == "voided"
    assert state.history[-1].action == "void_declined"


def test_apply_result_refund_approved_is_refunded() -> None:
    state = cleared_state(OrderStatus.completed, payments=[captured(7500)])
    [planned] = settlement.plan_refund(state, 1000, T0, "ho:alice", "goodwill")
    _answer(state, reference="re_1")
    assert (planned.status, planned.reference) == ("refunded", "re_1")
    assert state.refunded() == gbp(1000) and state.kept() == gbp(6500)
    assert state.history[-1].action == "refunded"


def test_apply_result_refund_declined_alerts_and_is_not_retried_by_itself() -> None:
    state = _nothing_owed(cleared_state(OrderStatus.cancelled, payments=[captured(7500)]))
    [planned] = settlement.plan_refund(state, 7500, T0, "ho:alice", "cancelled")
    _answer(state, approved=False)
    assert planned.status == "declined" and state.refunded() == gbp(0) and state.kept() == gbp(7500)
    assert [a.type for a in state.alerts if a.is_open] == [AlertType.refund_failed]
    assert state.operations == []  # rebalance does not try again: Head Office decides


# ---- unknown outcomes --------------------------------------------------------------------------------------------


def test_mark_unknown_alerts_once_and_backs_off_to_hourly() -> None:
    state = make_state(payments=[card("pending")])
    operation = _queue(state, Kind.authorise)
    waits = []
    now = T0
    for _ in range(6):
        operations.mark_unknown(state, operation, "timed out", now)
        assert operation.check_at is not None
        waits.append(operation.check_at - now)
        now = operation.check_at
    minutes = [int(wait.total_seconds() // 60) for wait in waits]
    assert minutes == [5, 10, 20, 40, 60, 60]
    assert operation.since == T0  # when the answer first went missing
    assert [a.type for a in state.alerts] == [AlertType.payment_unknown]
    assert state.unknown_operations() == [operation]


def test_recheck_due_queues_unknown_operations_again_under_the_same_id() -> None:
    state = make_state(payments=[card("pending")])
    operation = _queue(state, Kind.authorise)
    operations.mark_unknown(state, operation, "timed out", T0)
    assert operations.next_reconciliation(state) == at(5)
    assert not operations.recheck_due(state, at(4))
    assert operations.recheck_due(state, at(5))
    assert operation.status == "queued" and operations.next_operation(state) is operation


def test_unknown_operation_answered_clears_payment_unknown() -> None:
    state = make_state(payments=[card("pending")])
    operation = _queue(state, Kind.authorise)
    operations.mark_unknown(state, operation, "timed out", T0)
    settlement.apply_result(state, operation, _result(operation), at(5))
    assert state.payments[0].status == "authorised"
    assert not state.has_open_alert


def test_hold_for_unknown_holds_without_a_second_alert() -> None:
    state = make_state(payments=[card("pending")])
    settlement.hold_for_unknown(state, T0)
    assert (state.status, state.hold_reason, state.alerts) == (OrderStatus.on_hold, HoldReason.payment_unknown, [])


# ---- rebalance ---------------------------------------------------------------------------------------------------


def test_rebalance_waits_for_clearance() -> None:
    state = make_state(payments=[prepaid(7500)])
    state.lines[1].quantity = 0
    settlement.rebalance(state, T0)
    assert state.refunds == [] and state.operations == []


def test_rebalance_instructs_a_refund_of_prepaid_money_no_longer_owed() -> None:
    state = cleared_state(payments=[prepaid(7500)])
    state.lines[1].quantity = 0  # the jeans are no longer bought: 30.00 owed
    settlement.rebalance(state, T0, "ho:alice", "jeans cancelled")
    [refund] = state.refunds
    assert (refund.amount, refund.status, refund.reference, refund.reason) == (
        gbp(4500), "instructed", "PSP-1", "jeans cancelled"
    )
    assert state.operations == [] and state.kept() == gbp(3000)


def test_rebalance_refunds_captured_money_through_the_gateway() -> None:
    state = cleared_state(payments=[captured(7500)])
    state.lines[1].quantity = 0
    settlement.rebalance(state, T0)
    assert _ops(state) == [("P1", Kind.refund, 4500, "cap-P1")]
    assert state.refunds[0].status == "requested" and state.refunded() == gbp(0)
    assert state.kept() == gbp(3000)  # a refund on its way is not kept


@pytest.mark.parametrize(
    ("payment", "kind"), [(card("authorised"), Kind.authorise), (captured(7500), Kind.sale)]
)
def test_rebalance_charges_a_shortfall_on_the_stored_card(payment: PaymentRecord, kind: Kind) -> None:
    state = cleared_state(payments=[payment])
    state.lines[0].quantity = 3  # one more tee: 15.00 more
    settlement.rebalance(state, T0, "ho:alice", "one more")
    charge = state.payments[-1]
    assert (charge.payment_id, charge.mode, charge.status, charge.token) == ("P2", "charge", "pending", TOKEN)
    assert _ops(state) == [("P2", kind, 1500, None)]


def test_rebalance_without_a_stored_card_makes_the_shortfall_due() -> None:
    state = cleared_state(payments=[prepaid(7500)])
    state.lines[0].quantity = 3
    settlement.rebalance(state, T0)
    assert [(p.payment_id, p.method, p.status, p.amount) for p in state.payments[1:]] == [
        ("P2", "till", "due", gbp(1500))
    ]
    assert state.operations == []


def test_rebalance_shrinks_an_amount_due_when_the_order_comes_to_less() -> None:
    state = cleared_state(payments=[due(7500)])
    state.lines[1].quantity = 0
    settlement.rebalance(state, T0)
    assert (state.payments[0].amount, state.payments[0].status) == (gbp(3000), "due")
    assert state.refunds == []


def test_rebalance_on_a_final_order_captures_what_is_owed_and_voids_the_rest() -> None:
    gift = card("authorised", 2000, "P1", method="gift_card")
    state = cleared_state(OrderStatus.completed, payments=[gift, card("authorised", 5500, "P2")])
    state.lines[1].quantity = 0  # 30.00 owed: the gift card pays 20.00, the card the rest
    settlement.rebalance(state, T0)
    assert _ops(state) == [("P1", Kind.capture, 2000, "auth-P1"), ("P2", Kind.capture, 1000, "auth-P2")]


def test_rebalance_on_a_cancelled_order_voids_every_authorisation_and_releases_what_is_due() -> None:
    state = _nothing_owed(cleared_state(OrderStatus.cancelled, payments=[card("authorised", 5500), due(2000, "P2")]))
    settlement.rebalance(state, T0)
    assert _ops(state) == [("P1", Kind.void, 5500, "auth-P1")]
    assert state.payments[1].status == "voided"


# ---- refunds -----------------------------------------------------------------------------------------------------


def test_plan_refund_goes_to_the_card_first_then_stored_value() -> None:
    state = cleared_state(payments=[captured(2000, "P1", method="gift_card"), captured(5500, "P2")])
    assert [(r.payment_id, r.amount.amount) for r in settlement.plan_refund(state, 5000, T0, "ho", "x")] == [
        ("P2", 5000)
    ]
    assert [(r.payment_id, r.amount.amount) for r in settlement.plan_refund(state, 1000, T0, "ho", "x")] == [
        ("P2", 500),
        ("P1", 500),
    ]
    assert [op.refund_id for op in state.operations] == ["R1", "R2", "R3"]


def test_plan_refund_goes_to_the_newest_card_payment_first() -> None:
    state = cleared_state(payments=[captured(7500, "P1"), captured(1500, "P2")])
    assert [(r.payment_id, r.amount.amount) for r in settlement.plan_refund(state, 2000, T0, "ho", "x")] == [
        ("P2", 1500),
        ("P1", 500),
    ]


@settings(deadline=None, max_examples=200)
@given(
    gift=st.integers(min_value=1, max_value=10_000),
    card_amount=st.integers(min_value=1, max_value=10_000),
    refunds=st.lists(st.integers(min_value=1, max_value=5_000), max_size=8),
)
def test_plan_refund_never_exceeds_what_each_payment_took(gift: int, card_amount: int, refunds: list[int]) -> None:
    state = cleared_state(payments=[captured(gift, "P1", method="gift_card"), prepaid(card_amount, "P2")])
    for amount in refunds:
        asked = min(amount, state.refundable().amount)
        planned = settlement.plan_refund(state, asked, T0, "ho", "x")
        assert sum(r.amount.amount for r in planned) == asked
        for payment in state.payments:
            assert state.refunded_of(payment.payment_id) <= payment.moved_in
    assert sum(r.amount.amount for r in state.refunds) <= gift + card_amount


# ---- handover, confirmations, overrides, retries -----------------------------------------------------------------


def test_settle_at_handover_takes_what_is_due_at_the_till() -> None:
    state = make_state(OrderStatus.collected, payments=[due(7500)])
    assert state.outstanding() == gbp(7500) and state.paid() == gbp(0)
    settlement.settle_at_handover(state, "evt-9", "store:S001", at(1))
    assert state.paid() == gbp(7500) and state.outstanding() == gbp(0)
    assert (state.payments[0].status, state.payments[0].reference, state.handed_over_at) == ("taken", "evt-9", at(1))


def test_settle_at_handover_takes_only_what_the_authorisations_do_not_cover() -> None:
    state = make_state(OrderStatus.collected, payments=[card("authorised", 6000), due(1500, "P2")])
    state.lines[0].quantity = 1  # 60.00 owed: all of it on the card
    settlement.settle_at_handover(state, "evt-9", "store:S001", at(1))
    assert (state.payments[1].status, state.payments[1].moved_in) == ("taken", 0)


def test_confirm_received_takes_awaiting_and_due_payments() -> None:
    awaiting = PaymentRecord(payment_id="P1", mode="offline", method="bank", amount=gbp(7500), status="awaiting")
    state = make_state(OrderStatus.awaiting_payment, payments=[awaiting])
    assert settlement.confirm_received(state, None, "BACS-1", "ho:alice", at(1)) == ["P1"]
    assert (awaiting.status, awaiting.reference, awaiting.actor) == ("taken", "BACS-1", "ho:alice")
    assert state.paid() == gbp(7500)


def test_to_settle_by_hand_skips_payments_with_an_operation_under_way() -> None:
    state = make_state(payments=[card("declined"), card("capture_failed", payment_id="P2")])
    operations.queue(state, state.payments[1], Kind.capture, 7500, T0)
    assert [p.payment_id for p in settlement.to_settle_by_hand(state)] == ["P1"]


def test_retry_declined_makes_them_pending_with_the_new_token() -> None:
    state = make_state(payments=[card("declined", detail="insufficient funds")])
    settlement.retry_declined(state, "tok_new")
    assert (state.payments[0].status, state.payments[0].detail, state.payments[0].token) == ("pending", "", "tok_new")


# ---- re-authorisation --------------------------------------------------------------------------------------------


def test_reauthorisation_falls_due_before_the_authorisation_lapses() -> None:
    policy = PaymentPolicy(reauthorise_before=timedelta(hours=12))
    state = cleared_state(payments=[card("authorised")], payment_policy=policy)
    due_at = at(0, days=7) - timedelta(hours=12)
    assert operations.reauthorisation_due(state) == due_at
    operations.reauthorise_due(state, due_at - timedelta(seconds=1))
    assert state.operations == []
    operations.reauthorise_due(state, due_at)
    [renewal] = state.operations
    assert (renewal.kind, renewal.amount, renewal.replaces) == (Kind.authorise, gbp(7500), "auth-P1")
    assert operations.reauthorisation_due(state) is None  # busy renewing

    _answer(state, now=due_at, reference="auth-2")
    assert state.payments[0].authorisation_reference == "auth-2"
    assert state.payments[0].authorised_until == due_at + timedelta(days=7)
    assert _ops(state) == [("P1", Kind.void, 7500, "auth-P1")]  # the old authorisation is released


def test_reauthorisation_keeps_the_payment_authorised_once_the_old_authorisation_is_voided() -> None:
    state = cleared_state(payments=[card("authorised")])
    operations.reauthorise_due(state, at(0, days=6))
    _answer(state, now=at(0, days=6), reference="auth-2")
    _answer(state, now=at(0, days=6))  # the void of auth-P1
    payment = state.payments[0]
    assert (payment.status, payment.authorisation_reference) == ("authorised", "auth-2")
    assert state.authorised() == gbp(7500)
    assert [p.payment_id for p in state.payments] == ["P1"]  # nothing charged again


def test_a_declined_reauthorisation_alerts_once_and_is_not_retried() -> None:
    state = cleared_state(payments=[card("authorised")])
    due_at = operations.reauthorisation_due(state)
    assert due_at is not None
    operations.reauthorise_due(state, due_at)
    _answer(state, approved=False, now=due_at)
    assert state.payments[0].renewable is False and state.payments[0].status == "authorised"
    assert operations.reauthorisation_due(state) is None
    assert [a.type for a in state.alerts if a.is_open] == [AlertType.payment_failed]


def test_a_cancelled_order_voids_its_authorisation_instead_of_renewing_it() -> None:
    state = _nothing_owed(cleared_state(OrderStatus.cancelled, payments=[card("authorised")]))
    settlement.rebalance(state, T0)
    assert _ops(state) == [("P1", Kind.void, 7500, "auth-P1")]
    assert operations.reauthorisation_due(state) is None


def test_a_final_order_needs_no_reauthorisation() -> None:
    state = make_state(OrderStatus.cancelled, payments=[card("authorised")])
    assert operations.reauthorisation_due(state) is None
