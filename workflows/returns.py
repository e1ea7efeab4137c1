"""ReturnWorkflow (type "Return", id `return-<order>-<k>`): one return of an order, from its request to its
refund (models/returns.py decides; this shell carries it out). Its own workflow, so the order's may end when its
deliveries are done and a return still comes weeks later.

Updates: ship (carrier and tracking), receive (at its location), inspect (units accepted per line), cancel (Head
Office: the customer kept the goods); each refused by the rules in its validator (no trace in history). Query:
view. On receipt the order hears of it (its `return_received` signal: the RETURNED export state); on inspection
the accepted units go back into stock through the ledger, once, and the order refunds them (its `refund` action,
with the return's id as the update id, so never twice). A durable timer alerts when an authorised return has not
arrived within the policy's receipt_days."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.returns import RefundAsk, Restock, ReturnActivities, ToldOrder
    from models import exchanges, returns
    from models.returns import RETURN_WORKFLOW, InspectedLine, ReturnNotice, ReturnStart, ReturnState, ReturnStatus

TIMEOUT = timedelta(seconds=30)
RETRY = RetryPolicy(maximum_interval=timedelta(minutes=5))
_MOMENT = timedelta(seconds=1)
REFUND_CLOCK = "return-refund-clock"  # the refund_hours clock after inspection (returns run before it did not have it)
EXCHANGE = "return-exchange"  # exchange lines: replaced, not refunded (returns run before refunded every unit)


class Shipment(BaseModel):
    carrier: str
    tracking_number: str
    actor: str


class Receipt(BaseModel):
    location_id: str
    actor: str
    event_id: str | None = None  # the location's webhook event, when it reported it


class Closing(BaseModel):
    reason: str
    actor: str


class Inspection(BaseModel):
    lines: list[InspectedLine]
    actor: str


@workflow.defn(name=RETURN_WORKFLOW)
class ReturnWorkflow:
    @workflow.init
    def __init__(self, start: ReturnStart) -> None:
        self._start = start
        self._state: ReturnState | None = None
        self._accepted: dict[str, int] | None = None

    @workflow.run
    async def run(self, start: ReturnStart) -> ReturnState:
        state = returns.requested(
            start.return_id, start.facts, start.request, start.policy, start.actor, workflow.now()
        )
        self._state = state
        await self._save()
        if state.is_final:
            return state
        try:
            await workflow.wait_condition(
                lambda: state.status not in (ReturnStatus.authorised, ReturnStatus.in_transit),
                timeout=timedelta(days=start.policy.receipt_days),
            )
        except TimeoutError:
            returns.receipt_overdue(state, workflow.now())
            await self._save()
        await workflow.wait_condition(lambda: self._accepted is not None or state.is_final)
        if self._accepted is None:  # closed without an inspection (cancelled)
            await workflow.wait_condition(workflow.all_handlers_finished)
            return state
        refund_lines: dict[str, int] | None = None  # None: every accepted and written-off unit, as before exchanges
        if workflow.patched(EXCHANGE):
            refund_lines = exchanges.to_refund(state)
            self._accepted = refund_lines
            if exchanges.exchanged(state):
                await self._replace(state)
        if workflow.patched(REFUND_CLOCK):  # the refund races its clock; before it, the run simply settled
            settling = asyncio.create_task(self._settle(start, state, self._accepted or {}, refund_lines))
            deadline = workflow.now() + timedelta(hours=start.policy.refund_hours)
            try:  # a refund still retrying, or one the order refused, is not issued: the clock runs on
                await workflow.wait_condition(settling.done, timeout=deadline - workflow.now())
                if not settling.result():
                    await self._save()  # the refusal shows at once; the alert comes when the clock runs out
                    await workflow.wait_condition(lambda: False, timeout=max(deadline - workflow.now(), _MOMENT))
            except TimeoutError:
                returns.refund_overdue(state, start.policy.refund_hours, workflow.now())
                await self._save()
            if await settling:
                returns.refund_settled(state, workflow.now())
        else:
            await self._settle(start, state, self._accepted or {}, refund_lines)
        returns.reimbursed(state, self._accepted or {}, workflow.now())
        await self._save()
        await workflow.wait_condition(workflow.all_handlers_finished)  # the inspect update answers first
        return state

    async def _replace(self, state: ReturnState) -> None:
        """Place the replacement order for the exchanged units, once (its key is the return's)."""
        placed = await workflow.execute_activity_method(
            ReturnActivities.place_replacement, state, start_to_close_timeout=TIMEOUT, retry_policy=RETRY
        )
        if placed.order_number:
            returns.replacement_placed(state, placed.order_number, workflow.now())
        else:
            returns.replacement_refused(state, placed.refused, workflow.now())
        await self._save()

    async def _settle(
        self, start: ReturnStart, state: ReturnState, refund: dict[str, int], lines: dict[str, int] | None = None
    ) -> bool:
        """What passed inspection back into stock, and the refund asked of the order; False when the order refused
        the refund (Head Office settles it by hand)."""
        shelf = returns.restocked(state)
        if shelf:
            units: dict[str, int] = {}
            for line_id, count in shelf.items():
                sku = start.facts.lines[line_id][0]
                units[sku] = units.get(sku, 0) + count
            restock = Restock(return_id=state.return_id, location_id=state.location_id, units=units)
            await workflow.execute_activity_method(
                ReturnActivities.restock, restock, start_to_close_timeout=TIMEOUT, retry_policy=RETRY
            )
        if refund:
            value, fee = returns.refund_value(start.facts, refund, start.policy)
            ask = RefundAsk(state=state, amount=value - fee, currency=start.facts.currency, fee=fee, lines=lines)
            outcome = await workflow.execute_activity_method(
                ReturnActivities.refund_through_order, ask, start_to_close_timeout=TIMEOUT, retry_policy=RETRY
            )
            if outcome:  # the order refused the refund (its rule says why): Head Office settles it by hand
                returns.refund_refused(state, outcome, workflow.now())
                return False
        return True

    @workflow.query
    def view(self) -> ReturnState | None:
        return self._state

    @workflow.update
    async def cancel(self, closing: Closing) -> ReturnState:
        """Head Office closes a return whose goods never came: nothing is refunded."""
        state = self._require_state()
        _refuse(returns.cancelled(state, closing.actor, closing.reason, workflow.now()))
        await self._save()
        return state

    @cancel.validator
    def _validate_cancel(self, closing: Closing) -> None:
        _refuse(returns.cancelled(self._require_state().model_copy(deep=True), "", "", workflow.now()))

    # ---- updates -------------------------------------------------------------------------------------------

    @workflow.update
    async def ship(self, shipment: Shipment) -> ReturnState:
        state = self._require_state()
        _refuse(returns.shipped(state, shipment.carrier, shipment.tracking_number, shipment.actor, workflow.now()))
        await self._save()
        return state

    @ship.validator
    def _validate_ship(self, shipment: Shipment) -> None:
        _refuse(returns.shipped(self._require_state().model_copy(deep=True), shipment.carrier, "x", "", workflow.now()))

    @workflow.update
    async def receive(self, receipt: Receipt) -> ReturnState:
        state = self._require_state()
        _refuse(returns.received(state, receipt.location_id, receipt.actor, workflow.now(), receipt.event_id))
        await self._save()
        told = ReturnNotice(
            return_id=state.return_id,
            location_id=state.location_id,
            lines=state.lines,
            complete=returns.complete(self._start.facts, state.lines),
        )
        await workflow.execute_activity_method(
            ReturnActivities.tell_order_returned,
            ToldOrder(order_number=state.order_number, notice=told),
            start_to_close_timeout=TIMEOUT,
            retry_policy=RETRY,
        )
        return state

    @receive.validator
    def _validate_receive(self, receipt: Receipt) -> None:
        _refuse(returns.received(self._require_state().model_copy(deep=True), receipt.location_id, "", workflow.now()))

    @workflow.update
    async def inspect(self, inspection: Inspection) -> ReturnState:
        state = self._require_state()
        _refuse(returns.inspection_problem(state, inspection.lines))
        accepted = returns.inspected(state, inspection.lines, inspection.actor, workflow.now())
        await self._save()
        self._accepted = accepted  # the run goes on to restock and refund once the inspection is saved
        return state

    @inspect.validator
    def _validate_inspect(self, inspection: Inspection) -> None:
        _refuse(returns.inspection_problem(self._require_state(), inspection.lines))

    def _require_state(self) -> ReturnState:
        if self._state is None:
            raise ApplicationError("the return is still being decided", type="return_not_ready")
        return self._state

    async def _save(self) -> None:
        assert self._state is not None
        await workflow.execute_local_activity_method(
            ReturnActivities.save_return, self._state, start_to_close_timeout=TIMEOUT, retry_policy=RETRY
        )


def _refuse(problem: str | None) -> None:
    if problem is not None:
        raise ApplicationError(problem, type="return_refused")
