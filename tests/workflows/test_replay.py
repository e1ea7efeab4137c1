"""Recorded order histories replay against today's workflow code: a change that would break running
orders fails here. Record new ones with `BATON_RECORD_HISTORIES=1 ./baton test tests/workflows/test_replay.py`."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from models.order import order_workflow_id
from tests.support import CHANNEL, HO, order_body, post_store_event, settled, store_event, wait_for_status
from workflows.client import DATA_CONVERTER
from workflows.order import OrderWorkflow

HISTORIES = Path(__file__).resolve().parent.parent / "histories"
RECORD = os.environ.get("BATON_RECORD_HISTORIES") == "1"


@pytest.fixture
def stack_settings() -> dict[str, Any]:
    return {"test_gateway_outage_seconds": 4}  # tok_outage: unreachable for 4 s, then answers from its books


def _recorded() -> list[Path]:
    return sorted(HISTORIES.glob("*.json"))


def _workflow_id(recorded: dict) -> str:
    """The order's real workflow id (ids derived from it, like transfer ids, must match on replay)."""
    started = recorded["events"][0]["workflowExecutionStartedEventAttributes"]
    state = json.loads(base64.b64decode(started["input"]["payloads"][0]["data"]))
    return order_workflow_id(state["order_number"])


@pytest.mark.parametrize("path", _recorded(), ids=lambda p: p.stem)
async def test_recorded_history_replays(path: Path):
    recorded = json.loads(path.read_text())
    history = WorkflowHistory.from_json(_workflow_id(recorded), recorded)
    await Replayer(workflows=[OrderWorkflow], data_converter=DATA_CONVERTER).replay_workflow(history)


def test_histories_are_recorded():
    assert len(_recorded()) >= 3, "tests/histories/ should hold recorded order histories"


_SETTLED = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    EventType.EVENT_TYPE_TIMER_STARTED,
}


async def _save(stack, number: str, name: str) -> None:
    """Save the history once the workflow is idle (money settled, no workflow task open)."""
    await settled(stack.http, number)
    handle = stack.client.get_workflow_handle(order_workflow_id(number))
    for _ in range(100):
        history = await handle.fetch_history()
        if history.events[-1].event_type in _SETTLED:
            break
        await asyncio.sleep(0.1)
    (HISTORIES / f"{name}.json").write_text(history.to_json())


async def _send(stack, number: str, type_: str, **kwargs) -> None:
    assert (await post_store_event(stack.http, "S001", store_event(number, type_, **kwargs))).status_code == 202


@pytest.mark.skipif(not RECORD, reason="set BATON_RECORD_HISTORIES=1 to record histories")
async def test_record_click_and_collect_histories(stack):
    number = (await stack.http.post("/orders", json=order_body(), headers=CHANNEL)).json()["order_number"]
    await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    await _send(stack, number, "acknowledged")
    await wait_for_status(stack.http, number, "acknowledged")
    await _send(stack, number, "picked", picked={"L1": 2, "L2": 1})
    await wait_for_status(stack.http, number, "ready_for_collection")
    await _send(stack, number, "collected")
    await wait_for_status(stack.http, number, "completed")
    await _save(stack, number, "click_and_collect_completed")

    number = (await stack.http.post("/orders", json=order_body(), headers=CHANNEL)).json()["order_number"]
    await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    await _send(stack, number, "picked", picked={"L1": 1, "L2": 1})
    await wait_for_status(stack.http, number, "on_hold")
    released = await stack.http.post(f"/orders/{number}/release-hold", json={"reason": "accept"}, headers=HO)
    assert released.status_code == 200
    await _send(stack, number, "update_acknowledged")
    await _send(stack, number, "collected", event_id="dup-collected")
    await _send(stack, number, "collected", event_id="dup-collected")
    await wait_for_status(stack.http, number, "completed")
    await _save(stack, number, "short_pick_released_then_collected")


