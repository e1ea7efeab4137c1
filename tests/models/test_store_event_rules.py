"""Which store events fit an order (models/store_events.py `refusal`): every reason an event is refused (and
recorded as a store exception instead), and the same event applying when the reason is gone."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models import journey, store_events
from models.order import OrderStatus, StoreEvent, StoreEventType, Transfer
from tests.models.factories import OTHER_STORE, STORE, T0, at, make_state, store_event

S = OrderStatus
FINAL = {S.completed, S.cancelled}
WAREHOUSE = "W001"


VALID_PICK = {"L1": 2, "L2": 1}
APPLIES_IN = {
    StoreEventType.acknowledged: {S.awaiting_acknowledgement},
    StoreEventType.picked: {S.awaiting_acknowledgement, S.acknowledged},
    StoreEventType.collected: {S.ready_for_collection},
    StoreEventType.not_collected: {S.ready_for_collection},
}
STATUS_EVENTS = [(event, status) for event in APPLIES_IN for status in OrderStatus]


@pytest.mark.parametrize("event_type, status", STATUS_EVENTS, ids=[f"{e}@{s}" for e, s in STATUS_EVENTS])
def test_refusal_for_store_event_by_status(event_type: StoreEventType, status: OrderStatus) -> None:
    state = make_state(status)
    refusal = store_events.refusal(state, store_event(event_type, picked=VALID_PICK))

    if status in FINAL:
        assert refusal == f"the order is already {status}"
    elif status in APPLIES_IN[event_type]:
        assert refusal is None
    else:
        assert refusal == f"{event_type} does not apply to an order {status}"


@pytest.mark.parametrize("status", list(OrderStatus))
def test_refusal_for_store_event_update_acknowledged_needs_pending_update(status: OrderStatus) -> None:
    waiting = make_state(status, store_update_pending_since=at(0))
    idle = make_state(status)
    event = store_event(StoreEventType.update_acknowledged)

    if status in FINAL:
        assert store_events.refusal(waiting, event) == f"the order is already {status}"
        assert store_events.refusal(idle, event) == f"the order is already {status}"
    else:
        assert store_events.refusal(waiting, event) is None
        assert store_events.refusal(idle, event) == "no order update is waiting for acknowledgement"


@pytest.mark.parametrize("event_type", list(StoreEventType))
@pytest.mark.parametrize("status", list(OrderStatus))
def test_refusal_for_store_event_wrong_store(event_type: StoreEventType, status: OrderStatus) -> None:
    state = make_state(status, store_update_pending_since=at(0))
    refusal = store_events.refusal(state, store_event(event_type, OTHER_STORE, picked=VALID_PICK))
    role = "dispatch location" if event_type in store_events.FROM_DISPATCH else "store"
    assert refusal == f"store {OTHER_STORE} is not the order's {role}"


@pytest.mark.parametrize(
    "picked, reason",
    [
        ({}, "a picked event needs the picked quantity of each line"),
        ({"L9": 1}, "line L9 is not on the order"),
        ({"L1": 2, "L9": 1}, "line L9 is not on the order"),
        ({"L1": 3}, "line L1: picked 3 of 2"),
        ({"L1": 2, "L2": 2}, "line L2: picked 2 of 1"),
        ({"L1": -1}, "line L1: picked -1 of 2"),
    ],
    ids=["empty", "unknown_line", "unknown_among_known", "over_ordered", "over_ordered_second", "negative"],
)
@pytest.mark.parametrize("status", [S.awaiting_acknowledgement, S.acknowledged])
def test_refusal_for_store_event_invalid_pick(status: OrderStatus, picked: dict[str, int], reason: str) -> None:
    refusal = store_events.refusal(make_state(status), store_event(StoreEventType.picked, picked=picked))
    assert refusal == reason


@pytest.mark.parametrize(
    "picked",
    [{"L1": 2, "L2": 1}, {"L1": 0, "L2": 0}, {"L1": 1}, {"L2": 1}],
    ids=["full", "nothing", "partial_line", "one_line_only"],
)
def test_refusal_for_store_event_accepts_pick_within_ordered(picked: dict[str, int]) -> None:
    state = make_state(S.acknowledged)
    assert store_events.refusal(state, store_event(StoreEventType.picked, picked=picked)) is None


# ---- dispatched: only from the dispatch location -----------------------------------------------------------------


def test_dispatched_refused_from_the_collection_store_of_a_delivered_order() -> None:
    state = make_state(S.awaiting_dispatch, dispatch_location=WAREHOUSE)
    refusal = store_events.refusal(state, store_event(StoreEventType.dispatched, STORE))
    assert refusal == f"store {STORE} is not the order's dispatch location"


def test_dispatched_applies_from_the_dispatch_location() -> None:
    state = make_state(S.awaiting_dispatch, dispatch_location=WAREHOUSE)
    assert store_events.refusal(state, store_event(StoreEventType.dispatched, WAREHOUSE)) is None


def test_dispatched_refused_before_the_order_awaits_dispatch() -> None:
    state = make_state(S.acknowledged, dispatch_location=WAREHOUSE)
    refusal = store_events.refusal(state, store_event(StoreEventType.dispatched, WAREHOUSE))
    assert refusal == "dispatched does not apply to an order acknowledged"


# ---- transfer_received -------------------------------------------------------------------------------------------


def _transfer(to: str = STORE, received: bool = False) -> Transfer:
    return Transfer(
        transfer_id="T1",
        sku="TEE-WHI-M",
        quantity=1,
        from_location=WAREHOUSE,
        to_location=to,
        requested_at=T0,
        requested_by="ho:alice",
        received_at=at(5) if received else None,
    )


def _received(transfer_id: str | None = "T1", store_id: str = STORE) -> StoreEvent:
    return store_event(StoreEventType.transfer_received, store_id, transfer_id=transfer_id)


@pytest.mark.parametrize(
    ("transfers", "event", "reason"),
    [
        ([_transfer()], _received(None), "a transfer_received event needs transfer_id"),
        ([_transfer()], _received("T9"), "transfer T9 is not on the order"),
        ([_transfer(to=OTHER_STORE)], _received("T1"), f"transfer T1 goes to {OTHER_STORE}"),
        ([_transfer(received=True)], _received("T1"), "transfer T1 was already received"),
    ],
    ids=["no_transfer_id", "unknown_transfer", "goes_elsewhere", "already_received"],
)
def test_transfer_received_refused(transfers: list[Transfer], event: StoreEvent, reason: str) -> None:
    state = make_state(S.awaiting_transfer, transfers=transfers)
    assert store_events.refusal(state, event) == reason


@pytest.mark.parametrize("status", [S.awaiting_transfer, S.awaiting_acknowledgement, S.acknowledged])
def test_transfer_received_applies_to_a_pending_transfer_to_the_store(status: OrderStatus) -> None:
    state = make_state(status, transfers=[_transfer()])
    assert store_events.refusal(state, _received("T1")) is None


def test_transfer_received_refused_on_a_final_order() -> None:
    state = make_state(S.cancelled, transfers=[_transfer()])
    assert store_events.refusal(state, _received("T1")) == "the order is already cancelled"


# ---- store exceptions --------------------------------------------------------------------------------------------


def test_record_store_exception_keeps_event_and_reason() -> None:
    state = make_state(S.acknowledged)
    event = store_event(StoreEventType.collected, event_id="E-77")
    store_events.record_exception(state, event, "collected does not apply to an order acknowledged", at(5))

    [exception] = state.store_exceptions
    assert (exception.event_id, exception.type, exception.at) == ("E-77", StoreEventType.collected, at(5))
    assert exception.reason == "collected does not apply to an order acknowledged"
    entry = state.history[-1]
    assert (entry.actor, entry.action) == ("store:S001", "store_exception")
    assert entry.detail == "collected: collected does not apply to an order acknowledged"
    assert state.status is S.acknowledged and state.version == 1


# ---- properties --------------------------------------------------------------------------------------------------


@settings(deadline=None, max_examples=200)
@given(picked=st.dictionaries(st.sampled_from(["L1", "L2", "L3"]), st.integers(-3, 5), max_size=3))
def test_refusal_for_store_event_pick_accepts_exactly_valid_quantities(picked: dict[str, int]) -> None:
    state = make_state(S.acknowledged)
    ordered = {line.line_id: line.quantity for line in state.lines}
    valid = bool(picked) and all(k in ordered and 0 <= q <= ordered[k] for k, q in picked.items())
    refusal = store_events.refusal(state, store_event(StoreEventType.picked, picked=picked))
    assert (refusal is None) == valid
    if valid:
        short = [k for k in ordered if picked.get(k, 0) < ordered[k]]
        store_events.apply(state, store_event(StoreEventType.picked, picked=picked), at(5))
        assert [line.picked_quantity for line in state.lines] == [picked.get(k, 0) for k in ordered]
        assert state.status is (S.on_hold if short else S.ready_for_collection)


def test_a_repeated_store_exception_is_counted_not_kept_again() -> None:
    state = make_state(S.acknowledged)
    reason = "acknowledged does not apply to an order acknowledged"
    for i in range(5):
        store_events.record_exception(state, store_event(StoreEventType.acknowledged, event_id=f"E-{i}"), reason, at(i))
    [exception] = state.store_exceptions
    assert (exception.count, exception.at, exception.last_at, exception.event_id) == (5, at(0), at(4), "E-4")
    assert [entry.action for entry in state.history] == ["store_exception"]  # one history entry, one version
    assert state.version == 1


def test_store_exceptions_keep_the_latest_hundred() -> None:
    state = make_state(S.acknowledged)
    for i in range(store_events.STORE_EXCEPTIONS_KEPT + 20):
        store_events.record_exception(state, store_event(StoreEventType.collected, event_id=f"E-{i}"), f"r{i}", at(i))
    assert len(state.store_exceptions) == store_events.STORE_EXCEPTIONS_KEPT
    assert state.store_exceptions[0].reason == "r20" and state.store_exceptions[-1].reason == "r119"


def test_an_order_remembers_the_latest_thousand_store_event_ids() -> None:
    state = make_state(S.acknowledged)
    for i in range(journey.SEEN_EVENT_IDS_KEPT + 5):
        journey.remember_event(state, f"E-{i}")
    assert len(state.seen_event_ids) == journey.SEEN_EVENT_IDS_KEPT
    assert not journey.seen(state, "E-4") and journey.seen(state, "E-5") and journey.seen(state, "E-1004")
