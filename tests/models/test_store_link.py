"""Store link rules (models/store_link.py): heartbeats, going offline, what changes record, what orders do."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from models import journey
from models.order import AlertType, OrderStatus
from models.placement import FieldProblem, placement_problems
from models.store_link import (
    Heartbeat,
    LinkChange,
    LinkState,
    StoreLink,
    apply_to_order,
    click_and_collect_refusal,
    go_offline_if_silent,
    offline_deadline,
    record_heartbeat,
)
from tests.models.factories import OPEN_STORE, OTHER_STORE, PRODUCTS, STORE, T0, at, make_state
from tests.models.test_placement import place

TIMEOUT = timedelta(minutes=10)


def heartbeat(timeout: timedelta = TIMEOUT) -> Heartbeat:
    return Heartbeat(event_id="hb", store_id=STORE, occurred_at=T0, timeout=timeout)


def online_link(last_heartbeat_minutes: float = 0) -> StoreLink:
    link = StoreLink(store_id=STORE)
    record_heartbeat(link, heartbeat(), at(last_heartbeat_minutes))
    return link


def change(state: LinkState, previous: LinkState, n: int = 1, store_id: str = STORE) -> LinkChange:
    return LinkChange(
        change_id=f"store-link-{store_id}:change:{n}", store_id=store_id, state=state, previous=previous, at=at(20)
    )


# ---- the link ------------------------------------------------------------------------------------


def test_first_heartbeat_brings_an_unmonitored_store_online() -> None:
    link = StoreLink(store_id=STORE)
    first = record_heartbeat(link, heartbeat(), at(0))
    assert first is not None
    assert (first.state, first.previous, first.change_id) == (
        LinkState.online,
        LinkState.unmonitored,
        "store-link-S001:change:1",
    )
    assert (link.state, link.since, link.last_heartbeat_at) == (LinkState.online, at(0), at(0))
    assert not first.concerns_orders  # nobody had an alert to clear


def test_heartbeat_while_online_moves_the_deadline_and_records_no_change() -> None:
    link = online_link(0)
    assert record_heartbeat(link, heartbeat(), at(7)) is None
    assert offline_deadline(link) == at(17)
    assert link.since == at(0) and link.changes == 1


def test_heartbeat_carries_the_timeout_so_a_new_setting_applies_from_the_next_one() -> None:
    link = online_link(0)
    record_heartbeat(link, heartbeat(timedelta(minutes=2)), at(1))
    assert offline_deadline(link) == at(3)


def test_store_goes_offline_only_once_its_deadline_has_passed() -> None:
    link = online_link(0)
    assert go_offline_if_silent(link, at(9, seconds=59)) is None
    offline = go_offline_if_silent(link, at(10))
    assert offline is not None
    assert (offline.state, offline.previous, offline.change_id) == (
        LinkState.offline,
        LinkState.online,
        "store-link-S001:change:2",
    )
    assert "2025-03-03 09:00:00 UTC" in offline.detail and "10m" in offline.detail
    assert (link.state, link.since) == (LinkState.offline, at(10))
    assert offline_deadline(link) is None  # offline: nothing to time until it is heard from
    assert go_offline_if_silent(link, at(30)) is None  # and it goes offline once
    assert offline.concerns_orders


def test_heartbeat_brings_an_offline_store_back_online_saying_for_how_long() -> None:
    link = online_link(0)
    go_offline_if_silent(link, at(10))
    back = record_heartbeat(link, heartbeat(), at(75))
    assert back is not None
    assert (back.state, back.previous, back.change_id) == (
        LinkState.online,
        LinkState.offline,
        "store-link-S001:change:3",
    )
    assert "1h5m" in back.detail
    assert back.concerns_orders
    assert offline_deadline(link) == at(85)


def test_unmonitored_store_never_goes_offline() -> None:
    link = StoreLink(store_id=STORE)
    assert offline_deadline(link) is None
    assert go_offline_if_silent(link, at(10_000)) is None


@settings(deadline=None, max_examples=200)
@given(gaps=st.lists(st.integers(min_value=0, max_value=30), min_size=1, max_size=30))
def test_link_is_offline_exactly_when_a_gap_reached_the_timeout(gaps: list[int]) -> None:
    """Heartbeats `gaps` minutes apart, the workflow checking at each deadline: changes alternate and count up."""
    link, now, changes = StoreLink(store_id=STORE), T0, []
    for gap in gaps:
        deadline = offline_deadline(link)
        if deadline is not None and deadline <= now + timedelta(minutes=gap):
            changes.append(go_offline_if_silent(link, deadline))
        now += timedelta(minutes=gap)
        changes.append(record_heartbeat(link, heartbeat(), now))
    recorded = [c for c in changes if c is not None]
    assert [c.change_id for c in recorded] == [f"store-link-S001:change:{n}" for n in range(1, len(recorded) + 1)]
    assert all(a.state is b.previous and a.state is not b.state for a, b in zip(recorded, recorded[1:], strict=False))
    assert sum(c.state is LinkState.offline for c in recorded) == sum(g >= 10 for g in gaps[1:])
    assert link.state is LinkState.online and link.last_heartbeat_at == now


# ---- click & collect -----------------------------------------------------------------------------


def test_offline_store_refuses_click_and_collect_saying_since_when() -> None:
    refusal = click_and_collect_refusal(STORE, LinkState.offline, at(10))
    assert refusal is not None and "S001 is offline since 2025-03-03 09:10:00 UTC" in refusal
    assert click_and_collect_refusal(STORE, LinkState.online, at(10)) is None
    assert click_and_collect_refusal(STORE, LinkState.unmonitored, None) is None


def test_placement_refuses_an_offline_store_on_the_store_field() -> None:
    problems = placement_problems(place(), PRODUCTS, OPEN_STORE, link=(LinkState.offline, at(10)))
    assert [p.field for p in problems] == ["fulfilment.store_id"]
    assert "offline since" in problems[0].message
    assert placement_problems(place(), PRODUCTS, OPEN_STORE, link=(LinkState.online, at(10))) == []
    assert placement_problems(place(), PRODUCTS, OPEN_STORE) == []  # never heard from: unmonitored
    assert placement_problems(place(store_id="S999"), PRODUCTS, None, link=(LinkState.offline, at(1))) == [
        FieldProblem("fulfilment.store_id", "unknown store 'S999'")
    ]


# ---- the store's open orders ---------------------------------------------------------------------


def test_offline_store_raises_store_offline_on_its_open_order_and_online_clears_it() -> None:
    state = make_state(OrderStatus.acknowledged)
    assert apply_to_order(state, change(LinkState.offline, LinkState.online, 2), at(20))
    open_alerts = [a for a in state.alerts if a.is_open]
    assert [a.type for a in open_alerts] == [AlertType.store_offline]
    assert state.has_open_alert and state.status is OrderStatus.acknowledged  # an alert never stops the order
    assert apply_to_order(state, change(LinkState.online, LinkState.offline, 3), at(30))
    assert not state.has_open_alert and state.alerts[0].cleared_at == at(30)
    assert state.offline_store_id is None
    assert state.history[-2].action == "store_back_online"


def test_link_change_is_applied_once_per_change_id() -> None:
    state = make_state(OrderStatus.acknowledged)
    offline = change(LinkState.offline, LinkState.online, 2)
    assert apply_to_order(state, offline, at(20))
    version = state.version
    assert not apply_to_order(state, offline, at(21))
    assert state.version == version and len(state.alerts) == 1


def test_link_change_of_another_store_or_a_closed_order_changes_nothing() -> None:
    elsewhere = make_state(OrderStatus.acknowledged)
    assert not apply_to_order(elsewhere, change(LinkState.offline, LinkState.online, store_id=OTHER_STORE), at(20))
    closed = make_state(OrderStatus.completed)
    assert not apply_to_order(closed, change(LinkState.offline, LinkState.online), at(20))
    shipping = make_state(OrderStatus.awaiting_dispatch)
    assert not apply_to_order(shipping, change(LinkState.offline, LinkState.online), at(20))
    for state in (elsewhere, closed, shipping):
        assert state.alerts == [] and state.offline_store_id is None


def test_store_offline_alert_clears_when_the_order_moves_to_another_store_or_closes() -> None:
    moved = make_state(OrderStatus.awaiting_acknowledgement)
    apply_to_order(moved, change(LinkState.offline, LinkState.online), at(20))
    moved.store_id = OTHER_STORE
    journey.settle_alerts(moved, at(25))
    assert not moved.has_open_alert
    # The old store coming back later is still recognised and leaves the order alone.
    assert apply_to_order(moved, change(LinkState.online, LinkState.offline, 2), at(40))
    assert moved.offline_store_id is None and len(moved.alerts) == 1

    cancelled = make_state(OrderStatus.acknowledged)
    apply_to_order(cancelled, change(LinkState.offline, LinkState.online), at(20))
    journey.transition(cancelled, OrderStatus.cancelled, at(22), journey.SYSTEM, "cancelled")
    assert not cancelled.has_open_alert
