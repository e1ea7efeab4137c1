"""Stores, products, stock and SLA settings; the signed outbound push to a store's webhook."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from models.signing import verify
from tests.support import CHANNEL, HO, STORE_SECRETS, TEE, eventually, order_body, wait_for_status


async def test_list_stores_products_and_stock(stack):
    stores = (await stack.http.get("/stores", headers=HO)).json()
    assert {s["store_id"] for s in stores} == {"S001", "S002", "S003", "S004", "W001"}
    assert all("webhook_secret" not in s for s in stores)
    assert [
        s["store_id"] for s in (await stack.http.get("/stores", params={"kind": "warehouse"}, headers=HO)).json()
    ] == ["W001"]
    products = (await stack.http.get("/products")).json()
    assert len(products) >= 20
    assert set(products[0]) == {"sku", "style", "name", "size", "colour", "price", "electronic", "tax_class"}
    stock = (await stack.http.get(f"/stock/{TEE}")).json()
    s001 = next(loc for loc in stock["locations"] if loc["location_id"] == "S001")
    assert s001 == {"location_id": "S001", "kind": "store", "on_hand": 10, "reserved": 0, "available": 10}
    assert (await stack.http.get("/stock/NOPE")).status_code == 404


async def test_put_store_needs_head_office_and_validates(stack):
    body = {
        "name": "Glasgow Buchanan",
        "click_and_collect_enabled": True,
        "webhook_secret": "g" * 20,
        "sla_overrides": {"not_picked": "PT45M"},
    }
    assert (await stack.http.put("/stores/S010", json=body)).status_code == 401
    assert (await stack.http.put("/stores/S010", json=body, headers=CHANNEL)).status_code == 403
    created = await stack.http.put("/stores/S010", json=body, headers=HO)
    assert created.status_code == 201, created.text
    assert created.json()["sla_overrides"]["not_picked"] == "PT45M"
    assert created.json()["webhook_secret_set"] is True
    bad = await stack.http.put("/stores/S010", json={**body, "webhook_url": "ftp://x"}, headers=HO)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "webhook_url"
    bad = await stack.http.put("/stores/S010", json={**body, "sla_overrides": {"not_picked": "soon"}}, headers=HO)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "sla_overrides.not_picked"
    assert (await stack.http.get("/stores/S010", headers=HO)).json()["sla_overrides"]["not_picked"] == "PT45M"


async def test_disabled_store_refuses_click_and_collect_orders(stack):
    body = {"name": "London Oxford Street", "click_and_collect_enabled": False}
    assert (await stack.http.put("/stores/S001", json=body, headers=HO)).status_code == 200
    response = await stack.http.post("/orders", json=order_body("S001"), headers=CHANNEL)
    assert response.status_code == 422
    assert "not enabled" in response.json()["errors"][0]["message"]


async def test_sla_settings_round_trip_iso_and_seconds(stack):
    assert (await stack.http.get("/settings/sla", headers=HO)).json()["not_acknowledged"] == "PT30M"
    policy = {
        "not_acknowledged": 900,
        "not_picked": "PT1H",
        "on_hold": "PT2H",
        "not_collected": "P2D",
        "not_updated": "PT30M",
        "collection_expiry": "P5D",
    }
    assert (await stack.http.put("/settings/sla", json=policy)).status_code == 401
    saved = await stack.http.put("/settings/sla", json=policy, headers=HO)
    assert saved.status_code == 200
    assert saved.json()["not_acknowledged"] == "PT15M"
    refused = await stack.http.put("/settings/sla", json={**policy, "not_picked": 0}, headers=HO)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "not_picked"
    assert (await stack.http.get("/settings/sla", headers=HO)).json()["not_picked"] == "PT1H"


@pytest.fixture
def store_endpoint():
    """A real HTTP server on loopback standing in for a store's system."""
    received: list[tuple[dict, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/baton", received
    server.shutdown()


async def test_order_is_pushed_to_store_webhook_signed(stack, store_endpoint):
    url, received = store_endpoint
    settings = {"name": "London Oxford Street", "webhook_url": url}
    assert (await stack.http.put("/stores/S001", json=settings, headers=HO)).status_code == 200
    body = order_body(
        payment={
            "mode": "authorise",
            "method": "card",
            "token": "tok_secret_4242",
            "amount": order_body()["payment"]["amount"],
        }
    )
    number = (await stack.http.post("/orders", json=body, headers=CHANNEL)).json()["order_number"]
    await wait_for_status(stack.http, number, "awaiting_acknowledgement")

    async def pushed() -> bool:
        return len(received) == 1

    await eventually(pushed)  # the store's outbox lane delivers it
    headers, body = received[0]
    verify(STORE_SECRETS["S001"], headers["Baton-Signature"], body, time.time())
    message = json.loads(body)
    assert message["type"] == "order_created"
    assert message["event_id"] == headers["Baton-Event-Id"] == f"order-{number}:push:1"
    assert message["order"]["order_number"] == number
    # A store push carries what a store needs: no token, no payments, no policy, no internal counters.
    assert b"tok_secret" not in body and "payments" not in message["order"]
    assert "payment_policy" not in message["order"] and "seen_event_ids" not in message["order"]
