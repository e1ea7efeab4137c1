"""When a final order closes (models/closing.py), and a refund after it closed decided on its kept state by the
order's own money rules (models/late_refunds.py): ids from the Refund workflow, never more than was taken."""

from __future__ import annotations

from datetime import timedelta

from models import closing, late_refunds
from models.intervention_commands import IssueRefund
from models.late_refunds import LateRefundAsk
from models.order import Alert, AlertType, OrderStatus
from models.payments import GatewayResult
from models.sla import SlaPolicy
from tests.models.factories import HO, T0, at, captured, cleared_state, gbp, prepaid, refund

POLICY = SlaPolicy()  # close_after: 1 hour


def _ask(amount: int, key: str = "k1") -> LateRefundAsk:
    return LateRefundAsk(
        refund_id=f"refund-100001-{key}",
        order_number="100001",
        command=IssueRefund(amount=gbp(amount), reason="goodwill", actor=HO),
    )


def test_a_completed_settled_order_closes_after_its_grace_not_before():
    state = cleared_state(OrderStatus.completed, payments=[captured()], status_since=T0)
    assert closing.closes_at(state, POLICY) == T0 + timedelta(hours=1)
    assert not closing.may_close(state, POLICY, at(59))
    assert closing.may_close(state, POLICY, at(60))


def test_an_order_not_final_or_with_money_or_a_request_open_does_not_close():
    assert not closing.settled(cleared_state(OrderStatus.ready_for_collection, payments=[captured()]))
    waiting = cleared_state(OrderStatus.completed, payments=[captured()])
    late_refunds.claim(waiting, _ask(1000), at(1))  # a refund on its way
    assert not closing.settled(waiting)
    asked = cleared_state(OrderStatus.completed, payments=[captured()])
    asked.alerts.append(Alert(alert_id="A1", type=AlertType.customer_request, raised_at=T0, detail="Q1"))
    assert not closing.settled(asked)
    asked.alerts[0].cleared_at = at(5)  # answered
    assert closing.settled(asked)
    declined = cleared_state(OrderStatus.completed, payments=[captured()])
    declined.alerts.append(Alert(alert_id="A2", type=AlertType.refund_failed, raised_at=T0, detail="R1 declined"))
    assert not closing.settled(declined)  # Head Office decides what next, on the order


def test_a_late_refund_is_claimed_under_the_refund_workflows_id_and_settled_once():
    state = cleared_state(OrderStatus.completed, payments=[captured()])
    claimed = late_refunds.claim(state, _ask(1500), at(100))
    assert claimed.refused_rule == ""
    [call] = claimed.calls
    assert call.request.operation_id == "refund-100001-k1:refund:1"
    assert (call.request.kind, call.request.amount, call.request.reference) == ("refund", gbp(1500), "cap-P1")
    result = GatewayResult(
        operation_id=call.request.operation_id, kind=call.request.kind, approved=True, reference="re-1",
        amount=gbp(1500), at=at(101),
    )  # fmt: skip
    assert late_refunds.settle(state, result, at(101))
    assert not late_refunds.settle(state, result, at(102))  # answered again: recorded once
    assert [(r.status, r.amount) for r in state.refunds] == [("refunded", gbp(1500))]
    assert state.operations == [] and closing.settled(state)
    assert late_refunds.claimed_calls(state, [call.request.operation_id]) == []


def test_a_late_refund_never_returns_more_than_was_taken_less_refunds():
    state = cleared_state(OrderStatus.completed, payments=[captured()], refunds=[refund(5000)])
    refused = late_refunds.claim(state, _ask(2501), at(100))
    assert refused.refused_rule == "refund_exceeds_captured" and refused.calls == []
    assert state.refunds == [refund(5000)]  # nothing changed
    assert late_refunds.claim(state, _ask(2500), at(100)).calls


def test_money_taken_outside_a_gateway_is_instructed_with_nothing_to_send():
    state = cleared_state(OrderStatus.completed, payments=[prepaid()])
    claimed = late_refunds.claim(state, _ask(1000), at(100))
    assert claimed.calls == [] and [r.status for r in state.refunds] == ["instructed"]
