"""Deliveries through the real stack (dev server, worker, API, database): a home delivery placed without a
location is sourced, reserved there, packed, shipped (captured, tracked) and delivered by it; old bodies keep one
click & collect delivery; mixed deliveries and unsourceable lines are refused by field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from activities.notifications import validate_extract
from models.db import stock as stock_db
from models.db.tables import NotificationExtractRow, OrderEventRow, OrderExportStateRow, StoreMessageRow
from tests.outbox_support import rows
from tests.support import (
    CHANNEL,
    HO,
    HO_KEY,
    JEANS,
    PRICES,
    TEE,
    act,
    eventually,
    gateway_operations,
    make_ready,
    order_body,
    place,
    settled,
    store_says,
    ui_sign_in,
    wait_for_status,
)

ADDRESS = {"name": "Ada Lovelace", "line1": "1 Abington Street", "city": "Northampton", "postcode": "NN1 2AJ",
           "country": "GB"}  # fmt: skip
TOTAL = PRICES[TEE] * 2 + PRICES[JEANS]


def home_delivery(**fulfilment: object) -> dict:
    payment = {
        "mode": "authorise",
        "method": "card",
        "token": "tok_approve",
        "amount": {"amount": TOTAL, "currency": "GBP"},
    }
    return order_body(fulfilment={"method": "home_delivery", "address": ADDRESS, **fulfilment}, payment=payment)


async def _stock(stack, sku: str, location: str) -> dict:
    holding = (await stack.http.get(f"/stock/{sku}")).json()
    return next(loc for loc in holding["locations"] if loc["location_id"] == location)


async def test_home_delivery_is_sourced_from_the_warehouse_packed_shipped_captured_and_delivered(stack):
    settings = {"strategy": "warehouse_first", "distances_km": {"NN": {"W001": 3, "S001": 100}}}
    assert (await stack.http.put("/settings/sourcing", json=settings, headers=HO)).status_code == 200
    before = await _stock(stack, TEE, "W001")

    number = await place(stack.http, home_delivery(), status="awaiting_dispatch")
    view = await settled(stack.http, number)
    (delivery,) = view["deliveries"]
    assert (delivery["method"], delivery["location_id"], delivery["status"]) == (
        "home_delivery",
        "W001",
        "allocated",
    )
    assert delivery["sourcing"]["assignments"] == {"W001": ["L1", "L2"]}
    verdicts = {v["location_id"]: v for v in delivery["sourcing"]["candidates"]}
    assert verdicts["W001"]["chosen"] and verdicts["W001"]["distance_km"] == 3
    assert verdicts["S001"]["reason"].startswith("ranked after W001")
    assert (view["store_id"], view["dispatch_location"]) == ("W001", "W001")
    assert (await _stock(stack, TEE, "W001"))["reserved"] == before["reserved"] + 2
    assert gateway_operations(stack.engine, number) == [("authorise", "approved", TOTAL)]

    await store_says(stack.http, number, "packed", "W001")
    await wait_for_status(stack.http, number, "ready_to_ship")
    await store_says(stack.http, number, "shipped", "W001", carrier="DPD", tracking_number="15501234567890")
    view = await wait_for_status(stack.http, number, "shipped")
    (delivery,) = view["deliveries"]
    assert (delivery["status"], delivery["carrier"], delivery["tracking_number"]) == (
        "shipped",
        "DPD",
        "15501234567890",
    )
    view = await settled(stack.http, number)
    assert gateway_operations(stack.engine, number) == [
        ("authorise", "approved", TOTAL),
        ("capture", "approved", TOTAL),
    ]
    assert view["paid"]["amount"] == TOTAL  # captured at shipment, before delivery
    after = await _stock(stack, TEE, "W001")
    assert (after["on_hand"], after["reserved"]) == (before["on_hand"] - 2, before["reserved"])

    await store_says(stack.http, number, "delivered", "W001")
    done = await wait_for_status(stack.http, number, "completed")
    assert done["deliveries"][0]["status"] == "delivered"
    events = [e.type for e in sorted(rows(stack.engine, OrderEventRow, order_number=number), key=lambda e: e.id)]
    assert events[-4:] == ["packed", "shipped", "delivered", "completed"]
    exports = [r.state for r in rows(stack.engine, OrderExportStateRow, order_number=number)]
    assert exports.count("DELIVERY") == 1
    documents = {r.type: r for r in rows(stack.engine, NotificationExtractRow, order_number=number)}
    assert {"shipped", "delivered"} <= set(documents)
    for document in documents.values():
        validate_extract(document.payload.encode())
    assert "<TrackingNumber>15501234567890</TrackingNumber>" in documents["shipped"].payload


async def test_home_delivery_from_a_named_store_goes_there(stack):
    number = await place(stack.http, home_delivery(location_id="S002"), status="awaiting_dispatch")
    view = (await stack.http.get(f"/orders/{number}", headers=HO)).json()
    assert [(d["method"], d["location_id"], d["sourcing"]) for d in view["deliveries"]] == [
        ("home_delivery", "S002", None)
    ]


async def test_an_old_click_and_collect_body_is_one_delivery(stack):
    number = await place(stack.http, order_body())
    view = (await stack.http.get(f"/orders/{number}", headers=HO)).json()
    assert [(d["delivery_id"], d["method"], d["location_id"], d["status"], d["lines"]) for d in view["deliveries"]] == [
        ("D1", "click_and_collect", "S001", "allocated", ["L1", "L2"])
    ]


async def test_refused_placements_name_the_field(stack):
    two_stores = order_body()
    two_stores["lines"][1]["fulfilment"] = {"method": "click_and_collect", "store_id": "S002"}
    no_address = order_body(fulfilment={"method": "home_delivery"})
    unknown = home_delivery(location_id="W999")
    too_many = home_delivery()
    too_many["lines"][0]["quantity"] = 999
    too_many["payment"]["amount"]["amount"] = PRICES[TEE] * 999 + PRICES[JEANS]
    for body, field in [
        (two_stores, "lines"),
        (no_address, "fulfilment.address"),
        (unknown, "fulfilment.location_id"),
        (too_many, "lines[0].quantity"),
    ]:
        response = await stack.http.post("/orders", json=body, headers=CHANNEL)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in response.json()["errors"]] == [field], response.text


async def test_a_mixed_order_is_collected_and_delivered_with_a_capture_per_delivery(stack):
    """One line collected at S001, one delivered from the warehouse; one `authorise` card: two authorisations,
    two captures (each when its delivery goes), the order partially collected until the parcel arrives."""
    body = home_delivery()
    body["fulfilment"] = {"method": "click_and_collect", "store_id": "S001"}
    body["lines"][1]["fulfilment"] = {"method": "home_delivery", "address": ADDRESS}
    warehouse_before = await _stock(stack, JEANS, "W001")
    number = await place(stack.http, body)
    view = await settled(stack.http, number)
    assert [(d["delivery_id"], d["method"], d["location_id"], d["status"], d["lines"]) for d in view["deliveries"]] == [
        ("D1", "click_and_collect", "S001", "allocated", ["L1"]),
        ("D2", "home_delivery", "W001", "allocated", ["L2"]),
    ]
    share = PRICES[TEE] * 2
    assert [(p["payment_id"], p["status"], p["amount"]["amount"]) for p in view["payments"]] == [
        ("P1", "authorised", share),
        ("P2", "authorised", PRICES[JEANS]),
    ]
    assert (await _stock(stack, JEANS, "W001"))["reserved"] == warehouse_before["reserved"] + 1
    messages = {(m.store_id, m.type) for m in rows(stack.engine, StoreMessageRow, order_number=number)}
    assert messages == {("S001", "order_created"), ("W001", "delivery_created")}

    await store_says(stack.http, number, "shipped", "W001", carrier="DPD", tracking_number="15501234567890")
    await make_ready(stack.http, number)
    await store_says(stack.http, number, "collected", "S001")
    view = await wait_for_status(stack.http, number, "partially_collected")
    await settled(stack.http, number)
    captures = [op for op in gateway_operations(stack.engine, number) if op[0] == "capture"]
    assert sorted(captures) == sorted([("capture", "approved", PRICES[JEANS]), ("capture", "approved", share)])

    await store_says(stack.http, number, "delivered", "W001", delivery_id="D2")
    done = await wait_for_status(stack.http, number, "completed")
    assert [d["status"] for d in done["deliveries"]] == ["collected", "delivered"]
    assert done["paid"]["amount"] == TOTAL and done["authorised"]["amount"] == 0
    after = await _stock(stack, JEANS, "W001")
    assert (after["on_hand"], after["reserved"]) == (warehouse_before["on_hand"] - 1, warehouse_before["reserved"])
    events = [e.type for e in sorted(rows(stack.engine, OrderEventRow, order_number=number), key=lambda e: e.id)]
    assert events.count("shipped") == 1 and events.count("delivered") == 1 and events[-1] == "completed"


async def test_a_direct_sale_completes_at_once(stack):
    body = order_body(channel="store", fulfilment={"method": "direct_sale", "store_id": "S002"})
    before = await _stock(stack, TEE, "S002")
    number = await place(stack.http, body, status="completed")
    view = (await stack.http.get(f"/orders/{number}", headers=HO)).json()
    assert [(d["method"], d["location_id"], d["status"]) for d in view["deliveries"]] == [
        ("direct_sale", "S002", "sold")
    ]
    assert view["paid"]["amount"] == TOTAL
    after = await _stock(stack, TEE, "S002")
    assert (after["on_hand"], after["reserved"]) == (before["on_hand"] - 2, before["reserved"])
    events = [e.type for e in sorted(rows(stack.engine, OrderEventRow, order_number=number), key=lambda e: e.id)]
    assert events[-2:] == ["collected", "completed"]
    web = order_body(fulfilment={"method": "direct_sale", "store_id": "S002"})
    refused = await stack.http.post("/orders", json=web, headers=CHANNEL)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "fulfilment.method"


async def test_a_delivery_rejected_by_its_location_is_re_sourced(stack):
    """The warehouse named at placement picks short and rejects D2: an alert names it (Baton re-sources only what it
    sourced itself, tests/api/test_delivery_resourcing.py); Head Office re-sources it (sourcing chooses the nearest
    other location with stock), the stock moves with it and the new location ships it."""
    settings = {"strategy": "nearest_store", "distances_km": {"NN": {"W001": 3, "S002": 40, "S003": 90}}}
    assert (await stack.http.put("/settings/sourcing", json=settings, headers=HO)).status_code == 200
    body = home_delivery()
    body["fulfilment"] = {"method": "click_and_collect", "store_id": "S001"}
    body["lines"][1]["fulfilment"] = {"method": "home_delivery", "address": ADDRESS, "location_id": "W001"}
    number = await place(stack.http, body)
    view = await settled(stack.http, number)
    assert view["deliveries"][1]["location_id"] == "W001"

    await store_says(stack.http, number, "rejected", "W001", reason="short pick: JEAN-IND-32 0 of 1")

    async def alerted() -> dict | None:
        view = (await stack.http.get(f"/orders/{number}", headers=HO)).json()
        return view if view["has_alert"] else None

    view = await eventually(alerted)
    assert view["deliveries"][1]["status"] == "rejected"
    assert [a["type"] for a in view["alerts"] if not a["cleared_at"]] == ["delivery_rejected"]
    s002_before = await _stock(stack, JEANS, "S002")
    w001_before = await _stock(stack, JEANS, "W001")

    moved = await act(stack.http, number, "move-delivery", {"delivery_id": "D2", "reason": "warehouse short"})
    delivery = moved["deliveries"][1]
    assert (delivery["location_id"], delivery["status"]) == ("S002", "allocated")
    verdicts = {v["location_id"]: v["reason"] for v in delivery["sourcing"]["candidates"]}
    assert verdicts["S002"] == "chosen" and verdicts["W001"] == "the location it moves away from"
    assert not moved["has_alert"]
    assert (await _stock(stack, JEANS, "S002"))["reserved"] == s002_before["reserved"] + 1
    assert (await _stock(stack, JEANS, "W001"))["reserved"] == w001_before["reserved"] - 1
    messages = [(m.store_id, m.type) for m in rows(stack.engine, StoreMessageRow, order_number=number)]
    assert ("W001", "delivery_cancelled") in messages and ("S002", "delivery_created") in messages

    await store_says(stack.http, number, "shipped", "S002", carrier="Royal Mail", tracking_number="JD014600003GB")

    async def shipped() -> dict | None:
        view = (await stack.http.get(f"/orders/{number}", headers=HO)).json()
        return view if view["deliveries"][1]["status"] == "shipped" else None

    await eventually(shipped)
    again = await stack.http.post(
        f"/orders/{number}/move-delivery", json={"delivery_id": "D2", "reason": "too late"}, headers=HO
    )
    assert again.status_code == 409 and again.json()["rule"] == "delivery_not_movable"


async def test_a_preorder_reserves_on_its_release_date(skipping_stack):
    stack = skipping_stack
    release = datetime.now(UTC) + timedelta(days=3)
    before = await _stock(stack, TEE, "S001")
    number = await place(stack.http, order_body(release_at=release.isoformat()), status="awaiting_release")
    assert (await _stock(stack, TEE, "S001"))["reserved"] == before["reserved"]
    await stack.env.sleep(timedelta(days=3, minutes=1))
    view = await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    assert view["deliveries"][0]["status"] == "allocated"
    assert (await _stock(stack, TEE, "S001"))["reserved"] == before["reserved"] + 2


async def test_a_backorder_is_released_by_replenishment(skipping_stack):
    stack = skipping_stack
    available = (await _stock(stack, TEE, "S003"))["available"]
    body = order_body("S003", lines=[(TEE, available + 1)], backorder_for="P7D")
    number = await place(stack.http, body, status="backordered")
    view = (await stack.http.get(f"/orders/{number}", headers=HO)).json()
    assert view["deliveries"][0]["status"] == "backordered" and not view["has_alert"]
    with Session(stack.engine) as session:
        stock_db.top_up(session, "S003", {TEE: available + 1})  # replenishment arrives in the stock ledger
    await stack.env.sleep(timedelta(hours=1, minutes=1))
    await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    assert (await _stock(stack, TEE, "S003"))["reserved"] >= available + 1


async def test_orders_are_found_by_fulfilment_method_in_the_api_and_on_the_dashboard(stack):
    home = await place(stack.http, home_delivery(location_id="S002"), status="awaiting_dispatch")
    collect = await place(stack.http, order_body())
    found = await stack.http.get("/orders", params={"fulfilment_method": "home_delivery"}, headers=HO)
    items = {item["order_number"]: item["fulfilment_methods"] for item in found.json()["items"]}
    assert items.get(home) == "home_delivery" and collect not in items
    refused = await stack.http.get("/orders", params={"fulfilment_method": "teleport"}, headers=HO)
    assert refused.status_code == 422

    assert (await ui_sign_in(stack.http, HO_KEY)).status_code == 303
    page = (await stack.http.get("/ui/orders", params={"method": "home_delivery", "view": "all"})).text
    assert f'data-order="{home}"' in page and f'data-order="{collect}"' not in page
    assert 'data-methods="home_delivery"' in page and '<option value="home_delivery" selected>' in page


async def test_the_order_page_shows_each_delivery_with_its_status_tracking_and_sourcing(stack):
    body = home_delivery()
    body["fulfilment"] = {"method": "click_and_collect", "store_id": "S001"}
    body["lines"][1]["fulfilment"] = {"method": "home_delivery", "address": ADDRESS}
    number = await place(stack.http, body)
    await settled(stack.http, number)
    await store_says(stack.http, number, "shipped", "W001", carrier="DPD", tracking_number="JD014600003GB")

    async def shipped() -> dict | None:
        view = (await stack.http.get(f"/orders/{number}", headers=HO)).json()
        return view if view["deliveries"][1]["status"] == "shipped" else None

    await eventually(shipped)
    assert (await ui_sign_in(stack.http, HO_KEY)).status_code == 303
    page = (await stack.http.get(f"/ui/orders/{number}")).text
    section = page[page.index('id="deliveries"') :]
    section = section[: section.index("</table>")]
    assert 'data-delivery="D1"' in section and 'data-delivery="D2"' in section
    assert "DPD JD014600003GB" in section and "W001: chosen" in section


async def test_head_office_delivers_one_line_of_a_collection_instead(stack):
    number = await place(stack.http, order_body())
    s001_before, w001_before = await _stock(stack, JEANS, "S001"), await _stock(stack, JEANS, "W001")
    body = {"line_ids": ["L2"], "from_location": "W001", "address": ADDRESS, "reason": "customer asked"}
    view = await act(stack.http, number, "split-delivery", body)
    assert [(d["delivery_id"], d["method"], d["location_id"], d["lines"]) for d in view["deliveries"]] == [
        ("D1", "click_and_collect", "S001", ["L1"]),
        ("D2", "home_delivery", "W001", ["L2"]),
    ]
    assert (await _stock(stack, JEANS, "S001"))["reserved"] == s001_before["reserved"] - 1
    assert (await _stock(stack, JEANS, "W001"))["reserved"] == w001_before["reserved"] + 1
    unknown = await stack.http.post(
        f"/orders/{number}/split-delivery", json={**body, "from_location": "W999"}, headers=HO
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "from_location"
    await store_says(stack.http, number, "shipped", "W001", carrier="DPD", tracking_number="JD014600003GB")
    await make_ready(stack.http, number)
    await store_says(stack.http, number, "collected", "S001")
    await wait_for_status(stack.http, number, "partially_collected")
    await store_says(stack.http, number, "delivered", "W001")
    await wait_for_status(stack.http, number, "completed")


async def test_an_item_the_collection_store_lacks_is_sourced_as_a_new_delivery(stack):
    body = home_delivery()
    body["fulfilment"] = {"method": "click_and_collect", "store_id": "S001"}
    body["lines"][1]["fulfilment"] = {"method": "home_delivery", "address": ADDRESS, "location_id": "W001"}
    number = await place(stack.http, body)
    await settled(stack.http, number)
    lacking = (await _stock(stack, TEE, "S001"))["available"] + 1
    view = await act(stack.http, number, "add-item", {"sku": TEE, "quantity": lacking, "reason": "customer called"})
    added = view["deliveries"][2]
    assert (added["delivery_id"], added["method"], added["location_id"], added["lines"]) == (
        "D3",
        "home_delivery",
        "W001",
        ["L3"],
    )
    assert added["sourcing"]["assignments"] == {"W001": ["L3"]}
    plain = await stack.http.post(
        f"/orders/{await place(stack.http, order_body())}/add-item",
        json={"sku": TEE, "quantity": lacking, "reason": "customer called"},
        headers=HO,
    )
    assert plain.status_code == 409 and plain.json()["rule"] == "stock_shortage"  # nowhere to deliver it to
