"""SLA alerts from durable timers, proven by skipping hours and days on the time-skipping test server."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session

from models.db.tables import StockLevelRow
from tests.support import (
    CHANNEL,
    HO,
    TEE,
    eventually,
    order_body,
    post_store_event,
    store_event,
    wait_for_status,
)


async def _view(stack, number: str) -> dict:
    return (await stack.http.get(f"/orders/{number}", headers=HO)).json()


async def _alert(stack, number: str, alert_type: str, *, open_: bool) -> dict:
    async def check():
        view = await _view(stack, number)
        alerts = [a for a in view["alerts"] if a["type"] == alert_type and (a["cleared_at"] is None) == open_]
        return view if alerts else None

    return await eventually(check)


async def _place(stack, **kwargs) -> str:
    response = await stack.http.post("/orders", json=order_body(**kwargs), headers=CHANNEL)
    assert response.status_code == 201, response.text
    return response.json()["order_number"]


async def _send(stack, number: str, type_: str, **kwargs) -> None:
    response = await post_store_event(stack.http, "S001", store_event(number, type_, **kwargs))
    assert response.status_code == 202, response.text


async def _ready(stack, number: str) -> None:
    await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    await _send(stack, number, "acknowledged")
    await wait_for_status(stack.http, number, "acknowledged")
    await _send(stack, number, "picked", picked={"L1": 2, "L2": 1})
    await wait_for_status(stack.http, number, "ready_for_collection")


async def test_not_acknowledged_alert_fires_after_sla_and_clears_on_acknowledgement(skipping_stack):
    stack = skipping_stack
    number = await _place(stack)
    await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    await stack.env.sleep(timedelta(minutes=20))
    assert (await _view(stack, number))["alerts"] == []
    await stack.env.sleep(timedelta(minutes=11))
    view = await _alert(stack, number, "not_acknowledged", open_=True)
    assert view["has_alert"] is True
    assert view["status"] == "awaiting_acknowledgement"  # an alert never stops the order
    await _send(stack, number, "acknowledged")
    view = await _alert(stack, number, "not_acknowledged", open_=False)
    assert view["has_alert"] is False
    assert view["status"] == "acknowledged"


async def test_not_picked_alert_fires_and_clears_on_pick(skipping_stack):
    stack = skipping_stack
    number = await _place(stack)
    await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    await _send(stack, number, "acknowledged")
    await wait_for_status(stack.http, number, "acknowledged")
    await stack.env.sleep(timedelta(hours=2, minutes=1))
    await _alert(stack, number, "not_picked", open_=True)
    await _send(stack, number, "picked", picked={"L1": 2, "L2": 1})
    view = await _alert(stack, number, "not_picked", open_=False)
    assert view["status"] == "ready_for_collection"


async def test_store_sla_override_beats_global_policy(skipping_stack):
    stack = skipping_stack
    override = {"name": "London Oxford Street", "sla_overrides": {"not_acknowledged": "PT5M"}}
    assert (await stack.http.put("/stores/S001", json=override, headers=HO)).status_code == 200
    number = await _place(stack)
    await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    await stack.env.sleep(timedelta(minutes=6))
    await _alert(stack, number, "not_acknowledged", open_=True)


async def test_on_hold_alert_fires_and_clears_when_stock_arrives_and_ho_releases(skipping_stack, db):
    stack = skipping_stack
    number = await _place(stack, lines=[(TEE, 11)])  # the store holds 10
    view = await wait_for_status(stack.http, number, "on_hold")
    assert view["hold_reason"] == "stock_shortage"
    assert [a["type"] for a in view["alerts"]] == ["stock_shortage"]
    await stack.env.sleep(timedelta(hours=4, minutes=1))
    await _alert(stack, number, "on_hold", open_=True)

    still_short = await stack.http.post(f"/orders/{number}/release-hold", json={"reason": "retry"}, headers=HO)
    assert still_short.status_code == 200
    assert still_short.json()["status"] == "on_hold"
    with Session(db) as session:
        session.exec(
            update(StockLevelRow)
            .where(StockLevelRow.location_id == "S001", StockLevelRow.sku == TEE)
            .values(on_hand=StockLevelRow.on_hand + 5)
        )
        session.commit()
    released = await stack.http.post(f"/orders/{number}/release-hold", json={"reason": "stock arrived"}, headers=HO)
    assert released.status_code == 200, released.text
    view = released.json()
    assert view["status"] == "awaiting_acknowledgement"
    assert {a["type"] for a in view["alerts"]} == {"stock_shortage", "on_hold"}
    assert all(a["cleared_at"] for a in view["alerts"])


async def test_not_collected_alert_fires_and_clears_on_collection(skipping_stack):
    stack = skipping_stack
    number = await _place(stack)
    await _ready(stack, number)
    await stack.env.sleep(timedelta(days=3, minutes=1))
    await _alert(stack, number, "not_collected", open_=True)
    await _send(stack, number, "collected")
    view = await wait_for_status(stack.http, number, "completed")
    assert all(a["cleared_at"] for a in view["alerts"])


async def test_uncollected_order_is_cancelled_at_final_deadline_and_stock_released(skipping_stack):
    stack = skipping_stack
    before = (await stack.http.get(f"/stock/{TEE}")).json()
    number = await _place(stack)
    await _ready(stack, number)
    await stack.env.sleep(timedelta(days=7, minutes=1))
    view = await wait_for_status(stack.http, number, "cancelled")
    assert any(h["action"] == "collection_expired" for h in view["history"])
    # Prepaid by the channel: everything is paid back, by an instruction to the channel.
    assert view["refunded"] == view["paid"] and view["refunds"][0]["status"] == "instructed"
    assert (await stack.http.get(f"/stock/{TEE}")).json() == before
    assert view["has_alert"] is False


async def test_not_updated_alert_fires_after_ho_change_and_clears_on_store_acknowledgement(skipping_stack):
    stack = skipping_stack
    number = await _place(stack)
    await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    await _send(stack, number, "acknowledged")
    await wait_for_status(stack.http, number, "acknowledged")
    await _send(stack, number, "picked", picked={"L1": 1, "L2": 1})
    await wait_for_status(stack.http, number, "on_hold")
    released = await stack.http.post(f"/orders/{number}/release-hold", json={"reason": "accept"}, headers=HO)
    assert released.status_code == 200, released.text
    await stack.env.sleep(timedelta(minutes=61))
    await _alert(stack, number, "not_updated", open_=True)
    await _send(stack, number, "update_acknowledged")
    view = await _alert(stack, number, "not_updated", open_=False)
    assert view["store_update_pending_since"] is None
    assert view["status"] == "ready_for_collection"


async def test_sla_alert_sets_has_alert_search_attribute(stack):
    """On the dev server, with a one-second SLA, engineers can list alerted orders by search attribute."""
    policy = {
        "not_acknowledged": 1,
        "not_picked": "PT1H",
        "on_hold": "PT1H",
        "not_collected": "P1D",
        "not_updated": "PT1H",
        "collection_expiry": "P2D",
    }
    assert (await stack.http.put("/settings/sla", json=policy, headers=HO)).status_code == 200
    number = await _place(stack)
    await _alert(stack, number, "not_acknowledged", open_=True)
    query = f'OrderNumber="{number}" and StoreId="S001" and HasAlert=true and OrderStatus="awaiting_acknowledgement"'

    async def listed():
        return [w async for w in stack.client.list_workflows(query)]

    found = await eventually(listed)
    assert found[0].id == f"order-{number}"


async def test_an_expired_order_paid_by_card_is_refunded_in_full_through_the_gateway(skipping_stack):
    stack = skipping_stack
    body = order_body()
    body["payment"] = {
        "mode": "auth_capture",
        "method": "card",
        "token": "tok_approve",
        "amount": body["payment"]["amount"],
    }  # noqa: E501
    response = await stack.http.post("/orders", json=body, headers=CHANNEL)
    assert response.status_code == 201, response.text
    number = response.json()["order_number"]
    await _ready(stack, number)
    await stack.env.sleep(timedelta(days=7, minutes=1))
    await wait_for_status(stack.http, number, "cancelled")

    async def refunded() -> dict | None:
        view = await _view(stack, number)
        return view if view["refunds"] and view["refunds"][0]["status"] == "refunded" else None

    view = await eventually(refunded)
    assert view["refunded"] == view["paid"] and view["paid"]["amount"] > 0
