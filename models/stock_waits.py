"""Orders that wait before their stock is reserved: a **preorder** reserves on its release date (the order's
durable alarm wakes it then), a **backorder** short of stock when it is sent out waits for replenishment, trying the
reservation again every `BACKORDER_RECHECK` until its deadline; past it, the order is held for Head Office with a
stock_shortage alert, as an order without a backorder is at once.

A backorder is per delivery: when the shortage is at a further delivery's own location, only that delivery waits
(`backordered`, its reservation tried again every `BACKORDER_RECHECK` by the workflow) and the rest of the order goes
out; replenished, it is allocated at its location; its window closed, it raises a stock_shortage alert naming it for
Head Office (who may move it). A shortage at the order's own store holds the whole order, as above."""

from __future__ import annotations

from datetime import datetime, timedelta

from models import delivery_stages, journey
from models.catalogue import ReservationOutcome
from models.deliveries import Delivery, DeliveryStatus
from models.effects import Effects
from models.order import AlertType, HoldReason, OrderState, OrderStatus

BACKORDER_RECHECK = timedelta(hours=1)


def before_release(state: OrderState, now: datetime) -> bool:
    """A preorder before its release date: it waits (awaiting_release) instead of going to its location."""
    if state.release_at is None or now >= state.release_at:
        return False
    if state.status is not OrderStatus.awaiting_release:
        action = "scheduled" if state.fulfil_on is not None else "preordered"  # models/scheduling.py
        detail = f"{'fulfilled' if state.fulfil_on else 'reserves'} on {state.release_at.isoformat()}"
        journey.transition(state, OrderStatus.awaiting_release, now, journey.SYSTEM, action, detail)
    return True


def backordered(state: OrderState, detail: str, now: datetime) -> bool:
    """Short of stock when sent out: a backorder waits for replenishment until its deadline (True), else False."""
    if state.backorder_for is None:
        return False
    if state.backorder_until is None:
        state.backorder_until = now + state.backorder_for
    if now >= state.backorder_until:
        return False
    state.backorder_tried_at = now
    if state.status is not OrderStatus.backordered:
        until = state.backorder_until.isoformat()
        journey.transition(
            state, OrderStatus.backordered, now, journey.SYSTEM, "backordered", f"until {until}: {detail}"
        )
    return True


def delivery_backordered(state: OrderState, outcome: ReservationOutcome, now: datetime) -> bool:
    """Short at a further delivery's own location (not the order's store): that delivery alone is backordered and
    the order goes out without it (True). Orders placed before per-delivery waits keep the order-level rule."""
    short_at = outcome.location_id
    if not state.waits_have_clocks or state.backorder_for is None or short_at in (None, state.store_id):
        return False
    waiting = [
        d for d in delivery_stages.further(state) if d.status is DeliveryStatus.placed and d.location_id == short_at
    ]
    for delivery in waiting:
        delivery.status, delivery.status_since, delivery.backorder_tried_at = DeliveryStatus.backordered, now, now
        until = (now + state.backorder_for).isoformat()
        detail = f"{delivery.delivery_id} at {short_at} until {until}: {outcome.detail}"
        journey.record(state, now, journey.SYSTEM, "delivery_backordered", detail)
    return bool(waiting)


def _window_open(state: OrderState, delivery: Delivery, now: datetime) -> bool:
    since = delivery.status_since
    return state.backorder_for is not None and since is not None and now < since + state.backorder_for


def due_backorders(state: OrderState, now: datetime) -> list[Delivery]:
    """Deliveries whose reservation is due to be tried: a preorder of its own on its release date, a backordered one
    again (its window still open)."""
    due = []
    for d in delivery_stages.further(state):
        if d.status is DeliveryStatus.awaiting_release and d.release_at is not None and d.release_at <= now:
            due.append(d)
        elif d.status is DeliveryStatus.backordered and _window_open(state, d, now):
            if (d.backorder_tried_at or now) + BACKORDER_RECHECK <= now:
                due.append(d)
    return due


