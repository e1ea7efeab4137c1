"""Settling payments (models/settlement.py): the split rule, approvals, captures, refunds, re-authorisation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models import journey, settlement
from models.order import AlertType, OrderStatus, PaymentRecord, PlaceOrder
from models.payment_policy import PaymentPolicy
from models.payments import GatewayOperationKind, GatewayResult
from models.placement import new_order, placement_problems
from tests.models.factories import OPEN_STORE, PRODUCTS, T0, at, gbp, make_state

TOTAL = 7500  # two tees at 15.00 and jeans at 45.00


def _order(payments: list[dict], channel: str = "web", customer: str = "C42") -> PlaceOrder:
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
            **({"payment": payments[0]} if len(payments) == 1 else {"payments": payments}),
        }
    )


def _pay(mode: str, amount: int, method: str = "card", currency: str = "GBP", **extra: str) -> dict:
    token = {"token": "tok_approve"} if mode in ("auth_capture", "authorise") else {}
    return {"mode": mode, "method": method, "amount": {"amount": amount, "currency": currency}, **token, **extra}


def _problems(order: PlaceOrder, policy: PaymentPolicy | None = None) -> list[tuple[str, str]]:
    return [(p.field, p.message) for p in placement_problems(order, PRODUCTS, OPEN_STORE, policy)]


# ---- placing ---------------------------------------------------------------------------------------


def test_a_card_plus_gift_card_split_is_accepted_and_stored_value_comes_first() -> None:
    order = _order([_pay("authorise", 5500), _pay("auth_capture", 2000, method="gift_card")])
    assert _problems(order) == []
    payments = settlement.initial_payments(order, "test", T0)
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
        ([_pay("authorise", 5500), _pay("prepaid", 1000, method="gift_card")], "payments", "comes to 7500, not 6500"),
        ([_pay("authorise", 7500, gateway="paypal")], "payment.gateway", "unknown gateway 'paypal'"),
    ],
)
def test_payment_problems_name_the_field(payments: list[dict], field: str, message: str) -> None:
    problems = _problems(_order(payments))
    assert [f for f, _m in problems] == [field]
    assert message in problems[0][1]


def test_mixing_currencies_is_refused() -> None:
    order = _order([_pay("authorise", 5500), _pay("prepaid", 2000, method="gift_card", currency="EUR")])
    assert ("payments[1].amount.currency", "every amount must be in GBP") in _problems(order)


def test_gateway_modes_need_a_token() -> None:
    with pytest.raises(ValueError, match="needs the card token"):
        _order([{"mode": "authorise", "method": "card", "amount": {"amount": 7500, "currency": "GBP"}}])


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
        (PaymentPolicy(approval_above={"GBP": 7499}), "web", "C42", "the order (75.00 GBP) is above 74.99 GBP"),
        (PaymentPolicy(approval_above={"GBP": 7500}), "web", "C42", None),
        (PaymentPolicy(approval_above={"EUR": 1}), "web", "C42", None),
    ],
)
def test_approval_reason(policy: PaymentPolicy, channel: str, customer: str, reason: str | None) -> None:
    order = _order([_pay("prepaid", 7500)], channel=channel, customer=customer)
    state = new_order("100001", order, PRODUCTS, T0, policy)
    assert state.approval_reason == reason
    assert state.payment_policy == policy


def test_initial_status_per_mode() -> None:
    modes = {"prepaid": "taken", "auth_capture": "pending", "authorise": "pending", "offline": "awaiting"}
    modes["on_collection"] = "due"
    for mode, status in modes.items():
        (payment,) = settlement.initial_payments(_order([_pay(mode, 7500)]), "test", T0)
        assert payment.status == status, mode
        assert (payment.gateway is not None) == (mode in ("auth_capture", "authorise"))


# ---- gateway results, handover, refunds --------------------------------------------------------------


def _result(kind: GatewayOperationKind, approved: bool = True, amount: int = 7500, **extra) -> GatewayResult:
    return GatewayResult(
        operation_id="order-100001:x:1",
        kind=kind,
        approved=approved,
        reference=extra.pop("reference", "ref-1" if approved else ""),
        detail=extra.pop("detail", "" if approved else "card declined"),
        amount=gbp(amount),
        at=T0,
        **extra,
    )


def _card(status: str = "pending", amount: int = 7500, **extra) -> PaymentRecord:
    return PaymentRecord(
        payment_id=extra.pop("payment_id", "P1"),
        mode="authorise",
        method=extra.pop("method", "card"),
        amount=gbp(amount),
        status=status,
        gateway="test",
        token="tok_approve",
        **extra,
    )


def test_authorisation_records_its_reference_and_lapse() -> None:
    state = make_state(payments=[_card()])
    policy = PaymentPolicy(authorisation_lifetime=timedelta(days=5))
    settlement.apply_gateway_result(state, state.payments[0], _result("authorise"), policy, T0, journey.SYSTEM)
    payment = state.payments[0]
    assert (payment.status, payment.authorisation_reference, payment.authorised_until) == (
        "authorised",
        "ref-1",
        T0 + timedelta(days=5),
    )
    assert state.authorised() == gbp(7500) and state.paid() == gbp(0) and state.outstanding() == gbp(7500)
    assert state.history[-1].action == "payment_authorised"


@pytest.mark.parametrize(("gateway_days", "expected_days"), [(2, 2), (30, 7)])
def test_the_sooner_of_gateway_expiry_and_policy_lifetime(gateway_days: int, expected_days: int) -> None:
    state = make_state(payments=[_card()])
    result = _result("authorise", expires_at=T0 + timedelta(days=gateway_days))
    settlement.apply_gateway_result(state, state.payments[0], result, PaymentPolicy(), T0, journey.SYSTEM)
    assert state.payments[0].authorised_until == T0 + timedelta(days=expected_days)


def test_a_decline_at_placement_marks_the_payment_declined() -> None:
    state = make_state(payments=[_card()])
    settlement.apply_gateway_result(
        state, state.payments[0], _result("authorise", approved=False), PaymentPolicy(), T0, journey.SYSTEM
    )
    assert settlement.declined(state) == [state.payments[0]]
    assert state.payments[0].detail == "card declined"
    assert not settlement.is_cleared(state)


def test_capture_at_handover_takes_what_the_order_still_comes_to() -> None:
    gift = PaymentRecord(
        payment_id="P1", mode="auth_capture", method="gift_card", amount=gbp(2000), status="captured", gateway="test"
    )
    state = make_state(payments=[gift, _card("authorised", 5500, payment_id="P2", authorisation_reference="auth-2")])
    state.lines[0].quantity = 1  # a tee was cancelled before collection: the order now comes to 60.00
    plan = settlement.captures_at_handover(state)
    assert [(p.payment_id, amount) for p, amount in plan] == [("P2", gbp(4000))]


def test_nothing_left_to_capture_means_a_void() -> None:
    state = make_state(payments=[_card("authorised", 7500)])
    for line in state.lines:
        line.quantity = 0
    assert [(p.payment_id, a) for p, a in settlement.captures_at_handover(state)] == [("P1", gbp(0))]


def test_a_failed_capture_raises_payment_failed_that_outlives_completion() -> None:
    state = make_state(OrderStatus.collected, payments=[_card("authorised", 7500)])
    settlement.apply_gateway_result(
        state, state.payments[0], _result("capture", approved=False), PaymentPolicy(), T0, journey.SYSTEM
    )
    assert state.payments[0].status == "capture_failed"
    journey.transition(state, OrderStatus.completed, at(1), journey.SYSTEM, "completed")
    assert [a.type for a in state.alerts if a.is_open] == [AlertType.payment_failed]
    settlement.override(state, None, "PDQ 1", "ho:alice", "taken by phone", at(2))
    assert state.payments[0].status == "taken" and state.paid() == gbp(7500)
    assert not state.has_open_alert
    assert state.history[-2].action == "payment_overridden" and "taken by phone" in state.history[-2].detail


def test_pay_on_collection_is_taken_at_handover() -> None:
    due = PaymentRecord(payment_id="P1", mode="on_collection", method="cash", amount=gbp(7500), status="due")
    state = make_state(OrderStatus.collected, payments=[due])
    assert state.outstanding() == gbp(7500)
    settlement.take_due_at_handover(state, "evt-9", "store:S001", T0)
    assert state.paid() == gbp(7500) and state.outstanding() == gbp(0)
    assert state.payments[0].reference == "evt-9"


def _captured(payment_id: str, method: str, amount: int) -> PaymentRecord:
    mode = "auth_capture"
    return PaymentRecord(
        payment_id=payment_id, mode=mode, method=method, amount=gbp(amount), status="captured", gateway="test"
    )


def test_refunds_go_to_the_card_first_then_stored_value() -> None:
    state = make_state(payments=[_captured("P1", "gift_card", 2000), _captured("P2", "card", 5500)])
    assert [(p.payment_id, a.amount) for p, a in settlement.refund_plan(state, gbp(6000))] == [
        ("P2", 5500),
        ("P1", 500),
    ]
    settlement.record_refund(state, state.payments[1], gbp(5000), "r-1", "ho:alice", "returned", T0)
    assert [(p.payment_id, a.amount) for p, a in settlement.refund_plan(state, gbp(1000))] == [
        ("P2", 500),
        ("P1", 500),
    ]


@settings(deadline=None, max_examples=200)
@given(
    gift=st.integers(min_value=1, max_value=10_000),
    card=st.integers(min_value=1, max_value=10_000),
    refunds=st.lists(st.integers(min_value=1, max_value=5_000), max_size=8),
)
def test_refunds_never_exceed_what_each_payment_captured(gift: int, card: int, refunds: list[int]) -> None:
    state = make_state(payments=[_captured("P1", "gift_card", gift), _captured("P2", "card", card)])
    for n, amount in enumerate(refunds):
        asked = gbp(min(amount, state.refundable().amount))
        plan = settlement.refund_plan(state, asked)
        assert sum(part.amount for _p, part in plan) == asked.amount
        for payment, part in plan:
            settlement.record_refund(state, payment, part, f"r-{n}", "ho", "x", T0)
        for payment in state.payments:
            assert settlement.refunded_of(state, payment) <= payment.captured
    assert state.refunded().amount <= gift + card


def test_reauthorisation_falls_due_before_the_authorisation_lapses() -> None:
    policy = PaymentPolicy(reauthorise_before=timedelta(hours=12))
    state = make_state(payments=[_card("authorised", authorised_until=at(0, days=7))], payment_policy=policy)
    due = at(0, days=7) - timedelta(hours=12)
    assert settlement.reauthorisation_due(state) == due
    assert settlement.to_reauthorise(state, due - timedelta(seconds=1)) == []
    assert settlement.to_reauthorise(state, due) == [state.payments[0]]
    old = settlement.reauthorised(state, state.payments[0], _result("authorise", reference="auth-2"), policy, due)
    assert old == "" and state.payments[0].authorisation_reference == "auth-2"
    assert settlement.reauthorisation_due(state) == due + timedelta(days=7) - timedelta(hours=12)


def test_a_declined_reauthorisation_alerts_once_and_is_not_retried() -> None:
    state = make_state(payments=[_card("authorised", authorised_until=at(0, days=7))])
    due = settlement.reauthorisation_due(state)
    assert due is not None
    old = settlement.reauthorised(state, state.payments[0], _result("authorise", approved=False), PaymentPolicy(), due)
    assert old is None
    assert settlement.reauthorisation_due(state) is None
    assert [a.type for a in state.alerts if a.is_open] == [AlertType.payment_failed]


def test_a_final_order_needs_no_reauthorisation() -> None:
    state = make_state(OrderStatus.cancelled, payments=[_card("authorised", authorised_until=at(0, days=7))])
    assert settlement.reauthorisation_due(state) is None