@pytest.mark.skipif(not RECORD, reason="set BATON_RECORD_HISTORIES=1 to record histories")
async def test_record_intervention_histories(stack):
    number = (await stack.http.post("/orders", json=order_body(), headers=CHANNEL)).json()["order_number"]
    await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    await _send(stack, number, "acknowledged")
    for action, body in [
        ("add-item", {"sku": "JKT-OLI-M", "quantity": 1, "reason": "customer called"}),
        ("change-variant", {"line_id": "L1", "size": "L", "reason": "too small"}),
        ("cancel-lines", {"lines": [{"line_id": "L2", "quantity": 1}], "reason": "not needed"}),
        ("notes", {"text": "called the customer", "client_facing": False}),
        ("prompt-store", {"reason": "please pick today"}),
    ]:
        response = await stack.http.post(f"/orders/{number}/{action}", json=body, headers=HO)
        assert response.status_code == 200, response.text
    await _send(stack, number, "update_acknowledged")
    await _send(stack, number, "picked", picked={"L3": 1, "L4": 2})
    await wait_for_status(stack.http, number, "ready_for_collection")
    await _send(stack, number, "collected")
    await wait_for_status(stack.http, number, "completed")
    refund = {"amount": {"amount": 1500, "currency": "GBP"}, "reason": "faulty"}
    assert (await stack.http.post(f"/orders/{number}/refunds", json=refund, headers=HO)).status_code == 200
    await _save(stack, number, "interventions_then_refund_after_collection")

    number = (await stack.http.post("/orders", json=order_body(lines=[("TEE-WHI-M", 11)]), headers=CHANNEL)).json()[
        "order_number"
    ]
    await wait_for_status(stack.http, number, "on_hold")
    body = {"sku": "TEE-WHI-M", "quantity": 1, "from_location": "W001", "reason": "one short"}
    transfer = (await stack.http.post(f"/orders/{number}/redirect-stock", json=body, headers=HO)).json()["transfers"][0]
    await _send(stack, number, "transfer_received", transfer_id=transfer["transfer_id"])
    await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    assert (
        await stack.http.post(f"/orders/{number}/cancel", json={"reason": "changed mind"}, headers=HO)
    ).status_code == 200
    await _save(stack, number, "redirected_stock_then_cancelled")


@pytest.mark.skipif(not RECORD, reason="set BATON_RECORD_HISTORIES=1 to record histories")
async def test_record_sla_histories(skipping_stack):
    stack = skipping_stack
    number = (await stack.http.post("/orders", json=order_body(lines=[("TEE-WHI-M", 11)]), headers=CHANNEL)).json()[
        "order_number"
    ]
    await wait_for_status(stack.http, number, "on_hold")
    await stack.env.sleep(timedelta(hours=5))
    cancelled_hold = await stack.http.post(f"/orders/{number}/release-hold", json={"reason": "retry"}, headers=HO)
    assert cancelled_hold.status_code == 200
    await _save(stack, number, "stock_shortage_on_hold_alert")

    number = (await stack.http.post("/orders", json=order_body(), headers=CHANNEL)).json()["order_number"]
    await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    await stack.env.sleep(timedelta(hours=1))
    await _send(stack, number, "acknowledged")
    await wait_for_status(stack.http, number, "acknowledged")
    await _send(stack, number, "picked", picked={"L1": 2, "L2": 1})
    await wait_for_status(stack.http, number, "ready_for_collection")
    await stack.env.sleep(timedelta(days=8))
    await wait_for_status(stack.http, number, "cancelled")
    await _save(stack, number, "alerts_then_collection_expired")


@pytest.mark.skipif(not RECORD, reason="set BATON_RECORD_HISTORIES=1 to record histories")
async def test_record_payment_histories(stack):
    policy = (await stack.http.get("/settings/payments", headers=HO)).json()
    assert (
        await stack.http.put("/settings/payments", json={**policy, "approval_channels": ["phone"]}, headers=HO)
    ).is_success
    body = order_body(channel="phone")
    total = body["payment"]["amount"]["amount"]
    body["payment"] = None
    body["payments"] = [
        {
            "mode": "auth_capture",
            "method": "gift_card",
            "token": "tok_approve",
            "amount": {"amount": 1000, "currency": "GBP"},
        },
        {
            "mode": "authorise",
            "method": "card",
            "token": "tok_approve",
            "amount": {"amount": total - 1000, "currency": "GBP"},
        },
    ]
    number = (await stack.http.post("/orders", json=body, headers=CHANNEL)).json()["order_number"]
    await wait_for_status(stack.http, number, "awaiting_approval")
    assert (await stack.http.post(f"/orders/{number}/approve", json={"reason": "known"}, headers=HO)).status_code == 200
    await _send(stack, number, "acknowledged")
    await _send(stack, number, "picked", picked={"L1": 2, "L2": 1})
    await wait_for_status(stack.http, number, "ready_for_collection")
    await _send(stack, number, "collected")
    await wait_for_status(stack.http, number, "completed")
    refund = {"lines": [{"line_id": "L2", "quantity": 1}], "reason": "returned"}
    assert (await stack.http.post(f"/orders/{number}/refunds", json=refund, headers=HO)).status_code == 200
    await _save(stack, number, "approved_split_payment_captured_then_refunded")

    body = order_body()
    body["payment"] = {**body["payment"], "mode": "authorise", "token": "tok_decline"}
    number = (await stack.http.post("/orders", json=body, headers=CHANNEL)).json()["order_number"]
    await wait_for_status(stack.http, number, "on_hold")
    retry = {"reason": "new card", "token": "tok_approve"}
    assert (await stack.http.post(f"/orders/{number}/retry-payment", json=retry, headers=HO)).status_code == 200
    assert (
        await stack.http.post(f"/orders/{number}/cancel", json={"reason": "changed mind"}, headers=HO)
    ).status_code == 200
    await _save(stack, number, "declined_card_retried_then_cancelled")


