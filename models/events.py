"""Order events for outside subscribers, derived from the order's history.

The history is the order's audit log and only ever grows, so the events are read off it: each history entry
the workflow has not yet published becomes zero or more events, numbered on from the last one published.
`pending_events` says what is new, `mark_published` moves the two cursors kept in the order state. The summary
each event carries is `views.for_event`: what the order looked like when the event was published. A rule
that looks at more than the entry (payment confirmed at placement) is evaluated once, when the entry is new,
so a later change to the order never rewrites an event already sent.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from models.order import HistoryEntry, OrderState, OrderStatus
from models.views import OrderEventSummary, for_event


class OrderEventType(StrEnum):
    placed = "placed"
    payment_confirmed = "payment_confirmed"
    sent_to_store = "sent_to_store"
    acknowledged = "acknowledged"
    on_hold = "on_hold"
    ready_for_collection = "ready_for_collection"
    collected = "collected"
    dispatched = "dispatched"
    packed = "packed"  # a home delivery is packed, ready to ship
    shipped = "shipped"  # a home delivery is with the carrier (the detail names carrier and tracking number)
    delivered = "delivered"  # a home delivery reached the customer (followed by completed)
    completed = "completed"
    cancelled = "cancelled"
    refunded = "refunded"
    refund_instructed = "refund_instructed"  # money taken outside a gateway: the channel pays it back
    updated = "updated"  # Head Office changed lines, fulfilment, store or money
    alert_raised = "alert_raised"
    returned = "returned"  # everything the customer received has come back (workflows/returns.py)
    partially_returned = "partially_returned"  # a return arrived; the customer keeps the rest
    request_answered = "request_answered"  # Head Office (or the policy) answered a customer request


class OrderEvent(BaseModel):
    event_id: str  # "<order_number>:<sequence>": stable, so receivers de-duplicate on it
    sequence: int  # 1, 2, 3 … per order, in the order things happened
    type: OrderEventType
    occurred_at: datetime
    order_number: str
    actor: str
    detail: str = ""
    order: OrderEventSummary
    # The delivery a handover or a delivery's stage is about (D1 is the order's own journey); None otherwise.
    delivery_id: str | None = None


# Head Office changes that subscribers hear about as `updated`.
_UPDATE_ACTIONS = frozenset(
    {
        "lines_cancelled",
        "variant_changed",
        "item_added",
        "buy_in_store",
        "moved_to_store",
        "switched_to_home_delivery",
        "stock_redirected",
        "charge_added",
    }
)
_BY_ACTION = {
    # Recorded by the workflow when payment is guaranteed: prepaid, captured or authorised at placement, confirmed
    # offline by Head Office, or taken at handover (models/settlement.py).
    "payment_confirmed": [OrderEventType.payment_confirmed],
    "sent_to_store": [OrderEventType.sent_to_store],
    "sent_to_new_store": [OrderEventType.sent_to_store],
    "acknowledged": [OrderEventType.acknowledged],
    "collected": [OrderEventType.collected],
    "completed": [OrderEventType.completed],
    "sold": [OrderEventType.collected, OrderEventType.completed],  # a direct sale, handed over at the till
    "dispatched": [OrderEventType.dispatched, OrderEventType.completed],
    "packed": [OrderEventType.packed],
    "shipped": [OrderEventType.shipped],
    "delivered": [OrderEventType.delivered, OrderEventType.completed],
    # A further delivery's stages (models/delivery_stages.py): the detail names the delivery.
    "delivery_packed": [OrderEventType.packed],
    "delivery_shipped": [OrderEventType.shipped],
    "delivery_delivered": [OrderEventType.delivered],
    "refunded": [OrderEventType.refunded],
    "refund_instructed": [OrderEventType.refund_instructed],
    "alert_raised": [OrderEventType.alert_raised],
    "return_received": [OrderEventType.returned],
    "partially_returned": [OrderEventType.partially_returned],
    "customer_request_answered": [OrderEventType.request_answered],
} | {action: [OrderEventType.updated] for action in _UPDATE_ACTIONS}
_BY_NEW_STATUS = {
    OrderStatus.ready_for_collection: OrderEventType.ready_for_collection,
    OrderStatus.on_hold: OrderEventType.on_hold,
    OrderStatus.cancelled: OrderEventType.cancelled,
}


def event_types_for(entry: HistoryEntry, state: OrderState) -> list[OrderEventType]:
    """The events one history entry means, in order (most entries mean none)."""
    if entry.action == "order_placed":
        return [OrderEventType.placed]
    types = list(_BY_ACTION.get(entry.action, []))
    if entry.to_status is not None and entry.to_status is not OrderStatus.completed:
        # Handed over while another delivery is on its way (partially collected or shipped): not completed yet.
        types = [t for t in types if t is not OrderEventType.completed]
    by_status = _BY_NEW_STATUS.get(entry.to_status) if entry.to_status else None
    if by_status is not None and by_status not in types:
        types.append(by_status)
    return types


# The order's own journey handing over or moving on: its first delivery. A further delivery's stage entry names
# the delivery first in its detail ("D2: DPD tracking …", models/delivery_stages.py).
_OWN_STAGES = frozenset({"collected", "sold", "dispatched", "packed", "shipped", "delivered"})


def _delivery_of(entry: HistoryEntry, state: OrderState) -> str | None:
    if entry.action.startswith("delivery_"):
        named = entry.detail.split(":", 1)[0]
        return named if any(d.delivery_id == named for d in state.deliveries) else None
    if entry.action in _OWN_STAGES:
        return state.deliveries[0].delivery_id if state.deliveries else "D1"
    return None


def pending_events(state: OrderState) -> list[OrderEvent]:
    """Events from the history entries not yet published, numbered on from the last published event."""
    entries = state.history[state.published_history :]
    if not entries:
        return []
    summary = for_event(state)
    events: list[OrderEvent] = []
    for entry in entries:
        for event_type in event_types_for(entry, state):
            sequence = state.published_events + len(events) + 1
            events.append(
                OrderEvent(
                    event_id=f"{state.order_number}:{sequence}",
                    sequence=sequence,
                    type=event_type,
                    occurred_at=entry.at,
                    order_number=state.order_number,
                    actor=entry.actor,
                    detail=entry.detail,
                    order=summary,
                    delivery_id=_delivery_of(entry, state),
                )
            )
    return events


def mark_published(state: OrderState, events: list[OrderEvent]) -> None:
    """Every history entry so far is published; the next event number follows the last of `events`."""
    state.published_history = len(state.history)
    if events:
        state.published_events = events[-1].sequence
