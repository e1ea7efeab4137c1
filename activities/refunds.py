"""A closed order's side of late refunds (workflows/refunds.py): its final state kept as its workflow ends, a
refund claimed on it and each gateway answer recorded on it; and Head Office's notes on it. Each change is written
as the order's own commit is (read model, history, order events and extracts through the outbox;
activities/projection.py), in the same transaction as the kept state, and only if nobody changed that state
meanwhile (its revision): two late refunds on one order never both spend the same money."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from activities.projection import ProjectionActivities
from activities.write_errors import uncurable_writes_are_final
from models import late_refunds
from models.db import closed_orders
from models.db.closed_orders import ClosedOrder
from models.effects import Effects
from models.intervention_commands import AddNote
from models.interventions import apply_add_note
from models.late_refunds import REFUND_WORKFLOW, Claimed, LateRefundAsk, LateRefundOutcome, Settling, Unanswered
from models.order import OrderState
from models.transition import transition_of

T = TypeVar("T")
# A concurrent late refund changed the kept order between our read and our write: decide again on the new state.
CONCURRENT_TRIES = 5
NOT_KEPT = "order_not_kept"


class RefundActivities:
    def __init__(self, engine: Engine, projection: ProjectionActivities) -> None:
        self._engine, self._projection = engine, projection

    @activity.defn
    def keep_closed_order(self, state: OrderState) -> None:
        """The order's workflow is ending: keep its final state for refunds given after it closed."""
        with uncurable_writes_are_final(f"order {state.order_number}'s final state"), Session(self._engine) as session:
            closed_orders.keep(session, state, datetime.now(UTC))

    @activity.defn
    def claim_late_refund(self, ask: LateRefundAsk) -> Claimed:
        """Refund on the closed order as its refund action would; asked again, answers the same claim."""

        def decide(kept: ClosedOrder, now: datetime) -> Claimed:
            if ask.refund_id in kept.claims:
                return Claimed(calls=late_refunds.claimed_calls(kept.state, kept.claims[ask.refund_id]))
            claimed = late_refunds.claim(kept.state, ask, now)
            if claimed.refused_rule:
                return claimed  # nothing changed, nothing written
            kept.claims[ask.refund_id] = [call.request.operation_id for call in claimed.calls]
            return claimed

        return change_closed_order(self._engine, self._projection, ask.order_number, decide)

    @activity.defn
    def note_late_refund_unknown(self, unanswered: Unanswered) -> None:
        """The gateway has not answered a claimed operation: the closed order shows its outcome as unknown."""

        def decide(kept: ClosedOrder, now: datetime) -> None:
            late_refunds.note_unknown(kept.state, unanswered.operation_id, unanswered.detail, now)

        change_closed_order(self._engine, self._projection, unanswered.order_number, decide)

    @activity.defn
    def settle_late_refund(self, settling: Settling) -> Claimed:
        """Record one gateway answer on the closed order; answers any operation its rules queued on it."""

        def decide(kept: ClosedOrder, now: datetime) -> Claimed:
            if not late_refunds.settle(kept.state, settling.result, now):
                return Claimed()  # recorded already: a retried activity
            return Claimed(calls=late_refunds.take_queued(kept.state))

        return change_closed_order(self._engine, self._projection, settling.order_number, decide)


def change_closed_order(
    engine: Engine, projection: ProjectionActivities, order_number: str, decide: Callable[[ClosedOrder, datetime], T]
) -> T:
    """Load the kept order, let `decide` change it, and write the change (state, claims, read model, events) in one
    transaction if nobody else changed it meanwhile; else decide again on what they left. Raises order_not_kept
    when the order kept no final state (its workflow is still closing, or closed before orders kept one)."""
    for _ in range(CONCURRENT_TRIES):
        with uncurable_writes_are_final(f"order {order_number}'s kept state"), Session(engine) as session:
            kept = closed_orders.load(session, order_number)
            if kept is None:
                raise ApplicationError(f"order {order_number} has kept no final state", type=NOT_KEPT)
            version, claims = kept.state.version, dict(kept.claims)
            now = datetime.now(UTC)
            answer = decide(kept, now)
            if kept.state.version == version and kept.claims == claims:
                return answer  # nothing changed
            projection.write_change(session, transition_of(kept.state, Effects()))
            if closed_orders.replace(session, order_number, kept, now):
                session.commit()
                return answer
            session.rollback()
    raise RuntimeError(f"order {order_number} kept changing under a late change")  # retried


def change_kept_order(
    engine: Engine,
    projection: ProjectionActivities | None,
    order_number: str,
    change: Callable[[OrderState, datetime], object],
) -> bool:
    """Apply a notice (a return received, a customer request) to a closed order's kept state as the order would;
    False when there is nothing to change it on (no projection given, or the order closed before orders kept one)."""
    if projection is None:
        return False

    def record(kept: ClosedOrder, now: datetime) -> None:
        change(kept.state, now)

    try:
        change_closed_order(engine, projection, order_number, record)
    except ApplicationError as error:
        if error.type != NOT_KEPT:
            raise
        return False
    return True


async def refund_after_close(client: Client, ask: LateRefundAsk, task_queue: str) -> LateRefundOutcome:
    """Start the refund's workflow (workflows/refunds.py), or find it (the same key is one refund however often it
    is asked, also once it has finished), and wait for its outcome. The API and returns start it this way."""
    try:
        handle: WorkflowHandle[Any, LateRefundOutcome] = await client.start_workflow(
            REFUND_WORKFLOW,
            ask,
            id=ask.refund_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            result_type=LateRefundOutcome,
        )
    except WorkflowAlreadyStartedError:  # finished before: its outcome is the answer
        handle = client.get_workflow_handle(ask.refund_id, result_type=LateRefundOutcome)
    return await handle.result()


def note_closed_order(
    engine: Engine, projection: ProjectionActivities, order_number: str, note: AddNote, key: str
) -> None:
    """Head Office's note on a closed order, written on its kept state and read model as the order's own note
    action would (a note moves no money and no stock: no workflow is needed). `key` (the request's Idempotency-Key)
    is remembered among the kept order's claims, so a retried request adds the note once."""
    claim = f"note:{key}"

    def decide(kept: ClosedOrder, now: datetime) -> None:
        if claim in kept.claims:
            return
        apply_add_note(kept.state, note, now)
        kept.claims[claim] = []

    change_closed_order(engine, projection, order_number, decide)