def backorder_tried(state: OrderState, delivery_id: str, reserved: bool, now: datetime) -> Effects:
    """A backordered delivery's reservation was tried: replenished, it is allocated at its location (told to ship
    it); still short, it waits for the next check."""
    delivery = next(d for d in delivery_stages.further(state) if d.delivery_id == delivery_id)
    released = delivery.status is DeliveryStatus.awaiting_release
    if not reserved and released:  # released short of stock: it waits for replenishment, if the order may
        delivery.status, delivery.status_since, delivery.backorder_tried_at = DeliveryStatus.backordered, now, now
        detail = f"{delivery.delivery_id} at {delivery.location_id}: released, short of stock"
        journey.record(state, now, journey.SYSTEM, "delivery_backordered", detail)
        close_delivery_windows(state, now)  # no backorder_for: Head Office at once
        return Effects()
    if not reserved:
        delivery.backorder_tried_at = now
        return Effects()
    delivery.status, delivery.status_since = delivery_stages.first_stage(state, delivery), now
    detail = f"{delivery.delivery_id}: at {delivery.location_id}, {'released' if released else 'replenished'}"
    journey.record(state, now, journey.SYSTEM, "delivery_allocated", detail)
    journey.settle_alerts(state, now)
    return Effects().tell_store("delivery_created", delivery.location_id)


def _delivery_wakeups(state: OrderState) -> list[datetime]:
    moments = []
    for delivery in delivery_stages.further(state):
        if delivery.status is DeliveryStatus.awaiting_release and delivery.release_at is not None:
            moments.append(delivery.release_at)
            continue
        if delivery.status is not DeliveryStatus.backordered or delivery.status_since is None:
            continue
        if state.backorder_for is None:
            continue
        closes = delivery.status_since + state.backorder_for
        if any(a.delivery_id == delivery.delivery_id and a.type is AlertType.stock_shortage for a in state.alerts):
            continue  # its window closed: Head Office decides
        moments.append(min((delivery.backorder_tried_at or delivery.status_since) + BACKORDER_RECHECK, closes))
    return moments


def close_delivery_windows(state: OrderState, now: datetime) -> None:
    """A backordered delivery not replenished within its window: a stock_shortage alert naming it (once)."""
    for delivery in delivery_stages.further(state):
        if delivery.status is not DeliveryStatus.backordered or _window_open(state, delivery, now):
            continue
        if not any(a.delivery_id == delivery.delivery_id and a.type is AlertType.stock_shortage for a in state.alerts):
            detail = f"{delivery.delivery_id} at {delivery.location_id}: not replenished in time"
            journey.raise_alert(state, AlertType.stock_shortage, now, detail, delivery.delivery_id)


def next_wakeup(state: OrderState) -> datetime | None:
    """When a waiting order tries again: its release date, or its next backorder check (never past the deadline),
    or a backordered delivery's."""
    own = _own_wakeup(state)
    return min([m for m in (own, *_delivery_wakeups(state)) if m is not None], default=None)


def _own_wakeup(state: OrderState) -> datetime | None:
    if state.status is OrderStatus.awaiting_release:
        return state.release_at
    if state.status is OrderStatus.backordered and state.backorder_until is not None:
        tried = state.backorder_tried_at or state.status_since
        return min(tried + BACKORDER_RECHECK, state.backorder_until)
    return None


def on_deadline(state: OrderState, now: datetime) -> bool:
    """A backorder's check is due: True to try the reservation again. At its deadline it is held for Head Office."""
    if state.status is not OrderStatus.backordered or state.backorder_until is None:
        return False
    if now < state.backorder_until:
        return (state.backorder_tried_at or state.status_since) + BACKORDER_RECHECK <= now
    detail = f"not replenished by {state.backorder_until.isoformat()}"
    journey.hold(state, HoldReason.stock_shortage, now, journey.SYSTEM, detail)
    return False
