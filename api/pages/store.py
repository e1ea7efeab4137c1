"""The store's Pick Manager: its open orders, and buttons that send the same events as the store webhooks."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session
from temporalio.service import RPCError, RPCStatusCode

from api import orders_service
from api.deps import SessionDep, TemporalDep, in_threadpool
from api.pages.session import StoreUser
from api.pages.shared import page
from api.problems import NotFound
from models.db.orders import get_order_record, open_store_orders
from models.order import StoreEvent, StoreEventType, order_workflow_id
from models.views import OrderView
from workflows.order import OrderWorkflow

router = APIRouter(prefix="/ui", include_in_schema=False)

STORE_BUTTONS = {
    "acknowledge": StoreEventType.acknowledged,
    "pick": StoreEventType.picked,
    "hand-over": StoreEventType.collected,
    "not-collected": StoreEventType.not_collected,
    "acknowledge-update": StoreEventType.update_acknowledged,
    "transfer-received": StoreEventType.transfer_received,
    # A home delivery this location ships (the order's own, or a further one: `delivery_id` names it).
    "pack": StoreEventType.packed,
    "ship": StoreEventType.shipped,
    "deliver": StoreEventType.delivered,
    "reject": StoreEventType.rejected,
}


def _store_orders(session: Session, store_id: str) -> list[OrderView]:
    records = open_store_orders(session, store_id)
    return [OrderView.model_validate(record.view) for record in records]


async def _store_page_context(session: Session, store_id: str) -> dict[str, Any]:
    orders = await in_threadpool(session, _store_orders, session, store_id)
    return {"orders": orders, "store_id": store_id, "refreshed_at": datetime.now(UTC)}


@router.get("/store")
async def store_page(request: Request, session: SessionDep, user: StoreUser) -> Response:
    context = await _store_page_context(session, str(user.store_id))
    return page(request, "store.html", user, **context)


@router.get("/store/live")
async def store_live(request: Request, session: SessionDep, user: StoreUser) -> Response:
    context = await _store_page_context(session, str(user.store_id))
    return page(request, "_store_orders.html", user, **context)


def _record_version(session: Session, order_number: str) -> tuple[int, str]:
    record = get_order_record(session, order_number)
    return (record.version, record.status) if record else (0, "")


def _text(form: Any, name: str) -> str | None:
    return str(form.get(name, "")).strip() or None


@router.post("/store/orders/{order_number}/{button}")
async def store_action(
    order_number: str, button: str, request: Request, session: SessionDep, temporal: TemporalDep, user: StoreUser
) -> Response:
    """A Pick Manager button: the same signal as the store webhook, with a fresh event id per click."""
    if button not in STORE_BUTTONS:
        raise NotFound(f"unknown button {button}", type_="page-not-found")
    store_id = str(user.store_id)
    state = OrderView.model_validate(
        await in_threadpool(session, orders_service.order_view, session, order_number, user)
    )
    form = await request.form()
    event_type = STORE_BUTTONS[button]
    picked: dict[str, int] = {}
    refusal: dict[str, str] | None = None
    if event_type is StoreEventType.picked:
        try:
            picked = {
                line.line_id: max(0, int(str(form.get(f"picked_{line.line_id}", line.quantity))))
                for line in state.lines
                if line.is_collectable
            }
        except ValueError:
            refusal = {"rule": "invalid-input", "message": "picked quantities must be whole numbers"}
    before = await in_threadpool(session, _record_version, session, order_number)
    if refusal is None:
        event = StoreEvent(
            event_id=f"ui-{uuid.uuid4()}",
            type=event_type,
            store_id=store_id,
            occurred_at=datetime.now(UTC),
            picked=picked,
            transfer_id=_text(form, "transfer_id"),
            carrier=_text(form, "carrier"),
            tracking_number=_text(form, "tracking_number"),
            delivery_id=_text(form, "delivery_id"),
            reason=_text(form, "reason"),
        )
        handle = temporal.get_workflow_handle(order_workflow_id(order_number))
        try:
            await handle.signal(OrderWorkflow.store_event, event)
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            refusal = {"rule": "order_closed", "message": f"order {order_number} is closed ({state.status})"}
    message = None
    if refusal is None:
        # Give the workflow a moment to apply the event so the page shows its effect (the list polls anyway).
        after = before
        for _ in range(30):
            await asyncio.sleep(0.1)
            after = await in_threadpool(session, _record_version, session, order_number)
            if after[0] > before[0]:
                break
        shown = after[1] if after[0] > before[0] else f"{after[1]} (event sent, not applied yet)"
        message = f"Order {order_number}: {event_type.value} sent — now {shown}"
        if after[0] > before[0] and after[1] == before[1] and event_type is not StoreEventType.update_acknowledged:
            latest = OrderView.model_validate(
                await in_threadpool(session, orders_service.order_view, session, order_number)
            )
            exception = next((e for e in latest.store_exceptions if e.event_id == event.event_id), None)
            if exception is not None:
                refusal = {"rule": "store_exception", "message": exception.reason}
                message = None
    context = await _store_page_context(session, store_id)
    return page(request, "_store_orders.html", user, message=message, refusal=refusal, **context)
