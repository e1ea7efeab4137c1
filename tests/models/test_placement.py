"""Placing an order (models/placement.py): validation against the catalogue, and the order's first state."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.money import Money
from models.order import OrderStatus
from models.payment_policy import PaymentPolicy
from models.placement import FieldProblem, approval_reason, initial_payments, new_order, placement_problems
from models.placing import PlaceOrder
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
        "payment": {
            "mode": "prepaid",
            "method": "card",
            "amount": {"amount": payment, "currency": currency},
            "reference": "PSP-42",
        },
        "loyalty_offers": [
            {"code": f"LOY{i}", "discount": {"amount": a, "currency": c}} for i, (a, c) in enumerate(offers)
        ],
        "notes": notes or [],
    }
    return PlaceOrder.model_validate(body)


# ---- problems ----------------------------------------------------------------------------------------------------


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


# ---- the new order -----------------------------------------------------------------------------------------------


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
    assert state.payments[0].reference == "PSP-42"  # the channel's own reference: refunds are instructed against it
    assert state.paid() == gbp(7000) and state.outstanding() == gbp(0)
    assert state.approval_reason is None
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


# ---- properties --------------------------------------------------------------------------------------------------

line_specs = st.lists(st.tuples(st.integers(1, 999), st.integers(0, 1_000_000)), min_size=1, max_size=20)
discounts = st.lists(st.integers(0, 50_000_000), max_size=5)


@settings(deadline=None, max_examples=200)
@given(lines=line_specs, offers=discounts)
def test_order_total_is_lines_minus_discounts_floored_at_zero(lines: list[tuple[int, int]], offers: list[int]) -> None:
    order = place([("TEE-WHI-M", q, p) for q, p in lines], payment=0, offers=[(a, "GBP") for a in offers])
    gross = sum(q * p for q, p in lines)
    total = order.total()

    assert total >= 0
    assert total == max(0, gross - sum(offers))
    assert total <= gross


@settings(deadline=None, max_examples=100)
@given(lines=st.lists(st.tuples(st.sampled_from(["TEE-WHI-M", "JEAN-IND-32"]), st.integers(1, 999)), min_size=1))
def test_new_order_total_agrees_with_placement_total(lines: list[tuple[str, int]]) -> None:
    order = place([(sku, q, PRODUCTS[sku].price.amount) for sku, q in lines], offers=[(1000, "GBP")])
    assert placement_problems(order, PRODUCTS, OPEN_STORE) == []
    state = new_order("1", order, PRODUCTS, T0)
    assert state.total() == Money(amount=order.total(), currency="GBP")
    assert [line.line_id for line in state.lines] == [f"L{i}" for i in range(1, len(lines) + 1)]


# ---- payments at placement, approvals ----------------------------------------------------------------------------

TOTAL = 7500  # two tees at 15.00 and jeans at 45.00


def _order(
    payments: list[dict], channel: str = "web", customer: str = "C42", discount: int = 0
) -> PlaceOrder:
    return PlaceOrder.model_validate(
        {
            "web_reference": "WEB-1",
            "channel": channel,
            "customer": {"id": customer, "name": "Ada", "email": "ada@example.com"},
            "fulfilment": {"method": "click_and_collect", "store_id": "S001"},
            "lines": [
                {"sku": "TEE-WHI-M", "quantity": 2, "unit_price": {"amount": 1500, "currency": "GBP"}},
                {"sku": "JEAN-IND-32", "quantity": 1, "unit_price": {"amount": 4500, "currency": "GBP"}},
            ],
            "loyalty_offers": [{"code": "X", "discount": {"amount": discount, "currency": "GBP"}}] if discount else [],
            **({"payment": payments[0]} if len(payments) == 1 else {"payments": payments}),
        }
    )


def _pay(mode: str, amount: int, method: str = "card", currency: str = "GBP", **extra: str) -> dict:
    needs = {"token": "tok_approve"} if mode in ("auth_capture", "authorise") else {}
    if mode == "prepaid":
        needs = {"reference": "PSP-1"}
    return {"mode": mode, "method": method, "amount": {"amount": amount, "currency": currency}, **needs, **extra}


def _problems(order: PlaceOrder, policy: PaymentPolicy | None = None) -> list[tuple[str, str]]:
    return [(p.field, p.message) for p in placement_problems(order, PRODUCTS, OPEN_STORE, policy)]


def test_a_card_plus_gift_card_split_is_accepted_and_stored_value_comes_first() -> None:
    order = _order([_pay("authorise", 5500), _pay("auth_capture", 2000, method="gift_card")])
    assert _problems(order) == []
    payments = initial_payments(order, "test", T0)
    assert [(p.payment_id, p.method, p.status, p.gateway) for p in payments] == [
        ("P1", "gift_card", "pending", "test"),
        ("P2", "card", "pending", "test"),
    ]


@pytest.mark.parametrize(
    ("payments", "field", "message"),
    [
        ([_pay("authorise", 5500), _pay("authorise", 2000)], "payments", "gift card or wallet"),
        ([_pay("prepaid", 5500, method="wallet"), _pay("prepaid", 2000, method="gift_card")], "payments", "gift card"),
        ([_pay("authorise", 7500), _pay("prepaid", 0, method="gift_card")], "payments[1].amount.amount", "more than"),
        ([_pay("offline", 7500, method="gift_card")], "payment.mode", "taken at once"),
        ([_pay("authorise", 7000)], "payment.amount.amount", "comes to 7500, not 7000"),
        ([_pay("authorise", 5500), _pay("prepaid", 1000, method="gift_card")], "payments", "not 6500"),
        ([_pay("authorise", 7500, gateway="stripe")], "payment.gateway", "unknown gateway 'stripe' (known: test)"),
    ],
)
def test_payment_problems_name_the_field(payments: list[dict], field: str, message: str) -> None:
    problems = _problems(_order(payments))
    assert [f for f, _m in problems] == [field]
    assert message in problems[0][1]


def test_a_gateway_baton_does_not_have_is_refused_by_the_request() -> None:
    with pytest.raises(ValueError, match="'test' or 'stripe'"):
        _order([_pay("authorise", 7500, gateway="paypal")])


def test_mixing_currencies_is_refused() -> None:
    order = _order([_pay("authorise", 5500), _pay("prepaid", 2000, method="gift_card", currency="EUR")])
    assert ("payments[1].amount.currency", "every amount must be in GBP") in _problems(order)


def test_gateway_modes_need_a_token() -> None:
    with pytest.raises(ValueError, match="needs the card token"):
        _order([{"mode": "authorise", "method": "card", "amount": {"amount": 7500, "currency": "GBP"}}])


def test_prepaid_needs_the_channels_reference() -> None:
    with pytest.raises(ValueError, match="needs the channel's payment reference"):
        _order([{"mode": "prepaid", "method": "card", "amount": {"amount": 7500, "currency": "GBP"}}])


def test_payment_or_payments_but_not_both_nor_neither() -> None:
    body = _order([_pay("prepaid", 7500)]).model_dump(mode="json")
    with pytest.raises(ValueError, match="either `payment` or `payments`"):
        PlaceOrder.model_validate({**body, "payments": [_pay("prepaid", 7500)]})
    with pytest.raises(ValueError, match="either `payment` or `payments`"):
        PlaceOrder.model_validate({**body, "payment": None})


def test_blocked_customer_is_refused() -> None:
    policy = PaymentPolicy(blocked_customers=["C42"])
    assert _problems(_order([_pay("prepaid", 7500)]), policy) == [
        ("customer.id", "customer C42 is blocked; the order is refused")
    ]


@pytest.mark.parametrize(
    ("policy", "channel", "customer", "reason"),
    [
        (PaymentPolicy(), "web", "C42", None),
        (PaymentPolicy(approval_channels=["phone"]), "phone", "C42", "orders from the phone channel need approval"),
        (PaymentPolicy(approval_channels=["phone"]), "web", "C42", None),
        (PaymentPolicy(approval_customers=["C42"]), "web", "C42", "customer C42 needs approval for every order"),
        (
            PaymentPolicy(approval_above={"GBP": 7499}),
            "web",
            "C42",
            "the order (75.00 GBP before discounts) is above 74.99 GBP",
        ),
        (PaymentPolicy(approval_above={"GBP": 7500}), "web", "C42", None),
        (PaymentPolicy(approval_above={"EUR": 1}), "web", "C42", None),
    ],
)
def test_approval_reason(policy: PaymentPolicy, channel: str, customer: str, reason: str | None) -> None:
    order = _order([_pay("prepaid", 7500)], channel=channel, customer=customer)
    state = new_order("100001", order, PRODUCTS, T0, policy)
    assert state.approval_reason == reason
    assert state.payment_policy == policy


def test_approval_reason_judges_the_amount_before_discounts() -> None:
    order = _order([_pay("prepaid", 5500)], discount=2000)  # 75.00 less 20.00: under the limit after discounts
    reason = approval_reason(order, "GBP", PaymentPolicy(approval_above={"GBP": 6000}))
    assert reason == "the order (75.00 GBP before discounts) is above 60.00 GBP"


@pytest.mark.parametrize(("discount", "needs"), [(3750, False), (3751, True)])
def test_approval_reason_discount_share(discount: int, needs: bool) -> None:
    order = _order([_pay("prepaid", TOTAL - discount)], discount=discount)
    reason = approval_reason(order, "GBP", PaymentPolicy(approval_discount_share=0.5))
    assert (reason == f"the discount ({gbp(discount)}) is more than 50% of the order") is needs
    assert (reason is None) is not needs


def test_approval_reason_an_order_that_comes_to_nothing() -> None:
    order = _order([_pay("prepaid", 0)], discount=TOTAL)
    assert approval_reason(order, "GBP", PaymentPolicy(approval_discount_share=1)) == "the order comes to nothing"


def test_initial_status_per_mode() -> None:
    modes = {"prepaid": "taken", "auth_capture": "pending", "authorise": "pending", "offline": "awaiting"}
    modes["on_collection"] = "due"
    for mode, status in modes.items():
        (payment,) = initial_payments(_order([_pay(mode, 7500)]), "test", T0)
        assert payment.status == status, mode
        assert (payment.gateway is not None) == (mode in ("auth_capture", "authorise"))


def test_initial_gateway_payment_of_nothing_is_taken_without_a_gateway_call() -> None:
    (payment,) = initial_payments(_order([_pay("authorise", 0)], discount=TOTAL), "test", T0)
    assert (payment.status, payment.at) == ("taken", T0)