@pytest.mark.skipif(not RECORD, reason="set BATON_RECORD_HISTORIES=1 to record histories")
async def test_record_money_histories(stack):
    """Money paid back when the customer never came, and a gateway outcome that went missing, then reconciled."""
    body = order_body()
    body["payment"] = {"mode": "auth_capture", "method": "card", "token": "tok_approve",
                       "amount": body["payment"]["amount"]}  # fmt: skip
    number = (await stack.http.post("/orders", json=body, headers=CHANNEL)).json()["order_number"]
    await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    await _send(stack, number, "acknowledged")
    await _send(stack, number, "picked", picked={"L1": 2, "L2": 1})
    await wait_for_status(stack.http, number, "ready_for_collection")
    await _send(stack, number, "not_collected")
    await wait_for_status(stack.http, number, "cancelled")
    await _save(stack, number, "not_collected_card_refunded")

    policy = (await stack.http.get("/settings/payments", headers=HO)).json()
    fast = {**policy, "gateway_timeout": "PT1S", "gateway_retry_for": "PT1S", "reconcile_every": "PT2S"}
    assert (await stack.http.put("/settings/payments", json=fast, headers=HO)).is_success
    body["payment"]["token"] = "tok_outage"
    number = (await stack.http.post("/orders", json=body, headers=CHANNEL)).json()["order_number"]
    await wait_for_status(stack.http, number, "on_hold")
    await wait_for_status(stack.http, number, "awaiting_acknowledgement", timeout=60)
    await _save(stack, number, "payment_unknown_then_reconciled")


@pytest.mark.skipif(not RECORD, reason="set BATON_RECORD_HISTORIES=1 to record histories")
async def test_record_delivery_histories(stack):
    """A mixed order: one line collected at S001, one delivered from the warehouse, one card authorised per
    delivery and captured as each goes."""
    body = order_body()
    body["payment"] = {"mode": "authorise", "method": "card", "token": "tok_approve",
                       "amount": body["payment"]["amount"]}  # fmt: skip
    address = {"name": "Ada Lovelace", "line1": "1 Abington Street", "city": "Northampton", "postcode": "NN1 2AJ",
               "country": "GB"}  # fmt: skip
    body["lines"][1]["fulfilment"] = {"method": "home_delivery", "address": address, "location_id": "W001"}
    number = (await stack.http.post("/orders", json=body, headers=CHANNEL)).json()["order_number"]
    await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    await settled(stack.http, number)

    async def warehouse(type_: str, **kwargs: Any) -> None:
        event = store_event(number, type_, **kwargs)
        assert (await post_store_event(stack.http, "W001", event)).status_code == 202

    await warehouse("packed")
    await warehouse("shipped", carrier="DPD", tracking_number="JD014600003GB")
    await _send(stack, number, "acknowledged")
    await _send(stack, number, "picked", picked={"L1": 2})
    await wait_for_status(stack.http, number, "ready_for_collection")
    await _send(stack, number, "collected")
    await wait_for_status(stack.http, number, "partially_collected")
    await warehouse("delivered", delivery_id="D2")
    await wait_for_status(stack.http, number, "completed")
    await _save(stack, number, "mixed_order_collected_and_delivered")


@pytest.mark.skipif(not RECORD, reason="set BATON_RECORD_HISTORIES=1 to record histories")
async def test_record_closing_histories(stack):
    """An order that closes once settled (the close-when-settled patch), its final state kept."""
    sla = (await stack.http.get("/settings/sla", headers=HO)).json()
    assert (await stack.http.put("/settings/sla", json={**sla, "close_after": "PT1S"}, headers=HO)).is_success
    body = order_body()
    body["payment"] = {"mode": "auth_capture", "method": "card", "token": "tok_approve",
                       "amount": body["payment"]["amount"]}  # fmt: skip
    number = (await stack.http.post("/orders", json=body, headers=CHANNEL)).json()["order_number"]
    await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    await _send(stack, number, "acknowledged")
    await _send(stack, number, "picked", picked={"L1": 2, "L2": 1})
    await wait_for_status(stack.http, number, "ready_for_collection")
    await _send(stack, number, "collected")
    await wait_for_status(stack.http, number, "completed")
    refund = {"amount": {"amount": 500, "currency": "GBP"}, "reason": "goodwill"}
    assert (await stack.http.post(f"/orders/{number}/refunds", json=refund, headers=HO)).status_code == 200
    await stack.client.get_workflow_handle(order_workflow_id(number)).result()
    await _save(stack, number, "card_order_refunded_then_closed_when_settled")
