"""Scheduled orders (models/scheduling.py) through the pure shell: an order with `fulfil_on` waits for its date with
nothing reserved, Head Office moves the date (its rules), and on the day its Baton-sourced home delivery goes where
the stock is then."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from models import deadlines, scheduling
from models.deliveries import Delivery, DeliveryMethod
from models.order import OrderStatus
from models.placement import new_order, placement_problems
from models.placing import PlaceOrder
from models.sla import SlaPolicy
from models.sourcing import SourcingDecision
from tests.models.factories import PRODUCTS, T0, applied, refused_by
from tests.models.pure_shell import Books, FakeGateway, PureShell
from tests.models.test_placement import OPEN_STORE, place

S = OrderStatus
ADDRESS = {"name": "Ada", "line1": "1 Abington Street", "city": "Northampton", "postcode": "NN1 2AJ", "country": "GB"}


def _decision(**fields: object) -> SourcingDecision:
    return SourcingDecision.model_validate({"decided_at": T0, "strategy": "warehouse_first", **fields})


def _order(**fields: object) -> PlaceOrder:
    return PlaceOrder.model_validate({**place().model_dump(mode="json"), **fields})


def shell(fulfil_on: datetime) -> PureShell:
    order = _order(fulfil_on=fulfil_on.isoformat())
    return PureShell(new_order("100001", order, PRODUCTS, T0), FakeGateway(Books()), T0)


def test_a_scheduled_order_waits_for_its_date_then_goes_to_its_store() -> None:
    run = shell(T0 + timedelta(days=3))
    assert run.state.status is S.awaiting_release and run.state.cleared_at is None
    assert scheduling.waiting_for(run.state) == T0 + timedelta(days=3)
    assert run.state.history[-1].action == "scheduled"
    run.later(timedelta(days=2, hours=23))
    assert run.state.status is S.awaiting_release
    run.later(timedelta(hours=1))
    assert run.state.status is S.awaiting_acknowledgement
    assert scheduling.waiting_for(run.state) is None and run.state.fulfil_on == T0 + timedelta(days=3)


def test_head_office_moves_the_date_and_the_alarm_follows_it() -> None:
    run = shell(T0 + timedelta(days=3))
    later = T0 + timedelta(days=5)
    applied("reschedule", run.state, T0, fulfil_on=later.isoformat())
    assert (run.state.fulfil_on, run.state.release_at) == (later, later)
    assert deadlines.next_wakeup(run.state, SlaPolicy()) == later
    assert run.state.history[-1].action == "rescheduled"
    run.later(timedelta(days=4))
    assert run.state.status is S.awaiting_release
    run.later(timedelta(days=1))
    assert run.state.status is S.awaiting_acknowledgement
    assert refused_by("reschedule", run.state) == "schedule_started"


def test_moving_the_date_is_refused_for_an_order_not_scheduled_or_to_the_same_date() -> None:
    unscheduled = new_order("100002", _order(), PRODUCTS, T0)
    assert refused_by("reschedule", unscheduled) == "not_scheduled"
    run = shell(T0 + timedelta(days=3))
    assert refused_by("reschedule", run.state, fulfil_on=(T0 + timedelta(days=3)).isoformat()) == "same_date"
    applied("cancel_order", run.state, T0)
    assert refused_by("reschedule", run.state) == "schedule_started"


def test_a_date_alone_starts_at_midnight_utc_and_must_be_ahead_but_not_too_far() -> None:
    assert scheduling.fulfil_moment(date(2025, 3, 5)) == datetime(2025, 3, 5, tzinfo=UTC)
    assert scheduling.date_problem(T0, T0) is not None
    assert scheduling.date_problem(T0 + scheduling.MAX_AHEAD, T0) is None
    assert scheduling.date_problem(T0 + scheduling.MAX_AHEAD + timedelta(seconds=1), T0) is not None
    problems = placement_problems(
        _order(fulfil_on="2025-03-03"), PRODUCTS, OPEN_STORE, now=T0
    )  # midnight: already past
    assert [p.field for p in problems] == ["fulfil_on"]
    assert placement_problems(_order(fulfil_on="2025-03-04"), PRODUCTS, OPEN_STORE, now=T0) == []


def test_on_the_day_a_baton_sourced_home_delivery_goes_where_the_stock_is() -> None:
    state = new_order("100003", _order(fulfil_on="2025-03-05"), PRODUCTS, T0)
    own = Delivery(
        delivery_id="D1",
        method=DeliveryMethod.home_delivery,
        location_id="W001",
        address=ADDRESS,
        line_ids=["L1", "L2"],
        sourcing=_decision(assignments={"W001": ["L1", "L2"]}),
    )
    state.deliveries, state.store_id, state.dispatch_location = [own], "W001", "W001"
    wanted = scheduling.sourcing_wanted(state, T0)
    assert wanted is not None and [d.delivery_id for d in wanted.deliveries] == ["D1"]
    assert wanted.deliveries[0].postcode == "NN1 2AJ"

    scheduling.apply_sourcing(state, {"D1": _decision(assignments={"S002": ["L1", "L2"]})}, T0)
    assert (own.location_id, state.store_id, state.dispatch_location) == ("S002", "S002", "S002")
    assert state.history[-1].detail == "D1: W001 → S002"
    scheduling.apply_sourcing(state, {"D1": _decision(assignments={}, unsourced=["L1"])}, T0)
    assert own.location_id == "S002" and "stays at S002" in state.history[-1].detail
