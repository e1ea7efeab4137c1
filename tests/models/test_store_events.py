"""What a store event does to an order (models/store_events.py `apply`): statuses, stock, money, alerts; and the
outbox telling the order a store could not be reached (`message_failed`)."""

from __future__ import annotations

from typing import Any

from models import store_events
from models.effects import Effects
from models.order import (
    AlertType,
    HoldReason,
    LineFulfilment,
    OrderState,
    OrderStatus,
    StoreEventType,
    StoreMessageFailed,
    Transfer,
)
from models.payment_policy import PaymentPolicy
from models.payments import Charge, GatewayOperationKind
from tests.models.factories import (
    OTHER_STORE,
    STORE,
    T0,
    at,
    captured,
    card,
    cleared_state,
    due,
    gbp,
    make_state,
    prepaid,
    store_event,
)

S = OrderStatus
Kind = GatewayOperationKind
WAREHOUSE = "W001"


def _ops(state: OrderState) -> list[tuple[str, str, int]]:
    return [(op.payment_id, op.kind, op.amount.amount) for op in state.operations]


def _ready(**updates: Any) -> OrderState:
    state = cleared_state(S.ready_for_collection, **updates)
    for line in state.lines:
        line.picked_quantity = line.quantity
    return state


# ---- acknowledged, picked ----------------------------------------------------------------------------------------


def test_acknowledged_moves_the_order_on() -> None:
    state = cleared_state(S.awaiting_acknowledgement)
    effects = store_events.apply(state, store_event(StoreEventType.acknowledged), at(5))
    assert state.status is S.acknowledged
    assert (state.history[-1].actor, state.history[-1].action) == ("store:S001", "acknowledged")
    assert not effects.touches_stock and effects.store_messages == []


def test_picked_in_full_is_ready_for_collection() -> None:
    state = cleared_state(S.acknowledged)
    store_events.apply(state, store_event(StoreEventType.picked, picked={"L1": 2, "L2": 1}), at(5))
    assert state.status is S.ready_for_collection
    assert [line.picked_quantity for line in state.lines] == [2, 1]


def test_picked_before_acknowledgement_implies_it() -> None:
    state = cleared_state(S.awaiting_acknowledgement)
    store_events.apply(state, store_event(StoreEventType.picked, picked={"L1": 2, "L2": 1}), at(5))
    assert [(e.from_status, e.to_status) for e in state.history if e.to_status] == [
        (S.awaiting_acknowledgement, S.acknowledged),
        (S.acknowledged, S.ready_for_collection),
    ]


def test_picked_short_holds_the_order_and_a_missing_line_counts_as_not_picked() -> None:
    state = cleared_state(S.acknowledged)
    store_events.apply(state, store_event(StoreEventType.picked, picked={"L1": 2}), at(5))
    assert (state.status, state.hold_reason) == (S.on_hold, HoldReason.short_pick)
    assert state.line("L2").picked_quantity == 0 and state.line("L2").quantity == 1  # the order itself is unchanged
    assert [(a.type, a.detail) for a in state.alerts] == [(AlertType.short_pick, "picked short: L2")]


def test_picked_ignores_lines_held_to_buy_in_store() -> None:
    state = cleared_state(S.acknowledged)
    state.line("L2").fulfilment = LineFulfilment.buy_in_store
    store_events.apply(state, store_event(StoreEventType.picked, picked={"L1": 2}), at(5))
    assert state.status is S.ready_for_collection


# ---- collected, dispatched ---------------------------------------------------------------------------------------


def test_collected_completes_the_order_and_consumes_the_stock() -> None:
    state = _ready()
    effects = store_events.apply(state, store_event(StoreEventType.collected), at(60))
    assert effects.commit_at == STORE
    assert [e.action for e in state.history if e.to_status] == ["collected", "completed"]
    assert (state.status, state.handed_over_at) == (S.completed, at(60))


def test_collected_captures_the_authorisation_up_to_the_total() -> None:
    state = _ready(payments=[card("authorised", 7500)])
    state.line("L1").quantity = 1  # a tee cancelled since: 60.00 owed
    store_events.apply(state, store_event(StoreEventType.collected), at(60))
    assert _ops(state) == [("P1", Kind.capture, 6000)]
    assert state.operations[0].reference == "auth-P1"


def test_collected_takes_what_is_due_at_the_till() -> None:
    state = _ready(payments=[due(7500)])
    store_events.apply(state, store_event(StoreEventType.collected, event_id="E-9"), at(60))
    assert (state.payments[0].status, state.payments[0].reference) == ("taken", "E-9")
    assert state.paid() == gbp(7500) and state.outstanding() == gbp(0)
    assert any(e.action == "payment_confirmed" and e.detail == "taken at handover" for e in state.history)


def test_dispatched_completes_a_delivered_order() -> None:
    state = cleared_state(S.awaiting_dispatch, dispatch_location=WAREHOUSE, payments=[card("authorised")])
    effects = store_events.apply(state, store_event(StoreEventType.dispatched, WAREHOUSE), at(90))
    assert effects.commit_at == WAREHOUSE
    assert (state.status, state.dispatched_at, state.history[-1].action) == (S.completed, at(90), "dispatched")
    assert _ops(state) == [("P1", Kind.capture, 7500)]


