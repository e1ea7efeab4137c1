"""Scheduled orders (pure rules): an order placed now and fulfilled on a later date (`fulfil_on`).

A scheduled order is an order-level release date (models/stock_waits.py) that every delivery waits for: until its date
it is `awaiting_release` with nothing reserved and nothing sent to any location; on its date the order's alarm wakes
it and it goes out exactly as an order placed that day would: its home deliveries that Baton sourced are sourced
again (stock is judged on the day, `sourcing_wanted` / `apply_sourcing`), then stock is reserved and every location
is told. Until then Head Office may move the date (`reschedule`) or cancel the order (the ordinary cancel_order).

A date alone means the start of that day in UTC. A date must be in the future and at most `MAX_AHEAD` away."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from pydantic import BaseModel

from models import delivery_stages, journey
from models.deliveries import Delivery, DeliveryMethod, DeliveryStatus, group_lines
from models.delivery_placement import FieldProblem
from models.effects import Effects, Refusal
from models.intervention_commands import Reschedule
from models.order import OrderState
from models.placing import PlaceOrder
from models.sourcing import LineToSource, SourcingDecision

# Far enough for a gift or a planned event; not so far that prices, stock and card authorisations drift for months.
MAX_AHEAD = timedelta(days=90)


def fulfil_moment(value: date | datetime) -> datetime:
    """When a `fulfil_on` starts the order: an aware datetime as given (in UTC), a date at 00:00 UTC that day."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.combine(value, time(0), tzinfo=UTC)


def date_problem(moment: datetime, now: datetime) -> str | None:
    """Why a fulfilment date cannot be used, or None."""
    if moment <= now:
        return f"{moment.isoformat()} is not in the future"
    if moment > now + MAX_AHEAD:
        return f"{moment.isoformat()} is more than {MAX_AHEAD.days} days ahead"
    return None


def schedule_problems(order: PlaceOrder, now: datetime) -> list[FieldProblem]:
    """What is wrong with an order's `fulfil_on` (none when it gives none)."""
    if order.fulfil_on is None:
        return []
    moment = fulfil_moment(order.fulfil_on)
    problems = []
    if (problem := date_problem(moment, now)) is not None:
        problems.append(FieldProblem("fulfil_on", problem))
    if order.release_at is not None:
        problems.append(FieldProblem("fulfil_on", "a scheduled order gives fulfil_on, not also release_at"))
    if any(group.method is DeliveryMethod.direct_sale for group in group_lines(order)):
        problems.append(FieldProblem("fulfil_on", "a direct sale is handed over at once: it cannot be scheduled"))
    for index, line in enumerate(order.lines):
        if line.release_at is not None and line.release_at < moment:
            problems.append(
                FieldProblem(
                    f"lines[{index}].release_at", "a scheduled order's lines are released on or after fulfil_on"
                )
            )
    return problems


def scheduled(state: OrderState, order: PlaceOrder) -> None:
    """At placement: the order waits for its date as a preorder waits for its release (models/stock_waits.py)."""
    if order.fulfil_on is not None:
        state.fulfil_on = state.release_at = fulfil_moment(order.fulfil_on)


def waiting_for(state: OrderState) -> datetime | None:
    """The date a scheduled order waits for, while it has not started (None once it has, or when cancelled)."""
    if state.fulfil_on is None or state.cleared_at is not None or state.is_final:
        return None
    return state.fulfil_on


# ---- Head Office moves the date --------------------------------------------------------------------------------


def refusal_for_reschedule(state: OrderState, command: Reschedule) -> Refusal | None:
    if state.fulfil_on is None:
        return Refusal("not_scheduled", f"order {state.order_number} is not a scheduled order")
    if waiting_for(state) is None:
        return Refusal("schedule_started", f"order {state.order_number} is no longer waiting for its date")
    if command.fulfil_on == state.fulfil_on:
        return Refusal("same_date", f"order {state.order_number} is already fulfilled on {command.fulfil_on}")
    return None


def apply_reschedule(state: OrderState, command: Reschedule, now: datetime) -> Effects:
    """The order (and each delivery released on its own before the new date) waits for the new date; its alarm
    follows it (models/stock_waits.py `next_wakeup`)."""
    assert state.fulfil_on is not None
    old, new = state.fulfil_on, command.fulfil_on.astimezone(UTC)
    state.fulfil_on = state.release_at = new
    for delivery in delivery_stages.further(state):
        if delivery.release_at is not None and delivery.release_at < new:
            delivery.release_at = new
    detail = f"{old.isoformat()} → {new.isoformat()}: {command.reason}"
    journey.record(state, now, command.actor, "rescheduled", detail)
    return Effects()


# ---- sourcing on the day ---------------------------------------------------------------------------------------


class DeliveryToSource(BaseModel):
    delivery_id: str
    lines: list[LineToSource]
    postcode: str | None = None


class SourceOnTheDay(BaseModel):
    """What the sourcing activity needs: each home delivery Baton sourced at placement, with its open lines."""

    order_number: str
    deliveries: list[DeliveryToSource]
    at: datetime


def _sourced_by_baton(delivery: Delivery, own: bool) -> bool:
    waiting = own or delivery.status is DeliveryStatus.placed
    return delivery.method is DeliveryMethod.home_delivery and delivery.sourcing is not None and waiting


def sourcing_wanted(state: OrderState, now: datetime) -> SourceOnTheDay | None:
    """A scheduled order going out: its Baton-sourced home deliveries, to source again now (None when none)."""
    if state.fulfil_on is None or not state.deliveries:
        return None
    wanted = []
    for index, delivery in enumerate(state.deliveries):
        if not _sourced_by_baton(delivery, own=index == 0):
            continue
        lines = [line for line_id in delivery.line_ids if (line := state.line(line_id)) is not None and line.quantity]
        wanted.append(
            DeliveryToSource(
                delivery_id=delivery.delivery_id,
                lines=[LineToSource(line_id=line.line_id, sku=line.sku, quantity=line.quantity) for line in lines],
                postcode=delivery.address.postcode if delivery.address else None,
            )
        )
    return SourceOnTheDay(order_number=state.order_number, deliveries=wanted, at=now) if wanted else None


def apply_sourcing(state: OrderState, decisions: dict[str, SourcingDecision], now: datetime) -> None:
    """Each delivery goes where sourcing chooses today when one location holds all its lines; else it stays where
    placement put it (its reservation then decides: reserved, backordered or held, as for any order)."""
    for index, delivery in enumerate(state.deliveries):
        decision = decisions.get(delivery.delivery_id)
        if decision is None:
            continue
        old = delivery.location_id
        if decision.unsourced or len(decision.assignments) != 1:
            detail = f"{delivery.delivery_id}: no one location holds every line today; stays at {old}"
            journey.record(state, now, journey.SYSTEM, "sourced_on_the_day", detail)
            continue
        (location_id,) = decision.assignments
        delivery.location_id, delivery.sourcing = location_id, decision
        if index == 0:  # the order's own journey: its location is the order's
            state.store_id = state.dispatch_location = location_id
        moved = f"{old} → {location_id}" if location_id != old else f"stays at {old}"
        journey.record(state, now, journey.SYSTEM, "sourced_on_the_day", f"{delivery.delivery_id}: {moved}")
