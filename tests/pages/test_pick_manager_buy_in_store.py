"""The Pick Manager with a line Head Office held to buy in store (a direct-sale line at the till): the store picks
the collection lines only, the pick is not short, and accepting a short pick of another line keeps the stock held
for the customer (no browser: the page endpoints over ASGI, a real Temporal server and database)."""

from __future__ import annotations

import uuid

import httpx

from tests.support import CHANNEL, HO, TEE, act, order_body, ui_sign_in, wait_for_status

JEANS = "JEAN-IND-32"


async def _reserved(http: httpx.AsyncClient, sku: str, location: str = "S001") -> int:
    holding = (await http.get(f"/stock/{sku}")).json()
    return next(loc["reserved"] for loc in holding["locations"] if loc["location_id"] == location)


async def _pick(http: httpx.AsyncClient, number: str, picked: dict[str, int]) -> str:
    """The Pick Manager's pick button, as the store's page posts it."""
    form = {f"picked_{line_id}": str(quantity) for line_id, quantity in picked.items()}
    form["short_reason"] = "not found on the shelf"  # asked (and needed) only when the pick is short
    response = await http.post(f"/ui/store/orders/{number}/pick", data=form, headers={"HX-Request": "true"})
    assert response.status_code == 200, response.text
    return response.text


async def _placed_with_one_line_bought_in_store(http: httpx.AsyncClient) -> str:
    response = await http.post("/orders", json=order_body(lines=[(TEE, 2), (JEANS, 1)]), headers=CHANNEL)
    number = response.json()["order_number"]
    await wait_for_status(http, number, "awaiting_acknowledgement")
    await act(http, number, "buy-in-store", {"line_ids": ["L2"], "reason": "wants to try them on"})
    view = (await http.get(f"/orders/{number}", headers=HO)).json()
    assert [d["method"] for d in view["deliveries"]] == ["click_and_collect", "direct_sale"]
    return number


async def test_a_line_bought_in_store_is_not_picked_and_the_pick_is_not_short(stack):
    http = stack.http
    number = await _placed_with_one_line_bought_in_store(http)
    held = await _reserved(http, JEANS)
    assert (await ui_sign_in(http, "test-store-s001")).status_code == 303  # the API calls still carry HO's key
    html = await _pick(http, number, {"L1": 2})
    assert "now ready for collection" in html, html[:2000]
    view = await wait_for_status(http, number, "ready_for_collection")
    assert view["lines"][1]["fulfilment"] == "buy_in_store" and view["lines"][1]["quantity"] == 1
    assert await _reserved(http, JEANS) == held  # still held for the customer at the till


async def test_accepting_a_short_pick_keeps_the_stock_held_for_the_customer(stack):
    http = stack.http
    number = await _placed_with_one_line_bought_in_store(http)
    held = await _reserved(http, JEANS)
    assert (await ui_sign_in(http, "test-store-s001")).status_code == 303
    await _pick(http, number, {"L1": 1})
    await wait_for_status(http, number, "on_hold")
    response = await http.post(
        f"/orders/{number}/release-hold",
        json={"reason": "accept what was picked"},
        headers={**HO, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 200, response.text
    view = await wait_for_status(http, number, "ready_for_collection")
    assert [(line["quantity"], line["cancelled_quantity"]) for line in view["lines"]] == [(1, 1), (1, 0)]
    assert await _reserved(http, JEANS) == held
