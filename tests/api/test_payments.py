"""Payments end to end: modes, declines, approvals, offline payments, capture at handover, refunds, overrides —
through the API, a real Temporal server, the worker and the built-in test gateway (its books in the database)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from models.db.tables import PaymentTransactionRow
from tests.support import (
    CHANNEL,
    HO,
    PRICES,
    TEE,
    WEB_ONLY,
    gateway_operations,
    order_body,
    post_store_event,
    settled,
    store_event,
    wait_for_status,
)

TOTAL = PRICES[TEE] * 2 + PRICES["JEAN-IND-32"]


def _payment(mode: str, amount: int = TOTAL, method: str = "card", token: str | None = "tok_approve", **extra) -> dict:
    payment: dict[str, Any] = {"mode": mode, "method": method, "amount": {"amount": amount, "currency": "GBP"}}
    if mode in ("auth_capture", "authorise"):
        payment["token"] = token
    if mode == "prepaid":
        payment["reference"] = "PSP-77"
    return {**payment, **extra}


async def _place(stack, status: str, headers: dict = CHANNEL, **overrides) -> dict:
    response = await stack.http.post("/orders", json=order_body(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    return await wait_for_status(stack.http, response.json()["order_number"], status)


async def _store(stack, number: str, type_: str, **kwargs) -> None:
    assert (await post_store_event(stack.http, "S001", store_event(number, type_, **kwargs))).status_code == 202


async def _collect(stack, number: str) -> dict:
    await _store(stack, number, "acknowledged")
    await _store(stack, number, "picked", picked={"L1": 2, "L2": 1})
    await wait_for_status(stack.http, number, "ready_for_collection")
    await _store(stack, number, "collected")
    await wait_for_status(stack.http, number, "completed")
    return await settled(stack.http, number)


async def _act(stack, number: str, action: str, body: dict, status: int = 200, headers: dict = HO) -> dict:
    """Run an action; when accepted, the order once the money it moved has moved (it moves after the answer)."""
    response = await stack.http.post(f"/orders/{number}/{action}", json=body, headers=headers)
    assert response.status_code == status, response.text
    return await settled(stack.http, number) if status == 200 else response.json()


def _gateway_ops(stack, number: str) -> list[tuple[str, str, int]]:
    return gateway_operations(stack.engine, number)


def _ledger(stack, number: str) -> list[tuple[str, str, int]]:
    with Session(stack.engine) as session:
        rows = session.exec(
            select(PaymentTransactionRow)
            .where(PaymentTransactionRow.order_number == number)
            .order_by(PaymentTransactionRow.created_at)
        ).all()
        return [(row.kind, row.status, row.amount) for row in rows]


def _actions(view: dict) -> list[str]:
    return [entry["action"] for entry in view["history"]]


async def test_auth_capture_takes_the_money_at_placement(stack):
    view = await _place(stack, "awaiting_acknowledgement", payment=_payment("auth_capture"))
    number = view["order_number"]
    assert (view["paid"]["amount"], view["authorised"]["amount"], view["outstanding"]["amount"]) == (TOTAL, 0, 0)
    assert view["payments"][0]["status"] == "captured" and "token" not in view["payments"][0]
    assert _actions(view)[:3] == ["order_placed", "payment_captured", "payment_confirmed"]
    assert _gateway_ops(stack, number) == [("sale", "approved", TOTAL)]
    assert _ledger(stack, number) == [("sale", "approved", TOTAL)]


async def test_authorised_at_placement_is_captured_at_collection(stack):
    view = await _place(stack, "awaiting_acknowledgement", payment=_payment("authorise"))
    number = view["order_number"]
    assert (view["paid"]["amount"], view["authorised"]["amount"], view["outstanding"]["amount"]) == (0, TOTAL, TOTAL)
    assert view["payments"][0]["authorised_until"] is not None
    done = await _collect(stack, number)
    assert (done["paid"]["amount"], done["authorised"]["amount"], done["outstanding"]["amount"]) == (TOTAL, 0, 0)
    assert _gateway_ops(stack, number) == [("authorise", "approved", TOTAL), ("capture", "approved", TOTAL)]
    # The goods leave first; the capture follows at once, outside the store's message.
    assert _actions(done).index("completed") < _actions(done).index("payment_captured")


async def test_cancelled_lines_are_not_captured_and_a_cancelled_order_voids_its_authorisation(stack):
    view = await _place(stack, "awaiting_acknowledgement", payment=_payment("authorise"))
    number = view["order_number"]
    await _act(stack, number, "cancel-lines", {"lines": [{"line_id": "L1", "quantity": 1}], "reason": "changed mind"})
    await _store(stack, number, "update_acknowledged")
    await _store(stack, number, "acknowledged")
    await _store(stack, number, "picked", picked={"L1": 1, "L2": 1})
    await wait_for_status(stack.http, number, "ready_for_collection")
    await _store(stack, number, "collected")
    await wait_for_status(stack.http, number, "completed")
    done = await settled(stack.http, number)  # the capture follows the handover
    assert done["paid"]["amount"] == TOTAL - PRICES[TEE]
    assert _gateway_ops(stack, number)[-1] == ("capture", "approved", TOTAL - PRICES[TEE])

    other = await _place(stack, "awaiting_acknowledgement", payment=_payment("authorise"))
    cancelled = await _act(stack, other["order_number"], "cancel", {"reason": "customer called"})
    assert cancelled["status"] == "cancelled" and cancelled["payments"][0]["status"] == "voided"
    assert cancelled["authorised"]["amount"] == 0 and cancelled["refunds"] == []
    assert _gateway_ops(stack, other["order_number"]) == [("authorise", "approved", TOTAL), ("void", "approved", TOTAL)]


async def test_a_declined_card_holds_the_order_until_head_office_retries_with_a_new_card(stack):
    view = await _place(stack, "on_hold", payment=_payment("authorise", token="tok_decline"))
    number = view["order_number"]
    assert view["hold_reason"] == "payment_declined"
    assert [a["type"] for a in view["alerts"] if not a["cleared_at"]] == ["payment_declined"]
    assert "card declined" in view["alerts"][0]["detail"]
    assert _gateway_ops(stack, number) == [("authorise", "declined", TOTAL)]  # one try: a decline is an answer
    refused = await _act(stack, number, "release-hold", {"reason": "try"}, status=409)
    assert refused["rule"] == "order_not_on_hold"
    still = await _act(stack, number, "retry-payment", {"reason": "same card again"})
    assert still["status"] == "on_hold" and "still_declined" in _actions(still)
    retried = await _act(stack, number, "retry-payment", {"reason": "new card", "token": "tok_approve"})
    assert retried["status"] == "awaiting_acknowledgement"
    assert retried["payments"][0]["status"] == "authorised" and not retried["has_alert"]


async def test_a_declined_card_cancels_the_order_when_so_configured(stack):
    policy = (await stack.http.get("/settings/payments", headers=HO)).json()
    assert (await stack.http.put("/settings/payments", json={**policy, "on_decline": "cancel"}, headers=HO)).is_success
    gift = _payment("auth_capture", 2000, method="gift_card")
    card = _payment("authorise", TOTAL - 2000, token="tok_decline")
    placed = await _place(stack, "cancelled", payment=None, payments=[card, gift])
    view = await settled(stack.http, placed["order_number"])  # the refund follows the cancellation
    # The gift card was taken first; the card's decline cancels the order and gives the gift card back.
    assert [(p["payment_id"], p["method"], p["status"]) for p in view["payments"]] == [
        ("P1", "gift_card", "captured"),
        ("P2", "card", "declined"),
    ]
    assert [(r["payment_id"], r["amount"]["amount"]) for r in view["refunds"]] == [("P1", 2000)]
    assert _gateway_ops(stack, view["order_number"]) == [
        ("sale", "approved", 2000),
        ("authorise", "declined", TOTAL - 2000),
        ("refund", "approved", 2000),
    ]


async def test_offline_payment_waits_for_head_office_to_confirm_it(stack):
    view = await _place(stack, "awaiting_payment", payment=_payment("offline", method="bank_transfer"))
    number = view["order_number"]
    assert view["outstanding"]["amount"] == TOTAL and view["paid"]["amount"] == 0
    refused = await _act(stack, number, "prompt-store", {"reason": "nudge"}, status=409)
    assert refused["rule"] == "order_not_cleared"
    not_now = await _act(stack, number, "approve", {"reason": "ok"}, status=409)
    assert not_now["rule"] == "order_not_awaiting_approval"
    confirmed = await _act(stack, number, "confirm-payment", {"reason": "arrived", "reference": "BACS 42"})
    assert confirmed["status"] == "awaiting_acknowledgement"
    assert confirmed["payments"][0]["reference"] == "BACS 42" and confirmed["paid"]["amount"] == TOTAL
    assert "payment_confirmed" in _actions(confirmed)
    assert _gateway_ops(stack, number) == []

    unpaid = await _place(stack, "awaiting_payment", payment=_payment("offline", method="phone"))
    cancelled = await _act(stack, unpaid["order_number"], "cancel", {"reason": "never paid"})
    assert cancelled["status"] == "cancelled" and cancelled["refunds"] == []


async def test_pay_on_collection_is_confirmed_by_the_handover(stack):
    view = await _place(stack, "awaiting_acknowledgement", payment=_payment("on_collection", method="cash"))
    number = view["order_number"]
    assert "payment_confirmed" not in _actions(view) and view["outstanding"]["amount"] == TOTAL
    done = await _collect(stack, number)
    assert done["paid"]["amount"] == TOTAL and done["payments"][0]["status"] == "taken"
    assert done["payments"][0]["actor"] == "store:S001"
    assert _actions(done).count("payment_confirmed") == 1


async def test_gift_card_plus_card_refunds_card_first_and_per_line(stack):
    gift = _payment("auth_capture", 2000, method="gift_card")
    card = _payment("auth_capture", TOTAL - 2000)
    view = await _place(stack, "awaiting_acknowledgement", payment=None, payments=[card, gift])
    number = view["order_number"]
    assert view["paid"]["amount"] == TOTAL
    done = await _collect(stack, number)
    assert done["status"] == "completed"
    # Returned: the jeans (line L2). The card gets it back first.
    refunded = await _act(stack, number, "refunds", {"lines": [{"line_id": "L2", "quantity": 1}], "reason": "returned"})
    assert [(r["payment_id"], r["amount"]["amount"]) for r in refunded["refunds"]] == [("P2", PRICES["JEAN-IND-32"])]
    # The rest: what is left on the card, then the gift card.
    rest = TOTAL - PRICES["JEAN-IND-32"]
    everything = await _act(stack, number, "refunds", {"amount": {"amount": rest, "currency": "GBP"}, "reason": "x"})
    assert [(r["payment_id"], r["amount"]["amount"]) for r in everything["refunds"]][1:] == [
        ("P2", TOTAL - 2000 - PRICES["JEAN-IND-32"]),
        ("P1", 2000),
    ]
    too_much = await _act(stack, number, "refunds", {"amount": {"amount": 1, "currency": "GBP"}, "reason": "x"}, 409)
    assert too_much["rule"] == "refund_exceeds_captured"


async def test_a_retried_refund_moves_money_once(stack):
    view = await _place(stack, "awaiting_acknowledgement", payment=_payment("auth_capture"))
    number = view["order_number"]
    headers = {**HO, "Idempotency-Key": "refund-once"}
    body = {"amount": {"amount": 500, "currency": "GBP"}, "reason": "goodwill"}
    first = await _act(stack, number, "refunds", body, headers=headers)
    second = await _act(stack, number, "refunds", body, headers=headers)
    assert first["refunds"] == second["refunds"] and len(first["refunds"]) == 1
    assert [op for op in _gateway_ops(stack, number) if op[0] == "refund"] == [("refund", "approved", 500)]


async def test_a_transient_gateway_fault_is_retried_and_recorded_once(stack):
    view = await _place(
        stack, "awaiting_acknowledgement", payment=_payment("auth_capture", token="tok_error_then_approve")
    )
    number = view["order_number"]
    assert view["payments"][0]["status"] == "captured"
    assert _gateway_ops(stack, number) == [("sale", "approved", TOTAL)]
    with Session(stack.engine) as session:
        (row,) = session.exec(select(PaymentTransactionRow).where(PaymentTransactionRow.order_number == number)).all()
    assert (row.status, row.attempts) == ("approved", 2)


async def test_a_failed_capture_completes_the_order_with_an_alert_until_head_office_settles_it(stack):
    view = await _place(stack, "awaiting_acknowledgement", payment=_payment("authorise", token="tok_capture_declined"))
    number = view["order_number"]
    done = await _collect(stack, number)
    assert done["payments"][0]["status"] == "capture_failed" and done["outstanding"]["amount"] == TOTAL
    assert [a["type"] for a in done["alerts"] if not a["cleared_at"]] == ["payment_failed"] and done["has_alert"]
    listed = (await stack.http.get("/orders", params={"alert_type": "payment_failed"}, headers=HO)).json()
    assert number in [o["order_number"] for o in listed["items"]]
    settled = await _act(stack, number, "override-payment", {"reason": "paid by phone", "reference": "PDQ 7781"})
    assert settled["payments"][0]["status"] == "taken" and settled["outstanding"]["amount"] == 0
    assert not settled["has_alert"]
    entry = next(h for h in settled["history"] if h["action"] == "payment_overridden")
    assert entry["actor"] == "ho:alice" and "PDQ 7781" in entry["detail"] and "paid by phone" in entry["detail"]
    again = await _act(stack, number, "override-payment", {"reason": "again", "reference": "x"}, status=409)
    assert again["rule"] == "no_failed_payment"


async def test_approvals_by_channel_amount_and_customer(stack):
    policy = (await stack.http.get("/settings/payments", headers=HO)).json()
    policy.update(approval_channels=["phone"], approval_above={"GBP": TOTAL - 1}, blocked_customers=["C666"])
    assert (await stack.http.put("/settings/payments", json=policy, headers=HO)).is_success

    phone = await _place(stack, "awaiting_approval", channel="phone", payment=_payment("authorise"))
    assert phone["approval_reason"] == "orders from the phone channel need approval"
    assert _gateway_ops(stack, phone["order_number"]) == []  # nothing is charged before approval
    approved = await _act(stack, phone["order_number"], "approve", {"reason": "known customer"})
    assert approved["status"] == "awaiting_acknowledgement" and approved["payments"][0]["status"] == "authorised"
    actions = _actions(approved)
    assert actions.index("approval_required") < actions.index("order_approved") < actions.index("payment_authorised")

    big = await _place(stack, "awaiting_approval", payment=_payment("prepaid"))
    assert "above" in big["approval_reason"]
    rejected = await _act(stack, big["order_number"], "reject", {"reason": "fraud check failed"})
    assert rejected["status"] == "cancelled"
    assert [r["amount"]["amount"] for r in rejected["refunds"]] == [TOTAL]  # prepaid by the channel: refunded

    body = order_body(payment=_payment("prepaid"))
    body["customer"]["id"] = "C666"
    blocked = await stack.http.post("/orders", json=body, headers=CHANNEL)
    assert blocked.status_code == 422
    assert blocked.json()["errors"] == [
        {"field": "customer.id", "message": "customer C666 is blocked; the order is refused"}
    ]


async def test_bad_payments_are_422_naming_the_field_and_place_nothing(stack):
    before = (await stack.http.get("/orders", headers=HO)).json()["total"]
    cases = [
        (_payment("authorise", token=None), "payment"),
        ({**_payment("authorise"), "amount": {"amount": TOTAL, "currency": "EUR"}}, "lines[0].unit_price.currency"),
        (_payment("authorise", gateway="paypal"), "payment.gateway"),
    ]
    for payment, field in cases:
        response = await stack.http.post("/orders", json=order_body(payment=payment), headers=CHANNEL)
        assert response.status_code == 422, response.text
        assert field in [e["field"] for e in response.json()["errors"]], response.json()
    assert (await stack.http.get("/orders", headers=HO)).json()["total"] == before


async def test_payment_settings_are_head_office_only_and_validated(stack):
    assert (await stack.http.put("/settings/payments", json={}, headers=CHANNEL)).status_code == 403
    bad = await stack.http.put("/settings/payments", json={"on_decline": "shrug"}, headers=HO)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "on_decline"
    for body, field in [
        ({"authorisation_lifetime": "P1D", "reauthorise_before": "P2D"}, "reauthorise_before"),
        ({"authorisation_lifetime": "P400D"}, "authorisation_lifetime"),
        ({"approval_above": {"GBP": 10**13}}, "approval_above.GBP"),
    ]:
        refused = await stack.http.put("/settings/payments", json=body, headers=HO)
        assert refused.status_code == 422, refused.text
        assert any(field in e["field"] or field in e["message"] for e in refused.json()["errors"]), refused.json()


async def test_a_key_bound_to_channels_places_orders_for_them_only(stack):
    placed = await stack.http.post("/orders", json=order_body(), headers=WEB_ONLY)
    assert placed.status_code == 201, placed.text
    phone = await stack.http.post("/orders", json=order_body(channel="phone"), headers=WEB_ONLY)
    assert phone.status_code == 403 and phone.json()["type"].endswith("channel-not-allowed")


async def test_an_idempotency_key_replays_its_order_whatever_changed_since_and_is_scoped_per_key_holder(stack):
    body = order_body()
    first = await stack.http.post("/orders", json=body, headers={**CHANNEL, "Idempotency-Key": "basket-1"})
    assert first.status_code == 201
    policy = (await stack.http.get("/settings/payments", headers=HO)).json()
    blocked = {**policy, "blocked_customers": [body["customer"]["id"]]}
    assert (await stack.http.put("/settings/payments", json=blocked, headers=HO)).is_success
    again = await stack.http.post("/orders", json=body, headers={**CHANNEL, "Idempotency-Key": "basket-1"})
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["order_number"] == first.json()["order_number"]
    # The same key from another key holder is another order (here refused: the customer is blocked now).
    other = await stack.http.post("/orders", json=body, headers={**WEB_ONLY, "Idempotency-Key": "basket-1"})
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "customer.id"
