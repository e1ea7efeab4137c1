"""What leaves an order's workflow (models/views.py): one view per audience, each built field by field, none
carrying a card token, the payment policy's customer lists or the order's internal counters."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pydantic import BaseModel

from models import journey, operations, views
from models.effects import Effects
from models.order import LineFulfilment, Note, OrderState, OrderStatus
from models.payment_policy import PaymentPolicy
from models.payments import GatewayOperationKind
from models.transition import transition_of
from tests.models.factories import T0, TOKEN, at, captured, card, cleared_state, due, gbp, prepaid, refund

S = OrderStatus
APPROVAL_CUSTOMER = "VIP-CUSTOMER-LIST-9"
BLOCKED_CUSTOMER = "BLOCKED-CUSTOMER-LIST-7"
SEEN_EVENT = "evt-seen-only-internally"
INTERNAL = ["money_operations", "store_messages", "seen_event_ids", "payment_policy", "published_history",
            "published_events", "approval_customers", "blocked_customers", "token"]
VIEWS: dict[str, Callable[[OrderState], BaseModel]] = {
    "for_api": views.for_api,
    "for_store": views.for_store,
    "for_event": views.for_event,
    "for_extract": views.for_extract,
}


def _order(status: OrderStatus = S.ready_for_collection) -> OrderState:
    """An order whose payments carry tokens, with a policy listing customers and internal counters moved on."""
    policy = PaymentPolicy(approval_customers=[APPROVAL_CUSTOMER], blocked_customers=[BLOCKED_CUSTOMER])
    state = cleared_state(
        status,
        payments=[captured(2000, "P1", method="gift_card"), card("authorised", 5500, "P2")],
        payment_policy=policy,
        money_operations=7,
        store_messages=3,
        seen_event_ids=[SEEN_EVENT],
        notes=[
            Note(at=at(1), actor="web", text="gift wrap please", client_facing=True),
            Note(at=at(2), actor="ho:alice", text="internal: call the bank", client_facing=False),
        ],
    )
    operations.queue(state, state.payments[1], GatewayOperationKind.capture, 5500, T0, reference="auth-P2")
    return state


def test_the_order_state_itself_holds_what_the_views_leave_out() -> None:
    text = _order().model_dump_json()
    assert TOKEN in text and APPROVAL_CUSTOMER in text and BLOCKED_CUSTOMER in text and SEEN_EVENT in text
    assert all(f'"{word}"' in text for word in INTERNAL[:5])


@pytest.mark.parametrize("name", list(VIEWS))
@pytest.mark.parametrize("status", [S.ready_for_collection, S.completed, S.cancelled])
def test_views_never_carry_tokens_policy_lists_or_counters(name: str, status: OrderStatus) -> None:
    text = VIEWS[name](_order(status)).model_dump_json()
    assert TOKEN not in text
    assert APPROVAL_CUSTOMER not in text and BLOCKED_CUSTOMER not in text
    assert SEEN_EVENT not in text
    assert [word for word in INTERNAL if f'"{word}"' in text] == []


@pytest.mark.parametrize("name", ["for_store", "for_event", "for_extract"])
def test_views_outside_head_office_carry_no_gateway_reference(name: str) -> None:
    state = _order(S.completed)
    state.refunds.append(refund(500, "P1"))
    state.refunds[-1].reference = "re_gateway_77"
    text = VIEWS[name](state).model_dump_json()
    assert "cap-P1" not in text and "auth-P2" not in text and "re_gateway_77" not in text


def test_transition_carries_no_token_in_its_projection_or_store_messages() -> None:
    state = _order()
    text = transition_of(state, Effects().tell_store("order_updated")).model_dump_json()
    assert TOKEN not in text and APPROVAL_CUSTOMER not in text and BLOCKED_CUSTOMER not in text


# ---- for_api -----------------------------------------------------------------------------------------------------


def test_for_api_counts_money_that_moved() -> None:
    view = views.for_api(_order())
    assert (view.total, view.paid, view.authorised, view.refunded) == (gbp(7500), gbp(2000), gbp(5500), gbp(0))
    assert view.outstanding == view.balance == gbp(5500)
    assert [p.payment_id for p in view.payments] == ["P1", "P2"]
    assert view.workflow_id == "order-100001"


def test_for_api_flags_a_payment_whose_outcome_is_unknown() -> None:
    state = _order()
    operations.mark_unknown(state, state.operations[0], "timed out", at(1))
    assert [p.outcome_unknown for p in views.for_api(state).payments] == [False, True]


def test_for_api_outstanding_is_the_total_less_money_kept() -> None:
    state = cleared_state(payments=[prepaid(7500)], refunds=[refund(1500, status="instructed")])
    view = views.for_api(state)
    assert (view.paid, view.refunded, view.outstanding) == (gbp(7500), gbp(1500), gbp(1500))


# ---- for_store ---------------------------------------------------------------------------------------------------


def test_for_store_says_what_to_take_at_the_till_and_only_client_facing_notes() -> None:
    state = _order()
    state.payments.append(due(800, "P3"))
    view = views.for_store(state)
    assert view.due_at_handover == gbp(800)
    assert view.notes == ["gift wrap please"]
    assert [(line.line_id, line.quantity) for line in view.lines] == [("L1", 2), ("L2", 1)]
    assert (view.customer_name, view.update_pending) == ("Ada Lovelace", False)


# ---- for_event ---------------------------------------------------------------------------------------------------


def test_for_event_summarises_without_personal_data_beyond_ids() -> None:
    summary = views.for_event(_order())
    assert (summary.customer_id, summary.total, summary.paid, summary.line_count) == ("C42", gbp(7500), gbp(2000), 2)
    assert "Ada" not in summary.model_dump_json() and "ada@example.com" not in summary.model_dump_json()


# ---- for_extract -------------------------------------------------------------------------------------------------


def test_for_extract_names_the_channels_reference_of_an_instructed_refund_only() -> None:
    state = cleared_state(S.cancelled, refunds=[refund(7500, status="instructed")])
    state.refunds[0].reference = "PSP-1"
    assert views.for_extract(state).last_refund.payment_reference == "PSP-1"  # type: ignore[union-attr]
    state.refunds[0].status = "refunded"
    assert views.for_extract(state).last_refund.payment_reference == ""  # type: ignore[union-attr]


def test_for_extract_leaves_out_refunds_not_done() -> None:
    state = cleared_state(S.cancelled, refunds=[refund(7500, status="requested")])
    assert views.for_extract(state).last_refund is None


def test_for_extract_line_statuses_and_who_cancelled() -> None:
    state = cleared_state(S.acknowledged)
    state.line("L1").picked_quantity = 2
    state.line("L2").fulfilment = LineFulfilment.buy_in_store
    assert [line.status for line in views.for_extract(state).lines] == ["picked", "buy_in_store"]
    journey.transition(state, S.cancelled, at(5), "ho:alice", "order_cancelled")
    assert views.for_extract(state).cancelled_by == "order_cancelled"
    assert [n.text for n in views.for_extract(state).notes] == []
