"""Placing orders and reading them back: idempotent start of the order workflow, views from SQL."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.deps import visible_store
from api.problems import InvalidInput, NotFound, field_error
from api.schemas import OrderView
from models.db import catalogue, orders, policies
from models.db.placements import IdempotencyKeyReused, claim_order_number
from models.db.store_links import link_state
from models.order import OrderState, PlaceOrder, order_workflow_id
from models.placement import new_order, placement_problems
from models.settings import ApiKeyHolder
from workflows import search_attributes as sa
from workflows.order_workflow import OrderWorkflow


def _request_hash(order: PlaceOrder) -> str:
    canonical = json.dumps(order.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _prepare(session: Session, order: PlaceOrder, idempotency_key: str | None, gateway: str) -> tuple[OrderState, bool]:
    request_hash = _request_hash(order)
    products = catalogue.products_by_sku(session, {line.sku for line in order.lines})
    policy = policies.get_payment_policy(session)
    store_id = order.fulfilment.store_id
    store = catalogue.get_store(session, store_id)
    problems = placement_problems(
        order, products, store, policy, frozenset({gateway}), link=link_state(session, store_id)
    )
    if problems:
        raise InvalidInput([{"field": p.field, "message": p.message} for p in problems])
    try:
        order_number, created = claim_order_number(session, idempotency_key, request_hash)
    except IdempotencyKeyReused as reused:
        raise field_error("Idempotency-Key", str(reused)) from None
    state = new_order(order_number, order, products, datetime.now(UTC), policy, gateway)
    session.close()  # never hold a pooled connection while waiting on Temporal
    return state, created


def _project_first_version(session: Session, state: OrderState) -> OrderView:
    # The workflow projects on its first step too; writing version 1 here gives read-your-writes at once.
    orders.save_projection(session, state)
    view = get_order_view(session, state.order_number)
    session.close()
    return view


async def place_order(
    session: Session,
    temporal: Client,
    task_queue: str,
    order: PlaceOrder,
    idempotency_key: str | None,
    gateway: str = "test",
) -> tuple[OrderView, bool]:
    """Validate, claim a number, start the workflow once; returns the view and whether it was created now.

    Database work runs in the thread pool: blocking the event loop on a busy connection pool would stall
    every request, including the ones that would give their connection back.
    """
    state, created = await run_in_threadpool(_prepare, session, order, idempotency_key, gateway)
    order_number = state.order_number
    try:
        await temporal.start_workflow(
            OrderWorkflow.run,
            state,
            id=order_workflow_id(order_number),
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(sa.ORDER_NUMBER, order_number),
                    SearchAttributePair(sa.ORDER_STATUS, state.status.value),
                    SearchAttributePair(sa.STORE_ID, state.store_id),
                    SearchAttributePair(sa.CHANNEL, state.channel.value),
                    SearchAttributePair(sa.HAS_ALERT, False),
                ]
            ),
        )
    except WorkflowAlreadyStartedError:
        created = False  # a retry of a placement whose workflow is already running
    return await run_in_threadpool(_project_first_version, session, state), created


def to_view(session: Session, state: OrderState) -> OrderView:
    stock = [catalogue.stock_holding(session, sku) for sku in dict.fromkeys(line.sku for line in state.lines)]
    return OrderView(
        **state.model_dump(exclude={"seen_event_ids": True, "store_pushes": True, "payments": {"__all__": {"token"}}}),
        workflow_id=order_workflow_id(state.order_number),
        total=state.total(),
        paid=state.paid(),
        authorised=state.authorised(),
        refunded=state.refunded(),
        outstanding=state.outstanding(),
        balance=state.outstanding(),
        has_alert=state.has_open_alert,
        stock=stock,
    )


def get_order_state(session: Session, order_number: str, caller: ApiKeyHolder | None = None) -> OrderState:
    """The order's projected state; a store caller gets 404 for another store's order (no existence leak)."""
    record = orders.get_order_record(session, order_number)
    own_store = visible_store(caller) if caller is not None else None
    if record is None or (own_store is not None and record.store_id != own_store):
        raise NotFound(f"order {order_number} not found", type_="order-not-found")
    return OrderState.model_validate(record.view)


def get_order_view(session: Session, order_number: str) -> OrderView:
    return to_view(session, get_order_state(session, order_number))
