"""Sending Head Office actions to an order's workflow as Temporal Updates, and translating the answers."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlmodel import Session
from temporalio.client import Client, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api import orders_service
from api.deps import in_threadpool
from api.problems import Conflict, Unavailable, field_error
from api.schemas import OrderView
from models.catalogue import Product
from models.db import catalogue
from models.interventions import NewLine
from models.order import OrderState, order_workflow_id
from models.settings import ApiKeyHolder
from workflows.order_workflow import OrderWorkflow


def actor_of(caller: ApiKeyHolder) -> str:
    return f"ho:{caller.name}"


async def run_update(
    session: Session,
    temporal: Client,
    order_number: str,
    update: Any,
    command: Any,
    idempotency_key: str | None,
    timeout_seconds: float,
) -> OrderView:
    """Run one update on the order; the Idempotency-Key is the update id, so a retry is applied once."""
    await in_threadpool(session, orders_service.get_order_state, session, order_number)  # 404 first
    handle = temporal.get_workflow_handle_for(OrderWorkflow.run, order_workflow_id(order_number))  # type: ignore[arg-type]
    try:
        state: OrderState = await asyncio.wait_for(
            handle.execute_update(update, command, id=idempotency_key or str(uuid.uuid4())),
            timeout=timeout_seconds,
        )
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        rule = cause.type if isinstance(cause, ApplicationError) and cause.type else "refused"
        message = cause.message if isinstance(cause, ApplicationError) else str(cause or error)
        raise Conflict(message, type_=rule, rule=rule) from error
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as error:
        raise Unavailable(
            "no worker answered for this order in time; nothing was changed yet — retry with the same Idempotency-Key",
            type_="worker-unavailable",
        ) from error
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise Conflict(f"order {order_number} is closed", type_="order_closed", rule="order_closed") from error
        raise
    return await in_threadpool(session, orders_service.to_view, session, state)


def sibling_variant(session: Session, current: Product, size: str | None, colour: str | None) -> NewLine:
    """The variant of the same style in the asked size and/or colour (the other attribute kept)."""
    if size is None and colour is None:
        raise field_error("size", "give a size, a colour, or both")
    want_size, want_colour = size or current.size, colour or current.colour
    for product in catalogue.list_products(session, current.style):
        if product.size == want_size and product.colour == want_colour:
            return to_new_line(product)
    raise field_error("size" if size else "colour", f"{current.style} comes in no {want_colour} {want_size}")


def to_new_line(product: Product) -> NewLine:
    return NewLine(
        sku=product.sku, style=product.style, size=product.size, colour=product.colour, unit_price=product.price
    )


def require_available(session: Session, location_id: str, sku: str, quantity: int) -> None:
    """Refuse before the workflow sees it when the stock is plainly not there (the ledger still decides)."""
    holding = catalogue.stock_holding(session, sku)
    available = next((loc.available for loc in holding.locations if loc.location_id == location_id), 0)
    if available < quantity:
        raise Conflict(
            f"{location_id} has {available} {sku} available, not {quantity}",
            type_="stock_shortage",
            rule="stock_shortage",
        )
