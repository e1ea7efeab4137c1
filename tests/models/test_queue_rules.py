"""The queue's rules on Head Office actions: a milestone changes only before its stage is reached and never past the
order; past the point of no return the order is not cancelled, whole or in part."""

from __future__ import annotations

from models import queues
from models.order import OrderState, OrderStatus
from models.queues import InvoicingModel, Milestone, Queue, QueueEvent, QueueRule, QueueSettings, QueueStage
from tests.models.factories import T0, applied, cleared_state, gbp, refused_by


def _with_queue(state: OrderState, invoicing: InvoicingModel = InvoicingModel.milestone) -> OrderState:
    stages = [
        QueueStage(name="deposit", event=QueueEvent.placed, milestone=Milestone(percent_bp=3000)),
        QueueStage(name="accepted", event=QueueEvent.accepted, point_of_no_return=True),
        QueueStage(name="ready", event=QueueEvent.ready),
    ]
    if invoicing is not InvoicingModel.milestone:
        stages = [stage.model_copy(update={"milestone": None}) for stage in stages]
    queue = Queue(name="q", stages=stages, invoicing=invoicing)
    state.queue = queues.lock(QueueSettings(queues=[queue], rules=[QueueRule(queue="q")]), "web", "x")
    return state


def test_a_milestone_not_reached_yet_changes_and_is_recorded() -> None:
    state = _with_queue(cleared_state(OrderStatus.awaiting_acknowledgement))
    assert refused_by("change_milestone", state, stage="ready", percent_bp=7000) is None
    applied("change_milestone", state, stage="ready", amount={"amount": 2500, "currency": "GBP"})
    assert state.queue is not None and state.queue.stages[2].milestone == Milestone(amount=gbp(2500))
    assert state.history[-1].action == "milestone_changed"
    applied("change_milestone", state, stage="deposit")  # neither share nor amount: removed
    assert state.queue.stages[0].milestone is None


def test_a_milestone_reached_no_longer_changes() -> None:
    state = _with_queue(cleared_state(OrderStatus.awaiting_acknowledgement))
    assert state.queue is not None
    state.queue.stages[0].reached_at = T0
    assert refused_by("change_milestone", state, stage="deposit", percent_bp=1000) == "milestone_reached"


def test_milestones_never_total_more_than_the_order() -> None:
    state = _with_queue(cleared_state(OrderStatus.acknowledged))  # 75.00, a 30% deposit
    assert refused_by("change_milestone", state, stage="ready", percent_bp=7001) == "milestones_exceed_order"
    too_much = {"amount": 5251, "currency": "GBP"}  # 22.50 + 52.51 > 75.00
    assert refused_by("change_milestone", state, stage="ready", amount=too_much) == "milestones_exceed_order"
    assert refused_by("change_milestone", state, stage="ready", amount={"amount": 5250, "currency": "GBP"}) is None
    euros = {"amount": 100, "currency": "EUR"}
    assert refused_by("change_milestone", state, stage="ready", amount=euros) == "currency_mismatch"


def test_milestones_change_only_on_a_milestone_queue_and_a_stage_it_has() -> None:
    assert refused_by("change_milestone", cleared_state()) == "no_milestones"
    upfront = _with_queue(cleared_state(), InvoicingModel.upfront)
    assert refused_by("change_milestone", upfront, stage="ready", percent_bp=10) == "no_milestones"
    state = _with_queue(cleared_state())
    assert refused_by("change_milestone", state, stage="shipped", percent_bp=10) == "unknown_stage"
    assert refused_by("change_milestone", _with_queue(cleared_state(OrderStatus.completed))) == "order_closed"


def test_past_the_point_of_no_return_the_order_is_not_cancelled_whole_or_in_part() -> None:
    state = _with_queue(cleared_state(OrderStatus.acknowledged))
    assert refused_by("cancel_order", state) is None
    assert state.queue is not None
    state.queue.stages[1].reached_at = T0
    assert refused_by("cancel_order", state) == "point_of_no_return" == queues.POINT_OF_NO_RETURN
    assert refused_by("cancel_lines", state, lines=[{"line_id": "L1", "quantity": 1}]) == "point_of_no_return"
    assert refused_by("add_note", state, text="still fine") is None
