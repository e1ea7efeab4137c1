"""The marketplace rules, pure: the parent's status from its children's, the merchant's payout (sale less commission),
and a basket split into one child per merchant whose shares add up to the one payment."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.marketplace import RETAILER, BasketProblem, ParentStatus, parent_status, payout, split_basket
from models.order import OrderStatus
from models.placing import Fulfilment, PlaceOrder
from tests.support import order_body

statuses = st.lists(st.sampled_from(list(OrderStatus)), min_size=1, max_size=6)
FINAL = {OrderStatus.completed, OrderStatus.cancelled}


@given(statuses)
def test_the_parent_completes_only_when_every_child_is_completed_or_cancelled(children: list[OrderStatus]) -> None:
    status = parent_status(children)
    every_final = all(child in FINAL for child in children)
    assert (status in (ParentStatus.completed, ParentStatus.cancelled)) == every_final
    assert (status is ParentStatus.cancelled) == all(child is OrderStatus.cancelled for child in children)
    if status is ParentStatus.completed:
        assert OrderStatus.completed in children


@given(statuses)
def test_a_running_parent_is_partially_completed_exactly_when_a_child_completed(children: list[OrderStatus]) -> None:
    status = parent_status(children)
    if status in (ParentStatus.in_progress, ParentStatus.partially_completed):
        assert (status is ParentStatus.partially_completed) == (OrderStatus.completed in children)


@given(statuses, st.permutations(range(6)))
def test_the_order_of_the_children_does_not_matter(children: list[OrderStatus], order: list[int]) -> None:
    shuffled = [children[index] for index in order if index < len(children)]
    assert parent_status(shuffled) is parent_status(children)


def test_a_parent_without_children_is_refused_and_the_examples_read_as_they_should() -> None:
    with pytest.raises(ValueError):
        parent_status([])
    assert parent_status(["completed", "acknowledged"]) is ParentStatus.partially_completed
    assert parent_status(["cancelled", "acknowledged"]) is ParentStatus.in_progress
    assert parent_status(["cancelled", "completed"]) is ParentStatus.completed


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=10_000))
def test_the_merchant_is_owed_the_sale_less_the_commission_to_the_minor_unit(sale: int, bp: int) -> None:
    owed = payout(sale, bp)
    assert owed.owed + owed.commission == sale and 0 <= owed.commission <= sale
    assert abs(owed.commission * 10_000 - sale * bp) <= 5_000  # rounded to the nearest minor unit
    if bp < 10_000:
        assert payout(sale, bp + 1).commission >= owed.commission


def test_a_payout_refuses_a_negative_sale_or_a_commission_past_100_percent() -> None:
    for sale, bp in ((-1, 0), (100, 10_001), (100, -1)):
        with pytest.raises(ValueError):
            payout(sale, bp)


SKUS = ["TEE-WHI-M", "JEAN-IND-32", "TEE-BLK-S", "SOCK-GRY-OS"]


@given(
    st.lists(st.tuples(st.sampled_from(SKUS), st.integers(min_value=1, max_value=5)), min_size=2, max_size=6),
    st.dictionaries(st.sampled_from(SKUS), st.sampled_from(["acme", "bolt", "cord"])),
)
def test_each_merchant_gets_its_lines_and_the_shares_add_up_to_the_payment(lines, owners) -> None:
    prices = {"TEE-WHI-M": 1500, "JEAN-IND-32": 4500, "TEE-BLK-S": 1200, "SOCK-GRY-OS": 399}
    body = order_body(lines=[(SKUS[0], 1)])
    body["lines"] = [
        {"sku": sku, "quantity": qty, "unit_price": {"amount": prices[sku], "currency": "GBP"}} for sku, qty in lines
    ]
    body["payment"]["amount"]["amount"] = sum(prices[sku] * qty for sku, qty in lines)
    basket = PlaceOrder.model_validate(body)
    owner_set = {owners.get(sku, RETAILER) for sku, _qty in lines}
    where = {owner: Fulfilment(method="click_and_collect", store_id=f"S-{owner or 'own'}") for owner in owner_set}
    if len(owner_set) < 2:
        with pytest.raises(BasketProblem):
            split_basket(basket, owners, where)
        return
    children = split_basket(basket, owners, where)
    assert {child.merchant_id for child in children} == owner_set
    assert sum(child.order.payment.amount.amount for child in children if child.order.payment) == basket.gross()
    for child in children:
        assert all(owners.get(line.sku, RETAILER) == child.merchant_id for line in child.order.lines)
        assert child.order.payment is not None and child.order.payment.amount.amount == child.order.gross()
        assert child.order.fulfilment == where[child.merchant_id]
    assert sorted(line.sku for child in children for line in child.order.lines) == sorted(sku for sku, _ in lines)


def test_a_basket_paid_twice_or_for_less_than_its_value_is_refused_naming_the_field() -> None:
    body = order_body(lines=[("TEE-WHI-M", 1), ("JEAN-IND-32", 1)])
    owners = {"TEE-WHI-M": "acme"}
    where = {owner: Fulfilment(method="click_and_collect", store_id="S001") for owner in ("acme", RETAILER)}
    short = {**body, "payment": {**body["payment"], "amount": {"amount": 1, "currency": "GBP"}}}
    with pytest.raises(BasketProblem) as problem:
        split_basket(PlaceOrder.model_validate(short), owners, where)
    assert problem.value.field == "payment.amount"
    offers = {**body, "loyalty_offers": [{"code": "X", "discount": {"amount": 100, "currency": "GBP"}}]}
    with pytest.raises(BasketProblem) as problem:
        split_basket(PlaceOrder.model_validate(offers), owners, where)
    assert problem.value.field == "loyalty_offers"
