"""OrderWorkflow: one click & collect order from placement to completion.

Signals: store_event (de-duplicated by event id). Updates: release_hold. Queries: view.
SLA clocks are durable timers: the main loop sleeps until the next deadline or the next message.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.inventory import InventoryActivities
    from activities.projection import ProjectionActivities
    from activities.stores import StoreActivities, StorePush
    from models import journey, sla
    from models.catalogue import CommitStock, LineReservation, ReserveStock, ResizeReservations
    from models.order import HoldReason, OrderState, OrderStatus, ReleaseHold, StoreEvent, StoreEventType
    from models.sla import SlaPolicy
    from workflows import search_attributes as sa

LEDGER_TIMEOUT = timedelta(seconds=30)
STORE_PUSH_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=1), maximum_attempts=6
)


@workflow.defn
class OrderWorkflow:
    @workflow.init
    def __init__(self, state: OrderState) -> None:
        self._state = state
        self._policy = SlaPolicy()
        self._inbox: list[StoreEvent] = []
        self._lock = asyncio.Lock()
        self._changed = False
        # The API starts the workflow with these already set; upsert only when they change.
        self._indexed = (state.status.value, state.has_open_alert)

    @workflow.run
    async def run(self, state: OrderState) -> OrderState:
        async with self._lock:
            await self._project()
            await self._reserve_and_send()
        while not self._state.is_final:
            await self._wait_for_message_or_deadline()
            async with self._lock:
                while self._inbox:
                    await self._apply_store_event(self._inbox.pop(0))
                await self._enforce_deadlines()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state

    @workflow.query
    def view(self) -> OrderState:
        return self._state

    @workflow.signal
    def store_event(self, event: StoreEvent) -> None:
        # Dedup at the door: a webhook retried by the store is recorded once.
        if journey.seen(self._state, event.event_id) or any(e.event_id == event.event_id for e in self._inbox):
            return
        self._state.seen_event_ids.append(event.event_id)
        self._inbox.append(event)

    @workflow.update
    async def release_hold(self, command: ReleaseHold) -> OrderState:
        async with self._lock:
            now = workflow.now()
            if self._state.hold_reason is HoldReason.short_pick:
                kept = journey.accept_short_pick(self._state, now, command.actor, command.reason)
                await self._resize(kept)
                await self._send_to_store("order_updated")
            else:
                journey.record(self._state, now, command.actor, "hold_released", command.reason)
                await self._reserve_and_send()
            await self._project()
            self._changed = True
            return self._state

    @release_hold.validator
    def _validate_release_hold(self, command: ReleaseHold) -> None:
        refusal = journey.refusal_for_release_hold(self._state)
        if refusal:
            raise ApplicationError(refusal, type="order_not_on_hold")

    # ---- steps -------------------------------------------------------------------------------

    async def _wait_for_message_or_deadline(self) -> None:
        wakeup = sla.next_wakeup(self._state, self._policy)
        timeout = None if wakeup is None else wakeup - workflow.now()
        if timeout is not None and timeout <= timedelta(0):
            return
        try:
            await workflow.wait_condition(lambda: bool(self._inbox) or self._changed, timeout=timeout)
        except TimeoutError:
            pass
        self._changed = False

    async def _reserve_and_send(self) -> None:
        state = self._state
        outcome = await workflow.execute_local_activity_method(
            InventoryActivities.reserve_stock,
            ReserveStock(
                order_number=state.order_number,
                location_id=state.store_id,
                lines=[LineReservation(line_id=l.line_id, sku=l.sku, quantity=l.quantity) for l in state.lines],
            ),
            start_to_close_timeout=LEDGER_TIMEOUT,
        )
        now = workflow.now()
        if not outcome.reserved:
            if state.status == OrderStatus.on_hold:
                journey.record(state, now, journey.SYSTEM, "still_short", outcome.detail)
            else:
                journey.hold(state, HoldReason.stock_shortage, now, journey.SYSTEM, outcome.detail)
            await self._project()
            return
        journey.record(state, now, journey.SYSTEM, "stock_reserved", f"at {state.store_id}")
        await self._send_to_store("order_created")
        journey.transition(state, OrderStatus.awaiting_acknowledgement, workflow.now(), journey.SYSTEM, "sent_to_store")
        await self._project()

    async def _apply_store_event(self, event: StoreEvent) -> None:
        state, now = self._state, workflow.now()
        actor = journey.store_actor(event.store_id)
        refusal = journey.refusal_for_store_event(state, event)
        if refusal:
            journey.record_store_exception(state, event, refusal, now)
        elif event.type is StoreEventType.acknowledged:
            journey.transition(state, OrderStatus.acknowledged, now, actor, "acknowledged")
        elif event.type is StoreEventType.picked:
            if state.status == OrderStatus.awaiting_acknowledgement:
                journey.transition(state, OrderStatus.acknowledged, now, actor, "acknowledged", "implied by pick")
            short = journey.record_pick(state, event.picked)
            if short:
                journey.hold(state, HoldReason.short_pick, now, actor, f"picked short: {', '.join(short)}")
            else:
                journey.transition(
                    state, OrderStatus.ready_for_collection, now, actor, "picked", "customer told the order is ready"
                )
        elif event.type is StoreEventType.collected:
            journey.transition(state, OrderStatus.collected, now, actor, "collected")
            await workflow.execute_local_activity_method(
                InventoryActivities.commit_stock,
                CommitStock(order_number=state.order_number),
                start_to_close_timeout=LEDGER_TIMEOUT,
            )
            journey.transition(state, OrderStatus.completed, workflow.now(), journey.SYSTEM, "completed")
        elif event.type is StoreEventType.not_collected:
            await self._resize({line.line_id: 0 for line in state.lines})
            journey.transition(state, OrderStatus.cancelled, now, actor, "not_collected", "stock released")
        elif event.type is StoreEventType.update_acknowledged:
            journey.acknowledge_store_update(state, now, event.store_id)
        await self._project()

    async def _enforce_deadlines(self) -> None:
        state, now = self._state, workflow.now()
        breaches = sla.breached(state, self._policy, now)
        for alert_type in breaches:
            limit = getattr(self._policy, alert_type.value)
            journey.raise_alert(state, alert_type, now, f"SLA of {limit} breached")
        expiry = sla.collection_deadline(state, self._policy)
        if expiry is not None and expiry <= now:
            await self._resize({line.line_id: 0 for line in state.lines})
            journey.transition(
                state,
                OrderStatus.cancelled,
                now,
                journey.SYSTEM,
                "collection_expired",
                f"not collected within {self._policy.collection_expiry}; stock released",
            )
        if breaches or state.is_final:
            await self._project()

    async def _resize(self, targets: dict[str, int]) -> None:
        await workflow.execute_local_activity_method(
            InventoryActivities.resize_reservations,
            ResizeReservations(order_number=self._state.order_number, targets=targets),
            start_to_close_timeout=LEDGER_TIMEOUT,
        )

    async def _send_to_store(self, message_type: str) -> None:
        state = self._state
        state.store_pushes += 1
        push = StorePush(
            event_id=f"{workflow.info().workflow_id}:push:{state.store_pushes}", type=message_type, order=state
        )
        try:
            delivery = await workflow.execute_activity_method(
                StoreActivities.push_to_store,
                push,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=STORE_PUSH_RETRY,
            )
            detail = f"{message_type} delivered to {delivery.url}" if delivery.delivered else delivery.detail
            journey.record(state, workflow.now(), journey.SYSTEM, "store_notified", detail)
        except ActivityError as error:
            # The store's SLA clocks still run: an unreachable store shows up as a not_acknowledged alert.
            cause = error.cause.message if error.cause else str(error)
            journey.record(state, workflow.now(), journey.SYSTEM, "store_push_failed", f"{message_type}: {cause}")

    async def _project(self) -> None:
        self._policy = await workflow.execute_local_activity_method(
            ProjectionActivities.project_order, self._state, start_to_close_timeout=LEDGER_TIMEOUT
        )
        indexed = (self._state.status.value, self._state.has_open_alert)
        if indexed != self._indexed:
            self._indexed = indexed
            workflow.upsert_search_attributes(
                [sa.ORDER_STATUS.value_set(indexed[0]), sa.HAS_ALERT.value_set(indexed[1])]
            )
