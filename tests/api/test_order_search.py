"""GET /orders filters, pagination and ordering, from the SQL read model."""

from __future__ import annotations

from tests.support import CHANNEL, HO, order_body, post_store_event, store_event, wait_for_status


async def _place(stack, store_id: str, name: str, email: str) -> dict:
    body = order_body(store_id)
    body["customer"] = {"id": f"C-{name}", "name": name, "email": email}
    response = await stack.http.post("/orders", json=body, headers=CHANNEL)
    assert response.status_code == 201, response.text
    return response.json()


async def test_list_orders_filters_and_pages(stack):
    first = await _place(stack, "S001", "Grace Hopper", "grace@example.com")
    second = await _place(stack, "S002", "Alan Turing", "alan@example.com")
    third = await _place(stack, "S001", "Alan Kay", "kay@example.com")
    await wait_for_status(stack.http, third["order_number"], "awaiting_acknowledgement")
    await post_store_event(stack.http, "S001", store_event(third["order_number"], "acknowledged"))
    await wait_for_status(stack.http, third["order_number"], "acknowledged")

    async def numbers(**params) -> list[str]:
        response = await stack.http.get("/orders", params=params, headers=HO)
        assert response.status_code == 200, response.text
        return [item["order_number"] for item in response.json()["items"]]

    all_orders = await numbers()
    assert all_orders == [third["order_number"], second["order_number"], first["order_number"]]  # newest first
    assert await numbers(store_id="S001") == [third["order_number"], first["order_number"]]
    assert await numbers(customer="alan") == [third["order_number"], second["order_number"]]
    assert await numbers(customer="GRACE@example.com") == [first["order_number"]]
    assert await numbers(customer="C-Alan Turing") == [second["order_number"]]
    assert await numbers(web_reference=second["web_reference"]) == [second["order_number"]]
    assert await numbers(order_number=first["order_number"]) == [first["order_number"]]
    assert await numbers(status="acknowledged") == [third["order_number"]]
    assert await numbers(has_alert="true") == []
    page = (await stack.http.get("/orders", params={"limit": 2, "offset": 2}, headers=HO)).json()
    assert page["total"] == 3
    assert [i["order_number"] for i in page["items"]] == [first["order_number"]]

    bad = await stack.http.get("/orders", params={"status": "lost"}, headers=HO)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "status"
    assert (await stack.http.get("/orders", params={"limit": 0}, headers=HO)).status_code == 422
    assert (await stack.http.get("/orders")).status_code == 401
