"""Getting a new order to its store (models/clearance.py: approval, then placement payments, then stock) and what
a passing deadline does (models/deadlines.py: SLA alerts, the collection expiry, renewals, reconciliation)."""

from __future__ import annotations

from datetime import timedelta

from models import clearance, deadlines, operations, settlement
from models.catalogue import ReservationOutcome
from models.effects import Effects
from models.order import AlertType, HoldReason, OrderState, OrderStatus
from models.payment_policy import PaymentPolicy
from models.payments import GatewayOperationKind, GatewayResult, PaymentRecord
from models.sla import SlaPolicy
from tests.models.factories import T0, at, captured, card, cleared_state, gbp, make_state, prepaid, refused_by

S = OrderStatus
Kind = GatewayOperationKind
SLA = SlaPolicy()


def _answer(state: OrderState, approved: bool = True) -> None:
    operation = operations.next_operation(state)
    assert operation is not None
    result = GatewayResult(
        operation_id=operation.operation_id, kind=operation.kind, approved=approved,
        reference=f"ref-{operation.payment_id}" if approved else "", detail="" if approved else "declined",
        amount=operation.amount, at=T0,
    )
    settlement.apply_result(state, operation, result, T0)


def _ops(state: OrderState) -> list[tuple[str, str, int]]:
    return [(op.payment_id, op.kind, op.amount.amount) for op in state.operations]


def _gift_and_card() -> list[PaymentRecord]:
    return [card("pending", 2000, "P1", mode="auth_capture", method="gift_card"), card("pending", 5500, "P2")]


# ---- clear_for_store ---------------------------------------------------------------------------------------------


def test_clear_for_store_waits_for_approval_before_taking_any_payment() -> None:
    state = make_state(approval_reason="phone order", payments=[card("pending")])
    assert clearance.clear_for_store(state, T0) is None
    assert state.status is S.awaiting_approval and state.operations == []


def test_clear_for_store_takes_stored_value_first_and_one_payment_at_a_time() -> None:
    state = make_state(payments=_gift_and_card())
    clearance.clear_for_store(state, T0)
    assert _ops(state) == [("P1", Kind.sale, 2000)]
    clearance.clear_for_store(state, T0)
    assert len(state.operations) == 1  # the gift card is on its way: nothing else starts
    _answer(state)
    clearance.clear_for_store(state, T0)
    assert _ops(state) == [("P2", Kind.authorise, 5500)]


def test_clear_for_store_does_not_try_the_card_once_the_gift_card_is_declined() -> None:
    state = make_state(payments=_gift_and_card())
    clearance.clear_for_store(state, T0)
    _answer(state, approved=False)
    assert clearance.clear_for_store(state, T0) is None
    assert (state.status, state.hold_reason, state.operations) == (S.on_hold, HoldReason.payment_declined, [])
    assert state.payments[1].status == "pending"


def test_clear_for_store_cancels_a_declined_order_when_the_policy_says_so() -> None:
    policy = PaymentPolicy(on_decline="cancel")
    state = make_state(payments=_gift_and_card(), payment_policy=policy)
    clearance.clear_for_store(state, T0)
    _answer(state)  # the gift card is taken ...
    clearance.clear_for_store(state, T0)
    _answer(state, approved=False)  # ... the card is declined
    effects = clearance.clear_for_store(state, T0)
    assert state.status is S.cancelled and effects is not None
    assert [r.targets for r in effects.releases] == [{"L1": 0, "L2": 0}]
    assert _ops(state) == [("P1", Kind.refund, 2000)]  # the gift card's money goes back


def test_clear_for_store_waits_for_an_offline_payment() -> None:
    awaiting = PaymentRecord(payment_id="P1", mode="offline", method="bank", amount=gbp(7500), status="awaiting")
    state = make_state(payments=[awaiting])
    assert clearance.clear_for_store(state, T0) is None
    assert state.status is S.awaiting_payment


def test_clear_for_store_holds_an_order_whose_payment_outcome_is_unknown() -> None:
    state = make_state(payments=[card("pending")])
    clearance.clear_for_store(state, T0)
    operation = operations.next_operation(state)
    assert operation is not None
    operations.mark_unknown(state, operation, "timed out", T0)
    assert clearance.clear_for_store(state, at(1)) is None
    assert (state.status, state.hold_reason) == (S.on_hold, HoldReason.payment_unknown)
    assert [a.type for a in state.alerts] == [AlertType.payment_unknown]


def test_clear_for_store_goes_ahead_once_an_unknown_outcome_is_approved() -> None:
    state = make_state(payments=[card("pending")])
    clearance.clear_for_store(state, T0)
    operations.mark_unknown(state, state.operations[0], "timed out", T0)
    clearance.clear_for_store(state, at(1))
    operations.recheck_due(state, at(5))
    _answer(state)
    assert clearance.clear_for_store(state, at(6)) == Effects(send_to_store=True)
    assert not state.has_open_alert


