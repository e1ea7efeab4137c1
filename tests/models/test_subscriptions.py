"""The subscription rules, pure: when periods fall due, what the next billing costs, which changes are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from models.subscriptions import (
    Change,
    NewSubscription,
    apply,
    due_at,
    new_subscription,
    next_billing,
    period_problem,
    refusal,
    skip_due,
    unit_price,
)

START = datetime(2027, 1, 31, 9, 30, tzinfo=UTC)
moments = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC))
periods = st.sampled_from(["P1M", "P2M", "P12M", "P1W", "P2W", "P1D", "P10D"])


def subscription(**overrides: object):
    body = NewSubscription.model_validate(
        {
            "channel": "web",
            "customer": {"id": "C1", "name": "Ada", "email": "ada@example.com"},
            "fulfilment": {"method": "click_and_collect", "store_id": "S001"},
            "lines": [{"sku": "TEE", "quantity": 2, "locked_price": 1500}, {"sku": "JEAN", "quantity": 1}],
            "period": "P1M",
            "token": "tok_approve",
            "starts_at": START,
            **overrides,
        }
    )
    return new_subscription("abc", "channel:webstore", body, START)


def test_months_keep_the_start_day_clamped_to_the_month_end_without_drifting():
    assert [due_at(START, "P1M", k).date().isoformat() for k in range(4)] == [
        "2027-01-31",
        "2027-02-28",
        "2027-03-31",
        "2027-04-30",
    ]
    assert due_at(START, "P1M", 13) == datetime(2028, 2, 29, 9, 30, tzinfo=UTC)
    assert due_at(START, "P2W", 1) - START == timedelta(weeks=2)


@given(moments, periods, st.integers(min_value=0, max_value=200))
def test_periods_fall_due_in_order_and_at_least_a_day_apart(start: datetime, period: str, k: int):
    assert period_problem(period) is None
    this, after = due_at(start, period, k), due_at(start, period, k + 1)
    assert after - this >= timedelta(days=1)
    assert this.time() == start.time() and this.tzinfo == start.tzinfo


def test_periods_outside_months_weeks_or_days_up_to_a_year_are_refused():
    assert period_problem("P1Y") and period_problem("P13M") and period_problem("P0D") and period_problem("1M")


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=10**6))
def test_a_locked_price_never_rises_and_catalogue_terms_follow_the_catalogue(catalogue: int, locked: int):
    state = subscription(lines=[{"sku": "TEE", "quantity": 1, "locked_price": locked}])
    assert unit_price(state, state.lines[0], {"TEE": catalogue}) == catalogue
    state.price_terms = "locked"
    assert unit_price(state, state.lines[0], {"TEE": catalogue}) == min(catalogue, locked)


def test_the_next_billing_passes_over_skipped_periods_and_sums_the_lines():
    state = subscription()
    apply(state, Change(kind="skip_next", actor="ho:alice"), START)
    billing = next_billing(state, {"TEE": 1500, "JEAN": 4000})
    assert (billing.period, billing.amount, billing.at) == (1, 7000, due_at(START, "P1M", 1))
    assert next_billing(state, {"TEE": 1500}).amount is None  # a line the catalogue no longer sells
    assert skip_due(state, START) and state.next_period == 1 and state.periods[-1].status == "skipped"
    assert not skip_due(state, START)


def test_changes_are_refused_naming_their_rule():
    state = subscription()
    other = Change(kind="pause", actor="channel:another")
    assert refusal(state, other).rule == "not_your_subscription"  # type: ignore[union-attr]
    assert refusal(state, Change(kind="resume", actor="ho:alice")).rule == "not_paused"  # type: ignore[union-attr]
    quantity = Change(kind="change_quantity", sku="NOPE", quantity=1, actor="ho:alice")
    assert refusal(state, quantity).rule == "unknown_line"  # type: ignore[union-attr]
    apply(state, Change(kind="cancel", actor="ho:alice"), START)
    assert refusal(state, Change(kind="resume", actor="ho:alice")).rule == "subscription_cancelled"  # type: ignore[union-attr]


def test_resuming_passes_over_the_periods_that_fell_due_while_paused():
    state = subscription()
    state.next_period = 1
    apply(state, Change(kind="pause", actor="ho:alice"), START)
    apply(state, Change(kind="resume", actor="ho:alice"), due_at(START, "P1M", 3) + timedelta(hours=1))
    assert state.next_period == 4 and [p.status for p in state.periods] == ["paused"] * 3
    assert [h.action for h in state.history] == ["subscribed", "pause", "resume"]
