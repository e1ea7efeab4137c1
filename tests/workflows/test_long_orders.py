"""An order a store floods with distinct events does not grow without bound and never reaches Temporal's history
limit: it remembers the last 1,000 event ids, counts a repeated exception instead of keeping it again, and
continues as new when its history grows long, carrying the order and the events not yet applied."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime

from sqlmodel import Session
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError

from models.db.tables import OrderRecordRow
from models.journey import SEEN_EVENT_IDS_KEPT
from models.order import StoreEvent, StoreEventType, order_workflow_id
from tests.support import act, place, store_says, wait_for_status
from workflows.order import OrderWorkflow

# Temporal refuses a workflow history past this many events (the server's default limit.historyCount.error).
HISTORY_LIMIT = 51_200
# More than one run of the dev server accepts (it refuses a run's 10,001st signal: "exceeded workflow execution
# limit for signal events"), so the test passes only if the order continues as new. The issue's 100,000 take about
# 6 minutes on this shared 2-core machine (passed in 374 s, ~270 signals a second): BATON_TEST_FLOOD_EVENTS=100000.
FLOOD = int(os.environ.get("BATON_TEST_FLOOD_EVENTS", "12000"))
IN_FLIGHT = 20  # signals in flight: a flood far faster than the worker turns workflow tasks into long batches


async def test_an_order_flooded_with_distinct_store_events_keeps_running_and_answering(stack):
    """Proves, through the real dev server, worker, API and database: FLOOD distinct `acknowledged` events (12,000
    by default, 100,000 with BATON_TEST_FLOOD_EVENTS=100000), signalled straight to an acknowledged order (as the
    webhook does, without the HTTP cost), are all taken in; the order continues as new (more than one run) with
    every run's history under the limit; the one refusal they share is kept once with its count; and the order
    still answers a Head Office action, which writes its read model with only the last 1,000 event ids."""
    number = await place(stack.http)
    await store_says(stack.http, number, "acknowledged")
    await wait_for_status(stack.http, number, "acknowledged")
    workflow_id = order_workflow_id(number)
    handle = stack.client.get_workflow_handle(workflow_id)
    first_run = (await handle.describe()).run_id

    gate = asyncio.Semaphore(IN_FLIGHT)
    refused: list[int] = []

    async def send(i: int) -> None:
        event = StoreEvent(
            event_id=f"flood-{i}", type=StoreEventType.acknowledged, store_id="S001", occurred_at=datetime.now(UTC)
        )
        async with gate:
            while True:
                try:
                    # Always the latest run: a signal to a run that has continued as new would be refused.
                    await stack.client.get_workflow_handle(workflow_id).signal(OrderWorkflow.store_event, event)
                    return
                except RPCError as error:
                    # The run is continuing as new as the signal arrives ("workflow is closing"), or a worker starved
                    # of CPU did not reach its continue-as-new before the run's 10,000th signal: the server refuses
                    # the signal, the webhook answers 503, and the store sends it again. So does this test; the
                    # order must still take in every event, once, over more than one run.
                    refusals = ("limit for signal events", "workflow is closing")
                    if not any(why in str(error) for why in refusals) or time.monotonic() > started + 180:
                        raise
                    refused.append(i)
                    await asyncio.sleep(0.5)

    started = time.monotonic()
    # A task group, not gather: if one signal is refused the others are cancelled instead of outliving the test.
    async with asyncio.TaskGroup() as group:
        for i in range(FLOOD):
            group.create_task(send(i))
    print(f"{FLOOD} store events signalled in {time.monotonic() - started:.1f} s ({len(refused)} refused, sent again)")

    async def all_counted() -> bool:
        view = await stack.client.get_workflow_handle(workflow_id).query(OrderWorkflow.view)
        return sum(e.count for e in view.store_exceptions) == FLOOD

    deadline = time.monotonic() + 120
    while not await all_counted():
        assert time.monotonic() < deadline, "the order did not take in every event"
        await asyncio.sleep(0.5)

    await act(stack.http, number, "notes", {"text": "still answering"})
    view = await stack.client.get_workflow_handle(workflow_id).query(OrderWorkflow.view)
    (exception,) = view.store_exceptions
    assert (exception.count, exception.type) == (FLOOD, StoreEventType.acknowledged)
    assert view.status == "acknowledged" and view.notes[-1].text == "still answering"
    assert sum(entry.action == "store_exception" for entry in view.history) == 1

    latest = await stack.client.get_workflow_handle(workflow_id).describe()
    assert latest.status == WorkflowExecutionStatus.RUNNING
    runs = [run async for run in stack.client.list_workflows(f"WorkflowId = '{workflow_id}'")]
    assert latest.run_id != first_run and len(runs) > 1
    histories = {
        run.run_id: [
            e async for e in stack.client.get_workflow_handle(workflow_id, run_id=run.run_id).fetch_history_events()
        ]
        for run in runs
    }
    assert max(len(events) for events in histories.values()) < HISTORY_LIMIT
    # The SLA clock still runs: every run continued into sets its alarm again (the order is waiting to be picked).
    for run_id, events in histories.items():
        if run_id != first_run:
            assert any(e.event_type == EventType.EVENT_TYPE_TIMER_STARTED for e in events), run_id
    with Session(stack.engine) as session:
        record = session.get(OrderRecordRow, number)
        assert record is not None
        assert len(record.seen_event_ids) == SEEN_EVENT_IDS_KEPT
