"""Placing an order, shared by `POST /orders` (api/orders_service.py) and an exchange's replacement order
(activities/returns.py): validate against the catalogue, sourcing and the payment policy, claim a number once per
idempotency key, keep the first state and its read-model row, and start the order's workflow once. Refusals are
exceptions the caller turns into its own answer (a 422 for the API, an alert on the return for an exchange)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from sqlmodel import Session
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from models.db import catalogue, orders, placements, policies
from models.db import sourcing as sourcing_db
from models.db.store_links import link_state
from models.deliveries import Delivery, build, group_lines, line_id
from models.delivery_placement import Location
from models.order import ORDER_WORKFLOW, OrderState, order_workflow_id
from models.placement import (
    FieldProblem,
    delivery_split,
    fulfilment_problems,
    initial_payments,
    new_order,
    placement_problems,
)
from models.placing import PlaceOrder
from models.sourcing import LineToSource, SourcingDecision, source
from models.transition import projection_of
from workflows import search_attributes as sa


class PlacementRefused(Exception):
    """The order cannot be placed: each problem names its field."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = problems


class KeyReused(Exception):
    """The idempotency key placed an order from another body."""


class StillPlacing(Exception):
    """The key's order is claimed but its first state is not kept yet (a concurrent first attempt)."""

    def __init__(self, order_number: str) -> None:
        super().__init__(f"order {order_number} is still being placed; retry")
        self.order_number = order_number


def request_hash(order: PlaceOrder) -> str:
    canonical = json.dumps(order.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(session: Session, holder: str, key: str, order: PlaceOrder, gateway: str) -> OrderState | None:
    """The order this holder's key placed before, whatever changed since (prices, the store's link, the
    customer's standing): looked up before anything is validated."""
    placement = placements.find_placement(session, holder, key)
    if placement is None:
        return None
    if placement.request_hash != request_hash(order):
        raise KeyReused("this key was already used with a different request body")
    if placement.initial_state is None:
        raise StillPlacing(placement.order_number)
    state = OrderState.model_validate(placement.initial_state)
    # Tokens are never stored: the same body (same hash) carries them again, in the same order.
    placed_payments = initial_payments(order, gateway, state.created_at, delivery_split(order, state.deliveries))
    for payment, placed in zip(state.payments, placed_payments, strict=True):
        payment.token = placed.token
    return state


def _source(session: Session, order: PlaceOrder) -> dict[int, SourcingDecision]:
    """Choose the locations of home deliveries that name none, by line group. Lines no enabled, online location
    holds refuse the order (naming each line)."""
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
        raise PlacementRefused(problems)
    return decisions


def _locations(session: Session, deliveries: list[Delivery]) -> dict[str, Location]:
    return {
        d.location_id: (catalogue.get_store(session, d.location_id), link_state(session, d.location_id))
        for d in deliveries
        if d.location_id is not None
    }


def prepare(session: Session, holder: str, order: PlaceOrder, key: str | None, gateway: str) -> tuple[OrderState, bool]:
    """The order's first state, kept with its number and read-model row; whether it is new (else the state the
    holder's key placed before)."""
    if key is not None and (state := _replay(session, holder, key, order, gateway)) is not None:
        return state, False
    products = catalogue.products_by_sku(session, {line.sku for line in order.lines})
    policy = policies.get_payment_policy(session)
    tax = policies.get_tax_policy(session)
    if problems := fulfilment_problems(order):
        raise PlacementRefused(problems)
    sourced = _source(session, order)
    locations = _locations(session, build(group_lines(order), sourced))
    now = datetime.now(UTC)
    catalogues = policies.get_order_catalogues(session)
    problems = placement_problems(
        order,
        products,
        None,
        policy,
        frozenset({gateway}),
        locations=locations,
        tax=tax,
        catalogues=catalogues,
        now=now,
        sourced=sourced,
    )
    if problems:
        raise PlacementRefused(problems)
    number = placements.claim_order_number(session, holder, key, request_hash(order))
    if number is None:  # a concurrent request with the same key claimed it: answer as it will
        return prepare(session, holder, order, key, gateway)
    state = new_order(number, order, products, now, policy, gateway, sourced, tax)
    placements.keep_initial_state(
        session, number, state.model_dump(mode="json", exclude={"payments": {"__all__": {"token"}}})
    )
    orders.write_projection(session, projection_of(state), datetime.now(UTC))  # read-your-writes: version 1, once
    session.commit()
    return state, True


async def start_order(temporal: Client, state: OrderState, task_queue: str) -> bool:
    """Start the order's workflow from its first state; False when it was started already (a retry)."""
    try:
        await temporal.start_workflow(
            ORDER_WORKFLOW,
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
        return False
    return True
