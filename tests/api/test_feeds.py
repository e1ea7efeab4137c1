"""Catalogue and stock in, availability out, end to end: feeds applied once by message id, every movement in the
stock ledger with who and why, a count below the reservations alerting the orders holding that stock, and a
webhook subscriber told what is available after an order and after its cancellation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.http_receiver import Receiver, http_receiver
from tests.support import HO, TEE, act, eventually, place, wait_for_status

STORE = {"Authorization": "Bearer test-store-s001"}  # store S001's key ("oxford-street")
CSV = """sku,style,name,size,colour,price,currency
TEE-WHI-M,TEE,Classic tee,M,White,2100,GBP
HAT-RED-OS,HAT,Beanie,OS,Red,1500,GBP
"""


@pytest.fixture
def webstore() -> Iterator[Receiver]:
    with http_receiver(path="/availability") as receiver:
        yield receiver


@pytest.fixture
def stack_settings() -> dict[str, Any]:
    return {"outbox_poll_seconds": 0.05, "outbound_retry_initial_seconds": 0.2}


async def _products(http: Any) -> dict[str, dict]:
    return {p["sku"]: p for p in (await http.get("/products")).json()}


async def _ledger(http: Any, **params: str) -> list[dict]:
    response = await http.get("/stock/ledger", params=params, headers=HO)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def test_a_csv_price_feed_sent_twice_is_applied_once(stack):
    http = stack.http
    headers = {**HO, "Content-Type": "text/csv", "Baton-Message-Id": "erp-prices-0001"}
    first = await http.post("/feeds/products/csv", content=CSV, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json() | {} == {**first.json(), "created": 1, "updated": 1, "replayed": False}
    products = await _products(http)
    assert products["TEE-WHI-M"]["price"] == {"amount": 2100, "currency": "GBP"}
    assert products["HAT-RED-OS"]["name"] == "Beanie"

    # The same message again, even with other prices in it: answered with what it did, nothing applied.
    again = await http.post("/feeds/products/csv", content=CSV.replace("2100", "9999"), headers=headers)
    assert again.status_code == 200 and again.json()["replayed"] is True
    assert (again.json()["created"], again.json()["updated"]) == (1, 1)
    assert (await _products(http))["TEE-WHI-M"]["price"]["amount"] == 2100

    bad = await http.post(
        "/feeds/products/csv",
        content=CSV.replace("1500", "fifteen"),
        headers={**headers, "Baton-Message-Id": "erp-prices-0002"},
    )
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert bad.json()["errors"][0]["field"] == "line 3: price"
    assert "HAT-RED-OS" in await _products(http) and (await _products(http))["HAT-RED-OS"]["price"]["amount"] == 1500
    product = {"sku": "X-1", "style": "X", "name": "x", "price": {"amount": 1, "currency": "GBP"}}
    json_feed = {"message_id": "erp-prices-0001", "products": [product]}
    reused = await http.post("/feeds/products", json=json_feed, headers=HO)
    assert reused.status_code == 200 and reused.json()["replayed"] is True and "X-1" not in await _products(http)
    store_key = await http.post("/feeds/products", json={**json_feed, "message_id": "m-9"}, headers=STORE)
    assert store_key.status_code == 403


async def test_a_count_below_the_reservations_alerts_the_orders_holding_that_stock(stack):
    http = stack.http
    number = await place(http)  # 2 tees reserved at S001
    before = [m for m in await _ledger(http, sku=TEE, location_id="S001") if m["order_number"] == number]
    assert [(m["kind"], m["reserved_delta"], m["actor"]) for m in before] == [("reserve", 2, f"order:{number}")]

    count = {"message_id": "wms-count-7", "reason": "weekly cycle count",
             "counts": [{"sku": TEE, "location_id": "S001", "on_hand": 1}]}  # fmt: skip
    response = await http.post("/feeds/stock-counts", json=count, headers=STORE)  # the store counts its own shelf
    assert response.status_code == 200, response.text
    (shortfall,) = response.json()["shortfalls"]
    assert shortfall == {"sku": TEE, "location_id": "S001", "counted": 1, "reserved": 2, "orders": [number]}

    async def alerted() -> dict | None:
        view = (await http.get(f"/orders/{number}", headers=HO)).json()
        return view if any(a["type"] == "stock_count_short" for a in view["alerts"]) else None

    view = await eventually(alerted)
    assert view["status"] == "awaiting_acknowledgement"  # the order goes on: Head Office decides
    stock = {(s["location_id"]): s for s in (await http.get(f"/stock/{TEE}", headers=HO)).json()["locations"]}
    assert (stock["S001"]["on_hand"], stock["S001"]["reserved"], stock["S001"]["available"]) == (2, 2, 0)
    (counted,) = [m for m in await _ledger(http, sku=TEE, location_id="S001") if m["kind"] == "count"]
    assert (counted["on_hand_delta"], counted["actor"], counted["reason"]) == (
        -8,
        "store:oxford-street",
        "weekly cycle count",
    )

    again = await http.post("/feeds/stock-counts", json=count, headers=STORE)
    assert again.json()["replayed"] is True
    await act(http, number, "notes", {"text": "checked the shelf"})  # answered after the replayed alert signal
    view = (await http.get(f"/orders/{number}", headers=HO)).json()
    assert sum(a["type"] == "stock_count_short" for a in view["alerts"]) == 1

    elsewhere = {**count, "message_id": "wms-count-8", "counts": [{"sku": TEE, "location_id": "S002", "on_hand": 3}]}
    assert (await http.post("/feeds/stock-counts", json=elsewhere, headers=STORE)).status_code == 403
    below = {"message_id": "wms-adj-1", "movements": [{"sku": TEE, "location_id": "S001", "kind": "adjustment",
                                                       "delta": -1, "reason": "damaged"}]}  # fmt: skip
    refused = await http.post("/feeds/stock-movements", json=below, headers=HO)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "movements[0].delta"
    receipt = {"message_id": "wms-grn-1", "movements": [{"sku": TEE, "location_id": "S001", "kind": "receipt",
                                                         "delta": 6, "reason": "delivery GRN-1"}]}  # fmt: skip
    assert (await http.post("/feeds/stock-movements", json=receipt, headers=HO)).json()["applied"] == 1
    assert (await http.post("/feeds/stock-movements", json=receipt, headers=HO)).json()["replayed"] is True
    stock = {(s["location_id"]): s for s in (await http.get(f"/stock/{TEE}", headers=HO)).json()["locations"]}
    assert stock["S001"]["on_hand"] == 8  # the receipt applied once


async def test_a_subscriber_hears_what_is_available_after_an_order_and_its_cancellation(stack, webstore):
    http = stack.http
    body = {"name": "webstore", "url": webstore.url, "event_types": ["stock_changed"]}
    assert (await http.post("/webhook-subscribers", json=body, headers=HO)).status_code == 201
    number = await place(http)

    def availability() -> dict[tuple[str, str], int]:
        """The latest figure the webstore was told for each SKU and location."""
        latest: dict[tuple[str, str], int] = {}
        for request in webstore.accepted:
            assert request.json["type"] == "stock_changed"
            for item in request.json["items"]:
                latest[(item["sku"], item["location_id"])] = item["available"]
        return latest

    async def told(expected: int) -> bool:
        return availability().get((TEE, "S001")) == expected

    await eventually(lambda: told(8))
    await act(http, number, "cancel", {"reason": "customer changed their mind"})
    await wait_for_status(http, number, "cancelled")
    await eventually(lambda: told(10))
    ids = [request.json["event_id"] for request in webstore.accepted]
    assert len(ids) == len(set(ids))  # each batch once
    assert all(
        r.headers["baton-event-id"] == r.json["event_id"] and r.headers["baton-signature"] for r in webstore.accepted
    )
