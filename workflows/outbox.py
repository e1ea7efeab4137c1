"""OutboxLaneWorkflow: one outbox lane's dispatcher, id "outbox-<lane>" (models/outbox.py), long-lived.

No signals or updates. Query: report (what its last relay did). It loops over one activity, OutboxActivities.relay,
which delivers everything pending on the lane in order and then watches for more for about a minute: an idle lane
costs one activity (six history events) a minute, and a busy one the same however many deliveries it makes. While
the head delivery keeps failing, the relay's retry policy backs off (from outbound_retry_initial_seconds up to
outbound_retry_max_interval_seconds, without end: the relay itself gives a delivery up past its horizon). Continues
as new when Temporal suggests it or after `loops_per_run` relays (300: some 1,800 events, five hours of an idle
lane); ends when its lane retires (a deactivated subscriber, an exporter no longer configured, no extract
destination).

`ensure_lanes` starts every lane that should run (USE_EXISTING: a lane already running is left alone and costs no
history), from the worker every few minutes and from the API when a subscriber or a store appears.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from temporalio import workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy, WorkflowIDConflictPolicy
from temporalio.service import RPCError

with workflow.unsafe.imports_passed_through():
    from sqlmodel import Session

    from activities.outbox import OutboxActivities
    from models.db.outbound import availability_subscribers
    from models.db.outbox import lane_owners
    from models.outbox import (
        EXTRACTS_LANE,
        MAIL_LANE,
        OUTBOX_LANE_WORKFLOW,
        LaneInput,
        LaneRetry,
        RelayReport,
        availability_lane,
        exporter_lane,
        lane_workflow_id,
        store_lane,
        subscriber_lane,
    )
    from models.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

RELAY_TIMEOUT = timedelta(minutes=5)  # a relay returns within BUSY_LIMIT_SECONDS (4 minutes)
RELAY_HEARTBEAT = timedelta(seconds=30)


def _retry_policy(retry: LaneRetry) -> RetryPolicy:
    return RetryPolicy(
        initial_interval=timedelta(seconds=retry.initial_seconds),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=retry.max_interval_seconds),
        maximum_attempts=0,  # unlimited: the relay gives a delivery up past its horizon and moves on
        non_retryable_error_types=["unknown_lane"],
    )


@workflow.defn(name=OUTBOX_LANE_WORKFLOW)
class OutboxLaneWorkflow:
    def __init__(self) -> None:
        self._report: RelayReport | None = None

    @workflow.run
    async def run(self, start: LaneInput) -> RelayReport | None:
        retry = start.retry
        for _ in range(start.loops_per_run):
            self._report = await workflow.execute_activity_method(
                OutboxActivities.relay,
                start.lane,
                start_to_close_timeout=RELAY_TIMEOUT,
                heartbeat_timeout=RELAY_HEARTBEAT,
                retry_policy=_retry_policy(retry),
            )
            if self._report.retired:
                return self._report
            retry = self._report.retry  # settings as the worker has them now
            if workflow.info().is_continue_as_new_suggested():
                break
        workflow.continue_as_new(start.model_copy(update={"retry": retry}))

    @workflow.query
    def report(self) -> RelayReport | None:
        return self._report


# ---- starting lanes (client side) --------------------------------------------------------------------------------


def wanted_lanes(session: Session, settings: Settings, *, inactive_too: bool = False) -> list[str]:
    """Every lane that should run: active subscribers, every location, the extracts when they have somewhere to go,
    each configured exporter, the mail when an SMTP server is configured. `inactive_too` adds deactivated
    subscribers (to stop every lane, as tests do)."""
    subscribers, locations = lane_owners(session, inactive_too=inactive_too)
    lanes = [subscriber_lane(subscriber) for subscriber in subscribers]
    lanes += [store_lane(store) for store in locations]
    lanes += [availability_lane(s) for s in availability_subscribers(session, inactive_too=inactive_too)]
    if settings.extract_drop_folder is not None or settings.extract_http_url is not None:
        lanes.append(EXTRACTS_LANE)
    lanes += [exporter_lane(exporter.name) for exporter in settings.exporters]
    if settings.smtp_url is not None:
        lanes.append(MAIL_LANE)
    return lanes


async def ensure_lanes(
    client: Client, engine: Engine | None, settings: Settings, lanes: list[str] | None = None
) -> list[str]:
    """Start `lanes` (all wanted ones, read with `engine`, when None) unless they run already; returns the lanes."""
    if lanes is None:
        assert engine is not None, "the wanted lanes are read from the database"

        def read() -> list[str]:
            with Session(engine) as session:
                return wanted_lanes(session, settings)

        lanes = await asyncio.to_thread(read)
    start = LaneInput(
        lane="",
        retry=LaneRetry(
            initial_seconds=settings.outbound_retry_initial_seconds,
            max_interval_seconds=settings.outbound_retry_max_interval_seconds,
        ),
    )
    for lane in lanes:
        await client.start_workflow(
            OutboxLaneWorkflow.run,
            start.model_copy(update={"lane": lane}),
            id=lane_workflow_id(lane),
            task_queue=settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
    return lanes


async def start_lane(client: Client, settings: Settings, lane: str) -> bool:
    """Start one lane now (the API, when a subscriber or a store appears); False when Temporal could not be reached:
    the worker's next round of `ensure_lanes` starts it then."""
    try:
        await ensure_lanes(client, None, settings, [lane])
    except RPCError as error:
        logging.getLogger(__name__).warning("outbox lane %s not started: %s", lane, error)
        return False
    return True
