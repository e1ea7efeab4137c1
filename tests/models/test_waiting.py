"""What an order waits for and by when: SLA deadlines by status, amber before red, and the order page's line."""

from __future__ import annotations

from datetime import timedelta

from models.order import OrderStatus
from models.sla import SlaPolicy
from models.views import for_api
from models.waiting import status_deadline, urgency, waiting_for
from tests.models.factories import T0, at, cleared_state, make_state

POLICY = SlaPolicy(not_acknowledged=timedelta(minutes=30), not_picked=timedelta(hours=2))


def test_each_waiting_status_has_its_sla_deadline_and_final_ones_none():
    assert status_deadline(OrderStatus.awaiting_acknowledgement, T0, POLICY) == at(30)
    assert status_deadline(OrderStatus.acknowledged, T0, POLICY) == at(120)
    assert status_deadline(OrderStatus.completed, T0, POLICY) is None
    assert status_deadline(OrderStatus.cancelled, T0, POLICY) is None


def test_amber_comes_before_red():
    due = at(120)  # a two-hour SLA: amber in its last quarter (30 minutes)
    assert urgency(T0, due, at(60)) == "ok"
    assert urgency(T0, due, at(89)) == "ok"
    assert urgency(T0, due, at(91)) == "soon"
    assert urgency(T0, due, at(120)) == "breached"
    assert urgency(T0, at(30), at(22)) == "ok"  # a 30-minute SLA: amber in its last 7.5 minutes
    assert urgency(T0, at(30), at(23)) == "soon"
    assert urgency(T0, None, at(500)) is None


def test_the_order_page_says_what_the_order_waits_for():
    wait = waiting_for(for_api(make_state(OrderStatus.awaiting_acknowledgement)), POLICY, at(10))
    assert wait is not None
    assert (wait.what, wait.since, wait.deadline, wait.urgency) == ("the store to acknowledge it", T0, at(30), "ok")
    update = cleared_state(OrderStatus.acknowledged, store_update_pending_since=at(5))
    wait = waiting_for(for_api(update), POLICY, at(10))
    assert wait is not None and wait.what == "the store to acknowledge Head Office's change"
    assert waiting_for(for_api(cleared_state(OrderStatus.completed)), POLICY, at(10)) is None
