"""The outbound contract: what the order workflow publishes, what the notifications workflow plans and
delivers, and the ids that make every delivery and export idempotent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from models.events import OrderEvent, OrderEventType
from models.exporting import ExporterRef
from models.order import OrderState

EVENT_ID_HEADER = "Baton-Event-Id"
# The order's notifications workflow and its signal, by name (activities start it without importing workflows).
NOTIFICATIONS_WORKFLOW = "OrderNotificationsWorkflow"
PUBLISH_SIGNAL = "publish"


def notifications_workflow_id(order_number: str) -> str:
    return f"notifications-{order_number}"


def delivery_id(subscriber_id: str, event_id: str) -> str:
    return f"{subscriber_id}:{event_id}"


def resend_delivery_id(subscriber_id: str, event_id: str, resend: int) -> str:
    return f"{subscriber_id}:{event_id}:resend:{resend}"


def export_run_id(order_number: str, exporter: str, state: str) -> str:
    """An exporter runs once per order and state, so this id is also its idempotency key."""
    return f"{order_number}:{exporter}:{state}"


class NotificationBatch(BaseModel):
    """Events the order workflow publishes in one signal; `order_closed` once the order workflow ends."""

    order_number: str
    events: list[OrderEvent] = Field(default_factory=list)
    order_closed: bool = False
    # The order as it was when these events happened (card tokens removed): what XML extracts are built from.
    order: OrderState | None = None


class SubscriberRef(BaseModel):
    subscriber_id: str
    event_types: list[OrderEventType]


class OutboundRetry(BaseModel):
    """How long deliveries and exports keep trying (from settings, recorded in the workflow's history)."""

    initial_seconds: float
    max_interval_seconds: float
    horizon_seconds: float
    attempt_timeout_seconds: float


class PlanRequest(BaseModel):
    event_types: list[OrderEventType]


class NotificationPlan(BaseModel):
    subscribers: list[SubscriberRef]
    exporters: list[ExporterRef]
    retry: OutboundRetry


class WebhookDelivery(BaseModel):
    """One event to one subscriber. `event` is None for a resend, whose body is already in the log."""

    delivery_id: str
    subscriber_id: str
    event: OrderEvent | None = None


class DeliveryOutcome(BaseModel):
    delivered: bool
    status_code: int | None = None
    attempts: int = 1


class DeliveryFailed(BaseModel):
    delivery_id: str
    detail: str


class ExportRun(BaseModel):
    run_id: str
    exporter: ExporterRef
    state: str
    order_number: str
    occurred_at: datetime
    order: OrderState | None = None  # the order when the state was reached (xml_extract builds from it)


class ExportAudit(BaseModel):
    """A run's audit row: written when it starts and when it ends (the activity counts attempts between)."""

    run_id: str
    order_number: str
    exporter: str
    kind: str
    state: str
    sets_state: str | None = None
    outcome: str  # running | succeeded | failed
    detail: str = ""
    at: datetime


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
