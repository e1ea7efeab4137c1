"""B2B accounts' pure rules (models/b2b.py, models/b2b_orders.py): an account's limits block or hold a buyer's
order judged on its gross, placement keeps the account and references, only a listed approver answers for the
account, and Head Office's third-party invoice numbers are kept once each, audited."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from models.b2b import B2BAccount, B2BOrder, ThirdPartyInvoice, approval_reason, block_problem
from models.b2b_orders import (
    ADDED,
    MAX_INVOICES,
    b2b_at_placement,
    contact_approval_problem,
    placement_problems,
)
from models.money import MAX_AMOUNT
from models.order import OrderStatus
from models.placing import PlaceOrder
from tests.models.factories import applied, cleared_state, refused_by
from tests.support import order_body

AMOUNTS = st.integers(min_value=0, max_value=MAX_AMOUNT)


def _account(**changes: object) -> B2BAccount:
    fields: dict[str, object] = {"name": "Acme", "buyers": ["C42"], "approvers": ["BOSS"], "currency": "GBP"}
    return B2BAccount.model_validate({**fields, **changes})


@given(gross=AMOUNTS, limit=AMOUNTS)
def test_an_order_is_blocked_exactly_when_its_gross_is_above_the_limit(gross: int, limit: int) -> None:
    problem = block_problem("ACME", _account(block_above=limit), gross, "GBP")
    assert (problem is not None) == (gross > limit)
    if problem is not None:
        assert problem[0] == "lines" and "ACME's block limit" in problem[1]


@given(gross=AMOUNTS, limit=AMOUNTS)
def test_an_order_waits_for_the_approver_exactly_above_the_approval_limit_or_always_at_zero(
    gross: int, limit: int
) -> None:
    reason = approval_reason("ACME", _account(approval_above=limit), gross)
    assert (reason is not None) == (limit == 0 or gross > limit)
    assert approval_reason("ACME", _account(), gross) is None  # no approval limit: nothing waits


def test_a_buyers_order_in_another_currency_is_refused() -> None:
    assert block_problem("ACME", _account(), 100, "EUR") == ("customer.id", "account ACME orders in GBP, not EUR")


def test_an_account_that_needs_approval_needs_an_approver() -> None:
    with pytest.raises(ValidationError, match="at least one approver"):
        _account(approvers=[], approval_above=0)


def test_placement_keeps_the_account_references_and_costs_and_holds_for_the_approver() -> None:
    body = order_body(customer_reference="REF-1", purchase_order_number="PO-1")
    body["lines"][0]["unit_cost"] = {"amount": 700, "currency": "GBP"}
    order = PlaceOrder.model_validate(body)
    state = cleared_state(OrderStatus.received)
    state.approval_reason = None
    b2b_at_placement(state, order, ("ACME", _account(approval_above=0)))
    assert state.b2b == B2BOrder(account_id="ACME", customer_reference="REF-1", purchase_order_number="PO-1")
    assert state.approval_reason == "needs approval by account ACME's approver"
    assert state.lines[0].unit_cost is not None and state.lines[0].unit_cost.amount == 700

    held = cleared_state(OrderStatus.received)
    held.approval_reason = "orders from the web channel need approval"  # Head Office's own policy holds it
    b2b_at_placement(held, order, ("ACME", _account(approval_above=0)))
    assert held.approval_reason == "orders from the web channel need approval"

    plain = cleared_state(OrderStatus.received)
    b2b_at_placement(plain, PlaceOrder.model_validate(order_body()), None)
    assert plain.b2b is None


def test_placement_problems_name_the_cost_currency_and_the_block_limit() -> None:
    body = order_body()
    body["lines"][1]["unit_cost"] = {"amount": 700, "currency": "EUR"}
    order = PlaceOrder.model_validate(body)
    problems = placement_problems(order, "GBP", ("ACME", _account(block_above=1)))
    assert [p.field for p in problems] == ["lines[1].unit_cost.currency", "lines"]


def test_only_a_listed_approver_answers_an_order_waiting_for_its_account() -> None:
    placed = B2BOrder(account_id="ACME")
    waiting = "needs approval by account ACME's approver"
    assert contact_approval_problem(placed, waiting, "BOSS", _account()) is None
    assert contact_approval_problem(placed, waiting, "C42", _account()) == (
        403,
        "C42 is not an approver of account ACME",
    )
    assert contact_approval_problem(placed, "the order comes to nothing", "BOSS", _account())[0] == 422  # type: ignore[index]
    assert contact_approval_problem(None, waiting, "BOSS", _account())[0] == 422  # type: ignore[index]


def test_third_party_invoices_are_kept_once_each_and_audited() -> None:
    assert refused_by("add_third_party_invoice", cleared_state()) == "not_a_b2b_order"
    state = cleared_state(b2b=B2BOrder(purchase_order_number="PO-1"))
    applied("add_third_party_invoice", state)
    assert state.b2b is not None and state.b2b.third_party_invoices == [ThirdPartyInvoice(number="INV-1", system="SAP")]
    assert state.history[-1].action == ADDED
    assert refused_by("add_third_party_invoice", state) == "invoice_known"
    state.b2b.third_party_invoices = [ThirdPartyInvoice(number=f"I{i}") for i in range(MAX_INVOICES)]
    assert refused_by("add_third_party_invoice", state) == "too_many_invoices"
    waiting = cleared_state(OrderStatus.awaiting_approval, b2b=B2BOrder(account_id="ACME"))
    assert refused_by("add_third_party_invoice", waiting) == "order_not_approved"
    cancelled = cleared_state(OrderStatus.cancelled, b2b=B2BOrder(account_id="ACME"))
    assert refused_by("add_third_party_invoice", cancelled) == "order_cancelled"
