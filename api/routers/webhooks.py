"""Inbound store webhooks: signed events handed durably to the order's workflow."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Header, Request, status
from pydantic import ValidationError
from sqlmodel import Session
from temporalio.service import RPCError, RPCStatusCode

from api.deps import SessionDep, SettingsDep, TemporalDep, in_threadpool
from api.problems import Conflict, InvalidInput, NotFound, Unauthorized
from api.routers.stores import StoreId
from api.schemas import StoreWebhookEvent, WebhookAccepted
from models import repository
from models.order import StoreEvent, order_workflow_id
from models.signing import SignatureError, verify
from workflows.order_workflow import OrderWorkflow

router = APIRouter(prefix="/webhooks", tags=["store webhooks"])


def _authenticate(
    session: Session, store_id: str, body: bytes, signature: str | None, tolerance_seconds: int
) -> tuple[StoreWebhookEvent, str, set[str]]:
    """Check the signature, the body and that the order is this store's; returns the event and the order's
    status and seen event ids."""
    _url, secret = repository.store_webhook(session, store_id)
    if not secret:
        raise Unauthorized(f"store {store_id} has no webhook secret", type_="invalid-signature")
    try:
        verify(secret, signature, body, time.time(), tolerance_seconds)
    except SignatureError as error:
        raise Unauthorized(str(error), type_="invalid-signature") from error
    try:
        event = StoreWebhookEvent.model_validate_json(body)
    except ValidationError as error:
        raise InvalidInput(
            [{"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]} for e in error.errors()]
        ) from error
    record = repository.get_order_record(session, event.order_number)
    senders = {record.store_id, record.view.get("dispatch_location")} if record is not None else set()
    if record is None or store_id not in senders:
        raise NotFound(f"store {store_id} has no order {event.order_number}", type_="order-not-found")
    return event, record.status, set(record.view.get("seen_event_ids", []))


@router.post(
    "/stores/{store_id}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WebhookAccepted,
    openapi_extra={"requestBody": {"content": {"application/json": {"schema": StoreWebhookEvent.model_json_schema()}}}},
)
async def store_event(
    store_id: StoreId,
    request: Request,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    baton_signature: Annotated[str | None, Header(description="t=<unix seconds>,v1=<hex HMAC-SHA256>")] = None,
) -> WebhookAccepted:
    """A store reports acknowledged, picked, collected, not_collected, update_acknowledged, transfer_received
    or dispatched."""
    body = await request.body()
    event, order_status, seen_event_ids = await in_threadpool(
        session, _authenticate, session, store_id, body, baton_signature, settings.webhook_tolerance_seconds
    )
    handle = temporal.get_workflow_handle_for(OrderWorkflow.run, order_workflow_id(event.order_number))
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
            ),
        )
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            if event.event_id in seen_event_ids:
                # A retry of an event that was applied before the order closed: it is safe to say yes again.
                return WebhookAccepted(event_id=event.event_id, order_number=event.order_number)
            raise Conflict(
                f"order {event.order_number} is closed ({order_status}); the event was not applied",
                type_="order_closed",
                rule="order_closed",
            ) from error
        raise
    return WebhookAccepted(event_id=event.event_id, order_number=event.order_number)
