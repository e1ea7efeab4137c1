"""Queues: a named list of stages an order passes, each reached by an order event Baton already records, with an
optional milestone (a share of the order, or a fixed amount, invoiced when the stage is reached) and at most one
point of no return (after it the order cannot be cancelled and its delivered items cannot be returned).

Head Office defines queues and picks one per channel and/or supply method (`GET/PUT /settings/queues`: a rule list,
the first match wins; no match, no queue: the order runs as it always did). The order locks its queue when it is
placed (`lock`), records when each stage was reached (`advance`), and the rules here answer whether it is past its
point of no return. Pure: no I/O.

Events and what reaches them (an order's status ever reached in its history, so a skipped status counts too):
placed (at once), accepted (the location acknowledged it), picked and ready (picked, ready for collection or packed
ready to ship), shipped (handed to the carrier, or collected), collected / delivered (the goods with the
customer), completed (every delivery done and the final invoice issued)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from models.money import BASIS_POINTS, MAX_AMOUNT, Money
from models.placing import Channel
from models.text import Line

POINT_OF_NO_RETURN = "point_of_no_return"  # the rule a refused cancellation or return names


class QueueEvent(StrEnum):
    placed = "placed"
    accepted = "accepted"
    picked = "picked"
    ready = "ready"
    shipped = "shipped"
    collected = "collected"
    delivered = "delivered"
    completed = "completed"


class InvoicingModel(StrEnum):
    upfront = "upfront"  # one invoice at placement, then the final one
    milestone = "milestone"  # one per milestone stage reached (and per payment Head Office takes), then the final
    progress = "progress"  # one per delivery shipped or collected, then the final


# How far along the order's journey each event is: an order that ever held a status of this rank or more reached it.
_EVENT_RANK = {
    QueueEvent.placed: 0,
    QueueEvent.accepted: 1,
    QueueEvent.picked: 2,
    QueueEvent.ready: 2,
    QueueEvent.shipped: 3,
    QueueEvent.collected: 4,
    QueueEvent.delivered: 4,
    QueueEvent.completed: 5,
}
_STATUS_RANK = {
    "acknowledged": 1,
    "awaiting_transfer": 1,
    "awaiting_dispatch": 1,
    "ready_for_collection": 2,
    "ready_to_ship": 2,
    "shipped": 3,
    "partially_shipped": 3,
    "collected": 4,
    "partially_collected": 4,
    "completed": 5,
}


class Milestone(BaseModel):
    """What reaching the stage invoices: a share of the order in basis points, or a fixed amount (give one)."""

    model_config = ConfigDict(extra="forbid")

    percent_bp: int | None = Field(default=None, ge=1, le=BASIS_POINTS, description="Share of the order, 2500 = 25%")
    amount: Money | None = Field(default=None, description="A fixed amount")

    @model_validator(mode="after")
    def _one_of(self) -> Self:
        if (self.percent_bp is None) == (self.amount is None):
            raise ValueError("give either percent_bp or amount")
        return self

    def of(self, order_total: int) -> int:
        """This milestone's amount on an order of this total (minor units, never more than the order)."""
        if self.amount is not None:
            return min(self.amount.amount, order_total)
        assert self.percent_bp is not None
        return order_total * self.percent_bp // BASIS_POINTS


class QueueStage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Line = Field(min_length=1, max_length=40)
    event: QueueEvent = Field(description="The order event that reaches this stage")
    milestone: Milestone | None = None
    point_of_no_return: bool = Field(default=False, description="After it: no cancellation, no return")


class Queue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")
    stages: list[QueueStage] = Field(min_length=1, max_length=20)
    invoicing: InvoicingModel = InvoicingModel.upfront

    @model_validator(mode="after")
    def _valid(self) -> Self:
        if len({stage.name for stage in self.stages}) != len(self.stages):
            raise ValueError("stage names must be unique within a queue")
        if sum(stage.point_of_no_return for stage in self.stages) > 1:
            raise ValueError("a queue has at most one point of no return")
        milestones = [stage.milestone for stage in self.stages if stage.milestone is not None]
        if milestones and self.invoicing is not InvoicingModel.milestone:
            raise ValueError("milestones need invoicing `milestone`")
        if sum(m.percent_bp or 0 for m in milestones) > BASIS_POINTS:
            raise ValueError("milestones total more than 100% of the order")
        if len({m.amount.currency for m in milestones if m.amount is not None}) > 1:
            raise ValueError("fixed milestones are in one currency")
        if sum(m.amount.amount for m in milestones if m.amount is not None) > MAX_AMOUNT:
            raise ValueError("fixed milestones total more than any order")
        return self


