"""Automatic re-sourcing through the real stack: a home delivery Baton sourced whose location picks short (rejects it)
is sourced again at once among the other locations, its stock reserved there and released where it was, with the
reason the first location lost on its sourcing; with no other location holding its lines it waits for Head Office
under a delivery_rejected alert, as before."""

from __future__ import annotations

from models.db.tables import StoreMessageRow
from tests.api.test_deliveries import ADDRESS, home_delivery
from tests.outbox_support import rows
from tests.support import HO, JEANS, eventually, place, settled, store_says

SHORT = "short pick: JEAN-IND-32 0 of 1"


async def _stock(stack, sku: str, location: str) -> dict:
    holding = (await stack.http.get(f"/stock/{sku}")).json()
    return next(loc for loc in holding["locations"] if loc["location_id"] == location)


async def _mixed_order_sourced_to_the_warehouse(stack) -> str:
    settings = {"strategy": "nearest_store", "distances_km": {"NN": {"W001": 3, "S002": 40, "S003": 90}}}
    assert (await stack.http.put("/settings/sourcing", json=settings, headers=HO)).status_code == 200
    body = home_delivery()
    body["fulfilment"] = {"method": "click_and_collect", "store_id": "S001"}
    body["lines"][1]["fulfilment"] = {"method": "home_delivery", "address": ADDRESS}
    number = await place(stack.http, body)
    view = await settled(stack.http, number)
    assert (view["deliveries"][1]["location_id"], view["deliveries"][1]["sourcing"] is not None) == ("W001", True)
    return number


async def test_a_delivery_re_sourced_after_a_short_pick(stack):
    number = await _mixed_order_sourced_to_the_warehouse(stack)
    s002_before, w001_before = await _stock(stack, JEANS, "S002"), await _stock(stack, JEANS, "W001")

    await store_says(stack.http, number, "rejected", "W001", reason=SHORT, delivery_id="D2")

    async def moved() -> dict | None:
        view = (await stack.http.get(f"/orders/{number}", headers=HO)).json()
        return view if view["deliveries"][1]["location_id"] != "W001" else None

    view = await eventually(moved)
    delivery = view["deliveries"][1]
    assert (delivery["location_id"], delivery["status"]) == ("S002", "allocated")
    verdicts = {v["location_id"]: v["reason"] for v in delivery["sourcing"]["candidates"]}
    assert verdicts["S002"] == "chosen" and verdicts["W001"] == f"could not fulfil it: {SHORT}"
    assert delivery["sourcing"]["assignments"] == {"S002": ["L2"]}
    rejected = [a for a in view["alerts"] if a["type"] == "delivery_rejected"]
    assert len(rejected) == 1 and rejected[0]["cleared_at"] is not None and not view["has_alert"]
    assert "delivery_resourced" in [entry["action"] for entry in view["history"]]
    assert (await _stock(stack, JEANS, "S002"))["reserved"] == s002_before["reserved"] + 1
    assert (await _stock(stack, JEANS, "W001"))["reserved"] == w001_before["reserved"] - 1
    messages = [(m.store_id, m.type) for m in rows(stack.engine, StoreMessageRow, order_number=number)]
    assert ("W001", "delivery_cancelled") in messages and ("S002", "delivery_created") in messages

    await store_says(stack.http, number, "shipped", "S002", carrier="Royal Mail", tracking_number="JD014600003GB")

    async def shipped() -> dict | None:
        view = (await stack.http.get(f"/orders/{number}", headers=HO)).json()
        return view if view["deliveries"][1]["status"] == "shipped" else None

    await eventually(shipped)


async def test_a_rejected_delivery_no_other_location_can_fulfil_waits_for_head_office(stack):
    number = await _mixed_order_sourced_to_the_warehouse(stack)
    every_store = {"strategy": "nearest_store", "disabled_locations": ["S001", "S002", "S003", "S004"]}
    assert (await stack.http.put("/settings/sourcing", json=every_store, headers=HO)).status_code == 200
    w001_before = await _stock(stack, JEANS, "W001")

    await store_says(stack.http, number, "rejected", "W001", reason=SHORT, delivery_id="D2")

    async def tried() -> dict | None:
        view = (await stack.http.get(f"/orders/{number}", headers=HO)).json()
        return view if "delivery_not_resourced" in [e["action"] for e in view["history"]] else None

    view = await eventually(tried)
    assert (view["deliveries"][1]["location_id"], view["deliveries"][1]["status"]) == ("W001", "rejected")
    assert [a["type"] for a in view["alerts"] if not a["cleared_at"]] == ["delivery_rejected"]
    assert (await _stock(stack, JEANS, "W001"))["reserved"] == w001_before["reserved"]  # Head Office decides
