"""OrderNotificationsWorkflow: one order's events, delivered to webhook subscribers and exporters in order.

Id "notifications-<order_number>", signalled-with-start by the order workflow (OrderNotifier, below) and
outliving it until everything is delivered. Signals: publish (a batch of events; `order_closed` on the last,
when the order workflow ends). Queries: progress.

Each subscriber has its own ordered lane: it gets the order's events one after the other, each retried with
exponential backoff for hours, and a subscriber that is down holds up no other. Exporters have one lane: per
event, the export-eligibility states it reaches (models/exporting.py) start the exporters bound to them, and
an exporter that succeeds hands on to the exporters bound to the state it sets.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import timedelta

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.outbound import OutboundActivities
    from models import exporting
    from models.events import OrderEvent, OrderEventType, mark_published, pending_events
    from models.exporting import ExporterRef, ExportProgress
    from models.extracts import CreateExtract, ExtractType
    from models.order import OrderState
    from models.outbound import (
        NOTIFICATIONS_WORKFLOW,
        PUBLISH_SIGNAL,
        DeliveryFailed,
        ExportAudit,
        ExportRun,
        NotificationBatch,
        OutboundRetry,
        PlanRequest,
        WebhookDelivery,
        delivery_id,
        export_run_id,
    )
    from workflows.extracts import publish_extract

LOCAL_TIMEOUT = timedelta(seconds=30)
NOTIFICATIONS_PATCH = "order-notifications"


class NotificationsProgress(BaseModel):
    last_sequence: int = 0
    order_closed: bool = False
    queued: dict[str, int] = Field(default_factory=dict)  # lane (subscriber id, or "exporters") -> waiting
    exports: ExportProgress = Field(default_factory=ExportProgress)


def outbound_options(retry: OutboundRetry) -> dict:
    """Activity options for a call to an external receiver: exponential backoff up to the retry horizon."""
    return {
        "start_to_close_timeout": timedelta(seconds=retry.attempt_timeout_seconds + 5),
        "schedule_to_close_timeout": timedelta(seconds=retry.horizon_seconds),
        "retry_policy": RetryPolicy(
            initial_interval=timedelta(seconds=retry.initial_seconds),
            backoff_coefficient=2.0,
            maximum_interval=timedelta(seconds=retry.max_interval_seconds),
            maximum_attempts=0,  # the horizon ends it
        ),
    }


async def deliver(delivery: WebhookDelivery, retry: OutboundRetry) -> bool:
    """Deliver one webhook with retries; a delivery that gives up is marked failed in the log."""
    try:
        await workflow.execute_activity_method(OutboundActivities.deliver_webhook, delivery, **outbound_options(retry))
        return True
    except ActivityError as error:
        await workflow.execute_local_activity_method(
            OutboundActivities.mark_delivery_failed,
            DeliveryFailed(delivery_id=delivery.delivery_id, detail=_reason(error)),
            start_to_close_timeout=LOCAL_TIMEOUT,
        )
        return False


# ---- exporter kinds: each runs an export through its own activity ---------------------------------------


async def _export_by_webhook(run: ExportRun, retry: OutboundRetry) -> None:
    await workflow.execute_activity_method(OutboundActivities.export_webhook, run, **outbound_options(retry))


async def _export_xml_extract(run: ExportRun, retry: OutboundRetry) -> None:
    """Create the exporter's XML extract (an `order_export` unless it names another type) and deliver it."""
    if run.order is None:
        raise ApplicationError("no order snapshot to build the extract from", type="export_failed", non_retryable=True)
    delivery = await publish_extract(
        CreateExtract(
            extract_id=run.run_id,
            type=ExtractType(run.exporter.extract_type or ExtractType.order_export),
            order=run.order,
            occurred_at=run.occurred_at,
        )
    )
    if not delivery.delivered and delivery.attempts:  # created, but a configured destination refused it
        raise ApplicationError(delivery.detail, type="export_failed", non_retryable=True)


# The XML notification extract each order event gives third-party processes (customer messages).
EXTRACT_FOR_EVENT = {
    OrderEventType.ready_for_collection: ExtractType.ready_for_collection,
    OrderEventType.collected: ExtractType.collected,
    OrderEventType.updated: ExtractType.updated,
    OrderEventType.cancelled: ExtractType.cancelled,
    OrderEventType.refunded: ExtractType.refunded,
}


EXPORTER_KINDS: dict[str, Callable[[ExportRun, OutboundRetry], Awaitable[None]]] = {
    "webhook": _export_by_webhook,
    "xml_extract": _export_xml_extract,
}


