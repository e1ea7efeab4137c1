"""The click & collect journey rules (models/journey.py): transitions, holds, alerts, store events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models import journey, store_events
from models.journey import ALLOWED_TRANSITIONS, SYSTEM, TransitionRefused
from models.order import AlertType, HoldReason, OrderState, OrderStatus, StoreEventType
from tests.models.factories import STORE, T0, at, make_state, store_event

S = OrderStatus

# The journey as the design describes it, written out independently of models/journey.py.
EXPECTED_TRANSITIONS: dict[OrderStatus, set[OrderStatus]] = {
    S.received: {
        S.awaiting_release,
        S.backordered,
        S.awaiting_acknowledgement,
        S.on_hold,
        S.cancelled,
        S.awaiting_dispatch,
        S.awaiting_approval,
        S.awaiting_payment,
        S.completed,  # a direct sale, handed over at the till at once
    },
    # An order placed for home delivery goes to its dispatch location once approved and paid.
    S.awaiting_approval: {
        S.awaiting_release,
        S.backordered,
        S.awaiting_payment,
        S.awaiting_acknowledgement,
        S.awaiting_dispatch,
        S.completed,
        S.on_hold,
        S.cancelled,
    },
    S.awaiting_payment: {
        S.awaiting_release,
        S.backordered,
        S.awaiting_acknowledgement,
        S.awaiting_dispatch,
        S.completed,
        S.on_hold,
        S.cancelled,
    },
    # A preorder waits for its release date, a backorder for replenishment.
    S.awaiting_release: {S.awaiting_acknowledgement, S.awaiting_dispatch, S.backordered, S.on_hold, S.cancelled},
    S.backordered: {S.awaiting_acknowledgement, S.awaiting_dispatch, S.on_hold, S.cancelled},
    S.on_hold: {
        S.awaiting_release,
        S.backordered,
        S.awaiting_acknowledgement,
        S.ready_for_collection,
        S.awaiting_transfer,
        S.cancelled,
        S.awaiting_dispatch,
        S.completed,
    },
    S.awaiting_transfer: {S.awaiting_acknowledgement, S.on_hold, S.cancelled, S.awaiting_dispatch},
    # Home delivery: packed, shipped, delivered (completed); `dispatched` completes it in one step.
    S.awaiting_dispatch: {S.completed, S.cancelled, S.ready_to_ship, S.shipped, S.partially_shipped},
    S.ready_to_ship: {S.shipped, S.completed, S.partially_shipped, S.cancelled},
    S.shipped: {S.completed, S.partially_shipped},
    # The order's own journey is done while a further delivery is on its way.
    S.partially_collected: {S.completed},
    S.partially_shipped: {S.completed},
    S.awaiting_acknowledgement: {S.acknowledged, S.on_hold, S.cancelled, S.awaiting_dispatch},
    S.acknowledged: {S.ready_for_collection, S.on_hold, S.cancelled, S.awaiting_acknowledgement, S.awaiting_dispatch},
    S.ready_for_collection: {S.collected, S.cancelled, S.acknowledged, S.awaiting_dispatch},
    S.collected: {S.completed, S.partially_collected},
    S.completed: set(),
    S.cancelled: set(),
}
ALL_PAIRS = [(a, b) for a in OrderStatus for b in OrderStatus]
ALLOWED_PAIRS = [(a, b) for a, b in ALL_PAIRS if b in EXPECTED_TRANSITIONS[a]]
REFUSED_PAIRS = [(a, b) for a, b in ALL_PAIRS if b not in EXPECTED_TRANSITIONS[a]]
FINAL = {S.completed, S.cancelled}

# Which status causes which status-bound alert, and a status the order may move on to.
STATUS_ALERTS = [
    (AlertType.not_acknowledged, S.awaiting_acknowledgement, S.acknowledged),
    (AlertType.not_picked, S.acknowledged, S.ready_for_collection),
    (AlertType.on_hold, S.on_hold, S.awaiting_acknowledgement),
    (AlertType.not_collected, S.ready_for_collection, S.collected),
    (AlertType.stock_shortage, S.on_hold, S.awaiting_acknowledgement),
    (AlertType.short_pick, S.on_hold, S.ready_for_collection),
    (AlertType.payment_declined, S.on_hold, S.awaiting_acknowledgement),
    (AlertType.awaiting_approval, S.awaiting_approval, S.awaiting_payment),
    (AlertType.awaiting_payment, S.awaiting_payment, S.awaiting_acknowledgement),
    (AlertType.not_packed, S.awaiting_dispatch, S.ready_to_ship),
    (AlertType.not_shipped, S.ready_to_ship, S.shipped),
    (AlertType.not_delivered, S.shipped, S.completed),
    (AlertType.backorder_overdue, S.backordered, S.awaiting_acknowledgement),
]
CAUSE = {alert: status for alert, status, _next in STATUS_ALERTS}
# Raised and cleared by a customer request's workflow (models/requests.py), whatever the status.
REQUESTS = (AlertType.customer_request, AlertType.request_not_answered)


def _id(pair: tuple[OrderStatus, OrderStatus]) -> str:
    return f"{pair[0]}->{pair[1]}"


# ---- the transition table ------------------------------------------------------------------------


def test_allowed_transitions_match_the_designed_journey() -> None:
    assert {status: set(targets) for status, targets in ALLOWED_TRANSITIONS.items()} == EXPECTED_TRANSITIONS


@pytest.mark.parametrize("pair", ALLOWED_PAIRS, ids=_id)
def test_transition_moves_status_when_allowed(pair: tuple[OrderStatus, OrderStatus]) -> None:
    source, target = pair
    state = make_state(source, since=T0)
    journey.transition(state, target, at(10), "ho:alice", "some_action", "because")

    assert state.status is target
    assert state.status_since == at(10)
    assert state.version == 1
    entry = state.history[-1]
    assert (entry.from_status, entry.to_status) == (source, target)
    assert (entry.actor, entry.action, entry.detail, entry.at) == ("ho:alice", "some_action", "because", at(10))


@pytest.mark.parametrize("pair", REFUSED_PAIRS, ids=_id)
def test_transition_refused_when_not_allowed(pair: tuple[OrderStatus, OrderStatus]) -> None:
    source, target = pair
    state = make_state(source, since=T0)
    before = state.model_dump()

    with pytest.raises(TransitionRefused) as refused:
        journey.transition(state, target, at(10), "ho:alice", "some_action")

    assert refused.value.rule == "transition_not_allowed"
    assert source in str(refused.value) and target in str(refused.value)
    assert state.model_dump() == before  # a refusal leaves no trace


def test_transition_refused_is_a_value_error_naming_its_rule() -> None:
    error = TransitionRefused("some_rule", "message")
    assert isinstance(error, ValueError)
    assert (error.rule, str(error)) == ("some_rule", "message")


def test_transition_clears_hold_reason_when_leaving_on_hold() -> None:
    state = make_state(S.on_hold, hold_reason=HoldReason.stock_shortage)
    journey.transition(state, S.awaiting_acknowledgement, at(5), SYSTEM, "sent_to_store")
    assert state.hold_reason is None


def test_transition_history_accumulates_in_order() -> None:
    state = make_state(S.received)
    path = [S.awaiting_acknowledgement, S.acknowledged, S.ready_for_collection, S.collected, S.completed]
    for minute, target in enumerate(path, start=1):
        journey.transition(state, target, at(minute), f"actor{minute}", f"step{minute}")

    assert [(e.from_status, e.to_status) for e in state.history] == list(
        zip([S.received, *path[:-1]], path, strict=True)
    )
    assert [e.actor for e in state.history] == [f"actor{i}" for i in range(1, 6)]
    assert state.version == len(path)
    assert state.is_final


def test_version_grows_with_every_recorded_change() -> None:
    state = make_state(S.received)
    versions = [state.version]
    journey.record(state, at(1), SYSTEM, "stock_reserved")
    versions.append(state.version)
    journey.transition(state, S.awaiting_acknowledgement, at(2), SYSTEM, "sent_to_store")
    versions.append(state.version)
    journey.raise_alert(state, AlertType.not_acknowledged, at(40), "SLA breached")
    versions.append(state.version)
    store_events.record_exception(state, store_event(StoreEventType.collected), "does not apply", at(41))
    versions.append(state.version)
    journey.hold(state, HoldReason.stock_shortage, at(42), SYSTEM, "no stock")
    versions.append(state.version)

    assert versions == sorted(set(versions))  # strictly increasing
    assert versions[0] == 0


def test_record_appends_history_without_status_change() -> None:
    state = make_state(S.acknowledged)
    journey.record(state, at(3), "ho:bob", "note_added", "call the customer")
    entry = state.history[-1]
    assert (entry.actor, entry.action, entry.detail, entry.at) == ("ho:bob", "note_added", "call the customer", at(3))
    assert entry.from_status is None and entry.to_status is None
    assert state.status is S.acknowledged and state.status_since == T0


# ---- holds ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reason, alert_type",
    [(HoldReason.stock_shortage, AlertType.stock_shortage), (HoldReason.short_pick, AlertType.short_pick)],
)
@pytest.mark.parametrize("source", [S.received, S.awaiting_acknowledgement, S.acknowledged])
def test_hold_raises_alert_and_sets_reason(source: OrderStatus, reason: HoldReason, alert_type: AlertType) -> None:
    state = make_state(source)
    journey.hold(state, reason, at(7), "store:S001", "picked short: L1")

    assert state.status is S.on_hold
    assert state.status_since == at(7)
    assert state.hold_reason is reason
    open_alerts = [a for a in state.alerts if a.is_open]
    assert [(a.type, a.raised_at, a.detail) for a in open_alerts] == [(alert_type, at(7), "picked short: L1")]
    assert state.has_open_alert
    held = next(e for e in state.history if e.to_status is S.on_hold)
    assert (held.actor, held.action, held.from_status) == ("store:S001", f"held_{reason}", source)


@pytest.mark.parametrize("source", [S.on_hold, S.ready_for_collection, S.collected, S.completed, S.cancelled])
def test_hold_refused_when_status_cannot_be_held(source: OrderStatus) -> None:
    state = make_state(source)
    before = state.model_dump()
    with pytest.raises(TransitionRefused):
        journey.hold(state, HoldReason.short_pick, at(7), SYSTEM, "short")
    assert state.model_dump() == before
    assert not state.alerts


def test_hold_without_alert_keeps_the_reason_and_raises_nothing() -> None:
    state = make_state(S.received)
    journey.hold(state, HoldReason.payment_unknown, at(7), SYSTEM, "reconciling", alert=False)
    assert (state.status, state.hold_reason, state.alerts) == (S.on_hold, HoldReason.payment_unknown, [])


def test_hold_clears_the_alert_of_the_status_it_leaves() -> None:
    state = make_state(S.acknowledged)
    not_picked = journey.raise_alert(state, AlertType.not_picked, at(130))
    journey.hold(state, HoldReason.short_pick, at(140), "store:S001", "short")
    assert not_picked.cleared_at == at(140)
    assert [a.type for a in state.alerts if a.is_open] == [AlertType.short_pick]


def test_refusal_for_release_hold_none_when_on_hold() -> None:
    assert journey.refusal_for_release_hold(make_state(S.on_hold)) is None


@pytest.mark.parametrize(
    "reason, words",
    [(HoldReason.payment_declined, "declined payment"), (HoldReason.payment_unknown, "being reconciled")],
)
def test_refusal_for_release_hold_held_for_money(reason: HoldReason, words: str) -> None:
    refusal = journey.refusal_for_release_hold(make_state(S.on_hold, hold_reason=reason))
    assert refusal is not None and words in refusal


@pytest.mark.parametrize("reason", [None, HoldReason.stock_shortage, HoldReason.short_pick])
def test_refusal_for_release_hold_none_when_held_for_stock(reason: HoldReason | None) -> None:
    assert journey.refusal_for_release_hold(make_state(S.on_hold, hold_reason=reason)) is None


@pytest.mark.parametrize("status", [s for s in OrderStatus if s is not S.on_hold])
def test_refusal_for_release_hold_names_status_when_not_on_hold(status: OrderStatus) -> None:
    refusal = journey.refusal_for_release_hold(make_state(status))
    assert refusal is not None and status in refusal


# ---- alerts --------------------------------------------------------------------------------------


def test_raise_alert_numbers_alerts_and_records_them() -> None:
    state = make_state(S.awaiting_acknowledgement)
    first = journey.raise_alert(state, AlertType.not_acknowledged, at(31), "SLA of 0:30:00 breached")
    second = journey.raise_alert(state, AlertType.not_updated, at(61))
    assert [first.alert_id, second.alert_id] == ["A1", "A2"]
    assert first.is_open and first.raised_at == at(31)
    assert [(e.actor, e.action, e.detail) for e in state.history] == [
        (SYSTEM, "alert_raised", "not_acknowledged: SLA of 0:30:00 breached"),
        (SYSTEM, "alert_raised", "not_updated"),
    ]


@pytest.mark.parametrize("alert_type, cause, successor", STATUS_ALERTS, ids=[a for a, _, _ in STATUS_ALERTS])
def test_settle_alerts_clears_alert_when_its_status_is_left(
    alert_type: AlertType, cause: OrderStatus, successor: OrderStatus
) -> None:
    state = make_state(cause)
    alert = journey.raise_alert(state, alert_type, at(30))
    journey.transition(state, successor, at(45), SYSTEM, "moved_on")

    assert alert.cleared_at == at(45)
    assert not state.has_open_alert
    cleared = state.history[-1]
    assert (cleared.actor, cleared.action, cleared.detail, cleared.at) == (SYSTEM, "alert_cleared", alert_type, at(45))


@pytest.mark.parametrize("alert_type, cause, successor", STATUS_ALERTS, ids=[a for a, _, _ in STATUS_ALERTS])
def test_settle_alerts_keeps_alert_while_its_status_holds(
    alert_type: AlertType, cause: OrderStatus, successor: OrderStatus
) -> None:
    state = make_state(cause)
    alert = journey.raise_alert(state, alert_type, at(30))
    journey.settle_alerts(state, at(45))
    assert alert.is_open
    assert state.history[-1].action == "alert_raised"


def test_settle_alerts_keeps_not_updated_while_store_update_pending() -> None:
    state = make_state(S.ready_for_collection, store_update_pending_since=at(0))
    not_collected = journey.raise_alert(state, AlertType.not_collected, at(60))
    not_updated = journey.raise_alert(state, AlertType.not_updated, at(61))
    journey.transition(state, S.collected, at(70), "store:S001", "collected")

    assert not_collected.cleared_at == at(70)
    assert not_updated.is_open


def test_acknowledge_store_update_clears_pending_and_not_updated_alert() -> None:
    state = make_state(S.ready_for_collection, store_update_pending_since=at(0))
    not_updated = journey.raise_alert(state, AlertType.not_updated, at(61))
    not_collected = journey.raise_alert(state, AlertType.not_collected, at(62))
    version = state.version

    journey.acknowledge_store_update(state, at(90), STORE)

    assert state.store_update_pending_since is None
    assert not_updated.cleared_at == at(90)
    assert not_collected.is_open  # its cause, the uncollected order, is still there
    assert state.version == version + 2  # the acknowledgement and the cleared alert
    ack = next(e for e in state.history if e.action == "update_acknowledged")
    assert (ack.actor, ack.at) == ("store:S001", at(90))


@pytest.mark.parametrize("final", [S.cancelled, S.completed])
def test_settle_alerts_clears_every_alert_when_order_final(final: OrderStatus) -> None:
    source = S.ready_for_collection if final is S.cancelled else S.collected
    state = make_state(source, store_update_pending_since=at(0))
    not_updated = journey.raise_alert(state, AlertType.not_updated, at(61))
    journey.transition(state, final, at(90), SYSTEM, "closed")
    assert not_updated.cleared_at == at(90)
    assert not state.has_open_alert


def test_settle_alerts_leaves_cleared_alerts_alone() -> None:
    state = make_state(S.awaiting_acknowledgement)
    alert = journey.raise_alert(state, AlertType.not_acknowledged, at(31))
    journey.transition(state, S.acknowledged, at(40), "store:S001", "acknowledged")
    history = len(state.history)
    journey.settle_alerts(state, at(50))
    assert alert.cleared_at == at(40)
    assert len(state.history) == history


def test_settle_alerts_keeps_unrelated_alert_when_another_clears() -> None:
    state = make_state(S.acknowledged, store_update_pending_since=at(0))
    not_picked = journey.raise_alert(state, AlertType.not_picked, at(121))
    not_updated = journey.raise_alert(state, AlertType.not_updated, at(122))
    journey.transition(state, S.ready_for_collection, at(130), "store:S001", "picked")
    assert not_picked.cleared_at == at(130)
    assert not_updated.is_open
    assert state.has_open_alert


# ---- short picks, store updates, seen events ----------------------------------------------------


def _picked(state: OrderState, picked: dict[str, int]) -> None:
    for line in state.lines:
        line.picked_quantity = picked.get(line.line_id, 0)


def test_accept_short_pick_shrinks_lines_and_arms_store_update() -> None:
    state = make_state(S.acknowledged)
    _picked(state, {"L1": 1, "L2": 1})
    journey.hold(state, HoldReason.short_pick, at(60), "store:S001", "picked short: L1")
    short_alert = state.alerts[-1]

    kept = journey.accept_short_pick(state, at(90), "ho:alice", "customer agreed")

    assert kept == {"L1": 1, "L2": 1}
    assert [(line.line_id, line.quantity) for line in state.lines] == [("L1", 1), ("L2", 1)]
    assert [line.cancelled_quantity for line in state.lines] == [1, 0]  # what was not picked is cancelled
    assert state.total().amount == 1500 + 4500
    assert state.status is S.ready_for_collection
    assert state.hold_reason is None
    assert state.store_update_pending_since == at(90)
    assert short_alert.cleared_at == at(90)
    accepted = next(e for e in state.history if e.action == "short_pick_accepted")
    assert (accepted.actor, accepted.detail, accepted.from_status) == ("ho:alice", "customer agreed", S.on_hold)


def test_accept_short_pick_keeps_line_quantity_when_nothing_picked_recorded() -> None:
    state = make_state(S.on_hold, hold_reason=HoldReason.short_pick)
    state.lines[0].picked_quantity = 0
    kept = journey.accept_short_pick(state, at(90), "ho:alice", "ok")
    assert kept == {"L1": 0, "L2": 1}  # L2 has no recorded pick, so it keeps its quantity


@pytest.mark.parametrize("status, reason", [(S.awaiting_acknowledgement, None), (S.on_hold, HoldReason.stock_shortage)])
def test_accept_short_pick_not_held_for_short_pick(status: OrderStatus, reason: HoldReason | None) -> None:
    state = make_state(status, hold_reason=reason)
    _picked(state, {"L1": 1, "L2": 1})
    with pytest.raises(TransitionRefused) as refused:
        journey.accept_short_pick(state, at(90), "ho:alice", "ok")
    assert refused.value.rule == "not_held_for_short_pick"
    assert [line.quantity for line in state.lines] == [2, 1]


def test_seen_reports_known_event_ids() -> None:
    state = make_state(S.acknowledged, seen_event_ids=["E1"])
    assert journey.seen(state, "E1")
    assert not journey.seen(state, "E2")


def test_store_actor_prefixes_store_id() -> None:
    assert journey.store_actor("S123") == "store:S123"


# ---- properties ----------------------------------------------------------------------------------

ATTEMPTS = st.lists(
    st.one_of(
        st.tuples(st.just("transition"), st.sampled_from(list(OrderStatus))),
        st.tuples(st.just("hold"), st.sampled_from(list(HoldReason))),
        st.tuples(st.just("alert"), st.sampled_from(list(AlertType))),
        st.tuples(st.just("update"), st.booleans()),
    ),
    max_size=40,
)


def _assert_alerts_settled(state: OrderState) -> None:
    for alert in state.alerts:
        if not alert.is_open:
            assert alert.cleared_at is not None
            continue
        assert not state.is_final, "a final order keeps no open alert"
        if alert.type is AlertType.not_updated:
            assert state.store_update_pending_since is not None
        elif alert.type is AlertType.store_offline:
            assert state.offline_store_id == state.store_id
        elif alert.type in (AlertType.store_unreachable, AlertType.projection_failed, AlertType.stuck, *REQUESTS):
            # stuck: cleared when the order next moves; the others when the store is heard from
            # (tests/models/test_store_events.py), or a write succeeds
            pass
        elif alert.type is AlertType.stock_count_short:
            assert state.status not in (S.ready_for_collection, S.collected)  # the store found the goods
        elif alert.type is AlertType.delivery_rejected:
            assert any(d.status == "rejected" for d in state.deliveries)
        elif alert.type is AlertType.preorder_not_reserved:
            assert state.preorder_unreserved
        else:
            assert state.status is CAUSE[alert.type]


@settings(deadline=None, max_examples=200)
@given(attempts=ATTEMPTS)
def test_transitions_never_leave_allowed_transitions(attempts: list[tuple[str, object]]) -> None:
    state = make_state(S.received)
    for minute, (kind, arg) in enumerate(attempts, start=1):
        now = T0 + timedelta(minutes=minute)
        before = state.model_dump()
        if kind == "transition":
            target = arg
            if target in EXPECTED_TRANSITIONS[before["status"]]:
                journey.transition(state, target, now, SYSTEM, "attempt")
                assert state.status is target and state.status_since == now
            else:
                with pytest.raises(TransitionRefused):
                    journey.transition(state, target, now, SYSTEM, "attempt")
                assert state.model_dump() == before
        elif kind == "hold":
            if S.on_hold in EXPECTED_TRANSITIONS[before["status"]]:
                # An unknown payment outcome holds without an alert of its own (payment_unknown says why).
                alert = arg is not HoldReason.payment_unknown
                journey.hold(state, arg, now, SYSTEM, "held", alert=alert)
                assert state.hold_reason is arg
                assert not alert or state.alerts[-1].type.value == arg.value
            else:
                with pytest.raises(TransitionRefused):
                    journey.hold(state, arg, now, SYSTEM, "held")
                assert state.model_dump() == before
        elif kind == "alert":
            # The workflow raises an alert only while its cause is present.
            if arg is AlertType.not_updated:
                cause_present = state.store_update_pending_since is not None
            elif arg is AlertType.transfer_not_received:
                cause_present = bool(state.pending_transfers())
            elif arg is AlertType.payment_failed:
                cause_present = any(p.status == "capture_failed" for p in state.payments)
            elif arg is AlertType.store_offline:  # raised by the link monitor (tests/models/test_store_link.py)
                cause_present = state.offline_store_id == state.store_id
            elif arg is AlertType.payment_unknown:
                cause_present = bool(state.unknown_operations())
            elif arg is AlertType.refund_failed:
                cause_present = state.kept().amount > state.total().amount
            elif arg in (AlertType.store_unreachable, AlertType.projection_failed, AlertType.stuck, *REQUESTS):
                cause_present = True
            elif arg is AlertType.stock_count_short:  # a count while the order holds stock (test_feed_rules.py)
                cause_present = state.status not in (S.ready_for_collection, S.collected)
            elif arg is AlertType.preorder_not_reserved:  # a preorder's clock (tests/models/test_stock_waits.py)
                cause_present = state.preorder_unreserved
            elif arg is AlertType.delivery_rejected:  # raised by a further delivery's location
                cause_present = any(d.status == "rejected" for d in state.deliveries)
            else:
                cause_present = state.status is CAUSE[arg]
            if cause_present and not state.is_final:
                journey.raise_alert(state, arg, now)
        elif kind == "update" and not state.is_final:
            if arg:
                journey.request_store_update(state, now)
            elif state.store_update_pending_since is not None:
                journey.acknowledge_store_update(state, now, STORE)

        assert state.version >= before["version"]
        assert state.hold_reason is None or state.status is S.on_hold
        _assert_alerts_settled(state)

    moves = [(e.from_status, e.to_status) for e in state.history if e.to_status is not None]
    assert all(to in EXPECTED_TRANSITIONS[source] for source, to in moves)
    statuses = [S.received] + [to for _source, to in moves]
    assert [source for source, _to in moves] == statuses[:-1]  # each move starts where the last one ended
    assert statuses[-1] is state.status


def test_a_refused_write_raises_one_projection_failed_alert_and_a_later_write_clears_it() -> None:
    state = make_state(OrderStatus.awaiting_acknowledgement)
    journey.before_write(state, at(1))
    journey.write_refused(state, at(1), "OverflowError")
    (alert,) = state.alerts
    assert (alert.type, alert.is_open) == (AlertType.projection_failed, True)
    assert "OverflowError" in alert.detail
    # Refused again at the next step: the alert this write cleared is reopened, not raised twice.
    journey.before_write(state, at(2))
    assert not alert.is_open
    journey.write_refused(state, at(2), "DataError")
    assert [(a.type, a.is_open) for a in state.alerts] == [(AlertType.projection_failed, True)]
    assert "DataError" in alert.detail
    # A write that goes through leaves it cleared.
    journey.before_write(state, at(3))
    assert state.alerts[0].cleared_at == at(3)
    assert not state.has_open_alert
