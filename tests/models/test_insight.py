"""models/insight.py: what analytics and the customer view read from an order's view, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models.insight import customer_facts, nearest_rank, order_facts, search_pattern, search_text

T0 = datetime(2026, 11, 30, 23, 50, tzinfo=UTC)


def _at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def _view(**changes) -> dict:
    view = {
        "order_number": "100001",
        "store_id": "S001",
        "channel": "web",
        "customer": {"id": "C1", "name": "Ada Lovelace", "email": "Ada@Example.com", "phone": "+44 (0)7700 900123"},
        "status": "completed",
        "created_at": _at(0),
        "total": {"amount": 7500, "currency": "GBP"},
        "refunded": {"amount": 1500, "currency": "GBP"},
        "history": [
            {"at": _at(0), "action": "sent_to_store", "to_status": "awaiting_acknowledgement"},
            {"at": _at(5), "action": "acknowledged", "to_status": "acknowledged"},
            {"at": _at(6), "action": "alert_raised", "detail": "not_picked", "to_status": None},
            {"at": _at(35.5), "action": "picked", "to_status": "ready_for_collection"},
            {"at": _at(600), "action": "collected", "to_status": "collected"},
            {"at": _at(600), "action": "completed", "to_status": "completed"},
        ],
        "alerts": [
            {"alert_id": "A1", "type": "not_picked", "raised_at": _at(6), "cleared_at": _at(35.5)},
            {"alert_id": "A2", "type": "payment_failed", "raised_at": _at(601), "cleared_at": None},
        ],
        "refunds": [
            {
                "refund_id": "R1",
                "amount": {"amount": 1500, "currency": "GBP"},
                "reason": "damaged",
                "status": "refunded",
            },  # noqa: E501
            {"refund_id": "R2", "amount": {"amount": 900, "currency": "GBP"}, "reason": "x", "status": "declined"},
        ],
    }
    view.update(changes)
    return view


def test_order_facts_time_each_stage_from_placement_and_keep_sla_breaches_only():
    facts = order_facts(_view())
    assert facts.seconds == {"acknowledged": 300, "picked": 2130, "ready": 2130, "collected": 36000}
    assert facts.created_day == "2026-11-30"  # the UTC day of placement, though collected the next day
    assert [(b.alert_id, b.alert_type) for b in facts.breaches] == [("A1", "not_picked")]  # not payment_failed
    assert [(r.refund_id, r.reason, r.amount) for r in facts.refunds] == [("R1", "damaged", 1500)]  # not declined
    assert (facts.total_amount, facts.refunded_amount, facts.currency) == (7500, 1500, "GBP")
    assert facts.cancelled_by is None and facts.cancel_reason is None


def test_a_short_pick_counts_as_picked_but_not_ready_and_a_cancellation_keeps_its_reason():
    history = [
        {"at": _at(1), "action": "acknowledged", "to_status": "acknowledged"},
        {"at": _at(20), "action": "held_short_pick", "to_status": "on_hold"},
        {"at": _at(30), "action": "order_cancelled", "detail": "customer changed mind", "to_status": "cancelled"},
    ]
    facts = order_facts(_view(history=history, status="cancelled"))
    assert facts.seconds == {"acknowledged": 60, "picked": 1200, "ready": None, "collected": None}
    assert (facts.cancelled_by, facts.cancel_reason) == ("order_cancelled", "customer changed mind")
    by_store = order_facts(_view(history=[{"at": _at(9), "action": "not_collected", "to_status": "cancelled"}]))
    assert (by_store.cancelled_by, by_store.cancel_reason) == ("not_collected", "not_collected")


def test_customers_are_found_by_any_case_and_a_phone_by_its_digits():
    customer = customer_facts(_view())
    assert customer.email == "ada@example.com"
    text = customer.search_text
    for query in ("LOVELACE", "ada@example", "c1", "7700 900", "(0)7700-900-123", "447700900123"):
        assert search_pattern(query) in text, query
    assert search_pattern("7700 900") == "7700900"
    assert search_pattern("C-42") == "c-42"  # not a phone number: searched as typed
    assert search_text("C1", "", "a@b.c", "12345") == "c1 a@b.c 12345"  # short digit runs are not phones


def test_nearest_rank_percentiles_take_the_value_at_rank_ceil_p_n():
    assert nearest_rank([], 500) is None
    assert nearest_rank([7], 500) == 7 and nearest_rank([7], 900) == 7
    assert nearest_rank([1, 2], 500) == 1  # ceil(0.5 x 2) = 1: the lower middle, a value that occurred
    assert nearest_rank(list(range(1, 11)), 900) == 9
    assert nearest_rank(list(range(1, 12)), 900) == 10  # ceil(9.9) = 10
    assert nearest_rank(list(range(1, 101)), 500) == 50