def test_clear_for_store_holds_for_the_decline_once_an_unknown_outcome_is_declined() -> None:
    state = make_state(payments=[card("pending")])
    clearance.clear_for_store(state, T0)
    operations.mark_unknown(state, state.operations[0], "timed out", T0)
    clearance.clear_for_store(state, at(1))
    operations.recheck_due(state, at(5))
    _answer(state, approved=False)
    clearance.clear_for_store(state, at(6))
    assert (state.status, state.hold_reason) == (S.on_hold, HoldReason.payment_declined)
    assert [a.type for a in state.alerts if a.is_open] == [AlertType.payment_declined]
    assert refused_by("retry_payment", state) is None


def test_clear_for_store_sends_a_paid_order_once() -> None:
    state = make_state(payments=[prepaid()])
    assert clearance.clear_for_store(state, at(1)) == Effects(send_to_store=True)
    assert state.cleared_at == at(1) and state.history[-1].action == "payment_confirmed"
    assert clearance.clear_for_store(state, at(2)) is None


def test_clear_for_store_does_nothing_for_a_final_order() -> None:
    state = make_state(S.cancelled, payments=[card("pending")])
    assert clearance.clear_for_store(state, T0) is None and state.operations == []


# ---- after_reservation -------------------------------------------------------------------------------------------


def test_after_reservation_sends_the_order_to_its_store() -> None:
    state = make_state(payments=[prepaid()], cleared_at=T0)
    effects = clearance.after_reservation(state, ReservationOutcome(reserved=True), at(1))
    assert state.status is S.awaiting_acknowledgement
    assert [(m.type, m.store_id) for m in effects.store_messages] == [("order_created", None)]


def test_after_reservation_sends_a_home_delivery_to_its_location_to_dispatch() -> None:
    home = {"fulfilment_method": "home_delivery", "store_id": "W001", "dispatch_location": "W001"}
    state = make_state(payments=[prepaid()], cleared_at=T0, **home)
    effects = clearance.after_reservation(state, ReservationOutcome(reserved=True), at(1))
    assert state.status is S.awaiting_dispatch
    assert [(m.type, m.store_id) for m in effects.store_messages] == [("delivery_created", None)]


def test_after_reservation_short_holds_the_order_once() -> None:
    state = make_state(payments=[prepaid()], cleared_at=T0)
    clearance.after_reservation(state, ReservationOutcome(reserved=False, detail="TEE short"), at(1))
    assert (state.status, state.hold_reason) == (S.on_hold, HoldReason.stock_shortage)
    clearance.after_reservation(state, ReservationOutcome(reserved=False, detail="TEE short"), at(2))
    assert state.history[-1].action == "still_short" and len(state.alerts) == 1


# ---- deadlines ---------------------------------------------------------------------------------------------------


def test_next_wakeup_is_the_soonest_of_sla_renewal_and_reconciliation() -> None:
    state = cleared_state(S.awaiting_acknowledgement, payments=[card("authorised")])
    assert deadlines.next_wakeup(state, SLA) == at(30)  # not acknowledged within 30 minutes
    operation = operations.queue(state, state.payments[0], Kind.capture, 7500, T0)
    operations.mark_unknown(state, operation, "timed out", T0)
    assert deadlines.next_wakeup(state, SLA) == at(5)


def test_next_wakeup_includes_the_renewal_of_an_authorisation() -> None:
    state = cleared_state(S.ready_for_collection, payments=[card("authorised")])
    assert deadlines.next_wakeup(state, SLA) == at(0, days=3)  # not collected before the renewal at day 6
    state.payments[0].authorised_until = at(0, days=2)
    assert deadlines.next_wakeup(state, SLA) == at(0, days=1)


def test_on_deadline_raises_breached_sla_alerts() -> None:
    state = cleared_state(S.awaiting_acknowledgement)
    effects = deadlines.on_deadline(state, SLA, at(30))
    assert [a.type for a in state.alerts] == [AlertType.not_acknowledged]
    assert effects.store_messages == []


def test_on_deadline_cancels_an_order_not_collected_in_time_and_tells_the_store() -> None:
    state = cleared_state(S.ready_for_collection, payments=[captured()],
                          payment_policy=PaymentPolicy(uncollected_fee={"GBP": 250}))
    effects = deadlines.on_deadline(state, SLA, at(0, days=7))
    assert state.status is S.cancelled
    assert [e.action for e in state.history if e.to_status] == ["collection_expired"]
    assert [m.type for m in effects.store_messages] == ["order_cancelled"]
    assert [r.targets for r in effects.releases] == [{"L1": 0, "L2": 0}]
    assert _ops(state) == [("P1", Kind.refund, 7250)]


def test_on_deadline_renews_an_authorisation_about_to_lapse() -> None:
    state = cleared_state(S.acknowledged, payments=[card("authorised")])
    deadlines.on_deadline(state, SLA, at(0, days=6))
    assert _ops(state) == [("P1", Kind.authorise, 7500)] and state.operations[0].replaces == "auth-P1"


def test_on_deadline_asks_again_about_an_unknown_outcome() -> None:
    state = cleared_state(S.completed, payments=[card("authorised")])
    operation = operations.queue(state, state.payments[0], Kind.capture, 7500, T0)
    operations.mark_unknown(state, operation, "timed out", T0)
    deadlines.on_deadline(state, SLA, at(0) + timedelta(minutes=5))
    assert operation.status == "queued"
