"""SLA rules (models/sla.py): which deadlines run, when they are due, and the policy they come from."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from models import journey
from models.deliveries import Delivery, DeliveryMethod
from models.journey import SYSTEM
from models.order import AlertType, HoldReason, OrderStatus
from models.sla import (
    CLOCKS,
    SlaOverrides,
    SlaPolicy,
    breached,
    collection_deadline,
    effective_policy,
    next_wakeup,
    running_deadlines,
)
from tests.models.factories import STORE, T0, at, make_state

S = OrderStatus
POLICY = SlaPolicy()  # 30m to acknowledge, 2h to pick, 4h on hold, 3d to collect, 1h to take an update, 7d expiry
POLICY_FIELDS = list(CLOCKS)  # the durations (calendar and open_time_clocks are tested in test_calendar.py)

EXPECTED_CLOCKS = {
    S.received: {},
    S.awaiting_approval: {AlertType.awaiting_approval: timedelta(hours=4)},
    S.awaiting_payment: {AlertType.awaiting_payment: timedelta(days=2)},
    S.awaiting_dispatch: {},  # an order placed before deliveries runs no packing clock (see the packing test)
    S.ready_to_ship: {AlertType.not_shipped: timedelta(hours=12)},
    S.shipped: {AlertType.not_delivered: timedelta(days=5)},
    S.awaiting_transfer: {},  # its clock is the transfer's, see the transfer tests
    S.awaiting_acknowledgement: {AlertType.not_acknowledged: timedelta(minutes=30)},
    S.acknowledged: {AlertType.not_picked: timedelta(hours=2)},
    S.on_hold: {AlertType.on_hold: timedelta(hours=4)},
    S.ready_for_collection: {AlertType.not_collected: timedelta(days=3)},
    S.collected: {},
    S.awaiting_release: {},  # a preorder: its alarm is its release date (models/stock_waits.py)
    S.backordered: {},
    S.partially_collected: {},  # the further deliveries' stages carry no SLA clock yet
    S.partially_shipped: {},
    S.completed: {},
    S.cancelled: {},
}


# ---- the policy ----------------------------------------------------------------------------------


def test_sla_policy_defaults() -> None:
    assert POLICY.not_acknowledged == timedelta(minutes=30)
    assert POLICY.not_picked == timedelta(hours=2)
    assert POLICY.on_hold == timedelta(hours=4)
    assert POLICY.not_collected == timedelta(days=3)
    assert POLICY.not_updated == timedelta(hours=1)
    assert POLICY.collection_expiry == timedelta(days=7)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("PT30M", timedelta(minutes=30)),
        ("P3D", timedelta(days=3)),
        ("PT1H30M", timedelta(hours=1, minutes=30)),
        ("P1DT2H", timedelta(days=1, hours=2)),
        (1800, timedelta(minutes=30)),
        (90.5, timedelta(seconds=90.5)),
        (timedelta(hours=2), timedelta(hours=2)),
    ],
)
@pytest.mark.parametrize("field", POLICY_FIELDS)
def test_sla_policy_accepts_iso8601_and_seconds(field: str, value: object, expected: timedelta) -> None:
    assert getattr(SlaPolicy(**{field: value}), field) == expected
    assert getattr(SlaOverrides(**{field: value}), field) == expected


@pytest.mark.parametrize("value", [0, -1, "PT0S", "-PT30M", "P0D", timedelta(0), timedelta(minutes=-5)])
@pytest.mark.parametrize("field", POLICY_FIELDS)
def test_sla_policy_rejects_zero_or_negative(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        SlaPolicy(**{field: value})
    with pytest.raises(ValidationError):
        SlaOverrides(**{field: value})


@pytest.mark.parametrize("value", ["thirty minutes", "30M", ""])
def test_sla_policy_rejects_unparseable_duration(value: str) -> None:
    with pytest.raises(ValidationError):
        SlaPolicy(not_acknowledged=value)


def test_sla_policy_rejects_unknown_field() -> None:
    with pytest.raises(ValidationError):
        SlaPolicy(not_acknowleged="PT30M")
    with pytest.raises(ValidationError):
        SlaOverrides(not_acknowleged="PT30M")


def test_effective_policy_without_overrides_is_global() -> None:
    custom = SlaPolicy(not_picked="PT3H")
    assert effective_policy(custom, None) == custom
    assert effective_policy(custom, SlaOverrides()) == custom


def test_effective_policy_overrides_only_given_fields() -> None:
    custom = SlaPolicy(not_picked="PT3H")
    policy = effective_policy(custom, SlaOverrides(not_acknowledged="PT10M", collection_expiry="P2D"))
    assert policy.not_acknowledged == timedelta(minutes=10)
    assert policy.collection_expiry == timedelta(days=2)
    assert policy.not_picked == timedelta(hours=3)  # from the global policy
    assert policy.not_collected == timedelta(days=3)  # the default
    assert custom.not_acknowledged == timedelta(minutes=30)  # the global policy is untouched


def test_effective_policy_override_moves_deadline() -> None:
    state = make_state(S.awaiting_acknowledgement, since=T0)
    policy = effective_policy(POLICY, SlaOverrides(not_acknowledged="PT5M"))
    assert running_deadlines(state, policy) == {AlertType.not_acknowledged: at(5)}


# ---- running deadlines ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(OrderStatus))
def test_running_deadlines_per_status(status: OrderStatus) -> None:
    since = at(17)
    state = make_state(status, since=since)
    expected = {alert: since + limit for alert, limit in EXPECTED_CLOCKS[status].items()}
    assert running_deadlines(state, POLICY) == expected


@pytest.mark.parametrize("status", [s for s in OrderStatus if s not in (S.completed, S.cancelled)])
def test_running_deadlines_not_updated_from_store_update_pending_since(status: OrderStatus) -> None:
    state = make_state(status, since=at(0), store_update_pending_since=at(45))
    deadlines = running_deadlines(state, POLICY)
    assert deadlines[AlertType.not_updated] == at(45) + timedelta(hours=1)
    assert set(deadlines) == {AlertType.not_updated, *EXPECTED_CLOCKS[status]}


def test_packing_clock_runs_for_an_order_placed_with_deliveries() -> None:
    state = make_state(S.awaiting_dispatch, since=at(0), deliveries=[_home_delivery()])
    assert running_deadlines(state, POLICY) == {AlertType.not_packed: at(0) + timedelta(days=1)}


def _home_delivery() -> Delivery:
    return Delivery(delivery_id="D1", method=DeliveryMethod.home_delivery, location_id="W001", line_ids=["L1", "L2"])


@pytest.mark.parametrize("status", [S.completed, S.cancelled])
def test_running_deadlines_none_when_order_final(status: OrderStatus) -> None:
    state = make_state(status, store_update_pending_since=at(45))
    assert running_deadlines(state, POLICY) == {}
    assert next_wakeup(state, POLICY) is None
    assert breached(state, POLICY, at(days=30)) == []


def test_running_deadlines_skips_alert_already_raised_this_episode() -> None:
    state = make_state(S.awaiting_acknowledgement, since=T0)
    journey.raise_alert(state, AlertType.not_acknowledged, at(30))
    assert running_deadlines(state, POLICY) == {}
    assert breached(state, POLICY, at(days=1)) == []


def test_running_deadlines_skips_alert_raised_this_episode_even_when_cleared() -> None:
    state = make_state(S.awaiting_acknowledgement, since=T0)
    alert = journey.raise_alert(state, AlertType.not_acknowledged, at(30))
    alert.cleared_at = at(40)
    assert AlertType.not_acknowledged not in running_deadlines(state, POLICY)


def test_running_deadlines_due_again_when_status_reentered() -> None:
    state = make_state(S.awaiting_acknowledgement, since=T0)
    journey.raise_alert(state, AlertType.not_acknowledged, at(30))
    journey.hold(state, HoldReason.stock_shortage, at(40), SYSTEM, "no stock")
    journey.transition(state, S.awaiting_acknowledgement, at(100), SYSTEM, "sent_to_store")

    assert running_deadlines(state, POLICY) == {AlertType.not_acknowledged: at(130)}
    assert breached(state, POLICY, at(129)) == []
    assert breached(state, POLICY, at(130)) == [AlertType.not_acknowledged]


def test_running_deadlines_on_hold_due_again_in_new_hold() -> None:
    state = make_state(S.received, since=T0)
    journey.hold(state, HoldReason.stock_shortage, at(0), SYSTEM, "no stock")
    journey.raise_alert(state, AlertType.on_hold, at(240))
    assert AlertType.on_hold not in running_deadlines(state, POLICY)

    journey.transition(state, S.awaiting_acknowledgement, at(300), SYSTEM, "sent_to_store")
    journey.transition(state, S.acknowledged, at(310), "store:S001", "acknowledged")
    journey.hold(state, HoldReason.short_pick, at(320), "store:S001", "short")
    assert running_deadlines(state, POLICY) == {AlertType.on_hold: at(320 + 240)}


def test_running_deadlines_not_updated_due_again_for_new_update() -> None:
    state = make_state(S.ready_for_collection, since=T0)
    journey.request_store_update(state, at(0))
    journey.raise_alert(state, AlertType.not_updated, at(60))
    assert AlertType.not_updated not in running_deadlines(state, POLICY)

    journey.acknowledge_store_update(state, at(70), STORE)
    assert AlertType.not_updated not in running_deadlines(state, POLICY)

    journey.request_store_update(state, at(80))
    assert running_deadlines(state, POLICY)[AlertType.not_updated] == at(140)


def test_running_deadlines_alert_of_other_type_does_not_suppress() -> None:
    state = make_state(S.awaiting_acknowledgement, since=T0, store_update_pending_since=at(0))
    journey.raise_alert(state, AlertType.not_updated, at(60))
    journey.raise_alert(state, AlertType.stock_shortage, at(61))
    assert running_deadlines(state, POLICY) == {AlertType.not_acknowledged: at(30)}


# ---- breaches, expiry, wake-up -------------------------------------------------------------------


def test_breached_includes_deadline_at_exactly_now() -> None:
    state = make_state(S.acknowledged, since=T0, store_update_pending_since=at(30))
    assert breached(state, POLICY, at(89)) == []
    assert breached(state, POLICY, at(90)) == [AlertType.not_updated]
    assert set(breached(state, POLICY, at(120))) == {AlertType.not_updated, AlertType.not_picked}


def test_collection_deadline_when_ready_for_collection() -> None:
    state = make_state(S.ready_for_collection, since=at(15))
    assert collection_deadline(state, POLICY) == at(15) + timedelta(days=7)
    assert collection_deadline(state, SlaPolicy(collection_expiry="P2D")) == at(15) + timedelta(days=2)


@pytest.mark.parametrize("status", [s for s in OrderStatus if s is not S.ready_for_collection])
def test_collection_deadline_none_when_not_ready(status: OrderStatus) -> None:
    assert collection_deadline(make_state(status), POLICY) is None


def test_next_wakeup_is_earliest_running_deadline() -> None:
    state = make_state(S.ready_for_collection, since=T0, store_update_pending_since=at(10))
    assert next_wakeup(state, POLICY) == at(70)  # not_updated before not_collected and expiry


def test_next_wakeup_is_collection_expiry_when_earlier() -> None:
    state = make_state(S.ready_for_collection, since=T0)
    policy = SlaPolicy(collection_expiry="P1D", not_collected="P3D")
    assert next_wakeup(state, policy) == at(days=1)


def test_next_wakeup_is_collection_expiry_after_not_collected_raised() -> None:
    state = make_state(S.ready_for_collection, since=T0)
    journey.raise_alert(state, AlertType.not_collected, at(days=3))
    assert next_wakeup(state, POLICY) == at(days=7)


@pytest.mark.parametrize("status", [S.received, S.collected, S.completed, S.cancelled])
def test_next_wakeup_none_when_no_clock_runs(status: OrderStatus) -> None:
    assert next_wakeup(make_state(status), POLICY) is None


# ---- properties ----------------------------------------------------------------------------------

durations = st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=30))
policies = st.builds(
    SlaPolicy,
    not_acknowledged=durations,
    not_picked=durations,
    on_hold=durations,
    not_collected=durations,
    not_updated=durations,
    collection_expiry=durations,
)
offsets = st.integers(min_value=0, max_value=60 * 24 * 60)


@settings(deadline=None, max_examples=300)
@given(
    status=st.sampled_from(list(OrderStatus)),
    since=offsets,
    pending=st.none() | offsets,
    raised=st.lists(st.tuples(st.sampled_from(list(AlertType)), offsets), max_size=4),
    policy=policies,
)
def test_deadlines_never_before_their_clock_start(
    status: OrderStatus,
    since: int,
    pending: int | None,
    raised: list[tuple[AlertType, int]],
    policy: SlaPolicy,
) -> None:
    state = make_state(status, since=at(since), store_update_pending_since=None if pending is None else at(pending))
    for alert_type, minute in raised:
        journey.raise_alert(state, alert_type, at(minute))

    deadlines = running_deadlines(state, policy)
    starts: dict[AlertType, datetime] = {}
    for alert_type, due in deadlines.items():
        start = state.store_update_pending_since if alert_type is AlertType.not_updated else state.status_since
        starts[alert_type] = start
        assert start is not None
        assert due == start + getattr(policy, alert_type.value)
        assert due > start
        # not due when an alert of its type was raised since its clock started
        assert not any(t is alert_type and at(m) >= start for t, m in raised)

    if state.is_final:
        assert deadlines == {}
    expiry = collection_deadline(state, policy)
    if expiry is not None:
        assert expiry > state.status_since
    wakeup = next_wakeup(state, policy)
    candidates = [*deadlines.values(), *([expiry] if expiry else [])]
    assert wakeup == (min(candidates) if candidates else None)
    if wakeup is not None:
        assert wakeup > min([*starts.values(), state.status_since])


@settings(deadline=None, max_examples=200)
@given(
    status=st.sampled_from(list(OrderStatus)),
    pending=st.none() | offsets,
    now=offsets,
    policy=policies,
)
def test_breached_is_exactly_the_deadlines_due_by_now(
    status: OrderStatus, pending: int | None, now: int, policy: SlaPolicy
) -> None:
    state = make_state(status, since=T0, store_update_pending_since=None if pending is None else at(pending))
    due = breached(state, policy, at(now))
    assert set(due) == {t for t, deadline in running_deadlines(state, policy).items() if deadline <= at(now)}
    for alert_type in due:  # once raised, a breach is not due again in the same episode
        journey.raise_alert(state, alert_type, at(now))
    assert breached(state, policy, at(now) + timedelta(days=365)) == [
        t for t in running_deadlines(state, policy) if t not in due
    ]


# The longest timedelta there is (P999999999D): already stored, it must not overflow a running order's deadlines.
FOREVER = timedelta(days=999_999_999)


@pytest.mark.parametrize("status", list(OrderStatus))
def test_a_duration_too_long_for_a_datetime_is_clamped_not_raised(status: OrderStatus) -> None:
    from models import deadlines
    from models.sla import LONGEST_WAIT

    # Constructed, not validated: a policy from before the API bounded durations at a year.
    policy = SlaPolicy.model_construct(**{field: FOREVER for field in POLICY_FIELDS})
    state = make_state(status, since=T0, store_update_pending_since=T0)
    wakeup = deadlines.next_wakeup(state, policy)
    assert wakeup is None or wakeup == T0 + LONGEST_WAIT
    assert all(due == T0 + LONGEST_WAIT for due in running_deadlines(state, policy).values())
    assert breached(state, policy, at(60 * 24 * 365)) == []
    deadlines.on_deadline(state, policy, at(60))  # nothing due, nothing raised


def test_stored_payment_lifetimes_and_reconciliation_backoff_never_overflow() -> None:
    from models import operations, settlement
    from models.payments import GatewayOperationKind, GatewayResult, MoneyOperation
    from models.sla import LONGEST_WAIT
    from tests.models.factories import card, gbp

    state = make_state(S.acknowledged, payments=[card(authorised_until=T0)])
    # Model-copied, not validated: a policy stored before the API bounded it at a year.
    state.payment_policy = state.payment_policy.model_copy(
        update={"authorisation_lifetime": FOREVER, "reauthorise_before": FOREVER, "reconcile_every": FOREVER}
    )
    assert operations.reauthorisation_due(state) == T0 - LONGEST_WAIT
    result = GatewayResult(
        operation_id="op", kind=GatewayOperationKind.authorise, approved=True, amount=gbp(7500), at=T0
    )
    assert settlement.lapses_at(result, state, T0) == T0 + LONGEST_WAIT
    operation = MoneyOperation(
        operation_id="order-100001:capture:1",
        payment_id="P1",
        kind=GatewayOperationKind.capture,
        amount=gbp(7500),
        since=T0,
    )
    state.operations.append(operation)
    for check in range(100):  # an outcome unknown for days: the backoff doubles, then stays at its cap
        operations.mark_unknown(state, operation, "no answer", at(check))
    assert operation.check_at == at(99) + operations.RECONCILE_BACKOFF_CAP
