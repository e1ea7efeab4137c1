"""Store webhooks: signatures, staleness, duplicates, events that do not fit, store isolation."""

from __future__ import annotations

import json
import time

from tests.support import (
    CHANNEL,
    HO,
    eventually,
    order_body,
    post_store_event,
    signed_headers,
    store_event,
    wait_for_status,
)


async def _placed(stack, store_id: str = "S001") -> str:
    response = await stack.http.post("/orders", json=order_body(store_id), headers=CHANNEL)
    assert response.status_code == 201, response.text
    number = response.json()["order_number"]
    await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    return number


async def _view(stack, number: str) -> dict:
    return (await stack.http.get(f"/orders/{number}", headers=HO)).json()


async def test_webhook_without_or_with_wrong_signature_is_401_and_changes_nothing(stack):
    number = await _placed(stack)
    body = json.dumps(store_event(number, "acknowledged")).encode()
    unsigned = await stack.http.post("/webhooks/stores/S001", content=body)
    wrong = await stack.http.post(
        "/webhooks/stores/S001", content=body, headers=signed_headers("S001", body, secret="not-the-secret-at-all")
    )
    tampered = await stack.http.post(
        "/webhooks/stores/S001",
        content=body.replace(b"acknowledged", b"collected"),
        headers=signed_headers("S001", body),
    )
    for response in (unsigned, wrong, tampered):
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
    assert (await _view(stack, number))["status"] == "awaiting_acknowledgement"


async def test_webhook_older_than_five_minutes_is_401(stack):
    number = await _placed(stack)
    stale = await post_store_event(stack.http, "S001", store_event(number, "acknowledged"), at=int(time.time()) - 301)
    assert stale.status_code == 401
    assert "seconds" in stale.json()["detail"]
    assert (await _view(stack, number))["status"] == "awaiting_acknowledgement"


async def test_webhook_duplicate_event_id_is_applied_once(stack):
    number = await _placed(stack)
    event = store_event(number, "acknowledged", event_id="evt-dup-1")
    for _ in range(3):
        assert (await post_store_event(stack.http, "S001", event)).status_code == 202
    await wait_for_status(stack.http, number, "acknowledged")
    picked = store_event(number, "picked", picked={"L1": 2, "L2": 1})
    assert (await post_store_event(stack.http, "S001", picked)).status_code == 202
    view = await wait_for_status(stack.http, number, "ready_for_collection")
    assert [h["action"] for h in view["history"]].count("acknowledged") == 1
    assert view["store_exceptions"] == []


async def test_webhook_event_that_does_not_fit_is_recorded_as_store_exception(stack):
    number = await _placed(stack)
    assert (await post_store_event(stack.http, "S001", store_event(number, "collected"))).status_code == 202

    async def recorded():
        view = await _view(stack, number)
        return view if view["store_exceptions"] else None

    view = await eventually(recorded)
    assert view["status"] == "awaiting_acknowledgement"
    assert view["store_exceptions"][0]["type"] == "collected"
    assert "awaiting_acknowledgement" in view["store_exceptions"][0]["reason"]


async def test_webhook_pick_of_unknown_line_is_a_store_exception(stack):
    number = await _placed(stack)
    bad_pick = store_event(number, "picked", picked={"L9": 1})
    assert (await post_store_event(stack.http, "S001", bad_pick)).status_code == 202

    async def recorded():
        view = await _view(stack, number)
        return view if view["store_exceptions"] else None

    view = await eventually(recorded)
    assert "L9" in view["store_exceptions"][0]["reason"]


async def test_webhook_from_another_store_is_404_for_that_order(stack):
    number = await _placed(stack, "S001")
    response = await post_store_event(stack.http, "S002", store_event(number, "acknowledged"))
    assert response.status_code == 404
    assert (await _view(stack, number))["status"] == "awaiting_acknowledgement"


async def test_webhook_with_bad_body_is_422_naming_the_field(stack):
    number = await _placed(stack)
    event = store_event(number, "picked")  # picked without quantities
    response = await post_store_event(stack.http, "S001", event)
    assert response.status_code == 422
    event = store_event(number, "teleported")
    response = await post_store_event(stack.http, "S001", event)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "type"


async def test_webhook_after_completion_is_recorded_and_a_retry_is_accepted(stack):
    number = await _placed(stack)
    collected = store_event(number, "collected")
    for event in (
        store_event(number, "acknowledged"),
        store_event(number, "picked", picked={"L1": 2, "L2": 1}),
        collected,
    ):
        assert (await post_store_event(stack.http, "S001", event)).status_code == 202
    await wait_for_status(stack.http, number, "completed")
    # The order stays open for refunds after collection: a late event is recorded, not applied.
    assert (await post_store_event(stack.http, "S001", store_event(number, "acknowledged"))).status_code == 202
    # A retry of an event already applied is accepted again and changes nothing.
    assert (await post_store_event(stack.http, "S001", collected)).status_code == 202

    async def recorded():
        view = await _view(stack, number)
        return view if view["store_exceptions"] else None

    view = await eventually(recorded)
    assert [e["type"] for e in view["store_exceptions"]] == ["acknowledged"]
    assert "completed" in view["store_exceptions"][0]["reason"]
    assert view["status"] == "completed"


async def test_short_pick_holds_the_order_and_ho_release_accepts_it(stack):
    number = await _placed(stack)
    await post_store_event(stack.http, "S001", store_event(number, "acknowledged"))
    await wait_for_status(stack.http, number, "acknowledged")
    await post_store_event(stack.http, "S001", store_event(number, "picked", picked={"L1": 1, "L2": 1}))
    view = await wait_for_status(stack.http, number, "on_hold")
    assert view["hold_reason"] == "short_pick"
    assert [a["type"] for a in view["alerts"] if a["cleared_at"] is None] == ["short_pick"]
    assert view["has_alert"] is True

    refused = await stack.http.post(f"/orders/{number}/release-hold", json={"reason": "x"}, headers=CHANNEL)
    assert refused.status_code == 403
    released = await stack.http.post(
        f"/orders/{number}/release-hold", json={"reason": "customer accepts one tee"}, headers=HO
    )
    assert released.status_code == 200, released.text
    view = released.json()
    assert view["status"] == "ready_for_collection"
    assert view["lines"][0]["quantity"] == 1
    assert view["store_update_pending_since"] is not None
    assert all(a["cleared_at"] for a in view["alerts"])
    assert view["history"][-1]["actor"] == "ho:alice" or any(h["actor"] == "ho:alice" for h in view["history"])
    tee = next(s for s in view["stock"] if s["sku"] == view["lines"][0]["sku"])
    assert next(loc for loc in tee["locations"] if loc["location_id"] == "S001")["reserved"] == 1

    again = await stack.http.post(f"/orders/{number}/release-hold", json={"reason": "again"}, headers=HO)
    assert again.status_code == 409
    assert again.json()["rule"] == "order_not_on_hold"
