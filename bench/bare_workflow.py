"""A bare Temporal workflow shaped like Baton's click & collect order, with no business logic and no DB.

Shape (counted from a real OrderWorkflow history on the happy path):

    start     local project, local reserve, regular push, local project     -> awaiting_acknowledgement
    signal    acknowledged: local project                                    -> acknowledged
    signal    picked:       local project                                    -> ready_for_collection
    signal    collected:    local commit, local project, local project       -> completed

that is 8 local activities (6 projections, reserve, commit), 1 regular activity (the store push) and the
same store_event signal received 3 times. The activities are no-ops registered by name in bench/journey.py.

With `extras=True` the workflow also copies what the real one does beyond activities and signals: it
waits for each signal with a timeout (the SLA clock's durable timer, started and cancelled each step) and
upserts the OrderStatus search attribute on each status change, so its history matches event for event.

This module imports only temporalio and the standard library so the workflow sandbox can load it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

LOCAL_TIMEOUT = timedelta(seconds=30)
PUSH_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=1), maximum_attempts=6
)
SLA_TIMEOUT = timedelta(hours=1)
ORDER_STATUS = SearchAttributeKey.for_keyword("OrderStatus")

# Activity names; bench/journey.py registers no-op implementations under these names.
PROJECT = "bare_project"
RESERVE = "bare_reserve"
COMMIT = "bare_commit"
PUSH = "bare_push"

STEP_STATUS = {"acknowledged": "acknowledged", "picked": "ready_for_collection", "collected": "completed"}


@dataclass
class BareOrder:
    order_id: str
    extras: bool = False


@dataclass
class Projection:
    """What the project activity is given: which workflow, and the status it reached."""

    workflow_id: str
    status: str


@workflow.defn
class BareOrderWorkflow:
    def __init__(self) -> None:
        self._inbox: list[str] = []
        self._extras = False

    @workflow.run
    async def run(self, order: BareOrder) -> str:
        self._extras = order.extras
        await self._project("received")
        await workflow.execute_local_activity(RESERVE, order.order_id, start_to_close_timeout=LOCAL_TIMEOUT)
        await workflow.execute_activity(
            PUSH, order.order_id, start_to_close_timeout=timedelta(seconds=30), retry_policy=PUSH_RETRY
        )
        await self._project("awaiting_acknowledgement")
        for _ in STEP_STATUS:
            await self._wait_for_signal()
            kind = self._inbox.pop(0)
            if kind == "collected":
                await workflow.execute_local_activity(COMMIT, order.order_id, start_to_close_timeout=LOCAL_TIMEOUT)
            await self._project(STEP_STATUS.get(kind, kind))
        # The real workflow projects once more when it sees the order is final.
        await self._project("completed", upsert=False)
        return "completed"

    @workflow.signal
    def store_event(self, kind: str) -> None:
        self._inbox.append(kind)

    async def _wait_for_signal(self) -> None:
        if self._extras:
            try:
                await workflow.wait_condition(lambda: bool(self._inbox), timeout=SLA_TIMEOUT)
            except TimeoutError:
                pass
        await workflow.wait_condition(lambda: bool(self._inbox))

    async def _project(self, status: str, *, upsert: bool = True) -> None:
        await workflow.execute_local_activity(
            PROJECT, Projection(workflow.info().workflow_id, status), start_to_close_timeout=LOCAL_TIMEOUT
        )
        if self._extras and upsert and status != "received":
            workflow.upsert_search_attributes([ORDER_STATUS.value_set(status)])
