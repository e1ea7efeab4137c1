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


async def test_list_orders_by_open_alert_type_from_the_index(stack):
    from sqlmodel import Session

    from models.db.orders import count_open_alerts_by_type
    from tests.support import TEE

    short = (await stack.http.post("/orders", json=order_body("S001", lines=[(TEE, 11)]), headers=CHANNEL)).json()
    fine = (await stack.http.post("/orders", json=order_body("S002"), headers=CHANNEL)).json()
    await wait_for_status(stack.http, short["order_number"], "on_hold")
    await wait_for_status(stack.http, fine["order_number"], "awaiting_acknowledgement")

    response = await stack.http.get("/orders", params={"alert_type": "stock_shortage"}, headers=HO)
    assert [i["order_number"] for i in response.json()["items"]] == [short["order_number"]]
    assert (await stack.http.get("/orders", params={"alert_type": "not_picked"}, headers=HO)).json()["total"] == 0
    bad = await stack.http.get("/orders", params={"alert_type": "late"}, headers=HO)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "alert_type"
    with Session(stack.engine) as session:
        assert count_open_alerts_by_type(session) == {"stock_shortage": 1}
        assert count_open_alerts_by_type(session, "S002") == {}

    cancelled = await stack.http.post(f"/orders/{short['order_number']}/cancel", json={"reason": "x"}, headers=HO)
    assert cancelled.status_code == 200
    with Session(stack.engine) as session:
        assert count_open_alerts_by_type(session) == {}
