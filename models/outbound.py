"""The outbound contract: the body a webhook subscriber receives for an order event, and the ids that make every
delivery and export idempotent (the outbox lanes deliver them, models/outbox.py)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, WithJsonSchema

from models.events import OrderEvent, OrderEventType

EVENT_ID_HEADER = "Baton-Event-Id"
# Not an order event: availability changes, batched from the stock ledger (activities/availability.py).
STOCK_CHANGED = "stock_changed"
# What a webhook subscriber may subscribe to: the order events, and stock_changed.
SUBSCRIBABLE = [event.value for event in OrderEventType] + [STOCK_CHANGED]


def _subscribable(value: str) -> str:
    if value not in SUBSCRIBABLE:
        raise ValueError(f"Input should be one of {', '.join(repr(v) for v in SUBSCRIBABLE)}")
    return value


SubscribedEvent = Annotated[
    str, AfterValidator(_subscribable), WithJsonSchema({"type": "string", "enum": SUBSCRIBABLE})
]


def delivery_id(subscriber_id: str, event_id: str) -> str:
    return f"{subscriber_id}:{event_id}"


def resend_delivery_id(subscriber_id: str, event_id: str, resend: int) -> str:
    return f"{subscriber_id}:{event_id}:resend:{resend}"


def export_run_id(order_number: str, exporter: str, state: str) -> str:
    """An exporter runs once per order and state, so this id is also its idempotency key."""
    return f"{order_number}:{exporter}:{state}"


def event_body(event: OrderEvent) -> dict[str, Any]:
    """The JSON body a subscriber receives for an event."""
    return {
        "event_id": event.event_id,
        "type": event.type.value,
        "occurred_at": event.occurred_at.isoformat(),
        "order_number": event.order_number,
        "sequence": event.sequence,
        "actor": event.actor,
        "detail": event.detail,
        "order": event.order.model_dump(mode="json"),
    }
