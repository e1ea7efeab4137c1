"""Placing orders and reading them back: idempotent start of the order workflow, every read from the read model."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.deps import visible_channels, visible_store
from api.problems import Forbidden, InvalidInput, NotFound, field_error
from models.db import catalogue, orders, placements, policies
from models.db import sourcing as sourcing_db
from models.db.store_links import link_state
from models.db.tables import OrderRecordRow
from models.deliveries import Delivery, build, group_lines, line_id
from models.delivery_placement import Location
from models.order import OrderState, order_workflow_id
from models.placement import (
    FieldProblem,
    delivery_split,
    fulfilment_problems,
    initial_payments,
    new_order,
    placement_problems,
)
from models.placing import PlaceOrder
from models.settings import ApiKeyHolder
from models.sourcing import LineToSource, SourcingDecision, source
from models.transition import projection_of
from models.views import for_api
from workflows import search_attributes as sa
from workflows.order import OrderWorkflow


def _request_hash(order: PlaceOrder) -> str:
    canonical = json.dumps(order.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(session: Session, holder: str, key: str, order: PlaceOrder, gateway: str) -> OrderState | None:
    """The order this holder's key placed before, whatever changed since (prices, the store's link, the
    customer's standing): looked up before anything is validated."""
    placement = placements.find_placement(session, holder, key)
    if placement is None:
        return None
    if placement.request_hash != _request_hash(order):
        raise field_error("Idempotency-Key", "this key was already used with a different request body")
    if placement.initial_state is None:
        raise NotFound(f"order {placement.order_number} is still being placed; retry", type_="order-not-found")
    state = OrderState.model_validate(placement.initial_state)
    # Tokens are never stored: the same body (same hash) carries them again, in the same order.
    placed_payments = initial_payments(order, gateway, state.created_at, delivery_split(order, state.deliveries))
    for payment, placed in zip(state.payments, placed_payments, strict=True):
        payment.token = placed.token
    return state


def _invalid(problems: list[FieldProblem]) -> InvalidInput:
    return InvalidInput([{"field": p.field, "message": p.message} for p in problems])


def _source(session: Session, order: PlaceOrder) -> dict[int, SourcingDecision]:
    """Choose the locations of home deliveries that name none, by line group. Lines no enabled, online location
    holds refuse the order (422 naming each line)."""
    decisions: dict[int, SourcingDecision] = {}
    problems: list[FieldProblem] = []
    policy = policies.get_sourcing_policy(session)
    for index, group in enumerate(group_lines(order)):
        if not group.needs_sourcing:
            continue
        lines = [
            LineToSource(line_id=line_id(i), sku=order.lines[i].sku, quantity=order.lines[i].quantity)
            for i in group.line_indexes
        ]
        postcode = group.fulfilment.address.postcode if group.fulfilment.address else None
        candidates = sourcing_db.candidates(session, {line.sku for line in lines})
        decision = source(lines, candidates, policy, postcode, datetime.now(UTC))
        problems += [
            FieldProblem(
                f"lines[{i}].quantity",
                f"no enabled, online location holds {order.lines[i].quantity} × {order.lines[i].sku} for home delivery",
            )
            for i in group.line_indexes
            if line_id(i) in decision.unsourced
        ]
        decisions[index] = decision
    if problems:
        raise _invalid(problems)
    return decisions


def _locations(session: Session, deliveries: list[Delivery]) -> dict[str, Location]:
    return {
        d.location_id: (catalogue.get_store(session, d.location_id), link_state(session, d.location_id))
        for d in deliveries
        if d.location_id is not None
    }


