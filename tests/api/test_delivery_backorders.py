"""A backorder per delivery, on the real stack with time skipping: in a mixed order whose further delivery is short at
its location, only that delivery waits (backordered); the collection goes out and is collected meanwhile; the stock
arrives (a receipt in the stock ledger), the delivery's hourly try reserves it and it ships; the order completes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.api.test_deliveries import ADDRESS, home_delivery
from tests.support import (
    CHANNEL,
    HO,
    JEANS,
    PRICES,
    TEE,
    eventually,
    make_ready,
    order_body,
    place,
    settled,
    store_says,
    wait_for_status,
)


async def _stock(stack, sku: str, location: str) -> dict:
    holding = (await stack.http.get(f"/stock/{sku}")).json()
    return next(loc for loc in holding["locations"] if loc["location_id"] == location)


async def _delivery(stack, number: str, status: str) -> dict:
    async def check() -> dict | None:
        view = (await stack.http.get(f"/orders/{number}", headers=HO)).json()
        return view if view["deliveries"][1]["status"] == status else None

    return await eventually(check)


async def test_a_backordered_delivery_waits_alone_while_the_collection_goes_and_is_released_by_replenishment(
    skipping_stack,
):
    stack = skipping_stack
    short = (await _stock(stack, JEANS, "S002"))["available"] + 1
    total = PRICES[TEE] * 2 + PRICES[JEANS] * short
    payment = {
        "mode": "authorise",
        "method": "card",
        "token": "tok_approve",
        "amount": {"amount": total, "currency": "GBP"},
    }
    body = order_body("S001", lines=[(TEE, 2), (JEANS, short)], payment=payment, backorder_for="P7D")
    body["lines"][1]["fulfilment"] = {"method": "home_delivery", "address": ADDRESS, "location_id": "S002"}
    number = await place(stack.http, body, status="awaiting_acknowledgement")
    view = await settled(stack.http, number)
    assert [(d["delivery_id"], d["location_id"], d["status"]) for d in view["deliveries"]] == [
        ("D1", "S001", "allocated"),
        ("D2", "S002", "backordered"),
    ]
    assert (await _stock(stack, JEANS, "S002"))["reserved"] == 0

    await make_ready(stack.http, number)
    await store_says(stack.http, number, "collected", "S001")
    view = await wait_for_status(stack.http, number, "partially_collected")
    assert view["deliveries"][1]["status"] == "backordered"

    await stack.env.sleep(timedelta(hours=1, minutes=1))  # tried again: still short
    assert (await stack.http.get(f"/orders/{number}", headers=HO)).json()["deliveries"][1]["status"] == "backordered"
    movement = {"sku": JEANS, "location_id": "S002", "kind": "receipt", "delta": short, "reason": "GRN 7"}
    receipt = {"message_id": f"grn-{number}", "movements": [movement]}  # the stock arrives at S002
    assert (await stack.http.post("/feeds/stock-movements", json=receipt, headers=HO)).json()["applied"] == 1
    await stack.env.sleep(timedelta(hours=1, minutes=1))
    await _delivery(stack, number, "allocated")
    assert (await _stock(stack, JEANS, "S002"))["reserved"] == short

    await store_says(stack.http, number, "shipped", "S002", carrier="DPD", tracking_number="155012", delivery_id="D2")
    await _delivery(stack, number, "shipped")
    await store_says(stack.http, number, "delivered", "S002", delivery_id="D2")
    done = await wait_for_status(stack.http, number, "completed")
    assert [d["status"] for d in done["deliveries"]] == ["collected", "delivered"]


async def test_a_single_delivery_backorder_keeps_the_order_level_wait(skipping_stack):
    stack = skipping_stack
    short = (await _stock(stack, TEE, "S003"))["available"] + 1
    number = await place(
        stack.http, order_body("S003", lines=[(TEE, short)], backorder_for="P7D"), status="backordered"
    )
    view = (await stack.http.get(f"/orders/{number}", headers=HO)).json()
    assert [d["status"] for d in view["deliveries"]] == ["backordered"]


async def test_a_preordered_delivery_waits_alone_and_reserves_on_its_release_date(skipping_stack):
    """A line preordered on its own (`lines[i].release_at`, home delivery): its delivery waits for the date (nothing
    reserved, its location not told) while the collection goes and is collected; on the date it is reserved."""
    stack = skipping_stack
    release = datetime.now(UTC) + timedelta(days=2)
    before = await _stock(stack, JEANS, "W001")
    body = home_delivery()
    body["fulfilment"] = {"method": "click_and_collect", "store_id": "S001"}
    body["lines"][1]["fulfilment"] = {"method": "home_delivery", "address": ADDRESS, "location_id": "W001"}
    body["lines"][1]["release_at"] = release.isoformat()
    number = await place(stack.http, body, status="awaiting_acknowledgement")
    view = await settled(stack.http, number)
    assert [(d["delivery_id"], d["status"]) for d in view["deliveries"]] == [
        ("D1", "allocated"),
        ("D2", "awaiting_release"),
    ]
    assert (await _stock(stack, JEANS, "W001"))["reserved"] == before["reserved"]
    await make_ready(stack.http, number)
    await store_says(stack.http, number, "collected", "S001")
    await wait_for_status(stack.http, number, "partially_collected")

    await stack.env.sleep(timedelta(days=2, minutes=1))
    await _delivery(stack, number, "allocated")
    assert (await _stock(stack, JEANS, "W001"))["reserved"] == before["reserved"] + 1
    own_line = order_body()["lines"][0] | {"release_at": release.isoformat()}
    refused = await stack.http.post("/orders", json=order_body() | {"lines": [own_line]}, headers=CHANNEL)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "lines[0].release_at"
