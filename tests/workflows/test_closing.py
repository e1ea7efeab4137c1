"""A collected order's workflow ends once it is settled and its grace (the SLA policy's close_after, an hour by
default) has passed, keeping its final state for later refunds; measured by skipping time, not by waiting."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel import Session
from temporalio.client import WorkflowExecutionStatus

from models.db import closed_orders
from models.order import order_workflow_id
from tests.support import CHANNEL, HO, collect, eventually, make_ready, place


async def test_a_collected_order_closes_after_its_grace(skipping_stack):
    stack = skipping_stack
    number = await place(stack.http)
    await make_ready(stack.http, number)
    await collect(stack.http, number)
    handle = stack.client.get_workflow_handle(order_workflow_id(number))

    await stack.env.sleep(timedelta(minutes=50))
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING  # a racing webhook still finds it
    with Session(stack.engine) as session:
        assert closed_orders.load(session, number) is None

    await stack.env.sleep(timedelta(minutes=11))
    await handle.result()  # it completed by itself
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
    with Session(stack.engine) as session:
        kept = closed_orders.load(session, number)
    assert kept is not None and kept.state.status == "completed" and kept.state.operations == []
    view = (await stack.http.get(f"/orders/{number}", headers=HO)).json()
    assert view["status"] == "completed" and view["version"] == kept.state.version


async def test_an_order_with_a_request_unanswered_stays_open_until_head_office_answers(skipping_stack):
    stack = skipping_stack
    number = await place(stack.http)
    await make_ready(stack.http, number)
    await collect(stack.http, number)
    body = {
        "kind": "return_lines",
        "details": {"lines": [{"line_id": "L1", "quantity": 1, "reason": "too small"}], "location_id": "S001"},
        "note": "the tee is too small",
    }
    filed = await stack.http.post(f"/orders/{number}/requests", json=body, headers=CHANNEL)
    assert filed.status_code == 201, filed.text
    request_id = filed.json()["request_id"]

    async def alerted() -> bool:
        view = (await stack.http.get(f"/orders/{number}", headers=HO)).json()
        return any(a["type"] == "customer_request" and a["cleared_at"] is None for a in view["alerts"])

    await eventually(alerted)
    handle = stack.client.get_workflow_handle(order_workflow_id(number))
    await stack.env.sleep(timedelta(hours=3))  # well past its grace: the request holds it open
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING

    declined = await stack.http.post(f"/requests/{request_id}/decline", json={"reason": "worn"}, headers=HO)
    assert declined.status_code == 200, declined.text
    await asyncio.wait_for(handle.result(), 30)  # answered: settled, and past its grace, it closes at once
    with Session(stack.engine) as session:
        kept = closed_orders.load(session, number)
    assert kept is not None and not any(alert.is_open for alert in kept.state.alerts if "customer" in alert.type)
