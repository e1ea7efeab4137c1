"""The bare side of the journey benchmark: bench/bare_workflow.py on an in-process worker, same server.

The driver starts each workflow, sends the 3 store_event signals and waits for its result. Like the Baton
driver, which waits until the projection shows each status before the next webhook, it sends each signal
once the no-op projection activity of the previous step has run (it is told in-process, so waiting costs the
server nothing); with pacing off the signals go back to back.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from bare_workflow import COMMIT, PROJECT, PUSH, RESERVE, BareOrder, BareOrderWorkflow, Projection
from baton_run import STEPS
from cpu import CpuMeter
from figures import RunFigures, run_pool
from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker


class BareActivities:
    """No-op activities; the projection tells the driver in-process which status a workflow reached."""

    def __init__(self) -> None:
        self.waiters: dict[tuple[str, str], asyncio.Future[None]] = {}

    def expect(self, workflow_id: str, status: str) -> asyncio.Future[None]:
        return self.waiters.setdefault((workflow_id, status), asyncio.get_running_loop().create_future())

    @activity.defn(name=PROJECT)
    async def project(self, projection: Projection) -> None:
        waiter = self.waiters.get((projection.workflow_id, projection.status))
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    @activity.defn(name=RESERVE)
    async def reserve(self, _order_id: str) -> None:
        return None

    @activity.defn(name=COMMIT)
    async def commit(self, _order_id: str) -> None:
        return None

    @activity.defn(name=PUSH)
    async def push(self, _order_id: str) -> None:
        return None


async def bare_run(
    client: Client,
    orders: int,
    concurrency: int,
    paced: bool,
    extras: bool,
    timeout: float,
    meter: CpuMeter | None = None,
) -> RunFigures:
    """Run the bare workflows; `meter` (Temporal and this process) is read around the journeys only."""
    figures = RunFigures(requested=orders)
    run_id = uuid.uuid4().hex[:8]
    task_queue = f"bench-bare-{run_id}"
    activities = BareActivities()
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[BareOrderWorkflow],
        activities=[activities.project, activities.reserve, activities.commit, activities.push],
        max_concurrent_activities=32,  # as worker.py
    )

    async def journey(index: int) -> None:
        workflow_id = f"bare-{run_id}-{index}"
        waits = {
            s: activities.expect(workflow_id, s)
            for s in ("awaiting_acknowledgement", "acknowledged", "ready_for_collection")
        }
        began = time.perf_counter()
        try:
            handle = await client.start_workflow(
                BareOrderWorkflow.run,
                BareOrder(order_id=str(index), extras=extras),
                id=workflow_id,
                task_queue=task_queue,
            )
            figures.start_ms.append((time.perf_counter() - began) * 1000)
            figures.started += 1
            previous = "awaiting_acknowledgement"
            for type_, status in STEPS:
                if paced:
                    await asyncio.wait_for(waits[previous], timeout)
                started = time.perf_counter()
                await handle.signal(BareOrderWorkflow.store_event, type_)
                figures.signal_ms.append((time.perf_counter() - started) * 1000)
                previous = status
            await asyncio.wait_for(handle.result(), timeout)
        except Exception as error:  # noqa: BLE001  (count every failure, keep going)
            figures.errors[f"{type(error).__name__}: {error}"[:160]] += 1
            return
        finally:
            for status in waits:
                activities.waiters.pop((workflow_id, status), None)
        figures.journey_s.append(time.perf_counter() - began)
        figures.completed += 1
        figures.completed_ids.append(workflow_id)

    async with worker:
        if meter is not None:
            meter.start()
        figures.wall_seconds = await run_pool(orders, concurrency, journey)
        if meter is not None:
            figures.cpu_ms, figures.cpu_wall_s = meter.stop()
    return figures
