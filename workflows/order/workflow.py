"""OrderWorkflow (type "Order"): one order, from placement until it is final and settled (models/closing.py).

Updates: one per Head Office action in models/actions.py (cancel_order, refund, add_item, ...), each refused by its
rule in the validator (no trace in history) and again under the lock. Signals: store_event (de-duplicated by
event id), store_link_changed (from the store's link monitor), store_message_failed (from the store outbox),
stock_count_short (a stock count below the order's reservation, from the feeds API), stuck_found (from the
stuck-order sweep), return_received (from a return's workflow), customer_request (from a request's workflow);
all but store_event are in notices.py.
Queries: view, diagnosis.

Every message goes the same way: a rule in models/ decides it and returns effects; the shell carries them out
(stock, the store, money) and commits the change once (stock, projection, events and store messages in one
transaction); search attributes are upserted once. Money moves between messages, never inside one: gateway
calls run after the message that queued them has answered. One durable timer wakes the order for its next
deadline (an SLA clock, the collection expiry, a renewal, a reconciliation, its closing). Once final and settled
it closes after a short grace, keeping its final state for later refunds (workflows/refunds.py); orders recorded
before the CLOSE_WHEN_SETTLED patch stay open for their 30-day refund window as they always did.
When its history grows long (a store sending event after event) it continues as new, carrying the order, its SLA
policy and the events not yet applied; the deadlines are computed again from the order, so no timer is lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RawValue
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from models import (
        clearance,
        closing,
        deadlines,
        delivery_stages,
        diagnosis,
        journey,
        operations,
        settlement,
        store_events,
    )
    from models.actions import BY_NAME, Action, ActionOutcome
    from models.carry_over import CarriedOver
    from models.catalogue import ReservationOutcome, ReserveStock
    from models.effects import Effects, Needs, Refusal
    from models.order import ORDER_WORKFLOW, OrderState, StoreEvent
    from models.payments import GatewayResult, MoneyOperation
    from models.sla import SlaPolicy
    from models.transition import transition_of
    from models.views import OrderView, for_api
    from workflows import search_attributes as sa
    from workflows.order import calls
    from workflows.order.invoicing import Invoicing
    from workflows.order.notices import NoticeSignals
    from workflows.order.resourcing import Resourcing
    from workflows.order.scheduling import Scheduling

# Before CLOSE_WHEN_SETTLED: after it completes or is cancelled an order stays open this long for refunds and notes.
REFUND_WINDOW = timedelta(days=30)
# Patch id: a final order closes once settled, after its policy's close_after grace, and keeps its final state for
# later refunds (recorded histories and orders already running before it waited REFUND_WINDOW).
CLOSE_WHEN_SETTLED = "close-when-settled"
# Continue as new past this many history events even if the server does not suggest it (Temporal refuses a history
# past 51,200 events and a run's 10,001st signal). Well short of both: an order evicted from the worker's cache is
# replayed whole in one workflow task, which must finish inside the 2 s deadlock timeout even on a busy machine.
LONG_HISTORY = 2_000
# Patch id: the inbox drain stops when the history is long (recorded histories drained it whole).
BOUNDED_DRAIN = "bounded-inbox-drain"
# Patch id: a new order runs the backorder and preorder SLA clocks (older orders never set their timers).
WAIT_CLOCKS = "backorder-preorder-clocks"


@workflow.defn(name=ORDER_WORKFLOW)
class OrderWorkflow(NoticeSignals, Resourcing, Invoicing, Scheduling):
    @workflow.init
    def __init__(self, state: OrderState, carried: CarriedOver | None = None) -> None:
        # Started with the order alone (by the API), the SDK decodes it untyped: its type hints count two arguments
        # and it uses them only when the counts match. Validated here, it is the same OrderState either way.
        state = OrderState.model_validate(state)
        self._state = state
        # The store's SLA policy, refreshed by every commit.
        self._policy = carried.policy if carried else SlaPolicy()
        self._inbox: list[StoreEvent] = list(carried.inbox) if carried else []
        self._inbox_ids = {event.event_id for event in self._inbox}
        self._continued = carried is not None
        self._lock = asyncio.Lock()
        self._alarm = _Alarm()
        # The API starts the workflow with these already set; upsert only when they change.
        self._indexed = (state.status.value, state.has_open_alert, state.store_id)
        self._alerts_counted = len(state.alerts)  # for the baton_sla_alerts_raised metric
        self._closed = False  # closing: actions are refused (ORDER_CLOSING); a refund goes to a Refund workflow
        self._closes_when_settled = False  # final under CLOSE_WHEN_SETTLED: whatever settles it may close it

    @workflow.run
    async def run(self, state: OrderState, carried: CarriedOver | None = None) -> None:
        if not self._continued:
            self._state.waits_have_clocks = workflow.patched(WAIT_CLOCKS)
            async with self._lock:
                await self._decide(lambda now: None)  # approval, then payment, then the store
        while not self._may_close() or not await self._closed_for_good():
            await self._move_money()
            if _history_long():
                await self._continue_as_new()
            self._alarm.set(self._next_wakeup())
            await workflow.wait_condition(self._work_waiting)
            async with self._lock:
                while self._inbox:
                    # A flood arrives faster than it is applied: stop to continue as new rather than drain for ever
                    # (the run would reach the server's 10,000-signal limit), carrying the rest in the inbox.
                    if _history_long() and workflow.patched(BOUNDED_DRAIN):
                        break
                    event = self._inbox.pop(0)
                    self._inbox_ids.discard(event.event_id)
                    await self._apply_store_event(event)
                if self._alarm.rang:
                    self._alarm.reset()
                    await self._decide(lambda now: deadlines.on_deadline(self._state, self._policy, now))
                    await self._retry_backorders()  # a delivery backordered on its own
        await workflow.wait_condition(workflow.all_handlers_finished)
        kept = -1
        while self._closed and kept != self._state.version:  # a signal handled meanwhile changed it: keep that
            kept = self._state.version
            await calls.keep_closed(self._state)
            await workflow.wait_condition(workflow.all_handlers_finished)

    @workflow.query
    def view(self) -> OrderView:
        return for_api(self._state)

    @workflow.query(name="diagnosis")
    def diagnose(self) -> diagnosis.OrderDiagnosis:
        """What the order waits for, from whom, since when; its next deadline by its own SLA policy; who acted last."""
        return diagnosis.diagnose(self._state, self._policy)

    # ---- messages ------------------------------------------------------------------------------------------

    @workflow.update(dynamic=True)
    async def act(self, name: str, args: Sequence[RawValue]) -> ActionOutcome:
        """A Head Office action (models/actions.py): decided by its rule, carried out, committed once."""
        action, command = _action(name, args)
        async with self._lock:
            # Checked again under the lock: a concurrent action may have changed the order since the validator
            # ran (two users refunding the same money, spending the same stock).
            _refuse(action.refusal(self._state, command))
            await self._meet(action.decide_needs(self._state, command))
            await self._decide(lambda now: action.apply(self._state, command, now))
        return ActionOutcome(
            order_number=self._state.order_number, version=self._state.version, status=self._state.status
        )

    @act.validator
    def _validate_act(self, name: str, args: Sequence[RawValue]) -> None:
        if self._closed:
            raise ApplicationError(f"order {self._state.order_number} is closing", type=closing.ORDER_CLOSING)
        action, command = _action(name, args)
        _refuse(action.refusal(self._state, command))

    @workflow.signal
    def store_event(self, event: StoreEvent) -> None:
        # Dedup at the door: a webhook retried by the store is recorded once.
        if journey.seen(self._state, event.event_id) or event.event_id in self._inbox_ids:
            return
        journey.remember_event(self._state, event.event_id)
        self._inbox.append(event)
        self._inbox_ids.add(event.event_id)

    # ---- the funnel ----------------------------------------------------------------------------------------

    async def _decide(self, rule: Callable[[datetime], Effects | None]) -> None:
        """A rule decides; the order goes on towards its store if it may; the change is committed once."""
        version = self._state.version
        effects = rule(workflow.now()) or Effects()
        effects.then(clearance.clear_for_store(self._state, workflow.now()))
        await self._follow_queue()  # stages reached, invoices due (a final one before the completion it allows)
        if effects.send_to_store:
            await self._source_on_the_day()  # a scheduled order is sourced on its date
        while effects.send_to_store:  # again when a further delivery short of stock was backordered on its own
            effects.send_to_store = False
            if await self._send_to_store(effects):
                return
        if self._state.version != version or effects.touches_stock or effects.store_messages:
            await self._commit(effects)

    async def _send_to_store(self, effects: Effects) -> bool:
        """Reserve the lines at the store and commit the change that sends the order there, in one go; True when
        done. Short of stock, nothing was written: the order is held, and `_decide` commits that instead."""
        sent = self._state.model_copy(deep=True)
        further = delivery_stages.reservations(self._state)  # each further delivery's stock, at its location
        sent_effects = Effects(
            releases=list(effects.releases), commit_at=effects.commit_at, store_messages=list(effects.store_messages)
        )
        sent_effects.then(clearance.after_reservation(sent, ReservationOutcome(reserved=True), workflow.now()))
        reserve = ReserveStock(
            order_number=sent.order_number, location_id=sent.store_id, lines=clearance.lines_to_reserve(sent)
        )
        self._count_raised_alerts()
        journey.before_write(sent, workflow.now())
        try:
            outcome = await calls.commit_if_reserved(reserve, transition_of(sent, sent_effects), further)
        except calls.WriteRefused as refused:
            # Nothing was reserved or written: the order stays where it was, under an alert, and goes on serving.
            self._write_refused(refused)
            return True
        if outcome.reserved:
            self._state, self._policy = sent, outcome.policy or self._policy
            self._upsert_search_attributes()
            await self._follow_queue_once_sent()
            return True
        short = ReservationOutcome(reserved=False, detail=outcome.detail, location_id=outcome.short_at)
        effects.then(clearance.after_reservation(self._state, short, workflow.now()))
        return False

    async def _meet(self, needs: Needs) -> None:
        """What an action needs from the stock ledger before anything changes; a shortage refuses it (409)."""
        if needs.reserve:
            outcome = await calls.reserve(
                self._state.order_number, needs.reserve_at or self._state.store_id, needs.reserve
            )
            if not outcome.reserved:
                raise ApplicationError(outcome.detail, type="stock_shortage")
        if needs.dispatch is not None:
            await calls.dispatch_transfer(needs.dispatch)
        if needs.receive_transfer is not None:
            await calls.receive_transfer(needs.receive_transfer)

    async def _commit(self, effects: Effects) -> None:
        self._count_raised_alerts()
        journey.before_write(self._state, workflow.now())
        try:
            self._policy = await calls.commit(transition_of(self._state, effects))
        except calls.WriteRefused as refused:
            self._write_refused(refused)
        self._upsert_search_attributes()

    def _write_refused(self, refused: calls.WriteRefused) -> None:
        """A change the database refuses is not retried (it would hold the lock for good): the order keeps it,
        raises a projection_failed alert, and answers its next message; its read model catches up at the next
        change that can be written."""
        journey.write_refused(self._state, workflow.now(), refused.error_class)
        self._count_raised_alerts()
        self._upsert_search_attributes()

    def _upsert_search_attributes(self) -> None:
        indexed = (self._state.status.value, self._state.has_open_alert, self._state.store_id)
        if indexed != self._indexed:
            self._indexed = indexed
            workflow.upsert_search_attributes(
                [
                    sa.ORDER_STATUS.value_set(indexed[0]),
                    sa.HAS_ALERT.value_set(indexed[1]),
                    sa.STORE_ID.value_set(indexed[2]),
                ]
            )

    async def _apply_store_event(self, event: StoreEvent) -> None:
        reason = store_events.refusal(self._state, event)
        if reason:
            await self._decide(lambda now: store_events.record_exception(self._state, event, reason, now))
        else:
            try:
                await self._meet(store_events.needs(self._state, event))
            except (ActivityError, ApplicationError) as error:
                # A stock ledger write the database refuses (a received transfer): the event is not applied, the
                # order raises an alert and goes on; any other failure is raised as before.
                refused = calls.refusal_of(error)
                if refused is None:
                    raise
                self._write_refused(refused)
                return
            await self._decide(lambda now: store_events.apply(self._state, event, now))
            await self._resource_rejected()  # a delivery its location could not fulfil goes elsewhere

    async def _move_money(self) -> None:
        """Run queued gateway operations one at a time, without the lock: actions answer while a gateway thinks."""
        while (operation := operations.next_operation(self._state)) is not None:
            outcome = await calls.call_gateway(self._state, operation)

            def answered(
                now: datetime, operation: MoneyOperation = operation, outcome: GatewayResult | str = outcome
            ) -> None:
                if isinstance(outcome, GatewayResult):
                    settlement.apply_result(self._state, operation, outcome, now)
                else:
                    operations.mark_unknown(self._state, operation, outcome, now)

            async with self._lock:
                await self._decide(answered)

    async def _continue_as_new(self) -> None:
        """Hand the order to a fresh run once the messages being handled are answered. Events that arrive
        meanwhile are carried over, not lost; money in flight has already been answered (`_move_money` ran)."""
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(args=[self._state, CarriedOver(policy=self._policy, inbox=self._inbox)])

    # ---- waiting -------------------------------------------------------------------------------------------

    def _work_waiting(self) -> bool:
        queued = any(op.status == "queued" for op in self._state.operations)
        settled = self._closes_when_settled and closing.may_close(self._state, self._policy, workflow.now())
        return bool(self._inbox) or queued or self._alarm.rang or settled

    def _next_wakeup(self) -> datetime | None:
        moments = [deadlines.next_wakeup(self._state, self._policy)]
        if self._state.is_final:
            if workflow.patched(CLOSE_WHEN_SETTLED):
                self._closes_when_settled = True
                closes = closing.closes_at(self._state, self._policy)
                # Past its grace but not settled (a request unanswered): what settles it wakes the order
                # (`_work_waiting`), not a timer that would ring at once, again and again.
                if closes > workflow.now():
                    moments.append(closes)
            else:
                moments.append(self._state.status_since + REFUND_WINDOW)
        return min((moment for moment in moments if moment is not None), default=None)

    def _may_close(self) -> bool:
        """Final and settled (models/closing.py) past its grace, nothing left to read; before CLOSE_WHEN_SETTLED:
        final, past its refund window, no money in flight or unknown, nothing left to read."""
        state = self._state
        if not state.is_final or state.operations or self._inbox:
            return False
        if workflow.patched(CLOSE_WHEN_SETTLED):
            return closing.may_close(state, self._policy, workflow.now())
        return workflow.now() >= state.status_since + REFUND_WINDOW

    async def _closed_for_good(self) -> bool:
        """Refuse new actions, let those already accepted finish, and close unless one of them left work (a refund
        queued, a request opened). Recorded histories close at once, as they did."""
        if not workflow.patched(CLOSE_WHEN_SETTLED):
            return True
        self._closed = True
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self._may_close():
            return True
        self._closed = False
        return False

    def _count_raised_alerts(self) -> None:
        """Metrics only: no command, so histories replay; the SDK skips them while replaying."""
        raised = self._state.alerts[self._alerts_counted :]
        if raised:
            counter = workflow.metric_meter().create_counter("baton_sla_alerts_raised", "Alerts raised on orders")
            for alert in raised:
                counter.add(1, {"type": alert.type.value})
            self._alerts_counted = len(self._state.alerts)


class _Alarm:
    """One durable timer for the order's next deadline. Moved earlier when a nearer deadline appears, never later:
    a timer left running rings, finds nothing due and is set again, which costs less history than cancelling and
    restarting one at every step of the journey."""

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self._at: datetime | None = None
        self.rang = False

    def set(self, at: datetime | None) -> None:
        if at is None or self.rang:
            return
        if self._task is not None and not self._task.done() and self._at is not None and self._at <= at:
            return
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._at = at
        self._task = asyncio.create_task(self._ring(at))

    def reset(self) -> None:
        self.rang, self._at, self._task = False, None, None

    async def _ring(self, at: datetime) -> None:
        delay = (at - workflow.now()).total_seconds()
        try:
            if delay > 0:
                await asyncio.sleep(delay)
        except asyncio.CancelledError:
            return
        self.rang = True


def _history_long() -> bool:
    info = workflow.info()
    return info.is_continue_as_new_suggested() or info.get_current_history_length() >= LONG_HISTORY


def _action(name: str, args: Sequence[RawValue]) -> tuple[Action, object]:
    action = BY_NAME.get(name)
    if action is None:
        raise ApplicationError(f"unknown action {name!r}", type="unknown_action")
    if len(args) != 1:
        raise ApplicationError(f"{name} takes one command", type="invalid_command")
    return action, workflow.payload_converter().from_payload(args[0].payload, action.command)


def _refuse(refusal: Refusal | None) -> None:
    """Refuse an update: from a validator it leaves no trace in history; the API answers 409 with the rule."""
    if refusal is not None:
        raise ApplicationError(refusal.message, type=refusal.rule)
