"""Inbound store webhooks: signed events handed durably to the order's workflow, heartbeats to the store's
link workflow."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Header, Request, status
from pydantic import ValidationError
from sqlmodel import Session
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from api.deps import SessionDep, SettingsDep, TemporalDep, in_threadpool
from api.problems import Conflict, InvalidInput, NotFound, Unauthorized, Unavailable, field_error, problem_responses
from api.rate_limits import WebhookLimit
from api.routers.stores import StoreId
from api.schemas import StoreWebhookEvent, WebhookAccepted
from models.db import catalogue, orders
from models.order import StoreEvent, StoreEventType, order_workflow_id, store_link_workflow_id
from models.sealing import SealError, SecretSeal, store_secret_owner
from models.settings import Settings
from models.signing import SignatureError, verify
from models.store_link import Heartbeat, StoreLinkInput
from models.text import LINE_PATTERN
from workflows.order import OrderWorkflow
from workflows.store_link import StoreLinkWorkflow

router = APIRouter(prefix="/webhooks", tags=["store webhooks"])


def _authenticate(
    session: Session, store_id: str, body: bytes, signature: str | None, settings: Settings
) -> StoreWebhookEvent:
    """Check the store, the signature and the body."""
    verify_store_signature(session, store_id, body, signature, settings)
    try:
        return StoreWebhookEvent.model_validate_json(body)
    except ValidationError as error:
        raise InvalidInput(
            [{"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]} for e in error.errors()]
        ) from error


def verify_store_signature(
    session: Session, store_id: str, body: bytes, signature: str | None, settings: Settings
) -> None:
    """The store exists and signed `body` with its webhook secret, recently (models/signing.py); else 404 / 401."""
    if catalogue.get_store(session, store_id) is None:
        raise NotFound(f"store {store_id} not found", type_="store-not-found")
    _url, stored_secret = catalogue.store_webhook(session, store_id)
    if not stored_secret:
        raise Unauthorized(f"store {store_id} has no webhook secret", type_="invalid-signature")
    try:
        secret = SecretSeal.from_settings(settings).open(stored_secret, store_secret_owner(store_id))
    except SealError as error:  # the operator removed the codec key that sealed it: not the store's doing
        raise Unavailable(str(error), type_="store-secret-sealed") from error
    try:
        verify(secret, signature, body, time.time(), settings.webhook_tolerance_seconds)
    except SignatureError as error:
        raise Unauthorized(str(error), type_="invalid-signature") from error


def _order_of(session: Session, store_id: str, event: StoreWebhookEvent) -> tuple[str, str, set[str]]:
    """The event's order, which must be this store's: its number, status and seen event ids."""
    order_number = event.order_number
    if order_number is None:
        raise field_error("order_number", f"a {event.type} event needs 'order_number'")
    keys = orders.order_keys(session, order_number)
    if keys is None or (store_id != keys.store_id and store_id not in orders.order_senders(session, order_number)):
        raise NotFound(f"store {store_id} has no order {order_number}", type_="order-not-found")
    return order_number, keys.status, set(keys.seen_event_ids)


def _check(
    session: Session, store_id: str, body: bytes, signature: str | None, settings: Settings
) -> tuple[StoreWebhookEvent, tuple[str, str, set[str]] | None]:
    event = _authenticate(session, store_id, body, signature, settings)
    return event, None if event.is_heartbeat else _order_of(session, store_id, event)


async def _hand_heartbeat(temporal: Client, settings: Settings, store_id: str, event: StoreWebhookEvent) -> None:
    """Signal the store's link workflow, starting it if it is not running (signal-with-start)."""
    await temporal.start_workflow(
        StoreLinkWorkflow.run,
        StoreLinkInput(store_id=store_id),
        id=store_link_workflow_id(store_id),
        task_queue=settings.task_queue,
        start_signal="heartbeat",
        start_signal_args=[
            Heartbeat(
                event_id=event.event_id,
                store_id=store_id,
                occurred_at=event.occurred_at,
                timeout=timedelta(seconds=settings.store_link_timeout_seconds),
            )
        ],
    )


@router.post(
    "/stores/{store_id}",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[WebhookLimit],  # per store, before the body is read
    response_model=WebhookAccepted,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/StoreWebhookEvent"}}},
        }
    },
    responses=problem_responses(401, 404, 409),
)
async def store_event(
    store_id: StoreId,
    request: Request,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    baton_signature: Annotated[
        str | None,
        Header(max_length=500, pattern=LINE_PATTERN, description="t=<unix seconds>,v1=<hex HMAC-SHA256>"),
    ] = None,
) -> WebhookAccepted:
    """A store reports acknowledged, picked, collected, not_collected, update_acknowledged or transfer_received
    about one of its orders; a home delivery's dispatch location (store or warehouse) reports packed, shipped
    (carrier, tracking_number), delivered, or dispatched (shipped and done at once); or a heartbeat (no
    order_number) says the location is online."""
    body = await request.body()
    event, order = await in_threadpool(session, _check, session, store_id, body, baton_signature, settings)
    if order is None:
        await _hand_heartbeat(temporal, settings, store_id, event)
        return WebhookAccepted(event_id=event.event_id)
    order_number, order_status, seen_event_ids = order
    assert isinstance(event.type, StoreEventType)  # not a heartbeat: those went to the link workflow
    handle = temporal.get_workflow_handle(order_workflow_id(order_number))
    try:
        await handle.signal(
            OrderWorkflow.store_event,
            StoreEvent(
                event_id=event.event_id,
                type=event.type,
                store_id=store_id,
                occurred_at=event.occurred_at,
                picked={line.line_id: line.quantity for line in event.picked or []},
                transfer_id=event.transfer_id,
                carrier=event.carrier,
                tracking_number=event.tracking_number,
                delivery_id=event.delivery_id,
                reason=event.reason,
            ),
        )
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            if event.event_id in seen_event_ids:
                # A retry of an event that was applied before the order closed: it is safe to say yes again.
                return WebhookAccepted(event_id=event.event_id, order_number=order_number)
            raise Conflict(
                f"order {order_number} is closed ({order_status}); the event was not applied",
                type_="order_closed",
                rule="order_closed",
            ) from error
        raise
    return WebhookAccepted(event_id=event.event_id, order_number=order_number)
