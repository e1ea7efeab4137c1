"""The Pick Manager's dispatch flow in a real Chromium: a store that ships a home delivery of a mixed order packs
it, ships it with a carrier and tracking number, and reports it delivered; the collection store still sees its own
part to pick."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.pages.conftest import Live, screenshot, sign_in
from tests.support import CHANNEL, HO, order_body, settled, wait_for_status

STORE_S002_KEY = "test-store-s002"
ADDRESS = {"name": "Ada Lovelace", "line1": "1 Abington Street", "city": "Northampton", "postcode": "NN1 2AJ",
           "country": "GB"}  # fmt: skip


async def test_a_store_packs_ships_and_delivers_its_home_delivery_on_the_pick_manager(page: Page, live: Live):
    body = order_body("S001")
    body["lines"][1]["fulfilment"] = {"method": "home_delivery", "address": ADDRESS, "location_id": "S002"}
    response = await live.http.post("/orders", json=body, headers=CHANNEL)
    assert response.status_code == 201, response.text
    number = response.json()["order_number"]
    await wait_for_status(live.http, number, "awaiting_acknowledgement")
    await settled(live.http, number)

    await sign_in(page, STORE_S002_KEY)
    await expect(page).to_have_url(re.compile(r"/ui/store$"))
    card = page.locator(f".store-order[data-order='{number}']")
    dispatch = card.locator("form.dispatch[data-delivery='D2']")
    await expect(card.locator("button[name=acknowledge]")).to_have_count(0)  # S001's collection, not S002's
    await expect(card.locator("input.picked")).to_have_count(0)
    await expect(dispatch).to_have_attribute("data-delivery-status", "allocated")
    await dispatch.locator("button[name=pack]").click()
    await expect(dispatch).to_have_attribute("data-delivery-status", "ready_to_ship")
    await dispatch.locator("input[name=carrier]").fill("DPD")
    await dispatch.locator("input[name=tracking_number]").fill("15501234567890")
    await dispatch.locator("button[name=ship]").click()
    await expect(dispatch).to_have_attribute("data-delivery-status", "shipped")
    await expect(dispatch).to_contain_text("DPD 15501234567890")
    await screenshot(page, "pick-manager-dispatch.png")
    await dispatch.locator("button[name=deliver]").click()
    await expect(dispatch).to_have_count(0)  # delivered: nothing left to do here

    view = (await live.http.get(f"/orders/{number}", headers=HO)).json()
    assert [(d["delivery_id"], d["status"]) for d in view["deliveries"]] == [("D1", "allocated"), ("D2", "delivered")]
    assert view["status"] == "awaiting_acknowledgement"  # the collection at S001 goes on by itself
    assert any(entry["actor"] == "store:S002" and entry["action"] == "delivery_shipped" for entry in view["history"])
