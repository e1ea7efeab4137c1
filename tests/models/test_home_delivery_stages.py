"""A home delivery's stages (models/store_events.py): its dispatch location reports packed, shipped (carrier and
tracking number; the payment is captured, the stock leaves) and delivered (the order completes); dispatched still
does both at once. Each waiting stage runs an SLA clock (models/sla.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models import store_events
from models.deliveries import Delivery, DeliveryMethod, DeliveryStatus
from models.delivery_views import deliveries_of
from models.events import OrderEventType, pending_events
from models.exporting import DELIVERY, ExportProgress, reach_states
from models.order import AlertType, LineFulfilment, OrderState, OrderStatus, StoreEvent, StoreEventType
from models.payments import GatewayOperationKind
from models.sla import SlaPolicy, running_deadlines
from models.views import for_extract
from tests.models.factories import T0, at, card, cleared_state

W = "W001"
S = OrderStatus


def home(status: OrderStatus = S.awaiting_dispatch) -> OrderState:
    state = cleared_state(
        status,
        payments=[card()],
        store_id=W,
        dispatch_location=W,
        fulfilment_method="home_delivery",
        deliveries=[
            Delivery(delivery_id="D1", method=DeliveryMethod.home_delivery, location_id=W, line_ids=["L1", "L2"])
        ],
    )
    for line in state.lines:
        line.fulfilment = LineFulfilment.home_delivery
    return state


def event(kind: StoreEventType, event_id: str = "E1", **extra: str) -> StoreEvent:
    return StoreEvent(event_id=event_id, type=kind, store_id=W, occurred_at=T0, **extra)


def shipped() -> StoreEvent:
    return event(StoreEventType.shipped, "E2", carrier="DPD", tracking_number="15501234567890")


def test_packed_makes_the_delivery_ready_to_ship() -> None:
    state = home()
    assert store_events.refusal(state, event(StoreEventType.packed)) is None
    store_events.apply(state, event(StoreEventType.packed), at(1))
    assert state.status is S.ready_to_ship
    assert deliveries_of(state)[0].status is DeliveryStatus.ready_to_ship


@pytest.mark.parametrize("status", [S.awaiting_dispatch, S.ready_to_ship])
def test_shipped_captures_commits_the_stock_and_records_tracking(status: OrderStatus) -> None:
    state = home(status)
    assert store_events.refusal(state, shipped()) is None
    effects = store_events.apply(state, shipped(), at(2))
    assert state.status is S.shipped and not state.is_final
    assert effects.commit_at == W
    assert [(op.kind, op.amount.amount) for op in state.operations] == [(GatewayOperationKind.capture, 7500)]
    assert state.paid().amount == 0  # nothing moved until the gateway answers
    (delivery,) = deliveries_of(state)
    assert (delivery.status, delivery.carrier, delivery.tracking_number) == (
        DeliveryStatus.shipped,
        "DPD",
        "15501234567890",
    )
    assert for_extract(state).tracking_number == "15501234567890"
    assert {line.line_id: line.fulfilment for line in state.lines} == {
        "L1": LineFulfilment.home_delivery,
        "L2": LineFulfilment.home_delivery,
    }


def test_shipped_without_tracking_is_refused() -> None:
    assert store_events.refusal(home(), event(StoreEventType.shipped, carrier="DPD")) == (
        "a shipped event needs carrier and tracking_number"
    )


def test_delivered_completes_the_order_and_only_after_shipping() -> None:
    state = home()
    assert (
        store_events.refusal(state, event(StoreEventType.delivered))
        == "delivered does not apply to an order awaiting_dispatch"
    )
    store_events.apply(state, shipped(), at(2))
    store_events.apply(state, event(StoreEventType.delivered, "E3"), at(3))
    assert state.status is S.completed
    assert deliveries_of(state)[0].status is DeliveryStatus.delivered


def test_events_say_shipped_then_delivered_and_delivery_is_reached_once() -> None:
    state = home()
    state.published_history = len(state.history)
    store_events.apply(state, event(StoreEventType.packed), at(1))
    store_events.apply(state, shipped(), at(2))
    store_events.apply(state, event(StoreEventType.delivered, "E3"), at(3))
    events = pending_events(state)
    types = [e.type for e in events]
    assert types == [OrderEventType.packed, OrderEventType.shipped, OrderEventType.delivered, OrderEventType.completed]
    progress = ExportProgress()
    reached = [state for e in events for state in reach_states(progress, e)]
    assert reached == [DELIVERY]


def test_only_the_dispatch_location_reports_the_stages() -> None:
    other = StoreEvent(event_id="E9", type=StoreEventType.packed, store_id="S001", occurred_at=T0)
    assert store_events.refusal(home(), other) == "store S001 is not the order's dispatch location"


def test_each_waiting_stage_runs_its_clock() -> None:
    policy = SlaPolicy()
    state = home()
    assert running_deadlines(state, policy) == {AlertType.not_packed: state.status_since + timedelta(days=1)}
    store_events.apply(state, event(StoreEventType.packed), at(1))
    assert running_deadlines(state, policy) == {AlertType.not_shipped: at(1) + timedelta(hours=12)}
    store_events.apply(state, shipped(), at(2))
    assert running_deadlines(state, policy) == {AlertType.not_delivered: at(2) + timedelta(days=5)}
