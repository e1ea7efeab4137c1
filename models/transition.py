"""One committed change of an order, as the workflow hands it to the database: the stock it releases, commits or
receives, the projection (list columns and the API view), the outbound events with their XML extracts, and the
messages for stores. The commit activity writes all of it in one transaction, so an event or a store message
exists exactly when the change it reports does, and the outbox dispatchers deliver them from there."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from models import scheduling
from models.catalogue import ReserveStock
from models.effects import Effects
from models.events import OrderEvent, OrderEventType, mark_published, pending_events
from models.extracts import ExtractType
from models.order import OrderState, order_workflow_id
from models.sla import SlaPolicy
from models.views import ExtractOrder, for_api, for_extract, for_store

# The XML notification extract each order event gives third-party processes (customer messages).
EXTRACT_FOR_EVENT = {
    OrderEventType.ready_for_collection: ExtractType.ready_for_collection,
    OrderEventType.collected: ExtractType.collected,
    OrderEventType.updated: ExtractType.updated,
    OrderEventType.cancelled: ExtractType.cancelled,
    OrderEventType.refunded: ExtractType.refunded,
    OrderEventType.refund_instructed: ExtractType.refunded,
    OrderEventType.shipped: ExtractType.shipped,
    OrderEventType.delivered: ExtractType.delivered,
}


class StockWork(BaseModel):
    """Stock changes that cannot be refused: releases (targets, per location), and a commit at handover."""

    releases: list[tuple[dict[str, int], str | None]] = Field(default_factory=list)
    commit_at: str | None = None
    commit_lines: list[str] | None = None


class Projection(BaseModel):
    """The read model's row: filter columns, the open alert types, and the API view as JSON."""

    order_number: str
    version: int
    status: str
    store_id: str
    channel: str
    web_reference: str
    customer_id: str
    customer_name: str
    customer_email: str
    has_alert: bool
    fulfilment_methods: str = ""  # its deliveries' methods, space-separated and sorted
    delivery_locations: str = ""  # every location fulfilling one of its deliveries, each between spaces
    open_alert_types: list[str]
    created_at: datetime
    fulfil_on: datetime | None = None  # a scheduled order still waiting for its date (the dashboard's "scheduled")
    view: dict[str, Any]
    seen_event_ids: list[str]  # so a store webhook retried after the order's workflow ended is still recognised


class StoreMessageOut(BaseModel):
    message_id: str  # order-<n>:push:<k>: the store de-duplicates on it
    store_id: str
    order_number: str
    type: str
    body: dict[str, Any]  # views.for_store: what the store needs


class ExtractToMake(BaseModel):
    extract_id: str
    type: ExtractType
    occurred_at: datetime


class Transition(BaseModel):
    order_number: str
    projection: Projection
    stock: StockWork = Field(default_factory=StockWork)
    events: list[OrderEvent] = Field(default_factory=list)
    extracts: list[ExtractToMake] = Field(default_factory=list)
    extract_order: ExtractOrder | None = None  # what the extracts say: the order as it was when they happened
    store_messages: list[StoreMessageOut] = Field(default_factory=list)


def projection_of(state: OrderState) -> Projection:
    view = for_api(state)
    return Projection(
        order_number=state.order_number,
        version=state.version,
        status=state.status.value,
        store_id=state.store_id,
        channel=state.channel.value,
        web_reference=state.web_reference,
        customer_id=state.customer.id,
        customer_name=state.customer.name,
        customer_email=state.customer.email.lower(),
        has_alert=state.has_open_alert,
        fulfilment_methods=" ".join(sorted({delivery.method.value for delivery in view.deliveries})),
        delivery_locations=_between_spaces({d.location_id for d in view.deliveries if d.location_id}),
        open_alert_types=sorted({alert.type.value for alert in state.alerts if alert.is_open}),
        created_at=state.created_at,
        fulfil_on=scheduling.waiting_for(state),
        view=view.model_dump(mode="json"),
        seen_event_ids=state.seen_event_ids,
    )


def _between_spaces(words: set[str]) -> str:
    """Words a LIKE '% word %' finds exactly (a location id is never mistaken for a longer one)."""
    return f" {' '.join(sorted(words))} " if words else ""


def transition_of(state: OrderState, effects: Effects) -> Transition:
    """Everything one change writes; moves the order's event and message counters on."""
    state.version += 1  # every commit is a new version of the read model, also when only money moved
    events = pending_events(state)
    mark_published(state, events)
    extracts = [
        ExtractToMake(
            extract_id=f"{event.event_id}:extract", type=EXTRACT_FOR_EVENT[event.type], occurred_at=event.occurred_at
        )
        for event in events
        if event.type in EXTRACT_FOR_EVENT
    ]
    messages = []
    for message in effects.store_messages:
        state.store_messages += 1
        messages.append(
            StoreMessageOut(
                message_id=f"{order_workflow_id(state.order_number)}:push:{state.store_messages}",
                store_id=message.store_id or state.store_id,
                order_number=state.order_number,
                type=message.type,
                body=for_store(state).model_dump(mode="json"),
            )
        )
    return Transition(
        order_number=state.order_number,
        projection=projection_of(state),
        stock=StockWork(
            releases=[(release.targets, release.location_id) for release in effects.releases],
            commit_at=effects.commit_at,
            commit_lines=effects.commit_lines,
        ),
        events=events,
        extracts=extracts,
        extract_order=for_extract(state) if events else None,  # extracts, and xml_extract exporters
        store_messages=messages,
    )


class ReservedTransition(BaseModel):
    """Reserve the order's lines at its store (and each further delivery's at its location) and, only if every line
    could be, write the change that sends the order there: one transaction, so stock is reserved exactly when the
    order says it was sent."""

    reserve: ReserveStock
    transition: Transition
    more: list[ReserveStock] = Field(default_factory=list)  # further deliveries, each at its own location


class ReservedCommit(BaseModel):
    reserved: bool
    detail: str = ""  # why not: which SKUs the store is short of
    short_at: str | None = None  # why not: the location short of them
    policy: SlaPolicy | None = None  # the store's SLA policy, when committed
