"""The click & collect journey through the HTTP API, a real Temporal dev server and the database."""

from __future__ import annotations

from tests.support import CHANNEL, HO, JEANS, TEE, order_body, post_store_event, store_event, wait_for_status


async def _stock(stack, sku: str, location: str = "S001") -> dict:
    holding = (await stack.http.get(f"/stock/{sku}")).json()
    return next(loc for loc in holding["locations"] if loc["location_id"] == location)


async def test_place_order_happy_path_reaches_completed_and_commits_stock(stack):
    before = await _stock(stack, TEE)
    response = await stack.http.post("/orders", json=order_body(), headers=CHANNEL)
    assert response.status_code == 201, response.text
    order = response.json()
    number = order["order_number"]
    assert order["status"] == "received"
    assert [line["line_id"] for line in order["lines"]] == ["L1", "L2"]

    await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    assert (await _stock(stack, TEE))["reserved"] == before["reserved"] + 2

    assert (await post_store_event(stack.http, "S001", store_event(number, "acknowledged"))).status_code == 202
    await wait_for_status(stack.http, number, "acknowledged")
    picked = store_event(number, "picked", picked={"L1": 2, "L2": 1})
    assert (await post_store_event(stack.http, "S001", picked)).status_code == 202
    await wait_for_status(stack.http, number, "ready_for_collection")
    assert (await post_store_event(stack.http, "S001", store_event(number, "collected"))).status_code == 202
    view = await wait_for_status(stack.http, number, "completed")

    after = await _stock(stack, TEE)
    assert after["on_hand"] == before["on_hand"] - 2
    assert after["reserved"] == before["reserved"]
    transitions = [(h["from_status"], h["to_status"]) for h in view["history"] if h["to_status"]]
    assert transitions == [
        ("received", "awaiting_acknowledgement"),
        ("awaiting_acknowledgement", "acknowledged"),
        ("acknowledged", "ready_for_collection"),
        ("ready_for_collection", "collected"),
        ("collected", "completed"),
    ]
    assert view["history"][0]["action"] == "order_placed"
    assert {h["actor"] for h in view["history"]} >= {"web:C42", "system", "store:S001"}
    assert {s["sku"] for s in view["stock"]} == {TEE, JEANS}
    assert view["notes"][0]["text"] == "Please gift wrap"
    listed = (await stack.http.get("/orders", params={"order_number": number}, headers=HO)).json()
    assert listed["items"][0]["status"] == "completed"
