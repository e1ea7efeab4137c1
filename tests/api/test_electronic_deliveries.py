"""Electronic items skip packing, through the real stack: the product feed marks a SKU electronic; a home delivery of
only such items is ready to ship as soon as its stock is reserved (no packing stage, no packed event, no not_packed
clock), whether it is the order's own delivery or a further one; a delivery with a packed item still packs."""

from __future__ import annotations

from models.db.demo import demo_skus
from models.db.tables import OrderEventRow
from tests.api.test_deliveries import ADDRESS, home_delivery
from tests.outbox_support import rows
from tests.support import HO, JEANS, PRICES, eventually, place, settled, store_says, wait_for_status


async def _mark_electronic(http, sku: str) -> None:
    ((_sku, style, name, size, price, colour),) = [s for s in demo_skus() if s[0] == sku]
    product = {
        "sku": sku,
        "style": style,
        "name": name,
        "size": size,
        "colour": colour,
        "price": {"amount": price, "currency": "GBP"},
        "electronic": True,
    }
    answer = await http.post("/feeds/products", json={"message_id": f"erp-{sku}", "products": [product]}, headers=HO)
    assert answer.status_code == 200, answer.text
    listed = (await http.get("/products", headers=HO)).json()
    assert next(p for p in listed if p["sku"] == sku)["electronic"] is True


async def test_a_home_delivery_of_electronic_items_ships_without_packing(stack):
    await _mark_electronic(stack.http, JEANS)
    body = home_delivery(location_id="W001")
    body["lines"] = [body["lines"][1]]
    body["payment"]["amount"]["amount"] = PRICES[JEANS]
    number = await place(stack.http, body, status="ready_to_ship")
    view = await settled(stack.http, number)
    assert [(d["delivery_id"], d["status"]) for d in view["deliveries"]] == [("D1", "ready_to_ship")]
    assert not any(entry["action"] == "packed" for entry in view["history"])

    await store_says(stack.http, number, "shipped", "W001", carrier="DPD", tracking_number="15501234567890")
    await wait_for_status(stack.http, number, "shipped")
    events = [e.type for e in sorted(rows(stack.engine, OrderEventRow, order_number=number), key=lambda e: e.id)]
    assert "shipped" in events and "packed" not in events


async def test_a_further_delivery_of_electronic_items_is_ready_to_ship_at_once_the_other_still_packs(stack):
    await _mark_electronic(stack.http, JEANS)
    body = home_delivery(location_id="S002")
    body["lines"][1]["fulfilment"] = {"method": "home_delivery", "address": ADDRESS, "location_id": "W001"}
    number = await place(stack.http, body, status="awaiting_dispatch")
    view = await settled(stack.http, number)
    assert [(d["delivery_id"], d["location_id"], d["status"]) for d in view["deliveries"]] == [
        ("D1", "S002", "allocated"),
        ("D2", "W001", "ready_to_ship"),
    ]
    await store_says(
        stack.http, number, "shipped", "W001", carrier="DPD", tracking_number="15501234567890", delivery_id="D2"
    )

    async def shipped() -> dict | None:
        view = (await stack.http.get(f"/orders/{number}", headers=HO)).json()
        return view if view["deliveries"][1]["status"] == "shipped" else None

    await eventually(shipped)
    await store_says(stack.http, number, "packed", "S002")  # TEE is not electronic: D1 still packs
    await wait_for_status(stack.http, number, "ready_to_ship")
