"""Outbound webhooks: subscribers, their delivery log and resends (Head Office); an order's export audit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, UrlConstraints

from api import orders_service
from api.deps import Caller, HeadOffice, SessionDep, SettingsDep, TemporalDep, in_threadpool
from api.params import Offset, OrderNumber, search_text
from api.problems import Conflict, NotFound, problem_responses
from api.targets import check_target
from models.db import outbound
from models.db.tables import OrderExportRow, WebhookDeliveryRow, WebhookSubscriberRow
from models.events import OrderEventType
from models.outbound import STOCK_CHANGED, SubscribedEvent
from models.outbox import availability_lane, subscriber_lane
from models.sealing import SecretSeal, subscriber_secret_owner
from models.text import LINE_PATTERN, Line
from workflows.outbox import start_lane

router = APIRouter(tags=["outbound webhooks"])

SubscriberId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,40}$")]


class NewSubscriber(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Line = Field(min_length=1, max_length=200, examples=["ERP"])
    url: Annotated[AnyHttpUrl, UrlConstraints(max_length=2000)] = Field(
        examples=["https://erp.example.com/baton/events"]
    )
    event_types: list[SubscribedEvent] = Field(
        min_length=1,
        max_length=len(OrderEventType) + 1,
        examples=[["payment_confirmed", "collected"]],
        description="Order event types, and `stock_changed` for availability (batched per SKU and location)",
    )


class Subscriber(BaseModel):
    subscriber_id: str
    name: str
    url: str
    event_types: list[SubscribedEvent]
    active: bool
    created_at: datetime


class CreatedSubscriber(Subscriber):
    secret: str = Field(description="Signs every delivery (Baton-Signature); shown this once only")


class Delivery(BaseModel):
    delivery_id: str
    event_id: str
    event_type: str
    order_number: str
    kind: str = Field(description="event, or resend (Head Office)")
    status: str = Field(description="pending, retrying, delivered, refused or failed")
    attempts: int
    last_status_code: int | None
    last_error: str | None
    requested_by: str | None
    created_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any]


class DeliveryPage(BaseModel):
    items: list[Delivery]
    total: int
    limit: int
    offset: int


class OrderExport(BaseModel):
    run_id: str
    exporter: str
    kind: str
    state: str
    sets_state: str | None
    outcome: str = Field(description="queued, running, succeeded or failed")
    attempts: int
    detail: str
    started_at: datetime
    finished_at: datetime | None


def _subscriber(row: WebhookSubscriberRow) -> Subscriber:
    return Subscriber.model_validate(row, from_attributes=True)


def _known_subscriber(session: Any, subscriber_id: str) -> WebhookSubscriberRow:
    row = outbound.get_subscriber(session, subscriber_id)
    if row is None:
        raise NotFound(f"webhook subscriber {subscriber_id} not found", type_="subscriber-not-found")
    return row


@router.post("/webhook-subscribers", status_code=status.HTTP_201_CREATED, response_model=CreatedSubscriber)
async def create_subscriber(
    body: NewSubscriber, session: SessionDep, temporal: TemporalDep, settings: SettingsDep, _ho: HeadOffice
) -> CreatedSubscriber:
    """Register a subscriber for order event types (it hears of events from now on); answers its signing secret,
    this once only."""
    await check_target(str(body.url), "url", settings)
    secret, box = outbound.new_signing_secret(), SecretSeal.from_settings(settings)

    def seal(plain: str, subscriber_id: str) -> str:
        return box.seal(plain, subscriber_secret_owner(subscriber_id))

    now = datetime.now(UTC)
    row = await in_threadpool(
        session, outbound.create_subscriber, session, body.name, str(body.url), body.event_types, now, secret, seal
    )
    await start_lane(temporal, settings, subscriber_lane(row.subscriber_id))
    if STOCK_CHANGED in row.event_types:
        await start_lane(temporal, settings, availability_lane(row.subscriber_id))
    return CreatedSubscriber(**_subscriber(row).model_dump(), secret=secret)


@router.get("/webhook-subscribers", response_model=list[Subscriber])
def list_subscribers(session: SessionDep, _ho: HeadOffice) -> list[Subscriber]:
    """Every subscriber, active or not, oldest first."""
    return [_subscriber(row) for row in outbound.list_subscribers(session)]


@router.get("/webhook-subscribers/{subscriber_id}", response_model=Subscriber)
def get_subscriber(subscriber_id: SubscriberId, session: SessionDep, _ho: HeadOffice) -> Subscriber:
    """One subscriber (its secret is never shown again)."""
    return _subscriber(_known_subscriber(session, subscriber_id))


@router.delete("/webhook-subscribers/{subscriber_id}", response_model=Subscriber)
def deactivate_subscriber(subscriber_id: SubscriberId, session: SessionDep, _ho: HeadOffice) -> Subscriber:
    """Deactivate a subscriber: it receives nothing more (its delivery log stays)."""
    _known_subscriber(session, subscriber_id)
    row = outbound.deactivate_subscriber(session, subscriber_id)
    assert row is not None  # subscribers are deactivated, never deleted
    return _subscriber(row)


@router.get("/webhook-subscribers/{subscriber_id}/deliveries", response_model=DeliveryPage)
def list_deliveries(
    subscriber_id: SubscriberId,
    session: SessionDep,
    _ho: HeadOffice,
    order_number: Annotated[str | None, search_text(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
) -> DeliveryPage:
    """The subscriber's delivery log, oldest first (filter with ?order_number=)."""
    _known_subscriber(session, subscriber_id)
    rows, total = outbound.deliveries(session, subscriber_id, order_number, limit, offset)
    items = [Delivery.model_validate(row, from_attributes=True) for row in rows]
    return DeliveryPage(items=items, total=total, limit=limit, offset=offset)


def _add_resend(session: Any, subscriber_id: str, event_id: str, actor: str) -> WebhookDeliveryRow:
    subscriber = _known_subscriber(session, subscriber_id)
    original = outbound.original_delivery(session, subscriber_id, event_id)
    if original is None:
        raise NotFound(f"no delivery of event {event_id} to {subscriber_id}", type_="delivery-not-found")
    if not subscriber.active:
        rule = "subscriber_inactive"
        raise Conflict(f"webhook subscriber {subscriber_id} is deactivated", type_=rule, rule=rule)
    return outbound.add_resend(session, original, actor, datetime.now(UTC))


@router.post(
    "/webhook-subscribers/{subscriber_id}/deliveries/{event_id}/resend",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Delivery,
    responses=problem_responses(409),
)
async def resend_delivery(
    subscriber_id: SubscriberId,
    event_id: Annotated[str, Path(max_length=80, pattern=LINE_PATTERN)],
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    caller: HeadOffice,
) -> Delivery:
    """Deliver a logged event again, with the same event id; the resend has its own row in the log, which the
    subscriber's outbox lane delivers next."""
    row = await in_threadpool(session, _add_resend, session, subscriber_id, event_id, f"ho:{caller.name}")
    await start_lane(temporal, settings, subscriber_lane(subscriber_id))
    return Delivery.model_validate(row, from_attributes=True)


@router.get("/orders/{order_number}/exports", response_model=list[OrderExport], tags=["orders"])
def list_order_exports(order_number: OrderNumber, session: SessionDep, caller: Caller) -> list[OrderExport]:
    """The order's export audit: each exporter run, the state it ran for, its outcome and attempts."""
    orders_service.order_record(session, order_number, caller)  # 404 for an unknown or another store's order
    rows: list[OrderExportRow] = outbound.exports_for_order(session, order_number)
    return [OrderExport.model_validate(row, from_attributes=True) for row in rows]
