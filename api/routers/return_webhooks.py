"""A return received, reported by its location as a signed webhook: the same signing scheme as the store's order
events (`Baton-Signature`, the store's webhook secret; api/routers/webhooks.py), at its own path because it names a
return, not an order. The event id is the return workflow's update id, so a retried webhook receives once."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, status
from pydantic import ValidationError
from sqlmodel import Session
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.deps import SessionDep, SettingsDep, TemporalDep, in_threadpool
from api.problems import Conflict, InvalidInput, NotFound, problem_responses
from api.rate_limits import WebhookLimit
from api.routers.stores import StoreId
from api.routers.webhooks import verify_store_signature
from api.schemas import ReturnWebhookEvent, WebhookAccepted
from models.db import returns as return_rows
from models.returns import ReturnState
from models.settings import Settings
from models.text import LINE_PATTERN
from workflows.returns import Receipt

router = APIRouter(prefix="/webhooks", tags=["store webhooks"])


def _check(
    session: Session, store_id: str, body: bytes, signature: str | None, settings: Settings
) -> tuple[ReturnWebhookEvent, ReturnState]:
    verify_store_signature(session, store_id, body, signature, settings)
    try:
        event = ReturnWebhookEvent.model_validate_json(body)
    except ValidationError as error:
        raise InvalidInput(
            [{"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]} for e in error.errors()]
        ) from error
    state = return_rows.get(session, event.return_id)
    if state is None or state.location_id != store_id:  # another location's return is not this store's to receive
        raise NotFound(f"store {store_id} has no return {event.return_id}", type_="return-not-found")
    return event, state


@router.post(
    "/stores/{store_id}/returns",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[WebhookLimit],
    response_model=WebhookAccepted,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ReturnWebhookEvent"}}},
        }
    },
    responses=problem_responses(401, 404, 409),
)
async def return_event(
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
    """The location the return goes to reports it received (`return_received`): the return waits for inspection
    and the order records it. A return already received (by another event), or not this location's, is refused
    (409 / 404); the event that received it, sent again, is answered 202 again, even after the return finished."""
    body = await request.body()
    event, state = await in_threadpool(session, _check, session, store_id, body, baton_signature, settings)
    receipt = Receipt(location_id=store_id, actor=f"store:{store_id}", event_id=event.event_id)
    handle = temporal.get_workflow_handle(event.return_id)
    accepted = WebhookAccepted(event_id=event.event_id, order_number=state.order_number)
    if state.received_event_id == event.event_id:
        return accepted  # a retry of the event that received it (its workflow may have finished since)
    try:
        await handle.execute_update("receive", receipt, id=f"webhook:{event.event_id}", result_type=ReturnState)
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        message = cause.message if isinstance(cause, ApplicationError) else str(cause or error)
        raise Conflict(message, type_="return_refused", rule="return_refused") from error
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            raise Conflict(f"{event.return_id} is closed", type_="return_refused", rule="return_refused") from error
        raise
    return accepted
