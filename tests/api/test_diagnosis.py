"""An order's diagnosis on the real stack: its store's endpoint is down, and the diagnosis names what the order
waits for, its next deadline, the push not delivered with its attempts, and the relay Temporal is retrying with its
attempt count and next retry; a store sees only its part."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.support import CHANNEL, HO, HO_KEY, eventually, place, ui_sign_in

STORE_S001 = {"Authorization": "Bearer test-store-s001"}
STORE_S002 = {"Authorization": "Bearer test-store-s002"}


@pytest.fixture
def stack_settings() -> dict[str, Any]:
    return {"outbound_retry_initial_seconds": 0.3, "outbound_retry_max_interval_seconds": 1.0}


async def test_the_diagnosis_names_the_undelivered_push_its_attempts_and_the_next_retry(stack, store_endpoint):
    http = stack.http
    store = (await http.get("/stores/S001", headers=HO)).json()
    body = {"name": store["name"], "kind": store["kind"], "webhook_url": store_endpoint.url}
    assert (await http.put("/stores/S001", json=body, headers=HO)).status_code == 200
    number = await place(http)

    async def retried() -> dict | None:
        diagnosis = (await http.get(f"/orders/{number}/diagnosis", headers=HO)).json()
        relays = [r for r in diagnosis["retrying"] if r["workflow_id"] == "outbox-store:S001"]
        return diagnosis if relays and relays[0]["attempt"] >= 3 else None

    diagnosis = await eventually(retried, timeout=30)
    assert diagnosis["live"] is True and diagnosis["status"] == "awaiting_acknowledgement"
    (wait,) = diagnosis["waits"]
    assert (wait["for_what"], wait["from_whom"]) == ("the store to acknowledge the order", "store:S001")
    deadline = diagnosis["next_deadline"]
    assert deadline["clock"] == "not_acknowledged" and "not_acknowledged alert" in deadline["what_happens"]
    since = datetime.fromisoformat(wait["since"])
    assert datetime.fromisoformat(deadline["at"]) - since == timedelta(minutes=30)
    assert diagnosis["last_actor"]["actor"] in ("system", "channel:webstore")

    (push,) = diagnosis["undelivered"]
    assert (push["lane"], push["what"], push["status"]) == ("store:S001", "order_created", "pending")
    assert push["attempts"] >= 1 and "503" in push["last_error"]
    (relay,) = [r for r in diagnosis["retrying"] if r["workflow_id"] == "outbox-store:S001"]
    assert relay["activity_type"] == "relay" and "503" in relay["last_error"]
    # Temporal counts the attempt it has scheduled next; every one before it reached the store.
    assert relay["next_retry_at"] is not None and len(store_endpoint.requests) >= relay["attempt"] - 1 >= 2
    assert f"/workflows/order-{number}/" in diagnosis["temporal_ui_url"]
    assert "/history/events/" in diagnosis["temporal_ui_url"]

    for_store = (await http.get(f"/orders/{number}/diagnosis", headers=STORE_S001)).json()
    assert for_store["temporal_ui_url"] is None and [u["lane"] for u in for_store["undelivered"]] == ["store:S001"]
    assert (await http.get(f"/orders/{number}/diagnosis", headers=STORE_S002)).status_code == 404
    assert (await http.get(f"/orders/{number}/diagnosis", headers=CHANNEL)).status_code == 200

    # The order page's panel says the same to a signed-in Head Office user.
    assert (await ui_sign_in(http, HO_KEY)).status_code == 303
    panel = await http.get(f"/ui/orders/{number}/diagnosis")
    assert panel.status_code == 200
    assert "the store to acknowledge the order" in panel.text and "outbox-store:S001" in panel.text
    assert "503" in panel.text and "/history/events/" in panel.text
    page = await http.get(f"/ui/orders/{number}")
    assert f'hx-get="/ui/orders/{number}/diagnosis"' in page.text

    store_endpoint.answer(200)  # the store is back: nothing left undelivered or retrying

    async def delivered() -> bool:
        diagnosis = (await http.get(f"/orders/{number}/diagnosis", headers=HO)).json()
        return not diagnosis["undelivered"] and not diagnosis["retrying"]

    await eventually(delivered, timeout=30)
