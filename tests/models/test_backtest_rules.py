"""Replaying past orders through SLA settings (models/backtest.py): exact alerts from known timelines."""

from __future__ import annotations

from datetime import datetime, timedelta

from models.backtest import PastOrder, alerts, compare
from models.order import HistoryEntry, OrderStatus
from models.sla import SlaPolicy
from tests.models.factories import T0

S = OrderStatus


def _order(number: str, store_id: str, steps: list[tuple[float, OrderStatus]]) -> PastOrder:
    """An order moving into each status at the given minute."""
    history = [
        HistoryEntry(at=T0 + timedelta(minutes=m), actor="x", action="moved", to_status=status) for m, status in steps
    ]
    return PastOrder(order_number=number, store_id=store_id, created_at=T0, history=history)


ACKED_AFTER_20 = _order(
    "1", "S001", [(0, S.awaiting_acknowledgement), (20, S.acknowledged), (50, S.ready_for_collection)]
)
ACKED_AFTER_45 = _order(
    "2", "S001", [(0, S.awaiting_acknowledgement), (45, S.acknowledged), (60, S.ready_for_collection)]
)
NEVER_ACKED = _order("3", "S002", [(0, S.awaiting_acknowledgement)])
UNTIL = T0 + timedelta(hours=2)


def test_an_alert_fires_only_when_the_status_outlasts_its_clock():
    policy = SlaPolicy()  # not_acknowledged 30 min, not_picked 2 h, not_collected 3 days
    assert alerts(ACKED_AFTER_20, policy, UNTIL) == []
    assert alerts(ACKED_AFTER_45, policy, UNTIL) == [("not_acknowledged", T0 + timedelta(minutes=30))]
    assert alerts(NEVER_ACKED, policy, UNTIL) == [("not_acknowledged", T0 + timedelta(minutes=30))]
    until_next_week = T0 + timedelta(days=8)
    assert [c for c, _ in alerts(ACKED_AFTER_20, policy, until_next_week)] == ["not_collected", "collection_expiry"]


def test_a_tighter_acknowledgement_sla_counted_per_store_with_its_shift_and_the_orders_that_differ():
    today = {"S001": SlaPolicy(), "S002": SlaPolicy()}
    tight = SlaPolicy(not_acknowledged=timedelta(minutes=15))
    rows = {(r.store_id, r.clock): r for r in compare([ACKED_AFTER_20, ACKED_AFTER_45, NEVER_ACKED], today,
                                                      {"S001": tight, "S002": tight}, UNTIL)}  # fmt: skip
    s001 = rows[("S001", "not_acknowledged")]
    assert (s001.today, s001.proposed, s001.differing) == (1, 2, ["1"])
    assert s001.mean_shift_minutes == -15.0  # order 2 would have been alerted 15 minutes earlier
    s002 = rows[("S002", "not_acknowledged")]
    assert (s002.today, s002.proposed, s002.differing) == (1, 1, [])
    assert set(rows) == {("S001", "not_acknowledged"), ("S002", "not_acknowledged")}


def test_a_timeline_still_running_counts_up_to_the_end_of_the_backtest():
    before_the_deadline = T0 + timedelta(minutes=29)
    assert alerts(NEVER_ACKED, SlaPolicy(), before_the_deadline) == []
    assert isinstance(UNTIL, datetime)


def test_a_payment_policy_holding_phone_orders_counts_the_orders_it_would_hold():
    from models.backtest import approvals
    from models.payment_policy import PaymentPolicy

    web = ACKED_AFTER_20.model_copy(update={"channel": "web", "gross": 5000})
    phone = ACKED_AFTER_45.model_copy(update={"channel": "phone", "gross": 5000})
    big = NEVER_ACKED.model_copy(update={"channel": "web", "gross": 500_000})
    row = approvals([web, phone, big], PaymentPolicy(), PaymentPolicy(approval_channels=["phone"]))
    assert (row.today, row.proposed, row.differing) == (0, 1, ["2"])
    limit = PaymentPolicy(approval_above={"GBP": 100_000})
    assert approvals([web, phone, big], PaymentPolicy(), limit).differing == ["3"]
