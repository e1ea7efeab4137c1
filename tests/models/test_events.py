"""Order events derived from the history (models/events.py): which entries mean which events, numbering, and
publishing in any number of batches giving the same events."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from models import journey
from models.events import OrderEventType, mark_published, pending_events
from models.order import HoldReason, OrderState, OrderStatus
from models.payments import PaymentRecord
from tests.models.factories import T0, at, make_state, prepaid

E = OrderEventType
PREPAID = prepaid(7500)


def _placed(payments: list[PaymentRecord] | None = None) -> OrderState:
    """Placed as the workflow places it: a prepaid order's payment is confirmed at its first step."""
    state = make_state(payments=[PREPAID] if payments is None else payments)
    journey.record(state, T0, "web:C42", "order_placed", "2 line(s)")
    if state.payments:
        journey.record(state, T0, journey.SYSTEM, "payment_confirmed", "P1 card 75.00 GBP taken")
    return state


def _publish(state: OrderState) -> list:
    events = pending_events(state)
    mark_published(state, events)
    return events


# Each step moves the order on the way the workflow does; together they are a click & collect journey.
def _send(state: OrderState) -> None:
    journey.record(state, at(1), journey.SYSTEM, "stock_reserved", "at S001")
    journey.record(state, at(1), journey.SYSTEM, "store_notified", "order_created delivered")
    journey.transition(state, OrderStatus.awaiting_acknowledgement, at(1), journey.SYSTEM, "sent_to_store")


def _acknowledge(state: OrderState) -> None:
    journey.transition(state, OrderStatus.acknowledged, at(5), "store:S001", "acknowledged")


def _pick(state: OrderState) -> None:
    journey.transition(state, OrderStatus.ready_for_collection, at(9), "store:S001", "picked", "customer told")


def _collect(state: OrderState) -> None:
    journey.transition(state, OrderStatus.collected, at(60), "store:S001", "collected")
    journey.transition(state, OrderStatus.completed, at(60), journey.SYSTEM, "completed")


JOURNEY = [_send, _acknowledge, _pick, _collect]
JOURNEY_EVENTS = [
    E.placed,
    E.payment_confirmed,
    E.sent_to_store,
    E.acknowledged,
    E.ready_for_collection,
    E.collected,
    E.completed,
]


def test_prepaid_placement_is_placed_then_payment_confirmed():
    events = _publish(_placed())
    assert [e.type for e in events] == [E.placed, E.payment_confirmed]
    assert [(e.event_id, e.sequence) for e in events] == [("100001:1", 1), ("100001:2", 2)]
    assert events[0].occurred_at == T0 and events[0].actor == "web:C42" and events[1].actor == journey.SYSTEM
    assert events[0].order.total.amount == 7500 and events[0].order.status is OrderStatus.received


def test_placement_without_a_taken_prepaid_payment_confirms_nothing_until_payment_confirmed_is_recorded():
    state = _placed(payments=[])
    assert [e.type for e in _publish(state)] == [E.placed]
    journey.record(state, at(3), journey.SYSTEM, "payment_confirmed", "captured")
    assert [(e.type, e.sequence) for e in _publish(state)] == [(E.payment_confirmed, 2)]


def test_events_already_published_are_never_derived_again():
    state = _placed()
    _publish(state)
    assert pending_events(state) == []
    _send(state)
    assert [(e.type, e.event_id) for e in _publish(state)] == [(E.sent_to_store, "100001:3")]
    assert pending_events(state) == []


def test_a_later_change_of_payments_does_not_rewrite_the_published_events():
    state = _placed()
    first = _publish(state)
    state.payments.clear()  # whatever happens to payments later, placement was already published
    _send(state)
    assert [e.sequence for e in _publish(state)] == [len(first) + 1]


def test_click_and_collect_journey_events_in_order():
    state = _placed()
    for step in JOURNEY:
        step(state)
    events = _publish(state)
    assert [e.type for e in events] == JOURNEY_EVENTS
    assert [e.sequence for e in events] == list(range(1, len(JOURNEY_EVENTS) + 1))


@given(st.lists(st.booleans(), min_size=len(JOURNEY), max_size=len(JOURNEY)))
def test_publishing_in_any_batches_gives_the_same_events(publish_after_step):
    state = _placed()
    events = _publish(state)
    for step, publish in zip(JOURNEY, publish_after_step, strict=True):
        step(state)
        if publish:
            events += _publish(state)
    events += _publish(state)
    assert [(e.type, e.sequence, e.event_id) for e in events] == [
        (t, n, f"100001:{n}") for n, t in enumerate(JOURNEY_EVENTS, start=1)
    ]


def test_dispatch_is_dispatched_then_completed():
    state = _placed()
    _publish(state)
    journey.transition(state, OrderStatus.awaiting_dispatch, at(2), "ho:alice", "awaiting_dispatch")
    journey.transition(state, OrderStatus.completed, at(9), "store:W001", "dispatched", "on its way")
    assert [e.type for e in _publish(state)] == [E.dispatched, E.completed]


def test_hold_cancel_refund_and_head_office_changes():
    state = _placed()
    _publish(state)
    journey.hold(state, HoldReason.stock_shortage, at(1), journey.SYSTEM, "TEE short")
    journey.record(state, at(2), "ho:alice", "lines_cancelled", "L1 × 1")
    journey.transition(state, OrderStatus.cancelled, at(3), "ho:alice", "order_cancelled", "customer asked")
    journey.record(state, at(3), "ho:alice", "refunded", "£75.00 (order-100001:refund:1)")
    journey.record(state, at(3), "ho:alice", "note_added", "internal")  # internal: no event
    assert [e.type for e in _publish(state)] == [E.on_hold, E.alert_raised, E.updated, E.cancelled, E.refunded]


def test_an_instructed_refund_is_refund_instructed():
    state = _placed()
    _publish(state)
    journey.record(state, at(3), "ho:alice", "refund_instructed", "75.00 GBP to P1 card (PSP-1)")
    assert [e.type for e in _publish(state)] == [E.refund_instructed]


def test_each_event_carries_the_order_as_for_event_sees_it():
    state = _placed()
    [placed, confirmed] = _publish(state)
    assert placed.order == confirmed.order
    assert (placed.order.paid.amount, placed.order.refunded.amount, placed.order.line_count) == (7500, 0, 2)