class _Lane:
    """Jobs run one after the other, in the order they were queued."""

    def __init__(self) -> None:
        self.queue: deque[Callable[[], Awaitable[None]]] = deque()
        self.running = False
        self.error: BaseException | None = None
        self._task: asyncio.Task[None] | None = None

    def push(self, job: Callable[[], Awaitable[None]]) -> None:
        self.queue.append(job)
        if not self.running:
            self.running = True
            self._task = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self.queue:
                await self.queue.popleft()()
        except BaseException as error:  # a bug, not a delivery failure: surfaced by the workflow's main loop
            self.error = error
            raise
        finally:
            self.running = False

    @property
    def idle(self) -> bool:
        return not self.running and not self.queue


@workflow.defn(name=NOTIFICATIONS_WORKFLOW)
class OrderNotificationsWorkflow:
    @workflow.init
    def __init__(self, batch: NotificationBatch) -> None:
        self._order_number = batch.order_number
        self._inbox: list[NotificationBatch] = []
        self._progress = NotificationsProgress()
        self._subscriber_lanes: dict[str, _Lane] = {}
        self._export_lane = _Lane()
        self._extract_lane = _Lane()  # XML notification extracts, in the order of their events
        self._retry: OutboundRetry | None = None
        self.publish(batch)

    @workflow.run
    async def run(self, batch: NotificationBatch) -> NotificationsProgress:
        while True:
            await workflow.wait_condition(lambda: bool(self._inbox) or self._progress.order_closed or self._broken())
            self._raise_if_broken()
            while self._inbox:
                await self._dispatch(self._inbox.pop(0))
            if self._progress.order_closed and not self._inbox:
                break
        await workflow.wait_condition(lambda: all(lane.idle for lane in self._lanes()) or self._broken())
        self._raise_if_broken()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.progress()

    @workflow.signal(name=PUBLISH_SIGNAL)
    def publish(self, batch: NotificationBatch) -> None:
        # Events are numbered per order: one already taken (a re-sent batch) is not queued again.
        fresh = [event for event in batch.events if event.sequence > self._progress.last_sequence]
        if fresh:
            self._progress.last_sequence = fresh[-1].sequence
            self._inbox.append(batch.model_copy(update={"events": fresh}))
        if batch.order_closed:
            self._progress.order_closed = True

    @workflow.query
    def progress(self) -> NotificationsProgress:
        queued = {subscriber: len(lane.queue) for subscriber, lane in self._subscriber_lanes.items()}
        return self._progress.model_copy(
            update={
                "queued": queued
                | {"exporters": len(self._export_lane.queue), "extracts": len(self._extract_lane.queue)}
            }
        )

    async def _dispatch(self, batch: NotificationBatch) -> None:
        types = sorted({event.type for event in batch.events})
        plan = await workflow.execute_local_activity_method(
            OutboundActivities.plan_notifications, PlanRequest(event_types=types), start_to_close_timeout=LOCAL_TIMEOUT
        )
        self._retry = plan.retry
        for event in batch.events:
            for subscriber in plan.subscribers:
                if event.type in subscriber.event_types:
                    lane = self._subscriber_lanes.setdefault(subscriber.subscriber_id, _Lane())
                    lane.push(_job(self._deliver, subscriber.subscriber_id, event, plan.retry))
            if plan.exporters:
                self._export_lane.push(_job(self._export, event, plan.exporters, plan.retry, batch.order))
            if batch.order is not None and event.type in EXTRACT_FOR_EVENT:
                self._extract_lane.push(_job(self._extract, event, batch.order))

    async def _deliver(self, subscriber_id: str, event: OrderEvent, retry: OutboundRetry) -> None:
        delivery = WebhookDelivery(
            delivery_id=delivery_id(subscriber_id, event.event_id), subscriber_id=subscriber_id, event=event
        )
        await deliver(delivery, retry)

    async def _extract(self, event: OrderEvent, order: OrderState) -> None:
        """The event's XML extract, once per event (its id derives from the event id); never fails the lane."""
        request = CreateExtract(
            extract_id=f"{event.event_id}:extract",
            type=EXTRACT_FOR_EVENT[event.type],
            order=order,
            occurred_at=event.occurred_at,
        )
        await publish_extract(request)

    async def _export(
        self, event: OrderEvent, exporters: list[ExporterRef], retry: OutboundRetry, order: OrderState | None
    ) -> None:
        states = exporting.reach_states(self._progress.exports, event)
        await self._run_exporters(states, event, exporters, retry, order)

    async def _run_exporters(
        self,
        states: list[str],
        event: OrderEvent,
        exporters: list[ExporterRef],
        retry: OutboundRetry,
        order: OrderState | None,
    ) -> None:
        """Exporters bound to these states run side by side; each that succeeds starts its own chain."""
        runs = [
            self._run_chain(exporter, state, event, exporters, retry, order)
            for state in states
            for exporter in exporting.exporters_on(state, exporters)
        ]
        await asyncio.gather(*runs)

    async def _run_chain(
        self,
        exporter: ExporterRef,
        state: str,
        event: OrderEvent,
        exporters: list[ExporterRef],
        retry: OutboundRetry,
        order: OrderState | None,
    ) -> None:
        succeeded = await self._run_exporter(exporter, state, event, retry, order)
        if succeeded and exporter.sets_state and exporting.reach(self._progress.exports, exporter.sets_state):
            await self._run_exporters([exporter.sets_state], event, exporters, retry, order)

    async def _run_exporter(
        self, exporter: ExporterRef, state: str, event: OrderEvent, retry: OutboundRetry, order: OrderState | None
    ) -> bool:
        run = ExportRun(
            run_id=export_run_id(self._order_number, exporter.name, state),
            exporter=exporter,
            state=state,
            order_number=self._order_number,
            occurred_at=event.occurred_at,
            order=order,
        )
        await self._audit(run, "running")
        try:
            await EXPORTER_KINDS[exporter.kind](run, retry)
        except ActivityError as error:
            await self._audit(run, "failed", _reason(error))
            return False
        except ApplicationError as error:  # an exporter kind this build cannot run
            await self._audit(run, "failed", error.message)
            return False
        await self._audit(run, "succeeded")
        return True

    async def _audit(self, run: ExportRun, outcome: str, detail: str = "") -> None:
        audit = ExportAudit(
            run_id=run.run_id,
            order_number=run.order_number,
            exporter=run.exporter.name,
            kind=run.exporter.kind,
            state=run.state,
            sets_state=run.exporter.sets_state,
            outcome=outcome,
            detail=detail,
            at=workflow.now(),
        )
        await workflow.execute_local_activity_method(
            OutboundActivities.record_export, audit, start_to_close_timeout=LOCAL_TIMEOUT
        )

    def _lanes(self) -> list[_Lane]:
        return [*self._subscriber_lanes.values(), self._export_lane, self._extract_lane]

    def _broken(self) -> bool:
        return any(lane.error is not None for lane in self._lanes())

    def _raise_if_broken(self) -> None:
        for lane in self._lanes():
            if lane.error is not None:
                raise RuntimeError(f"a notification lane failed: {lane.error!r}") from lane.error


