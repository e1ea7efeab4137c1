"""Orders: place, list, read, and Head Office's release of a held order."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api import orders_service
from api.deps import Caller, HeadOffice, SessionDep, SettingsDep, TemporalDep
from api.problems import Conflict, Unavailable
from api.schemas import OrderPage, OrderSummary, OrderView, ReleaseHoldRequest
from models import repository
from models.order import OrderStatus, PlaceOrder, ReleaseHold, order_workflow_id
from workflows.order_workflow import OrderWorkflow

router = APIRouter(prefix="/orders", tags=["orders"])

UPDATE_TIMEOUT_SECONDS = 15


@router.post("", status_code=status.HTTP_201_CREATED, response_model=OrderView)
async def place_order(
    order: PlaceOrder,
    response: Response,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    _caller: Caller,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> OrderView:
    """Place an order; the same Idempotency-Key with the same body returns the same order."""
    view, created = await orders_service.place_order(session, temporal, settings.task_queue, order, idempotency_key)
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["Location"] = f"/orders/{view.order_number}"
    return view


@router.get("", response_model=OrderPage)
def list_orders(
    session: SessionDep,
    _caller: Caller,
    store_id: str | None = None,
    customer: Annotated[str | None, Query(description="customer id, email, or part of the name")] = None,
    web_reference: str | None = None,
    order_number: str | None = None,
    status: OrderStatus | None = None,
    has_alert: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> OrderPage:
    """Search orders, newest first."""
    rows, total = repository.search_orders(
        session,
        store_id=store_id,
        customer=customer,
        web_reference=web_reference,
        order_number=order_number,
        status=status.value if status else None,
        has_alert=has_alert,
        limit=limit,
        offset=offset,
    )
    items = [OrderSummary.model_validate(row, from_attributes=True) for row in rows]
    return OrderPage(items=items, total=total, limit=limit, offset=offset)


@router.get("/{order_number}", response_model=OrderView)
def get_order(order_number: str, session: SessionDep, _caller: Caller) -> OrderView:
    """One order: lines, notes, payments, alerts, history and stock of each line everywhere."""
    return orders_service.get_order_view(session, order_number)


@router.post("/{order_number}/release-hold", response_model=OrderView)
async def release_hold(
    order_number: str,
    body: ReleaseHoldRequest,
    session: SessionDep,
    temporal: TemporalDep,
    user: HeadOffice,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> OrderView:
    """Head Office releases an order on hold (accepts a short pick, or retries a short reservation)."""
    orders_service.get_order_state(session, order_number)  # 404 before touching Temporal
    handle = temporal.get_workflow_handle_for(OrderWorkflow.run, order_workflow_id(order_number))
    try:
        state = await asyncio.wait_for(
            handle.execute_update(
                OrderWorkflow.release_hold,
                ReleaseHold(reason=body.reason, actor=f"ho:{user.name}"),
                id=idempotency_key or str(uuid.uuid4()),
            ),
            timeout=UPDATE_TIMEOUT_SECONDS,
        )
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        rule = cause.type if isinstance(cause, ApplicationError) and cause.type else "refused"
        raise Conflict(cause.message if cause else str(error), type_=rule, rule=rule) from error
    except TimeoutError as error:
        raise Unavailable("the order's worker did not answer in time; try again", type_="worker-unavailable") from error
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise Conflict(f"order {order_number} is closed", type_="order_closed", rule="order_closed") from error
        raise
    return orders_service.to_view(session, state)