# ---- not collected -----------------------------------------------------------------------------------------------


def test_not_collected_cancels_releases_stock_and_instructs_a_refund_of_prepaid_money() -> None:
    state = _ready(payments=[prepaid(7500)])
    effects = store_events.apply(state, store_event(StoreEventType.not_collected), at(60))
    assert state.status is S.cancelled and state.history[-1].action != "order_cancelled"
    assert [(r.targets, r.location_id) for r in effects.releases] == [({"L1": 0, "L2": 0}, None)]
    assert [line.cancelled_quantity for line in state.lines] == [2, 1]
    assert [(r.amount, r.status) for r in state.refunds] == [(gbp(7500), "instructed")]
    assert effects.store_messages == []  # the store itself said so


def test_not_collected_keeps_the_policys_uncollected_fee() -> None:
    state = _ready(payments=[captured(7500)], payment_policy=PaymentPolicy(uncollected_fee={"GBP": 500}))
    store_events.apply(state, store_event(StoreEventType.not_collected), at(60))
    assert [(c.amount, c.cancelled) for c in state.charges] == [(gbp(500), False)]
    assert _ops(state) == [("P1", Kind.refund, 7000)]
    assert state.total() == gbp(500) and state.kept() == gbp(500)


def test_not_collected_captures_the_fee_from_an_authorisation() -> None:
    state = _ready(payments=[card("authorised")], payment_policy=PaymentPolicy(uncollected_fee={"GBP": 500}))
    store_events.apply(state, store_event(StoreEventType.not_collected), at(60))
    assert _ops(state) == [("P1", Kind.capture, 500)]


def test_not_collected_fee_is_never_more_than_was_paid() -> None:
    state = _ready(payments=[due(7500)], payment_policy=PaymentPolicy(uncollected_fee={"GBP": 500}))
    store_events.apply(state, store_event(StoreEventType.not_collected), at(60))
    assert state.charges == [] and state.payments[0].status == "voided"


# ---- update acknowledged, transfer received ----------------------------------------------------------------------


def test_update_acknowledged_clears_the_pending_update() -> None:
    state = cleared_state(S.acknowledged, store_update_pending_since=at(1))
    store_events.apply(state, store_event(StoreEventType.update_acknowledged), at(5))
    assert state.store_update_pending_since is None


def _transfer() -> Transfer:
    return Transfer(
        transfer_id="T1", sku="TEE-WHI-M", quantity=1, from_location=WAREHOUSE, to_location=STORE,
        requested_at=T0, requested_by="ho:alice",
    )


def test_transfer_received_while_awaiting_it_sends_the_order_to_the_store() -> None:
    state = cleared_state(S.awaiting_transfer, transfers=[_transfer()])
    event = store_event(StoreEventType.transfer_received, transfer_id="T1")
    assert store_events.needs(state, event).receive_transfer == "T1"  # booked into the store's stock first
    effects = store_events.apply(state, event, at(5))
    assert effects.send_to_store
    assert state.transfers[0].received_at == at(5)


def test_transfer_received_for_an_order_already_at_the_store_only_books_the_stock() -> None:
    state = cleared_state(S.acknowledged, transfers=[_transfer()])
    event = store_event(StoreEventType.transfer_received, transfer_id="T1")
    assert store_events.needs(state, event).receive_transfer == "T1"
    assert not store_events.apply(state, event, at(5)).send_to_store


# ---- the store unreachable ---------------------------------------------------------------------------------------


def _failed(store_id: str = STORE) -> StoreMessageFailed:
    return StoreMessageFailed(message_id="order-100001:push:1", store_id=store_id, detail="HTTP 503")


def test_message_failed_alerts_once_per_store() -> None:
    state = cleared_state(S.awaiting_acknowledgement)
    store_events.message_failed(state, _failed(), at(1))
    store_events.message_failed(state, _failed(), at(2))
    store_events.message_failed(state, _failed(OTHER_STORE), at(3))
    assert [a.detail for a in state.alerts] == [
        "store S001 unreachable: HTTP 503",
        "store S002 unreachable: HTTP 503",
    ]
    assert [e.action for e in state.history].count("store_message_failed") == 3


def test_message_failed_alert_clears_when_the_store_is_heard_from() -> None:
    state = cleared_state(S.awaiting_acknowledgement)
    store_events.message_failed(state, _failed(), at(1))
    store_events.apply(state, store_event(StoreEventType.acknowledged), at(5))
    assert not state.has_open_alert and state.alerts[0].cleared_at == at(5)


# ---- cancelling everything ---------------------------------------------------------------------------------------


def test_cancel_everything_cancels_lines_and_charges_and_releases_the_stock() -> None:
    fee = Charge(charge_id="C1", amount=gbp(500), reason="phone fee", actor="ho:alice", at=T0)
    state = make_state(S.acknowledged, store_update_pending_since=at(1), charges=[fee])
    effects = Effects()
    store_events.cancel_everything(state, at(5), "ho:alice", "order_cancelled", "asked", effects)
    assert state.status is S.cancelled and state.store_update_pending_since is None
    assert fee.cancelled and state.total() == gbp(0)
    assert [r.targets for r in effects.releases] == [{"L1": 0, "L2": 0}]
