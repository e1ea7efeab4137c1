"""What an order waits for and what happens next (models/diagnosis.py), and when the sweep calls it stuck
(models/stuck.py)."""

from __future__ import annotations

from datetime import timedelta

from models.diagnosis import diagnose
from models.order import OrderStatus
from models.sla import SlaPolicy
from models.stuck import verdict
from tests.models.factories import T0, make_state


def test_a_ready_order_waits_for_the_customer_and_expires_at_the_collection_deadline():
    state = make_state(OrderStatus.ready_for_collection, since=T0)
    diagnosis = diagnose(state, SlaPolicy())
    (wait,) = diagnosis.waits
    assert (wait.from_whom, wait.since) == ("customer", T0)
    assert diagnosis.next_deadline is not None
    assert (diagnosis.next_deadline.clock, diagnosis.next_deadline.at) == ("not_collected", T0 + timedelta(days=3))


def test_a_change_the_store_has_not_acknowledged_is_a_wait_of_its_own():
    state = make_state(OrderStatus.acknowledged, since=T0)
    state.store_update_pending_since = T0 + timedelta(minutes=5)
    diagnosis = diagnose(state, SlaPolicy())
    assert [w.for_what for w in diagnosis.waits] == [
        "the store to pick the order",
        "the store to acknowledge Head Office's change",
    ]
    assert diagnosis.next_deadline is not None and diagnosis.next_deadline.clock == "not_updated"


def test_stuck_only_past_every_deadline_by_more_than_the_grace():
    state = make_state(OrderStatus.awaiting_acknowledgement, since=T0)
    diagnosis = diagnose(state, SlaPolicy())  # not_acknowledged due at T0 + 30 min
    grace = timedelta(minutes=15)
    assert verdict(diagnosis, timedelta(hours=1), T0 + timedelta(minutes=40), grace) is None
    stuck = verdict(diagnosis, timedelta(hours=1), T0 + timedelta(minutes=46), grace)
    assert stuck is not None and "not_acknowledged deadline" in stuck.detail
    assert "the store to acknowledge the order" in stuck.detail
    final = diagnose(make_state(OrderStatus.completed, since=T0), SlaPolicy())
    assert final.waits == [] and final.next_deadline is None