def _prepare(
    session: Session, caller: ApiKeyHolder, order: PlaceOrder, key: str | None, gateway: str
) -> tuple[OrderState, bool]:
    if key is not None and (state := _replay(session, caller.name, key, order, gateway)) is not None:
        return state, False
    products = catalogue.products_by_sku(session, {line.sku for line in order.lines})
    policy = policies.get_payment_policy(session)
    if problems := fulfilment_problems(order):
        raise _invalid(problems)
    sourced = _source(session, order)
    locations = _locations(session, build(group_lines(order), sourced))
    problems = placement_problems(order, products, None, policy, frozenset({gateway}), locations=locations)
    if problems:
        raise _invalid(problems)
    number = placements.claim_order_number(session, caller.name, key, _request_hash(order))
    if number is None:  # a concurrent request with the same key claimed it: answer as it will
        return _prepare(session, caller, order, key, gateway)
    state = new_order(number, order, products, datetime.now(UTC), policy, gateway, sourced)
    placements.keep_initial_state(
        session, number, state.model_dump(mode="json", exclude={"payments": {"__all__": {"token"}}})
    )
    orders.write_projection(session, projection_of(state), datetime.now(UTC))  # read-your-writes: version 1, once
    session.commit()
    return state, True


async def place_order(
    session: Session,
    temporal: Client,
    task_queue: str,
    caller: ApiKeyHolder,
    order: PlaceOrder,
    idempotency_key: str | None,
    gateway: str = "test",
) -> tuple[dict[str, Any], bool]:
    """Claim a number, keep the first state, start the workflow once; returns the view and whether it is new.

    A retry with the same key (from the same key holder) answers the order it placed, and starts its workflow if
    a crash left it unstarted. Database work runs in the thread pool and gives its connection back before any
    wait on Temporal."""
    if caller.channels is not None and order.channel not in caller.channels:
        allowed = ", ".join(caller.channels) or "none"
        raise Forbidden(f"this key places orders for {allowed} only, not {order.channel}", type_="channel-not-allowed")

    def prepare() -> tuple[OrderState, bool]:
        try:
            return _prepare(session, caller, order, idempotency_key, gateway)
        finally:
            session.close()

    state, created = await run_in_threadpool(prepare)
    try:
        await temporal.start_workflow(
            OrderWorkflow.run,
            state,
            id=order_workflow_id(state.order_number),
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(sa.ORDER_NUMBER, state.order_number),
                    SearchAttributePair(sa.ORDER_STATUS, state.status.value),
                    SearchAttributePair(sa.STORE_ID, state.store_id),
                    SearchAttributePair(sa.CHANNEL, state.channel.value),
                    SearchAttributePair(sa.HAS_ALERT, False),
                ]
            ),
        )
    except WorkflowAlreadyStartedError:
        created = False  # a retry of a placement whose workflow is already running

    def read() -> dict[str, Any]:
        try:
            if not created:
                return order_view(session, state.order_number)  # a replay: the order may have moved on
            view = for_api(state).model_dump(mode="json")  # as just written: no need to read it back
            view["stock"] = catalogue.stock_holdings(session, list(dict.fromkeys(line.sku for line in state.lines)))
            return view
        finally:
            session.close()

    return await run_in_threadpool(read), created


def order_record(session: Session, order_number: str, caller: ApiKeyHolder | None = None) -> OrderRecordRow:
    """The order's read-model row; a store caller gets 404 for another store's order, a bound
    channel key for another channel's (no existence leak)."""
    record = orders.get_order_record(session, order_number)
    own_store = visible_store(caller) if caller is not None else None
    senders = orders.senders(record.view) if record is not None else set()
    channels = visible_channels(caller) if caller is not None else None
    other_channel = record is not None and channels is not None and record.channel not in channels
    if record is None or other_channel or (own_store is not None and own_store not in senders):
        raise NotFound(f"order {order_number} not found", type_="order-not-found")
    return record


def order_view(session: Session, order_number: str, caller: ApiKeyHolder | None = None) -> dict[str, Any]:
    """The one place single-order reads come from: the view the workflow committed, with live stock figures."""
    view = dict(order_record(session, order_number, caller).view)
    view["stock"] = catalogue.stock_holdings(session, list(dict.fromkeys(line["sku"] for line in view["lines"])))
    return view
