"""The seed's five Head Office scenarios, end to end through the API with a real Temporal server."""

from __future__ import annotations

from sqlmodel import Session, select

from models.db.tables import StoreMessageRow
from tests.support import (
    CHANNEL,
    HO,
    JEANS,
    TEE,
    eventually,
    order_body,
    post_store_event,
    store_event,
    wait_for_status,
)

JACKET = "JKT-OLI-M"


async def _place(stack, **kwargs) -> dict:
    response = await stack.http.post("/orders", json=order_body(**kwargs), headers=CHANNEL)
    assert response.status_code == 201, response.text
    return response.json()


async def _send(stack, number: str, type_: str, store: str = "S001", **kwargs) -> None:
    response = await post_store_event(stack.http, store, store_event(number, type_, **kwargs))
    assert response.status_code == 202, response.text


async def _act(stack, number: str, action: str, body: dict, **headers) -> dict:
    response = await stack.http.post(f"/orders/{number}/{action}", json=body, headers={**HO, **headers})
    assert response.status_code == 200, response.text
    return response.json()


def _store_messages(stack, number: str) -> list[str]:
    with Session(stack.engine) as session:
        rows = session.exec(
            select(StoreMessageRow).where(StoreMessageRow.order_number == number).order_by(StoreMessageRow.id)
        ).all()
        return [row.type for row in rows]


async def _stock(stack, sku: str, location: str) -> dict:
    holding = (await stack.http.get(f"/stock/{sku}")).json()
    return next(loc for loc in holding["locations"] if loc["location_id"] == location)


async def _collect(stack, number: str, picked: dict[str, int]) -> dict:
    await _send(stack, number, "acknowledged")
    await wait_for_status(stack.http, number, "acknowledged")
    await _send(stack, number, "picked", picked=picked)
    await wait_for_status(stack.http, number, "ready_for_collection")
    await _send(stack, number, "collected")
    return await wait_for_status(stack.http, number, "completed")


async def test_scenario_1_stock_redirected_from_warehouse_then_collected(stack):
    order = await _place(stack, lines=[(TEE, 11)])  # S001 holds 10
    number = order["order_number"]
    view = await wait_for_status(stack.http, number, "on_hold")
    assert view["hold_reason"] == "stock_shortage"
    warehouse_before = await _stock(stack, TEE, "W001")

    view = await _act(
        stack,
        number,
        "redirect-stock",
        {"sku": TEE, "quantity": 1, "from_location": "W001", "reason": "store is one short"},
    )
    assert view["status"] == "awaiting_transfer"
    transfer = view["transfers"][0]
    assert (transfer["from_location"], transfer["to_location"], transfer["received_at"]) == ("W001", "S001", None)
    assert (await _stock(stack, TEE, "W001"))["on_hand"] == warehouse_before["on_hand"] - 1

    await _send(stack, number, "transfer_received", transfer_id=transfer["transfer_id"])
    view = await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    assert all(alert["cleared_at"] for alert in view["alerts"])
    assert await _stock(stack, TEE, "S001") == {
        "location_id": "S001",
        "kind": "store",
        "on_hand": 11,
        "reserved": 11,
        "available": 0,
    }
    view = await _collect(stack, number, {"L1": 11})
    assert (await _stock(stack, TEE, "S001"))["on_hand"] == 0
    assert [h["actor"] for h in view["history"] if h["action"] == "stock_redirected"] == ["ho:alice"]


