"""Returns end to end on the real stack: requested by a channel, authorised or rejected by the return policy,
received at the store (the order records it: an order event `returned`), inspected, restocked through the stock
ledger and refunded by the order, each return its own workflow; a return by carrier with tracking; retries never
make a second return."""

from __future__ import annotations

from tests.support import CHANNEL, HO, JEANS, TEE, collect, eventually, make_ready, place

STORE_S001 = {"Authorization": "Bearer test-store-s001"}
STORE_S002 = {"Authorization": "Bearer test-store-s002"}


async def _completed(http) -> str:
    number = await place(http)
    await make_ready(http, number)
    await collect(http, number)
    return number


async def _stock(http, location: str) -> int:
    holding = (await http.get(f"/stock/{TEE}", headers=HO)).json()["locations"]
    return next(s["on_hand"] for s in holding if s["location_id"] == location)


async def test_a_store_return_is_received_inspected_restocked_and_refunded_once(stack):
    http = stack.http
    number = await _completed(http)
    on_hand = await _stock(http, "S001")
    body = {
        "lines": [{"line_id": "L1", "quantity": 1, "reason": "too small"}],
        "method": "store",
        "location_id": "S001",
    }
    headers = {**CHANNEL, "Idempotency-Key": "rma-1"}
    first = await http.post(f"/orders/{number}/returns", json=body, headers=headers)
    assert first.status_code == 201, first.text
    again = await http.post(f"/orders/{number}/returns", json=body, headers=headers)  # a retried request
    assert again.json()["return_id"] == first.json()["return_id"]
    rma = first.json()
    assert (rma["status"], rma["rejections"]) == ("authorised", [])
    return_id = rma["return_id"]

    # Another store cannot receive it; the store it goes to can.
    wrong = await http.post(f"/returns/{return_id}/received", json={"location_id": "S001"}, headers=STORE_S002)
    assert wrong.status_code in (403, 404)
    received = await http.post(f"/returns/{return_id}/received", json={"location_id": "S001"}, headers=STORE_S001)
    assert received.status_code == 200 and received.json()["status"] == "received"

    async def order_recorded() -> bool:
        view = (await http.get(f"/orders/{number}", headers=HO)).json()
        # One of the two tees: a partial return (the order event partially_returned, not returned).
        return any(h["action"] == "partially_returned" and return_id in h["detail"] for h in view["history"])

    await eventually(order_recorded)
    inspection = {"lines": [{"line_id": "L1", "accepted": 1, "note": "as new"}]}
    inspected = await http.post(f"/returns/{return_id}/inspection", json=inspection, headers=STORE_S001)
    assert inspected.status_code == 200, inspected.text
    twice = await http.post(f"/returns/{return_id}/inspection", json=inspection, headers=STORE_S001)
    assert twice.status_code == 409

    async def reimbursed() -> dict | None:
        state = (await http.get(f"/returns/{return_id}", headers=CHANNEL)).json()
        return state if state["status"] == "reimbursed" else None

    state = await eventually(reimbursed, timeout=30)
    assert state["refunded_lines"] == {"L1": 1}
    view = (await http.get(f"/orders/{number}", headers=HO)).json()
    unit = next(line["unit_price"]["amount"] for line in view["lines"] if line["line_id"] == "L1")
    assert view["refunded"]["amount"] == unit  # the one accepted unit, refunded once
    assert await _stock(http, "S001") == on_hand + 1
    ledger = (await http.get("/stock/ledger", params={"sku": TEE, "location_id": "S001"}, headers=HO)).json()
    restocked = [m for m in ledger["items"] if m["kind"] == "receipt"]
    assert [(m["on_hand_delta"], m["actor"], m["reason"]) for m in restocked] == [
        (1, f"return:{return_id}", f"return {return_id}")
    ]
    listed = (await http.get(f"/orders/{number}/returns", headers=HO)).json()
    assert [r["return_id"] for r in listed] == [return_id]


