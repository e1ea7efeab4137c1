"""Placing an order (models/placement.py): validation against the catalogue, and the order's first state."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.money import Money
from models.order import OrderStatus, PlaceOrder
from models.placement import FieldProblem, new_order, order_total, placement_problems
from tests.models.factories import CLOSED_STORE, OPEN_STORE, PRODUCTS, STORE, T0, WAREHOUSE, gbp


def place(
    lines: list[tuple[str, int, int] | tuple[str, int, int, str]] | None = None,
    *,
    store_id: str = STORE,
    payment: int | None = None,
    currency: str = "GBP",
    offers: list[tuple[int, str]] | None = None,
    notes: list[str] | None = None,
    channel: str = "web",
) -> PlaceOrder:
    """A PlaceOrder; lines are (sku, quantity, unit price[, currency]); payment defaults to the right total."""
    lines = lines if lines is not None else [("TEE-WHI-M", 2, 1500), ("JEAN-IND-32", 1, 4500)]
    offers = offers or []
    if payment is None:
        payment = max(0, sum(q * p for _s, q, p, *_c in lines) - sum(a for a, _c in offers))
    body: dict[str, Any] = {
        "web_reference": "WEB-42",
        "channel": channel,
        "customer": {"id": "C42", "name": "Ada Lovelace", "email": "ada@example.com"},
        "fulfilment": {"method": "click_and_collect", "store_id": store_id},
        "lines": [
            {"sku": sku, "quantity": q, "unit_price": {"amount": p, "currency": c[0] if c else currency}}
            for sku, q, p, *c in lines
        ],
        "payment": {"mode": "prepaid", "method": "card", "amount": {"amount": payment, "currency": currency}},
        "loyalty_offers": [
            {"code": f"LOY{i}", "discount": {"amount": a, "currency": c}} for i, (a, c) in enumerate(offers)
        ],
        "notes": notes or [],
    }
    return PlaceOrder.model_validate(body)


# ---- problems ------------------------------------------------------------------------------------


def test_placement_problems_empty_when_order_valid() -> None:
    assert placement_problems(place(), PRODUCTS, OPEN_STORE) == []


def test_placement_problems_unknown_store() -> None:
    problems = placement_problems(place(store_id="S999"), PRODUCTS, None)
    assert problems == [FieldProblem("fulfilment.store_id", "unknown store 'S999'")]


def test_placement_problems_store_not_enabled_for_click_and_collect() -> None:
    problems = placement_problems(place(store_id="S004"), PRODUCTS, CLOSED_STORE)
    assert problems == [FieldProblem("fulfilment.store_id", "store S004 is not enabled for click & collect")]


def test_placement_problems_warehouse_as_store() -> None:
    problems = placement_problems(place(store_id="W001"), PRODUCTS, WAREHOUSE)
    assert problems == [FieldProblem("fulfilment.store_id", "unknown store 'W001'")]


def test_placement_problems_unknown_sku_at_its_line() -> None:
    order = place([("TEE-WHI-M", 1, 1500), ("NOPE-1", 1, 100)])
    assert placement_problems(order, PRODUCTS, OPEN_STORE) == [FieldProblem("lines[1].sku", "unknown SKU 'NOPE-1'")]


def test_placement_problems_price_mismatch_at_its_line() -> None:
    order = place([("TEE-WHI-M", 1, 1500), ("JEAN-IND-32", 1, 3999)])
    assert placement_problems(order, PRODUCTS, OPEN_STORE) == [
        FieldProblem("lines[1].unit_price.amount", "JEAN-IND-32 costs 4500, not 3999")
    ]


def test_placement_problems_line_currency_differs_from_catalogue() -> None:
    order = place([("EURO-TEE", 1, 1700, "GBP")])
    assert placement_problems(order, PRODUCTS, OPEN_STORE) == [
        FieldProblem("lines[0].unit_price.currency", "EURO-TEE is sold in EUR, not GBP")
    ]


def test_placement_problems_line_currency_differs_from_payment() -> None:
    order = place([("TEE-WHI-M", 1, 1500), ("EURO-TEE", 1, 1700, "EUR")], payment=3200)
    assert placement_problems(order, PRODUCTS, OPEN_STORE) == [
        FieldProblem("lines[1].unit_price.currency", "every amount must be in GBP")
    ]


def test_placement_problems_loyalty_discount_currency() -> None:
    order = place(offers=[(100, "GBP"), (200, "EUR")])
    assert placement_problems(order, PRODUCTS, OPEN_STORE) == [
        FieldProblem("loyalty_offers[1].discount.currency", "every amount must be in GBP")
    ]


@pytest.mark.parametrize("paid", [0, 7499, 7501, 10_000])
def test_placement_problems_payment_not_equal_to_total(paid: int) -> None:
    problems = placement_problems(place(payment=paid), PRODUCTS, OPEN_STORE)
    assert problems == [FieldProblem("payment.amount.amount", f"the order comes to 7500, not {paid}")]


def test_placement_problems_payment_counts_loyalty_discount() -> None:
    assert placement_problems(place(payment=7000, offers=[(500, "GBP")]), PRODUCTS, OPEN_STORE) == []
    assert placement_problems(place(payment=7500, offers=[(500, "GBP")]), PRODUCTS, OPEN_STORE) == [
        FieldProblem("payment.amount.amount", "the order comes to 7000, not 7500")
    ]


def test_placement_problems_discount_above_total_means_nothing_to_pay() -> None:
    assert placement_problems(place(payment=0, offers=[(99_999, "GBP")]), PRODUCTS, OPEN_STORE) == []


def test_placement_problems_reports_every_problem_at_once() -> None:
    order = place([("NOPE-1", 1, 100), ("JEAN-IND-32", 1, 1)], store_id="S999", payment=1)
    fields = [p.field for p in placement_problems(order, PRODUCTS, None)]
    assert fields == ["fulfilment.store_id", "lines[0].sku", "lines[1].unit_price.amount"]


def test_placement_problems_payment_not_checked_when_lines_are_wrong() -> None:
    order = place([("JEAN-IND-32", 1, 1)], payment=4500)
    assert [p.field for p in placement_problems(order, PRODUCTS, OPEN_STORE)] == ["lines[0].unit_price.amount"]


# ---- the new order -------------------------------------------------------------------------------


def test_new_order_numbers_lines_and_copies_catalogue() -> None:
    order = place([("TEE-WHI-M", 2, 1500), ("JEAN-IND-32", 1, 4500), ("TEE-WHI-M", 1, 1500)])
    state = new_order("100042", order, PRODUCTS, T0)

    assert [line.line_id for line in state.lines] == ["L1", "L2", "L3"]
    assert [(line.sku, line.style, line.size, line.colour) for line in state.lines] == [
        ("TEE-WHI-M", "TEE", "M", "white"),
        ("JEAN-IND-32", "JEAN", "32", "indigo"),
        ("TEE-WHI-M", "TEE", "M", "white"),
    ]
    assert [(line.quantity, line.unit_price) for line in state.lines] == [
        (2, gbp(1500)),
        (1, gbp(4500)),
        (1, gbp(1500)),
    ]
    assert all(line.picked_quantity is None for line in state.lines)


def test_new_order_starts_received_with_payment_taken() -> None:
    order = place(offers=[(500, "GBP")], notes=["gift wrap please"])
    state = new_order("100042", order, PRODUCTS, T0)

    assert (state.order_number, state.web_reference, state.store_id) == ("100042", "WEB-42", STORE)
    assert state.status is OrderStatus.received
    assert state.status_since == state.created_at == T0
    assert [(p.mode, p.method, p.amount, p.status) for p in state.payments] == [("prepaid", "card", gbp(7000), "taken")]
    assert state.total() == gbp(7000)
    assert [o.code for o in state.loyalty_offers] == ["LOY0"]
    assert [(n.text, n.actor, n.client_facing, n.at) for n in state.notes] == [
        ("gift wrap please", "web:C42", True, T0)
    ]
    assert state.alerts == [] and state.store_update_pending_since is None


@pytest.mark.parametrize("channel", ["web", "store", "phone"])
def test_new_order_records_order_placed_by_channel_and_customer(channel: str) -> None:
    state = new_order("100042", place(channel=channel), PRODUCTS, T0)
    [entry] = state.history
    assert (entry.actor, entry.action, entry.at) == (f"{channel}:C42", "order_placed", T0)
    assert entry.detail == "2 line(s), web reference WEB-42"
    assert state.version == 1


# ---- properties ----------------------------------------------------------------------------------

line_specs = st.lists(st.tuples(st.integers(1, 999), st.integers(0, 1_000_000)), min_size=1, max_size=20)
discounts = st.lists(st.integers(0, 50_000_000), max_size=5)


@settings(deadline=None, max_examples=200)
@given(lines=line_specs, offers=discounts)
def test_order_total_is_lines_minus_discounts_floored_at_zero(lines: list[tuple[int, int]], offers: list[int]) -> None:
    order = place([("TEE-WHI-M", q, p) for q, p in lines], payment=0, offers=[(a, "GBP") for a in offers])
    gross = sum(q * p for q, p in lines)
    total = order_total(order)

    assert total >= 0
    assert total == max(0, gross - sum(offers))
    assert total <= gross


@settings(deadline=None, max_examples=100)
@given(lines=st.lists(st.tuples(st.sampled_from(["TEE-WHI-M", "JEAN-IND-32"]), st.integers(1, 999)), min_size=1))
def test_new_order_total_agrees_with_placement_total(lines: list[tuple[str, int]]) -> None:
    order = place([(sku, q, PRODUCTS[sku].price.amount) for sku, q in lines], offers=[(1000, "GBP")])
    assert placement_problems(order, PRODUCTS, OPEN_STORE) == []
    state = new_order("1", order, PRODUCTS, T0)
    assert state.total() == Money(amount=order_total(order), currency="GBP")
    assert [line.line_id for line in state.lines] == [f"L{i}" for i in range(1, len(lines) + 1)]
