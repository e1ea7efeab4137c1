"""Records (with `BATON_RECORD_HISTORIES=1`) the history of a mixed order whose sourced delivery is re-sourced after a
short pick (the auto-resource and wait-clock patches in it), into tests/histories/ where test_replay replays it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.test_deliveries import ADDRESS
from tests.support import CHANNEL, HO, eventually, order_body, post_store_event, settled, store_event, wait_for_status
from tests.workflows.test_replay import RECORD, _save, _send


@pytest.mark.skipif(not RECORD, reason="set BATON_RECORD_HISTORIES=1 to record histories")
async def test_record_resourced_delivery_history(stack):
    settings = {"strategy": "nearest_store", "distances_km": {"NN": {"W001": 3, "S002": 40, "S003": 90}}}
    assert (await stack.http.put("/settings/sourcing", json=settings, headers=HO)).status_code == 200
    body = order_body()
    body["payment"] = {"mode": "authorise", "method": "card", "token": "tok_approve",
                       "amount": body["payment"]["amount"]}  # fmt: skip
    body["lines"][1]["fulfilment"] = {"method": "home_delivery", "address": ADDRESS}
    number = (await stack.http.post("/orders", json=body, headers=CHANNEL)).json()["order_number"]
    await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    await settled(stack.http, number)

    async def location(store_id: str, type_: str, **kwargs: Any) -> None:
        event = store_event(number, type_, delivery_id="D2", **kwargs)
        assert (await post_store_event(stack.http, store_id, event)).status_code == 202

    await location("W001", "rejected", reason="short pick: JEAN-IND-32 0 of 1")

    async def moved() -> bool:
        view = (await stack.http.get(f"/orders/{number}", headers=HO)).json()
        return view["deliveries"][1]["location_id"] == "S002"

    await eventually(moved)
    await location("S002", "shipped", carrier="DPD", tracking_number="JD014600003GB")
    await _send(stack, number, "acknowledged")
    await _send(stack, number, "picked", picked={"L1": 2})
    await wait_for_status(stack.http, number, "ready_for_collection")
    await _send(stack, number, "collected")
    await wait_for_status(stack.http, number, "partially_collected")
    await location("S002", "delivered")
    await wait_for_status(stack.http, number, "completed")
    await _save(stack, number, "mixed_order_resourced_after_short_pick")