async def test_scenario_2_not_picked_alert_ho_prompts_store_picks_alert_clears(stack):
    policy = {
        "not_acknowledged": "PT1H",
        "not_picked": 1,
        "on_hold": "PT1H",
        "not_collected": "P1D",
        "not_updated": "PT1H",
        "collection_expiry": "P2D",
    }
    assert (await stack.http.put("/settings/sla", json=policy, headers=HO)).status_code == 200
    number = (await _place(stack))["order_number"]
    await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    await _send(stack, number, "acknowledged")

    async def alerted():
        view = (await stack.http.get(f"/orders/{number}", headers=HO)).json()
        return view if any(a["type"] == "not_picked" and not a["cleared_at"] for a in view["alerts"]) else None

    await eventually(alerted)
    view = await _act(stack, number, "prompt-store", {"reason": "pick before 5pm please"})
    prompt = [h for h in view["history"] if h["action"] == "store_prompted"]
    assert prompt[0]["actor"] == "ho:alice" and "pick before 5pm" in prompt[0]["detail"]
    assert _store_messages(stack, number) == ["order_created", "order_prompt"]  # through the store's outbox

    await _send(stack, number, "picked", picked={"L1": 2, "L2": 1})
    view = await wait_for_status(stack.http, number, "ready_for_collection")
    assert [a["cleared_at"] is not None for a in view["alerts"] if a["type"] == "not_picked"] == [True]
    assert view["has_alert"] is False


async def test_scenario_3_customer_adds_an_item_collected_together(stack):
    order = await _place(stack)
    number = order["order_number"]
    await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    await _send(stack, number, "acknowledged")
    await wait_for_status(stack.http, number, "acknowledged")

    view = await _act(
        stack,
        number,
        "add-item",
        {"sku": JACKET, "quantity": 1, "reason": "customer called", "client_note": "Jacket added to your order"},
    )
    added = view["lines"][-1]
    assert (added["line_id"], added["sku"], added["quantity"]) == ("L3", JACKET, 1)
    assert view["total"]["amount"] == order["total"]["amount"] + 12000
    # Prepaid by the channel, so no card is stored: the store takes the difference at the till.
    charge = view["payments"][-1]
    assert (charge["status"], charge["amount"]["amount"]) == ("due", 12000) and view["outstanding"]["amount"] == 12000
    assert view["store_update_pending_since"] is not None
    assert view["notes"][-1] == {**view["notes"][-1], "text": "Jacket added to your order", "client_facing": True}
    assert (await _stock(stack, JACKET, "S001"))["reserved"] == 1

    await _send(stack, number, "update_acknowledged")
    await _send(stack, number, "picked", picked={"L1": 2, "L2": 1, "L3": 1})
    await wait_for_status(stack.http, number, "ready_for_collection")
    await _send(stack, number, "collected")
    view = await wait_for_status(stack.http, number, "completed")
    assert view["store_update_pending_since"] is None
    assert (await _stock(stack, JACKET, "S001")) == {
        "location_id": "S001",
        "kind": "store",
        "on_hand": 9,
        "reserved": 0,
        "available": 9,
    }


async def test_scenario_4_customer_buys_in_store_instead_refunded_stock_held(stack):
    order = await _place(stack)
    number = order["order_number"]
    await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    view = await _act(stack, number, "buy-in-store", {"line_ids": ["L1", "L2"], "reason": "wants to try them on"})
    assert {line["fulfilment"] for line in view["lines"]} == {"buy_in_store"}
    assert view["refunded"] == order["total"] and view["total"]["amount"] == 0
    assert view["refunds"][0]["actor"] == "ho:alice"
    assert (await _stock(stack, TEE, "S001"))["reserved"] == 2  # held at the store for the customer
    assert (await _stock(stack, JEANS, "S001"))["reserved"] == 1


async def test_scenario_5_customer_cancels_refunded_stock_available_again(stack):
    order = await _place(stack)
    number = order["order_number"]
    await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    assert (await _stock(stack, TEE, "S001"))["available"] == 8
    view = await _act(stack, number, "cancel", {"reason": "customer changed their mind"})
    assert view["status"] == "cancelled"
    assert view["refunded"] == order["total"]
    assert (await _stock(stack, TEE, "S001"))["available"] == 10
    assert (await _stock(stack, JEANS, "S001"))["available"] == 10
    cancelled = [h for h in view["history"] if h["to_status"] == "cancelled"]
    assert cancelled[0]["actor"] == "ho:alice" and cancelled[0]["detail"] == "customer changed their mind"
