"""The DELIVERY export state per delivery, through the real stack: an order shipped in two deliveries reaches it
twice (the order's own journey `DELIVERY`, the further delivery `DELIVERY@D2`), and an exporter bound to it runs
once for each, its document naming the delivery; a shipped webhook retried (or sent again) does not run it again."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from models.db.tables import OrderExportRow, OrderExportStateRow
from tests.api.test_deliveries import ADDRESS, home_delivery
from tests.http_receiver import Receiver, http_receiver
from tests.outbox_support import rows
from tests.support import HO, eventually, place, post_store_event, settled, store_event, store_says, wait_for_status


@pytest.fixture
def exporters() -> Iterator[Receiver]:
    with http_receiver(path="/exports") as receiver:
        yield receiver


@pytest.fixture
def stack_settings(exporters: Receiver) -> dict[str, Any]:
    return {
        "outbox_poll_seconds": 0.05,
        "exporters": [{"name": "wms", "kind": "webhook", "on_state": "DELIVERY", "url": exporters.url}],
    }


async def test_an_order_shipped_in_two_deliveries_exports_delivery_once_per_delivery(stack, exporters):
    body = home_delivery(location_id="S002")
    body["lines"][1]["fulfilment"] = {"method": "home_delivery", "address": ADDRESS, "location_id": "W001"}
    number = await place(stack.http, body, status="awaiting_dispatch")
    view = await settled(stack.http, number)
    assert [(d["delivery_id"], d["location_id"]) for d in view["deliveries"]] == [("D1", "S002"), ("D2", "W001")]

    shipped = store_event(number, "shipped", carrier="DPD", tracking_number="15501234567890", delivery_id="D2")
    assert (await post_store_event(stack.http, "W001", shipped)).status_code == 202
    await store_says(stack.http, number, "packed", "S002")
    await wait_for_status(stack.http, number, "ready_to_ship")
    await store_says(stack.http, number, "shipped", "S002", carrier="Royal Mail", tracking_number="JD014600003GB")
    await wait_for_status(stack.http, number, "shipped")
    # The warehouse retries its webhook, then sends the shipment again under a new event id: neither exports.
    assert (await post_store_event(stack.http, "W001", shipped)).status_code == 202
    again = store_event(number, "shipped", carrier="DPD", tracking_number="15501234567890", delivery_id="D2")
    assert (await post_store_event(stack.http, "W001", again)).status_code == 202

    async def refused_again() -> dict | None:
        view = (await stack.http.get(f"/orders/{number}", headers=HO)).json()
        return view if any(e["event_id"] == again["event_id"] for e in view["store_exceptions"]) else None

    await eventually(refused_again)

    async def both_exported() -> list[dict] | None:
        documents = [r.json for r in exporters.accepted]
        return documents if len(documents) >= 2 else None

    documents = await eventually(both_exported)
    await settled(stack.http, number)
    states = sorted(
        r.state for r in rows(stack.engine, OrderExportStateRow, order_number=number) if "DELIVERY" in r.state
    )
    assert states == ["DELIVERY", "DELIVERY@D2"]
    runs = sorted(r.run_id for r in rows(stack.engine, OrderExportRow, order_number=number))
    assert runs == [f"{number}:wms:DELIVERY", f"{number}:wms:DELIVERY@D2"]
    assert sorted((d["state"], d["delivery_id"]) for d in documents) == [("DELIVERY", "D1"), ("DELIVERY", "D2")]
    by_delivery = {d["delivery_id"]: d["order"] for d in documents}
    assert by_delivery["D2"]["deliveries"][1]["tracking_number"] == "15501234567890"
    assert len(exporters.accepted) == 2
