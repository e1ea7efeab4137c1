"""Orders paying through the Stripe adapter end to end: the worker configured for Stripe, a localstripe on
loopback as the API, an authorisation at placement captured at collection and a refund after it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.localstripe import API_KEY, DECLINED, VISA
from tests.support import CHANNEL, HO, order_body, post_store_event, settled, store_event, wait_for_status


@pytest.fixture
def stack_settings(localstripe_url: str) -> dict[str, Any]:
    return {"payment_gateway": "stripe", "stripe_api_key": API_KEY, "stripe_api_base": localstripe_url}


def _card(token: str) -> dict:
    payment = order_body()["payment"]
    return {**payment, "mode": "authorise", "token": token}


async def _send(stack, number: str, type_: str, **kwargs) -> None:
    assert (await post_store_event(stack.http, "S001", store_event(number, type_, **kwargs))).status_code == 202


async def test_authorised_with_stripe_captured_at_collection_then_refunded(stack):
    response = await stack.http.post("/orders", json=order_body(payment=_card(VISA)), headers=CHANNEL)
    assert response.status_code == 201, response.text
    number = response.json()["order_number"]
    view = await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    payment = view["payments"][0]
    assert (payment["gateway"], payment["status"]) == ("stripe", "authorised")
    assert payment["authorisation_reference"].startswith("pi_")

    await _send(stack, number, "acknowledged")
    await _send(stack, number, "picked", picked={"L1": 2, "L2": 1})
    await wait_for_status(stack.http, number, "ready_for_collection")
    await _send(stack, number, "collected")
    await wait_for_status(stack.http, number, "completed")
    done = await settled(stack.http, number)  # the capture follows the handover
    assert done["payments"][0]["status"] == "captured" and done["payments"][0]["reference"].startswith("ch_")
    assert done["paid"] == done["total"]

    refund = {"amount": {"amount": 1500, "currency": "GBP"}, "reason": "one tee returned"}
    refunded = await stack.http.post(f"/orders/{number}/refunds", json=refund, headers=HO)
    assert refunded.status_code == 200, refunded.text
    assert refunded.json()["refunds"][0]["status"] == "requested"  # answered at once; the gateway follows
    assert (await settled(stack.http, number))["refunds"][0]["reference"].startswith("re_")

    ledger = (await stack.http.get(f"/orders/{number}/payments", headers=HO)).json()["transactions"]
    assert [(t["kind"], t["status"], t["gateway"]) for t in ledger] == [
        ("authorise", "approved", "stripe"),
        ("capture", "approved", "stripe"),
        ("refund", "approved", "stripe"),
    ]


async def test_a_card_stripe_declines_holds_the_order(stack):
    response = await stack.http.post("/orders", json=order_body(payment=_card(DECLINED)), headers=CHANNEL)
    assert response.status_code == 201, response.text
    view = await wait_for_status(stack.http, response.json()["order_number"], "on_hold")
    assert view["hold_reason"] == "payment_declined" and view["payments"][0]["status"] == "declined"


async def test_an_uncollected_order_paid_at_once_through_stripe_is_refunded_in_full(stack):
    payment = {**_card(VISA), "mode": "auth_capture"}
    response = await stack.http.post("/orders", json=order_body(payment=payment), headers=CHANNEL)
    assert response.status_code == 201, response.text
    number = response.json()["order_number"]
    await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    await _send(stack, number, "acknowledged")
    await _send(stack, number, "picked", picked={"L1": 2, "L2": 1})
    await wait_for_status(stack.http, number, "ready_for_collection")
    await _send(stack, number, "not_collected")
    await wait_for_status(stack.http, number, "cancelled")
    view = await settled(stack.http, number)
    assert view["paid"]["amount"] > 0 and view["refunded"] == view["paid"]
    assert view["refunds"][0]["status"] == "refunded" and view["refunds"][0]["reference"].startswith("re_")
    ledger = (await stack.http.get(f"/orders/{number}/payments", headers=HO)).json()["transactions"]
    assert [(t["kind"], t["status"]) for t in ledger] == [("sale", "approved"), ("refund", "approved")]
