"""Head Office actions: the rules that refuse them, idempotency, concurrency, identities and audit."""

from __future__ import annotations

import asyncio

from temporalio.api.enums.v1 import EventType

from models.order import order_workflow_id
from tests.support import (
    CHANNEL,
    HO,
    HO_BOB,
    JEANS,
    STORE_S001,
    STORE_S002,
    TEE,
    eventually,
    order_body,
    post_store_event,
    store_event,
    wait_for_status,
)


async def _placed(stack, status: str = "awaiting_acknowledgement", **kwargs) -> dict:
    response = await stack.http.post("/orders", json=order_body(**kwargs), headers=CHANNEL)
    assert response.status_code == 201, response.text
    order = response.json()
    await wait_for_status(stack.http, order["order_number"], status)
    return order


async def _send(stack, number: str, type_: str, **kwargs) -> None:
    assert (await post_store_event(stack.http, "S001", store_event(number, type_, **kwargs))).status_code == 202


async def _update_events(stack, number: str) -> int:
    history = await stack.client.get_workflow_handle(order_workflow_id(number)).fetch_history()
    return sum(e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED for e in history.events)


async def test_refused_action_is_409_naming_the_rule_and_leaves_no_trace(stack):
    order = await _placed(stack)
    number = order["order_number"]
    before = (await stack.http.get(f"/orders/{number}", headers=HO)).json()
    too_much = {"amount": {"amount": order["total"]["amount"] + 1, "currency": "GBP"}, "reason": "goodwill"}
    response = await stack.http.post(f"/orders/{number}/refunds", json=too_much, headers=HO)
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["rule"] == "refund_exceeds_captured"
    assert await _update_events(stack, number) == 0
    view = (await stack.http.get(f"/orders/{number}", headers=HO)).json()
    assert view["refunds"] == []
    assert view["history"] == before["history"]
    assert view["version"] == before["version"]


async def test_partial_refund_then_the_rest_never_more_than_captured(stack):
    order = await _placed(stack)
    number, total = order["order_number"], order["total"]["amount"]
    part = {"amount": {"amount": 1000, "currency": "GBP"}, "reason": "late"}
    view = (await stack.http.post(f"/orders/{number}/refunds", json=part, headers=HO)).json()
    # Prepaid by the channel: the refund is an instruction to the channel against its own payment reference.
    refund = view["refunds"][0]
    assert view["refunded"]["amount"] == 1000 and (refund["status"], refund["reference"]) == ("instructed", "PSP-4242")
    rest = {"amount": {"amount": total - 1000, "currency": "GBP"}, "reason": "goodwill"}
    assert (await stack.http.post(f"/orders/{number}/refunds", json=rest, headers=HO)).status_code == 200
    one_more = {"amount": {"amount": 1, "currency": "GBP"}, "reason": "again"}
    refused = await stack.http.post(f"/orders/{number}/refunds", json=one_more, headers=HO)
    assert refused.json()["rule"] == "refund_exceeds_captured"
    wrong_currency = {"amount": {"amount": 1, "currency": "EUR"}, "reason": "x"}
    assert (await stack.http.post(f"/orders/{number}/refunds", json=wrong_currency, headers=HO)).json()[
        "rule"
    ] == "currency_mismatch"


