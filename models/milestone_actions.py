"""Head Office changes a milestone of the order's queue (`change_milestone`): only before its stage is reached, and
never so that the milestones total more than the order (models/invoicing.py says what the order is worth). The queue
itself was locked at placement; only its milestones change, and only on this order."""

from __future__ import annotations

from datetime import datetime
from typing import Self

from pydantic import Field, model_validator

from models import invoicing, journey
from models.effects import Effects, Refusal
from models.intervention_commands import _Command
from models.money import BASIS_POINTS, Money
from models.order import OrderState
from models.queues import InvoicingModel, Milestone
from models.text import Line


class ChangeMilestone(_Command):
    """Change (or remove) a milestone of the order's queue before its stage is reached."""

    stage: Line = Field(min_length=1, max_length=40, description="The stage of the order's queue")
    percent_bp: int | None = Field(default=None, ge=1, le=BASIS_POINTS, description="Its new share, 2500 = 25%")
    amount: Money | None = Field(default=None, description="Or its new fixed amount (neither: no milestone)")

    @model_validator(mode="after")
    def _at_most_one(self) -> Self:
        if self.percent_bp is not None and self.amount is not None:
            raise ValueError("give percent_bp or amount, not both")
        return self

    @property
    def milestone(self) -> Milestone | None:
        if self.percent_bp is None and self.amount is None:
            return None
        return Milestone(percent_bp=self.percent_bp, amount=self.amount)


def refusal_for_change_milestone(state: OrderState, command: ChangeMilestone) -> Refusal | None:
    queue = state.queue
    if queue is None or queue.invoicing is not InvoicingModel.milestone:
        return Refusal("no_milestones", "the order follows no milestone queue")
    if state.is_final:
        return Refusal("order_closed", f"the order is {state.status}")
    stage = queue.stage(command.stage)
    if stage is None:
        return Refusal("unknown_stage", f"the order's queue {queue.name} has no stage {command.stage!r}")
    if stage.reached_at is not None:
        return Refusal("milestone_reached", f"stage {stage.name} was reached: its milestone no longer changes")
    new = command.milestone
    if new is not None and new.amount is not None and new.amount.currency != state.currency:
        return Refusal("currency_mismatch", f"the order is in {state.currency}, not {new.amount.currency}")
    milestones = [new if s.name == stage.name else s.milestone for s in queue.stages]
    whole = sum(item.gross for item in invoicing.items(state))
    shares = sum(m.percent_bp or 0 for m in milestones if m is not None)
    amounts = sum(m.of(whole) for m in milestones if m is not None)
    if shares > BASIS_POINTS or amounts > whole:
        return Refusal("milestones_exceed_order", "the milestones would total more than the order")
    return None


def apply_change_milestone(state: OrderState, command: ChangeMilestone, now: datetime) -> Effects:
    assert state.queue is not None  # the refusal checked it
    stage = state.queue.stage(command.stage)
    assert stage is not None
    stage.milestone = command.milestone
    new = command.milestone
    what = "removed" if new is None else f"{new.percent_bp} bp" if new.percent_bp else f"{new.amount}"
    text = f"{stage.name}: {what} — {command.reason}"
    journey.record(state, now, command.actor, "milestone_changed", text)
    return Effects()
