"""Store heartbeats and the Head Office link endpoints, end to end on the dev server."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from tests.support import (
    CHANNEL,
    HO,
    HO_KEY,
    STORE_S001,
    eventually,
    post_store_event,
    signed_headers,
    ui_sign_in,
)


def heartbeat_event() -> dict:
    return {"event_id": f"hb-{uuid.uuid4().hex}", "type": "heartbeat", "occurred_at": datetime.now(UTC).isoformat()}


async def _link(stack, store_id: str = "S001") -> dict:
    response = await stack.http.get(f"/stores/{store_id}/link", headers=HO)
    assert response.status_code == 200, response.text
    return response.json()


async def test_heartbeat_is_accepted_and_the_store_shows_online(stack):
    event = heartbeat_event()
    response = await post_store_event(stack.http, "S001", event)
    assert response.status_code == 202, response.text
    assert response.json() == {"status": "accepted", "event_id": event["event_id"], "order_number": None}

    async def online():
        link = await _link(stack)
        return link if link["state"] == "online" else None

    link = await eventually(online)
    assert link["last_heartbeat_at"] is not None and link["since"] is not None
    assert [(c["previous"], c["state"]) for c in link["changes"]] == [("unmonitored", "online")]
    assert link["changes"][0]["change_id"] == "store-link-S001:change:1"

    listed = (await stack.http.get("/stores/links", headers=HO)).json()
    states = {entry["store_id"]: entry["state"] for entry in listed}
    assert states["S001"] == "online"
    assert states["S002"] == "unmonitored"  # never heard from: still takes click & collect orders
    assert set(states) >= {"S001", "S002", "S003", "S004", "W001"}


async def test_repeated_heartbeats_keep_one_change_and_advance_the_last_heartbeat(stack):
    assert (await post_store_event(stack.http, "S001", heartbeat_event())).status_code == 202

    async def heard():
        link = await _link(stack)
        return link if link["last_heartbeat_at"] else None

    first = (await eventually(heard))["last_heartbeat_at"]
    assert (await post_store_event(stack.http, "S001", heartbeat_event())).status_code == 202

    async def advanced():
        link = await _link(stack)
        return link if link["last_heartbeat_at"] > first else None

    link = await eventually(advanced)
    assert len(link["changes"]) == 1 and link["state"] == "online"


async def test_heartbeat_without_or_with_wrong_signature_is_401_and_changes_nothing(stack):
    body = json.dumps(heartbeat_event()).encode()
    unsigned = await stack.http.post("/webhooks/stores/S001", content=body)
    wrong = await stack.http.post(
        "/webhooks/stores/S001", content=body, headers=signed_headers("S001", body, secret="not-the-secret-at-all")
    )
    other_store = await stack.http.post("/webhooks/stores/S001", content=body, headers=signed_headers("S002", body))
    for response in (unsigned, wrong, other_store):
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
    link = await _link(stack)
    assert (link["state"], link["changes"]) == ("unmonitored", [])


async def test_heartbeat_from_an_unknown_store_is_404(stack):
    body = json.dumps(heartbeat_event()).encode()
    response = await stack.http.post("/webhooks/stores/S999", content=body, headers=signed_headers("S001", body))
    assert response.status_code == 404
    assert response.json()["type"].endswith("/store-not-found")


async def test_store_event_without_order_number_is_422_naming_the_field(stack):
    event = heartbeat_event() | {"type": "acknowledged"}
    response = await post_store_event(stack.http, "S001", event)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "order_number", "message": "a acknowledged event needs 'order_number'"}
    ]


async def test_link_endpoints_are_for_head_office_only(stack):
    for path in ("/stores/links", "/stores/S001/link"):
        assert (await stack.http.get(path)).status_code == 401
        assert (await stack.http.get(path, headers=CHANNEL)).status_code == 403
        store = await stack.http.get(path, headers=STORE_S001)
        assert store.status_code == 403
        assert store.headers["content-type"] == "application/problem+json"
        assert (await stack.http.get(path, headers=HO)).status_code == 200


async def test_link_of_an_unknown_store_is_404(stack):
    response = await stack.http.get("/stores/S999/link", headers=HO)
    assert response.status_code == 404
    assert response.json()["type"].endswith("/store-not-found")


async def test_dashboard_shows_the_link_of_stores_that_send_heartbeats(stack):
    assert (await post_store_event(stack.http, "S001", heartbeat_event())).status_code == 202
    await eventually(lambda: _online(stack))
    signed_in = await ui_sign_in(stack.http, HO_KEY)
    assert signed_in.status_code == 303
    page = await stack.http.get("/ui/orders/live")
    assert page.status_code == 200
    assert 'data-store="S001" data-link="online"' in page.text
    assert 'data-store="S002"' not in page.text  # unmonitored stores are not listed


async def _online(stack) -> bool:
    return (await _link(stack))["state"] == "online"