def _job(function: Callable[..., Awaitable[None]], *args: object) -> Callable[[], Awaitable[None]]:
    return lambda: function(*args)


def _reason(error: ActivityError) -> str:
    cause = error.cause
    while cause is not None and cause.cause is not None and not isinstance(cause, ApplicationError):
        cause = cause.cause
    return cause.message if cause is not None else str(error)


class OrderNotifier:
    """The order workflow's side: sends each batch of new events to the order's notifications workflow.

    A local activity signals-with-start "notifications-<order_number>": one marker per batch in the order's
    history. (A child workflow and signals cost four times as many events per order, and the time-skipping
    test server never skips time again once an abandoned child has outlived its parent.)
    """

    def __init__(self, order_number: str) -> None:
        self._order_number = order_number
        self._published = False

    async def publish_new_events(self, state: OrderState) -> None:
        """Send the events the order's history gained since the last call (gated: old histories replay)."""
        events = pending_events(state)
        if not events or not workflow.patched(NOTIFICATIONS_PATCH):
            return
        mark_published(state, events)
        # The order goes with its events, without card tokens: extracts are built from it, never from later state.
        snapshot = state.model_copy(update={"payments": [p.model_copy(update={"token": None}) for p in state.payments]})
        await self._send(NotificationBatch(order_number=self._order_number, events=events, order=snapshot))
        self._published = True

    async def close(self) -> None:
        """The order is about to end: tell its notifications workflow, which finishes once all is delivered."""
        if self._published:
            await self._send(NotificationBatch(order_number=self._order_number, order_closed=True))

    async def _send(self, batch: NotificationBatch) -> None:
        await workflow.execute_local_activity_method(
            OutboundActivities.publish_events, batch, start_to_close_timeout=LOCAL_TIMEOUT
        )
