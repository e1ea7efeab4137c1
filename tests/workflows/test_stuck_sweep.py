"""The stuck-order sweep on the dev server: an order past every deadline and an order whose store push keeps
failing are alerted `stuck` with what they wait for; a healthy order is left alone; a sweep that finds nothing
costs a handful of history events; the worker's schedule runs it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.http_receiver import Receiver
from tests.support import HO, eventually, order_body, place, store_says, wait_for_status
from workflows.sweep import SWEEP_SCHEDULE_ID, StuckOrderSweepWorkflow, ensure_sweep_schedule


@pytest.fixture
def stack_settings() -> dict[str, Any]:
    return {
        "stuck_after_seconds": 0,  # every open order is looked at
        "stuck_grace_seconds": 0,
        "stuck_failed_attempts": 2,
        "outbound_retry_initial_seconds": 0.3,
        "outbound_retry_max_interval_seconds": 1.0,
    }


async def _sweep(stack) -> Any:
    return await stack.client.execute_workflow(
        StuckOrderSweepWorkflow.run, id=f"sweep-{uuid.uuid4().hex[:8]}", task_queue=stack.settings.task_queue
    )


async def _stuck_alert(http, number: str) -> dict | None:
    view = (await http.get(f"/orders/{number}", headers=HO)).json()
    return next((a for a in view["alerts"] if a["type"] == "stuck" and a["cleared_at"] is None), None)


async def test_orders_past_every_deadline_or_failing_to_reach_their_store_are_alerted_stuck(stack, store_endpoint):
    http = stack.http
    # A one-second acknowledgement SLA: once it has fired, the order has no deadline left and nobody acts.
    policy = (await http.get("/settings/sla", headers=HO)).json()
    assert (await http.put("/settings/sla", json={**policy, "not_acknowledged": 1}, headers=HO)).status_code == 200
    forgotten = await place(http)

    async def breached() -> bool:
        view = (await http.get(f"/orders/{forgotten}", headers=HO)).json()
        return any(a["type"] == "not_acknowledged" for a in view["alerts"])

    await eventually(breached)
    assert (await http.put("/settings/sla", json=policy, headers=HO)).status_code == 200
    healthy = await place(http)  # its acknowledgement clock runs for 30 minutes yet

    # S002's endpoint answers 503: its order's push keeps failing.
    store = (await http.get("/stores/S002", headers=HO)).json()
    put = {"name": store["name"], "kind": store["kind"], "webhook_url": store_endpoint.url}
    assert (await http.put("/stores/S002", json=put, headers=HO)).status_code == 200
    unreachable = await place(http, order_body(store_id="S002"))
    await eventually(lambda: _attempted(store_endpoint, 2), timeout=30)

    report = await _sweep(stack)
    assert set(report.stuck) >= {forgotten, unreachable} and healthy not in report.stuck
    alert = await eventually(lambda: _stuck_alert(http, forgotten))
    assert "past its last deadline" in alert["detail"] and "the store to acknowledge the order" in alert["detail"]
    alert = await eventually(lambda: _stuck_alert(http, unreachable))
    assert "keeps failing" in alert["detail"] and "S002" in alert["detail"]
    assert await _stuck_alert(http, healthy) is None
    listed = (await http.get("/orders", params={"alert_type": "stuck"}, headers=HO)).json()
    assert {o["order_number"] for o in listed["items"]} >= {forgotten, unreachable}

    # Swept again: no second alert while one is open (already alerted orders are not even looked at).
    again = await _sweep(stack)
    assert forgotten not in again.stuck
    view = (await http.get(f"/orders/{forgotten}", headers=HO)).json()
    assert sum(a["type"] == "stuck" for a in view["alerts"]) == 1

    # The order moves: the alert clears.
    await store_says(http, forgotten, "acknowledged")
    await wait_for_status(http, forgotten, "acknowledged")
    assert await _stuck_alert(http, forgotten) is None


async def _attempted(receiver: Receiver, times: int) -> bool:
    return len(receiver.requests) >= times


async def test_a_sweep_that_finds_nothing_costs_a_handful_of_events_and_the_schedule_runs_it(stack):
    await place(stack.http)  # fresh: not quiet for an hour
    handle_id = f"sweep-{uuid.uuid4().hex[:8]}"
    stack.settings.stuck_after_seconds = 3600  # nothing has been quiet that long
    report = await stack.client.execute_workflow(
        StuckOrderSweepWorkflow.run, id=handle_id, task_queue=stack.settings.task_queue
    )
    assert (report.looked_at, report.stuck) == (0, [])
    events = [e async for e in stack.client.get_workflow_handle(handle_id).fetch_history_events()]
    assert len(events) <= 12

    await ensure_sweep_schedule(stack.client, stack.settings)
    schedule = stack.client.get_schedule_handle(SWEEP_SCHEDULE_ID)
    try:
        await ensure_sweep_schedule(stack.client, stack.settings)  # a second worker start: updated, not duplicated
        await schedule.trigger()

        async def ran() -> bool:
            described = await schedule.describe()
            return bool(described.info.recent_actions)

        await eventually(ran, timeout=30)
    finally:
        await schedule.delete()