class QueueRule(BaseModel):
    """Orders from this channel and/or by this supply method follow this queue (a field left out matches any)."""

    model_config = ConfigDict(extra="forbid")

    queue: Line = Field(min_length=1, max_length=64)
    channel: Channel | None = None
    supply_method: str | None = Field(
        default=None,
        pattern=r"^(click_and_collect|home_delivery|direct_sale)$",
        description="How the order's first delivery is fulfilled",
    )


class QueueSettings(BaseModel):
    """Head Office's queues and which orders follow which (first matching rule wins; none: no queue)."""

    model_config = ConfigDict(extra="forbid")

    queues: list[Queue] = Field(default_factory=list, max_length=50)
    rules: list[QueueRule] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _known(self) -> Self:
        names = [queue.name for queue in self.queues]
        if len(set(names)) != len(names):
            raise ValueError("queue names must be unique")
        for index, rule in enumerate(self.rules):
            if rule.queue not in names:
                raise ValueError(f"rules[{index}]: unknown queue {rule.queue!r}")
        return self

    def queue_for(self, channel: str, supply_method: str) -> Queue | None:
        for rule in self.rules:
            if rule.channel not in (None, channel) or rule.supply_method not in (None, supply_method):
                continue
            return next(queue for queue in self.queues if queue.name == rule.queue)
        return None


class StageReached(BaseModel):
    """One stage of the order's queue as locked at placement, and when the order reached it."""

    name: str
    event: QueueEvent
    milestone: Milestone | None = None
    point_of_no_return: bool = False
    reached_at: datetime | None = None


class OrderQueue(BaseModel):
    """The queue an order follows, locked when it was placed, with its progress."""

    name: str
    invoicing: InvoicingModel
    stages: list[StageReached]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def current_stage(self) -> str | None:
        """The furthest stage reached (None before the first)."""
        reached = [stage.name for stage in self.stages if stage.reached_at is not None]
        return reached[-1] if reached else None

    @property
    def point_of_no_return_at(self) -> datetime | None:
        return next((stage.reached_at for stage in self.stages if stage.point_of_no_return), None)

    def stage(self, name: str) -> StageReached | None:
        return next((stage for stage in self.stages if stage.name == name), None)


def lock(settings: QueueSettings, channel: str, supply_method: str) -> OrderQueue | None:
    """The queue a new order follows, copied so later changes to the settings never move it."""
    queue = settings.queue_for(channel, supply_method)
    if queue is None:
        return None
    return OrderQueue(
        name=queue.name,
        invoicing=queue.invoicing,
        stages=[
            StageReached(
                name=stage.name,
                event=stage.event,
                milestone=stage.milestone,
                point_of_no_return=stage.point_of_no_return,
            )
            for stage in queue.stages
        ],
    )


def rank_reached(statuses: list[str]) -> int:
    """How far the order went: the highest rank of the statuses it ever held (placed: 0)."""
    return max((_STATUS_RANK.get(status, 0) for status in statuses), default=0)


def advance(queue: OrderQueue, statuses: list[str], now: datetime) -> list[str]:
    """Record every stage the order has now reached (given the statuses it ever held); the names newly reached."""
    rank = rank_reached(statuses)
    reached = []
    for stage in queue.stages:
        if stage.reached_at is None and _EVENT_RANK[stage.event] <= rank:
            stage.reached_at = now
            reached.append(stage.name)
    return reached


def past_point_of_no_return(queue: OrderQueue | None) -> str | None:
    """Why the order can no longer be cancelled or have its delivered items returned (None while it can)."""
    if queue is None:
        return None
    for stage in queue.stages:
        if stage.point_of_no_return and stage.reached_at is not None:
            return f"the order passed its point of no return (stage {stage.name!r} of queue {queue.name!r})"
    return None


def past_point_of_no_return_in_view(view: dict[str, object]) -> str | None:
    """The same, read from the order's projected view (the API's side, for requests and returns)."""
    queue = view.get("queue")
    return past_point_of_no_return(OrderQueue.model_validate(queue)) if queue else None
