"""StuckOrderSweepWorkflow: one sweep for stuck orders (activities/sweep.py), started by a Temporal Schedule
(`baton-stuck-order-sweep`, every BATON_SWEEP_INTERVAL_SECONDS; a sweep still running makes the next one skip).
A sweep is a single activity: a few history events, however many orders it looks at."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.sweep import SweepActivities, SweepReport
    from models.settings import Settings

SWEEP_WORKFLOW = "StuckOrderSweep"
SWEEP_SCHEDULE_ID = "baton-stuck-order-sweep"


@workflow.defn(name=SWEEP_WORKFLOW)
class StuckOrderSweepWorkflow:
    @workflow.run
    async def run(self) -> SweepReport:
        return await workflow.execute_activity_method(
            SweepActivities.sweep_stuck_orders,
            start_to_close_timeout=timedelta(minutes=10),
            heartbeat_timeout=timedelta(minutes=1),
            retry_policy=RetryPolicy(maximum_attempts=3),
        )


def _schedule(settings: Settings) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            StuckOrderSweepWorkflow.run, id="stuck-order-sweep", task_queue=settings.task_queue
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=settings.sweep_interval_seconds))]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_sweep_schedule(client: Client, settings: Settings) -> None:
    """Create the sweep's schedule, or bring an existing one in line with the settings (the worker, at start)."""
    schedule = _schedule(settings)
    try:
        await client.create_schedule(SWEEP_SCHEDULE_ID, schedule)
    except ScheduleAlreadyRunningError:

        def updated(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(SWEEP_SCHEDULE_ID).update(updated)
