"""Exchanges end to end on the real stack: a return line exchanged for another size and one refunded. After the
inspection a zero-priced replacement order exists, linked to the return both ways, nothing is charged for it, the
refunded line is refunded once, and the placement retried places no second order; an exchange for a product of
another price is refused at request time, naming the field."""

from __future__ import annotations

from temporalio.testing import ActivityEnvironment

from activities.returns import ReturnActivities
from models.returns import ReturnState
from tests.support import (
    CHANNEL,
    HO,
    JEANS,
    PRICES,
    STORE_S001,
    collect,
    eventually,
    gateway_operations,
    make_ready,
    place,
)

LARGE_TEE = "TEE-WHI-L"  # another size of the tee the order bought (TEE-WHI-M)


async def _completed(http) -> str:
    number = await place(http)
    await make_ready(http, number)
    await collect(http, number)
    return number


async def _replacements(http, return_id: str) -> list[dict]:
    found = await http.get("/orders", params={"web_reference": f"{return_id}:exchange"}, headers=HO)
    assert found.status_code == 200, found.text
    return found.json()["items"]


async def test_an_exchanged_line_is_replaced_once_and_the_other_refunded_once(stack):
    http = stack.http
    number = await _completed(http)
    lines = [
        {"line_id": "L1", "quantity": 1, "reason": "too small", "exchange_for": {"sku": LARGE_TEE}},
        {"line_id": "L2", "quantity": 1, "reason": "changed my mind"},
    ]
    asked = await http.post(f"/orders/{number}/returns", json={"lines": lines, "location_id": "S001"}, headers=CHANNEL)
    assert asked.status_code == 201, asked.text
    return_id = asked.json()["return_id"]
    assert asked.json()["status"] == "authorised"
    assert asked.json()["lines"][0]["exchange_for"] == {"sku": LARGE_TEE}
    received = await http.post(f"/returns/{return_id}/received", json={"location_id": "S001"}, headers=STORE_S001)
    assert received.status_code == 200, received.text
    inspection = {"lines": [{"line_id": "L1", "accepted": 1}, {"line_id": "L2", "accepted": 1}]}
    inspected = await http.post(f"/returns/{return_id}/inspection", json=inspection, headers=STORE_S001)
    assert inspected.status_code == 200, inspected.text
    again = await http.post(f"/returns/{return_id}/inspection", json=inspection, headers=STORE_S001)
    assert again.status_code == 409  # a retried inspection changes nothing

    async def reimbursed() -> dict | None:
        state = (await http.get(f"/returns/{return_id}", headers=CHANNEL)).json()
        return state if state["status"] == "reimbursed" else None

    state = await eventually(reimbursed, timeout=30)
    replacement = state["replacement_order"]
    assert replacement and replacement != number
    assert state["refunded_lines"] == {"L2": 1}  # the exchanged tee is replaced, not refunded

    # The replacement: the larger tee, free, collected at the store the tee came back to, linked to the return.
    view = (await http.get(f"/orders/{replacement}", headers=HO)).json()
    assert view["replaces"] == {"order_number": number, "return_id": return_id}
    assert [(line["sku"], line["quantity"], line["unit_price"]["amount"]) for line in view["lines"]] == [
        (LARGE_TEE, 1, 0)
    ]
    assert (view["customer"]["id"], view["fulfilment_method"], view["store_id"]) == ("C42", "click_and_collect", "S001")
    assert view["approval_reason"] is None and view["status"] != "awaiting_approval"
    assert [(p["mode"], p["method"], p["amount"]["amount"], p["status"]) for p in view["payments"]] == [
        ("prepaid", "exchange", 0, "taken")
    ]
    assert (view["total"]["amount"], view["paid"]["amount"], view["refunded"]["amount"]) == (0, 0, 0)
    assert gateway_operations(stack.engine, replacement) == []  # nothing captured for it

    # The original order refunded the jeans once, and nothing for the tee.
    original = (await http.get(f"/orders/{number}", headers=HO)).json()
    assert original["refunded"]["amount"] == PRICES[JEANS]
    assert [r["amount"]["amount"] for r in original["refunds"]] == [PRICES[JEANS]]

    # The placement retried (a worker that died after placing, before the return recorded it): the same order.
    returns = ReturnActivities(stack.engine, stack.client)
    retried = await ActivityEnvironment().run(returns.place_replacement, ReturnState.model_validate(state))
    assert retried.order_number == replacement
    assert [order["order_number"] for order in await _replacements(http, return_id)] == [replacement]


async def test_an_exchange_for_another_price_is_refused_naming_the_field(stack):
    http = stack.http
    number = await _completed(http)
    jacket = "JKT-OLI-M"  # not a tee, and not the tee's price
    lines = [{"line_id": "L1", "quantity": 1, "reason": "too small", "exchange_for": {"sku": jacket}}]
    refused = await http.post(
        f"/orders/{number}/returns", json={"lines": lines, "location_id": "S001"}, headers=CHANNEL
    )
    assert refused.status_code == 422, refused.text
    errors = refused.json()["errors"]
    assert [e["field"] for e in errors] == ["lines.0.exchange_for"]
    assert jacket in errors[0]["message"]
    assert (await http.get(f"/orders/{number}/returns", headers=HO)).json() == []  # nothing was opened

    # The same through a customer request of kind return_lines.
    request = {"kind": "return_lines", "note": "too small", "details": {"lines": lines, "location_id": "S001"}}
    filed = await http.post(f"/orders/{number}/requests", json=request, headers=CHANNEL)
    assert filed.status_code == 422, filed.text
    assert [e["field"] for e in filed.json()["errors"]] == ["details.lines.0.exchange_for"]


async def test_a_customer_request_asks_for_an_exchange_and_head_office_accepts_it(stack):
    http = stack.http
    number = await _completed(http)
    lines = [{"line_id": "L1", "quantity": 1, "reason": "too small", "exchange_for": {"sku": LARGE_TEE}}]
    asked = {"kind": "return_lines", "note": "a size up", "details": {"lines": lines, "location_id": "S001"}}
    filed = await http.post(f"/orders/{number}/requests", json=asked, headers=CHANNEL)
    assert filed.status_code == 201, filed.text
    accepted = await http.post(f"/requests/{filed.json()['request_id']}/accept", json={}, headers=HO)
    assert accepted.json()["status"] == "accepted", accepted.text

    async def opened() -> list | None:
        return (await http.get(f"/orders/{number}/returns", headers=HO)).json() or None

    (rma,) = await eventually(opened)
    assert rma["status"] == "authorised" and rma["lines"][0]["exchange_for"] == {"sku": LARGE_TEE}
