"""A collected order's workflow ends once it is settled and its grace (the SLA policy's close_after, an hour by
default) has passed, keeping its final state for later refunds; measured by skipping time, not by waiting."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session
from temporalio.client import WorkflowExecutionStatus

from models.db import closed_orders
from models.order import order_workflow_id
from tests.support import HO, collect, make_ready, place


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
