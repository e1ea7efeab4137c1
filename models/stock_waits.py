"""Orders that wait before their stock is reserved: a **preorder** reserves on its release date (the order's
durable alarm wakes it then), a **backorder** short of stock when it is sent out waits for replenishment, trying the
reservation again every `BACKORDER_RECHECK` until its deadline; past it, the order is held for Head Office with a
stock_shortage alert, as an order without a backorder is at once."""

from __future__ import annotations

from datetime import datetime, timedelta

from models import journey
from models.order import HoldReason, OrderState, OrderStatus

BACKORDER_RECHECK = timedelta(hours=1)


def before_release(state: OrderState, now: datetime) -> bool:
    """A preorder before its release date: it waits (awaiting_release) instead of going to its location."""
    if state.release_at is None or now >= state.release_at:
        return False
    if state.status is not OrderStatus.awaiting_release:
        detail = f"reserves on {state.release_at.isoformat()}"
        journey.transition(state, OrderStatus.awaiting_release, now, journey.SYSTEM, "preordered", detail)
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


def next_wakeup(state: OrderState) -> datetime | None:
    """When a waiting order tries again: its release date, or its next backorder check (never past the deadline)."""
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