async def test_retried_action_with_same_idempotency_key_applies_once(stack):
    order = await _placed(stack)
    number = order["order_number"]
    body = {"amount": {"amount": 500, "currency": "GBP"}, "reason": "goodwill"}
    headers = {**HO, "Idempotency-Key": "refund-goodwill-1"}
    first = await stack.http.post(f"/orders/{number}/refunds", json=body, headers=headers)
    second = await stack.http.post(f"/orders/{number}/refunds", json=body, headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.json()["refunded"]["amount"] == 500
    assert len(second.json()["refunds"]) == 1


async def test_concurrent_refunds_by_two_users_cannot_spend_the_same_money(stack):
    order = await _placed(stack)
    number, total = order["order_number"], order["total"]["amount"]
    body = {"amount": {"amount": total * 6 // 10, "currency": "GBP"}, "reason": "goodwill"}
    answers = await asyncio.gather(
        stack.http.post(f"/orders/{number}/refunds", json=body, headers=HO),
        stack.http.post(f"/orders/{number}/refunds", json=body, headers=HO_BOB),
    )
    assert sorted(r.status_code for r in answers) == [200, 409]
    view = (await stack.http.get(f"/orders/{number}", headers=HO)).json()
    assert view["refunded"]["amount"] == total * 6 // 10
    assert len(view["refunds"]) == 1


async def test_cancel_lines_partially_refunds_and_releases_but_not_below_picked(stack):
    order = await _placed(stack)
    number = order["order_number"]
    view = (
        await stack.http.post(
            f"/orders/{number}/cancel-lines",
            headers=HO,
            json={"lines": [{"line_id": "L1", "quantity": 1}], "reason": "one is enough"},
        )
    ).json()
    assert view["lines"][0]["quantity"] == 1 and view["lines"][0]["cancelled_quantity"] == 1
    assert view["refunded"]["amount"] == 1500
    assert view["store_update_pending_since"] is not None
    tee = (await stack.http.get(f"/stock/{TEE}")).json()["locations"]
    assert next(loc for loc in tee if loc["location_id"] == "S001")["reserved"] == 1

    await _send(stack, number, "update_acknowledged")
    await _send(stack, number, "acknowledged")
    await wait_for_status(stack.http, number, "acknowledged")
    await _send(stack, number, "picked", picked={"L1": 1, "L2": 1})
    await wait_for_status(stack.http, number, "ready_for_collection")
    refused = await stack.http.post(
        f"/orders/{number}/cancel-lines", headers=HO, json={"lines": [{"line_id": "L2", "quantity": 1}], "reason": "x"}
    )
    assert refused.status_code == 409 and refused.json()["rule"] == "below_picked_quantity"
    unknown = await stack.http.post(
        f"/orders/{number}/cancel-lines", headers=HO, json={"lines": [{"line_id": "L9", "quantity": 1}], "reason": "x"}
    )
    assert unknown.json()["rule"] == "unknown_line"


async def test_nothing_changes_after_collection_except_refunds(stack):
    order = await _placed(stack)
    number = order["order_number"]
    await _send(stack, number, "acknowledged")
    await _send(stack, number, "picked", picked={"L1": 2, "L2": 1})
    await wait_for_status(stack.http, number, "ready_for_collection")
    await _send(stack, number, "collected")
    await wait_for_status(stack.http, number, "completed")
    refused = await stack.http.post(f"/orders/{number}/cancel", json={"reason": "too late"}, headers=HO)
    assert refused.status_code == 409 and refused.json()["rule"] == "order_collected"
    add = await stack.http.post(
        f"/orders/{number}/add-item", json={"sku": TEE, "quantity": 1, "reason": "x"}, headers=HO
    )
    assert add.status_code == 409 and add.json()["rule"] == "order_collected"
    refund = await stack.http.post(
        f"/orders/{number}/refunds",
        headers=HO,
        json={"amount": {"amount": 1500, "currency": "GBP"}, "reason": "faulty tee"},
    )
    assert refund.status_code == 200, refund.text
    assert refund.json()["status"] == "completed" and refund.json()["refunded"]["amount"] == 1500


async def test_change_variant_swaps_to_sibling_and_moves_the_reservation(stack):
    order = await _placed(stack)
    number = order["order_number"]
    view = (
        await stack.http.post(
            f"/orders/{number}/change-variant", headers=HO, json={"line_id": "L1", "size": "L", "reason": "too small"}
        )
    ).json()
    old, new = view["lines"][0], view["lines"][-1]
    assert (old["quantity"], old["replaced_by"]) == (0, new["line_id"])
    assert (new["sku"], new["quantity"], new["size"]) == ("TEE-WHI-L", 2, "L")
    assert view["refunded"]["amount"] == 0 and view["paid"] == order["paid"]  # same price
    stock = {s["sku"]: s for s in view["stock"]}
    s001 = {sku: next(loc for loc in s["locations"] if loc["location_id"] == "S001") for sku, s in stock.items()}
    assert s001[TEE]["reserved"] == 0 and s001["TEE-WHI-L"]["reserved"] == 2

    no_such = await stack.http.post(
        f"/orders/{number}/change-variant", headers=HO, json={"line_id": new["line_id"], "size": "XXL", "reason": "x"}
    )
    assert no_such.status_code == 422 and no_such.json()["errors"][0]["field"] == "size"
    nothing = await stack.http.post(
        f"/orders/{number}/change-variant", headers=HO, json={"line_id": new["line_id"], "reason": "x"}
    )
    assert nothing.status_code == 422


async def test_move_to_another_store_reserves_there_and_releases_here(stack):
    order = await _placed(stack)
    number = order["order_number"]
    view = (
        await stack.http.post(
            f"/orders/{number}/move-to-store", headers=HO, json={"store_id": "S002", "reason": "closer to home"}
        )
    ).json()
    assert view["store_id"] == "S002" and view["status"] == "awaiting_acknowledgement"
    tee = {loc["location_id"]: loc for loc in (await stack.http.get(f"/stock/{TEE}")).json()["locations"]}
    assert (tee["S001"]["reserved"], tee["S002"]["reserved"]) == (0, 2)
    assert (await stack.http.get(f"/orders/{number}", headers=STORE_S002)).status_code == 200
    assert (await stack.http.get(f"/orders/{number}", headers=STORE_S001)).status_code == 404

    async def indexed():
        return [w.id async for w in stack.client.list_workflows(f'OrderNumber="{number}" and StoreId="S002"')]

    assert await eventually(indexed) == [f"order-{number}"]
    disabled = await stack.http.post(
        f"/orders/{number}/move-to-store", headers=HO, json={"store_id": "S004", "reason": "x"}
    )
    assert disabled.status_code == 422


async def test_add_item_without_stock_is_refused_before_the_workflow(stack):
    order = await _placed(stack)
    number = order["order_number"]
    response = await stack.http.post(
        f"/orders/{number}/add-item", headers=HO, json={"sku": JEANS, "quantity": 50, "reason": "x"}
    )
    assert response.status_code == 409 and response.json()["rule"] == "stock_shortage"
    unknown = await stack.http.post(
        f"/orders/{number}/add-item", headers=HO, json={"sku": "NOPE", "quantity": 1, "reason": "x"}
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "sku"
    missing_reason = await stack.http.post(f"/orders/{number}/add-item", headers=HO, json={"sku": TEE, "quantity": 1})
    assert missing_reason.status_code == 422 and missing_reason.json()["errors"][0]["field"] == "reason"


async def test_notes_internal_and_client_facing_name_their_author(stack):
    order = await _placed(stack)
    number = order["order_number"]
    await stack.http.post(f"/orders/{number}/notes", json={"text": "called customer"}, headers=HO)
    view = (
        await stack.http.post(
            f"/orders/{number}/notes", json={"text": "Ready Friday", "client_facing": True}, headers=HO_BOB
        )
    ).json()
    assert [(n["actor"], n["client_facing"]) for n in view["notes"][-2:]] == [("ho:alice", False), ("ho:bob", True)]
    assert all(entry["actor"] for entry in view["history"])


async def test_store_keys_see_only_their_store_and_cannot_act(stack):
    order = await _placed(stack)
    number = order["order_number"]
    assert (await stack.http.get(f"/orders/{number}", headers=STORE_S001)).status_code == 200
    other = await stack.http.get(f"/orders/{number}", headers=STORE_S002)
    assert other.status_code == 404
    listed = (await stack.http.get("/orders", headers=STORE_S002)).json()
    assert listed["total"] == 0
    assert (await stack.http.get("/orders", params={"store_id": "S001"}, headers=STORE_S002)).json()["total"] == 0
    assert (await stack.http.get("/orders", headers=STORE_S001)).json()["total"] == 1
    assert (
        await stack.http.post(f"/orders/{number}/cancel", json={"reason": "x"}, headers=STORE_S001)
    ).status_code == 403
    assert (await stack.http.post("/orders", json=order_body(), headers=STORE_S001)).status_code == 403
    webhook = await post_store_event(stack.http, "S002", store_event(number, "acknowledged"))
    assert webhook.status_code == 404


async def test_action_without_credentials_is_401(stack):
    order = await _placed(stack)
    response = await stack.http.post(f"/orders/{order['order_number']}/cancel", json={"reason": "x"})
    assert response.status_code == 401
    assert (
        await stack.http.post(f"/orders/{order['order_number']}/cancel", json={"reason": "x"}, headers=CHANNEL)
    ).status_code == 403
    assert (await stack.http.post("/orders/99999999/cancel", json={"reason": "x"}, headers=HO)).status_code == 404


async def test_action_answers_outcome_unknown_when_no_worker_runs(dev_env, db, database_url, executor):
    from tests.conftest import _stack

    async for stack in _stack(dev_env, db, database_url, executor, run_worker=False):
        stack.settings.update_timeout_seconds = 1
        response = await stack.http.post("/orders", json=order_body(), headers=CHANNEL)
        number = response.json()["order_number"]
        refused = await stack.http.post(
            f"/orders/{number}/cancel", json={"reason": "x"}, headers={**HO, "Idempotency-Key": "cancel-1"}
        )
        assert refused.status_code == 503
        # Not "nothing changed": it may still be applied, and the same key learns the outcome.
        problem = refused.json()
        assert problem["type"].endswith("outcome-unknown") and problem["idempotency_key"] == "cancel-1"
        assert "may still be applied" in problem["detail"]
        await stack.client.get_workflow_handle(order_workflow_id(number)).terminate("test finished")


async def test_switch_to_home_delivery_ships_from_warehouse_and_completes_on_dispatch(stack):
    order = await _placed(stack)
    number = order["order_number"]
    address = {
        "name": "Ada Lovelace",
        "line1": "12 St James's Square",
        "city": "London",
        "postcode": "SW1Y 4JH",
        "country": "GB",
    }
    bad = await stack.http.post(
        f"/orders/{number}/home-delivery",
        headers=HO,
        json={"address": {**address, "country": "Britain"}, "from_location": "W001", "reason": "x"},
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "address.country"
    view = (
        await stack.http.post(
            f"/orders/{number}/home-delivery",
            headers=HO,
            json={"address": address, "from_location": "W001", "reason": "cannot get to the store"},
        )
    ).json()
    assert view["status"] == "awaiting_dispatch" and view["dispatch_location"] == "W001"
    assert {line["fulfilment"] for line in view["lines"]} == {"home_delivery"}
    tee = {loc["location_id"]: loc for loc in (await stack.http.get(f"/stock/{TEE}")).json()["locations"]}
    assert (tee["S001"]["reserved"], tee["W001"]["reserved"]) == (0, 2)

    assert (await post_store_event(stack.http, "S002", store_event(number, "dispatched"))).status_code == 404
    assert (await post_store_event(stack.http, "W001", store_event(number, "dispatched"))).status_code == 202
    view = await wait_for_status(stack.http, number, "completed")
    assert view["dispatched_at"] is not None
    tee = {loc["location_id"]: loc for loc in (await stack.http.get(f"/stock/{TEE}")).json()["locations"]}
    assert (tee["W001"]["on_hand"], tee["W001"]["reserved"]) == (198, 0)
