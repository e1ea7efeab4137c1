"""Money you can trust, end to end through the real stack (dev server, worker, API, the test gateway's books):
every cancellation pays back what was taken, Head Office charges move real money, and a gateway that stays
down leaves the payment `unknown` until it is reconciled under the same operation id — never charged twice."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import (
    CHANNEL,
    HO,
    JEANS,
    PRICES,
    TEE,
    eventually,
    gateway_operations,
    order_body,
    post_store_event,
    settled,
    store_event,
    wait_for_status,
)

TOTAL = PRICES[TEE] * 2 + PRICES[JEANS]
JACKET = "JKT-OLI-M"
OUTAGE_SECONDS = 8


@pytest.fixture
def stack_settings() -> dict[str, Any]:
    return {"test_gateway_outage_seconds": OUTAGE_SECONDS}


def _card(mode: str, token: str = "tok_approve") -> dict:
    return {"mode": mode, "method": "card", "token": token, "amount": {"amount": TOTAL, "currency": "GBP"}}


async def _place(stack, payment: dict, status: str = "awaiting_acknowledgement") -> str:
    response = await stack.http.post("/orders", json=order_body(payment=payment), headers=CHANNEL)
    assert response.status_code == 201, response.text
    number = response.json()["order_number"]
    await wait_for_status(stack.http, number, status)
    return number


async def _store(stack, number: str, type_: str, **kwargs: Any) -> None:
    assert (await post_store_event(stack.http, "S001", store_event(number, type_, **kwargs))).status_code == 202


async def _ready(stack, number: str) -> None:
    await _store(stack, number, "acknowledged")
    await _store(stack, number, "picked", picked={"L1": 2, "L2": 1})
    await wait_for_status(stack.http, number, "ready_for_collection")


async def _act(stack, number: str, action: str, body: dict, status: int = 200) -> dict:
    response = await stack.http.post(f"/orders/{number}/{action}", json=body, headers=HO)
    assert response.status_code == status, response.text
    return response.json()


def _moved(stack, number: str) -> dict[str, int]:
    """What the gateway's own books say moved, by kind."""
    moved: dict[str, int] = {}
    for kind, outcome, amount in gateway_operations(stack.engine, number):
        if outcome == "approved":
            moved[kind] = moved.get(kind, 0) + amount
    return moved


async def test_an_uncollected_order_is_refunded_in_full(stack):
    number = await _place(stack, _card("auth_capture"))
    await _ready(stack, number)
    await _store(stack, number, "not_collected")
    await wait_for_status(stack.http, number, "cancelled")
    view = await settled(stack.http, number)
    assert (view["paid"]["amount"], view["refunded"]["amount"]) == (TOTAL, TOTAL)
    assert [r["status"] for r in view["refunds"]] == ["refunded"]
    assert _moved(stack, number) == {"sale": TOTAL, "refund": TOTAL}
    # The order stays open for Head Office after cancellation: notes still land.
    await _act(stack, number, "notes", {"text": "customer called about the refund"})


async def test_a_head_office_cancel_refunds_in_full_and_voids_authorisations(stack):
    taken = await _place(stack, _card("auth_capture"))
    await _act(stack, taken, "cancel", {"reason": "customer changed their mind"})
    view = await settled(stack.http, taken)
    assert view["refunded"] == view["paid"] and _moved(stack, taken) == {"sale": TOTAL, "refund": TOTAL}

    held = await _place(stack, _card("authorise"))
    await _act(stack, held, "cancel", {"reason": "customer changed their mind"})
    view = await settled(stack.http, held)
    assert view["payments"][0]["status"] == "voided" and view["paid"]["amount"] == 0
    assert _moved(stack, held) == {"authorise": TOTAL, "void": TOTAL}


async def test_a_prepaid_order_cancelled_is_refunded_by_instruction_to_the_channel(stack):
    number = await _place(stack, order_body()["payment"])
    view = await _act(stack, number, "cancel", {"reason": "out of stock"})
    refund = view["refunds"][0]
    assert (refund["status"], refund["amount"]["amount"], refund["reference"]) == ("instructed", TOTAL, "PSP-4242")
    assert view["refunded"] == view["paid"] and gateway_operations(stack.engine, number) == []


async def test_add_item_on_an_authorised_order_captures_the_full_new_total_at_collection(stack):
    number = await _place(stack, _card("authorise"))
    await _store(stack, number, "acknowledged")
    await _act(stack, number, "add-item", {"sku": JACKET, "quantity": 1, "reason": "customer called"})
    view = await settled(stack.http, number)
    extra = view["payments"][-1]
    assert (extra["mode"], extra["status"], extra["amount"]["amount"]) == ("charge", "authorised", PRICES[JACKET])
    assert view["paid"]["amount"] == 0  # nothing moved yet: only authorised

    await _store(stack, number, "update_acknowledged")
    await _store(stack, number, "picked", picked={"L1": 2, "L2": 1, "L3": 1})
    await wait_for_status(stack.http, number, "ready_for_collection")
    await _store(stack, number, "collected")
    await wait_for_status(stack.http, number, "completed")
    view = await settled(stack.http, number)
    assert view["paid"] == view["total"] and view["total"]["amount"] == TOTAL + PRICES[JACKET]
    assert _moved(stack, number) == {"authorise": TOTAL + PRICES[JACKET], "capture": TOTAL + PRICES[JACKET]}

    # Cancelling nothing is left to cancel; a refund of the added line goes back to the card that paid for it.
    view = await _act(stack, number, "refunds", {"lines": [{"line_id": "L3", "quantity": 1}], "reason": "returned"})
    view = await settled(stack.http, number)
    assert [(r["payment_id"], r["status"]) for r in view["refunds"]] == [("P2", "refunded")]


async def test_a_gateway_down_longer_than_the_retries_leaves_the_payment_unknown_then_reconciles_once(stack):
    policy = (await stack.http.get("/settings/payments", headers=HO)).json()
    fast = {**policy, "gateway_timeout": "PT2S", "gateway_retry_for": "PT2S", "reconcile_every": "PT3S"}
    assert (await stack.http.put("/settings/payments", json=fast, headers=HO)).is_success

    number = await _place(stack, _card("auth_capture", token="tok_outage"), status="on_hold")
    view = await settled(stack.http, number)
    assert view["hold_reason"] == "payment_unknown"
    assert [a["type"] for a in view["alerts"] if a["cleared_at"] is None] == ["payment_unknown"]
    assert view["payments"][0]["outcome_unknown"] and view["operations"][0]["status"] == "unknown"
    assert view["paid"]["amount"] == 0  # it may have moved, so it is not called paid, nor declined
    # Nothing that could move the money again may start while it is unknown.
    refused = await _act(stack, number, "retry-payment", {"reason": "try again"}, status=409)
    assert refused["rule"] == "no_declined_payment"
    refused = await _act(stack, number, "release-hold", {"reason": "go"}, status=409)
    assert refused["rule"] == "order_not_on_hold"

    async def reconciled() -> dict | None:
        view = (await stack.http.get(f"/orders/{number}", headers=HO)).json()
        return view if view["status"] == "awaiting_acknowledgement" else None

    view = await eventually(reconciled, timeout=OUTAGE_SECONDS + 20)
    assert view["paid"]["amount"] == TOTAL and view["payments"][0]["status"] == "captured"
    assert not view["has_alert"]
    assert gateway_operations(stack.engine, number) == [("sale", "approved", TOTAL)]  # booked once, never twice