async def test_the_policy_rejects_with_reasons_and_a_carrier_return_is_tracked(stack):
    http = stack.http
    number = await _completed(http)
    # More than was received, and a line the order does not have.
    too_many = {"lines": [{"line_id": "L1", "quantity": 3, "reason": "x"}, {"line_id": "L9", "quantity": 1,
                "reason": "x"}], "location_id": "S001"}  # fmt: skip
    rejected = (await http.post(f"/orders/{number}/returns", json=too_many, headers=CHANNEL)).json()
    assert rejected["status"] == "rejected"
    assert any("3 asked, 2 received" in r for r in rejected["rejections"])
    assert any("L9: not a line" in r for r in rejected["rejections"])

    policy = (await http.get("/settings/returns", headers=HO)).json()
    strict = {**policy, "non_returnable_styles": ["JEAN"]}
    assert (await http.put("/settings/returns", json=strict, headers=HO)).status_code == 200
    jeans = {"lines": [{"line_id": "L2", "quantity": 1, "reason": "x"}], "location_id": "S001"}
    refused = (await http.post(f"/orders/{number}/returns", json=jeans, headers=CHANNEL)).json()
    assert refused["status"] == "rejected" and "cannot be returned" in refused["rejections"][0]

    not_completed = await place(http)
    early = {"lines": [{"line_id": "L1", "quantity": 1, "reason": "x"}], "location_id": "S001"}
    assert (await http.post(f"/orders/{not_completed}/returns", json=early, headers=CHANNEL)).json()[
        "status"
    ] == "rejected"

    by_post = {"lines": [{"line_id": "L1", "quantity": 2, "reason": "faulty"}], "method": "carrier",
               "location_id": "W001"}  # fmt: skip
    rma = (await http.post(f"/orders/{number}/returns", json=by_post, headers=CHANNEL)).json()
    assert rma["status"] == "authorised"
    tracked = await http.post(
        f"/returns/{rma['return_id']}/shipped", json={"carrier": "DPD", "tracking_number": "1Z999"}, headers=CHANNEL
    )
    assert tracked.json()["status"] == "in_transit" and tracked.json()["tracking_number"] == "1Z999"
    at_warehouse = await http.post(f"/returns/{rma['return_id']}/received", json={"location_id": "W001"}, headers=HO)
    assert at_warehouse.json()["status"] == "received"
    nothing_fit = {"lines": [{"line_id": "L1", "accepted": 0, "note": "damaged"}]}
    assert (await http.post(f"/returns/{rma['return_id']}/inspection", json=nothing_fit, headers=HO)).status_code == 200

    async def closed() -> dict | None:
        state = (await http.get(f"/returns/{rma['return_id']}", headers=HO)).json()
        return state if state["status"] == "reimbursed" else None

    state = await eventually(closed)
    assert state["refunded_lines"] == {}  # nothing accepted: nothing refunded
    view = (await http.get(f"/orders/{number}", headers=HO)).json()
    assert view["refunded"]["amount"] == 0


async def test_everything_returned_with_a_write_off_and_a_restocking_fee(stack):
    http = stack.http
    policy = (await http.get("/settings/returns", headers=HO)).json()
    assert (await http.put("/settings/returns", json={**policy, "restocking_fee_percent": 10}, headers=HO)).is_success
    number = await _completed(http)
    tees, jeans = await _stock(http, "S001"), await _jeans(http, "S001")
    lines = [
        {"line_id": "L1", "quantity": 2, "reason": "too small"},
        {"line_id": "L2", "quantity": 1, "reason": "torn"},
    ]
    rma = (
        await http.post(f"/orders/{number}/returns", json={"lines": lines, "location_id": "S001"}, headers=CHANNEL)
    ).json()
    assert rma["status"] == "authorised"
    await http.post(f"/returns/{rma['return_id']}/received", json={"location_id": "S001"}, headers=STORE_S001)
    inspection = {"lines": [{"line_id": "L1", "accepted": 2}, {"line_id": "L2", "accepted": 0, "written_off": 1}]}
    assert (await http.post(f"/returns/{rma['return_id']}/inspection", json=inspection, headers=STORE_S001)).is_success

    async def reimbursed() -> dict | None:
        view = (await http.get(f"/orders/{number}", headers=HO)).json()
        return view if view["refunded"]["amount"] else None

    view = await eventually(reimbursed, timeout=30)
    value = sum(line["unit_price"]["amount"] * q for line, q in zip(view["lines"], (2, 1), strict=True))
    assert view["refunded"]["amount"] == value - value * 10 // 100  # the restocking fee kept
    assert any(h["action"] == "return_received" for h in view["history"])  # everything came back: RETURNED
    assert await _stock(http, "S001") == tees + 2  # the tees restocked
    assert await _jeans(http, "S001") == jeans  # the torn jeans written off, not restocked


async def _jeans(http, location: str) -> int:
    holding = (await http.get(f"/stock/{JEANS}", headers=HO)).json()["locations"]
    return next(s["on_hand"] for s in holding if s["location_id"] == location)
