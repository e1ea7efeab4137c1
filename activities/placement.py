"""Placing an order, shared by `POST /orders` (api/orders_service.py) and an exchange's replacement order
(activities/returns.py): validate against the catalogue, sourcing and the payment policy, claim a number once per
idempotency key, keep the first state and its read-model row, and start the order's workflow once. Refusals are
exceptions the caller turns into its own answer (a 422 for the API, an alert on the return for an exchange)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import uuid4

from sqlmodel import Session
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from models import b2b_orders, queues
from models.b2b import B2BAccount
from models.catalogue import Product
from models.charges import CHARGE_ACTOR, ChargeDecision, delivery_charges, placement_charges
from models.db import b2b as b2b_db
from models.db import catalogue, orders, placements, policies
from models.db import estimates as estimates_db
from models.db import sourcing as sourcing_db
from models.db.custom_fields import get_custom_fields
from models.db.policies import get_queue_settings
from models.db.store_links import link_state
from models.deliveries import Delivery, build, group_lines, line_id
from models.delivery_placement import Location
from models.estimates import Locked, estimated_part, with_locked_prices
from models.money import MAX_AMOUNT
from models.order import ORDER_WORKFLOW, OrderState, order_workflow_id
from models.payment_policy import PaymentPolicy
from models.placement import (
    FieldProblem,
    delivery_split,
    fulfilment_problems,
    initial_payments,
    new_order,
    order_problems,
    paying_problems,
)
from models.placing import PlaceOrder, PlaceReplacement
from models.sourcing import LineToSource, SourcingDecision, source
from models.tax import TaxPolicy
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


# Fields PlaceOrder gained after keys were first kept: an order that leaves them out hashes as it did then.
_ADDED_LATER = (
    "custom_fields",
    "estimation_id",
    "fulfil_on",
    "customer_reference",
    "purchase_order_number",
    "unit_cost",
)


def request_hash(order: PlaceOrder) -> str:
    body = order.model_dump(mode="json")
    for part in (body, *body["lines"]):  # fields left out are hashed as before they existed (keys placed then)
        for field in _ADDED_LATER:
            if not part.get(field):
                part.pop(field, None)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
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
    charged = sum(charge.amount.amount for charge in state.charges if charge.actor == CHARGE_ACTOR)
    split = delivery_split(order, state.deliveries, charged)
    placed_payments = initial_payments(order, gateway, state.created_at, split)
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


def estimated(session: Session, order: PlaceOrder) -> Locked:
    """The prices and charges an order placed by its `estimation_id` is held to; refused, naming `estimation_id`,
    when the estimate is unknown, fulfilment-only, used, expired, or not of this order."""
    assert order.estimation_id is not None
    row = estimates_db.find(session, order.estimation_id)
    if row is None:
        raise _estimate_refused(f"no estimate {order.estimation_id}")
    if row.scope != "full":
        raise _estimate_refused(f"estimate {order.estimation_id} is fulfilment-only: it has no amounts to place")
    if row.used_by is not None:
        raise _estimate_refused(f"estimate {order.estimation_id} was already placed")
    if datetime.now(UTC) >= row.expires_at:
        raise _estimate_refused(f"estimate {order.estimation_id} expired at {row.expires_at.isoformat()}")
    if row.request != estimated_part(order):
        raise _estimate_refused(
            "the order differs from the estimate: its customer, fulfilment, lines and offers must be as estimated"
        )
    return Locked.model_validate(row.locked)


def _estimate_refused(message: str) -> PlacementRefused:
    return PlacementRefused([FieldProblem("estimation_id", message)])


@dataclass(frozen=True)
class Checked:
    """An order (or estimate) that passed the placement rules, with what it was judged on."""

    products: dict[str, Product]
    policy: PaymentPolicy
    tax: TaxPolicy
    sourced: dict[int, SourcingDecision]
    deliveries: list[Delivery]
    charges: list[ChargeDecision]
    account: tuple[str, B2BAccount] | None  # the B2B account whose buyer places it

    @property
    def charged(self) -> int:
        return sum(charge.amount.amount for charge in self.charges)


def check(
    session: Session, order: PlaceOrder, gateways: frozenset[str] | None, locked: Locked | None = None
) -> Checked:
    """Judge an order by the placement rules, sourcing its home deliveries and deciding its charges; refused with
    every problem named. `gateways` None judges an estimate: everything but its payments. `locked`: the prices and
    charges of the estimate it places."""
    products = catalogue.products_by_sku(session, {line.sku for line in order.lines})
    if locked is not None:
        products = with_locked_prices(products, locked)
    policy = policies.get_payment_policy(session)
    tax = locked.tax if locked is not None and locked.tax is not None else policies.get_tax_policy(session)
    fields = get_custom_fields(session)
    if problems := fulfilment_problems(order):
        raise PlacementRefused(problems)
    sourced = _source(session, order)
    deliveries = build(group_lines(order), sourced)
    locations = _locations(session, deliveries)
    given = order.given_payments
    currency = given[0][1].amount.currency if given else order.lines[0].unit_price.currency
    if locked is not None:
        charges = locked.charges
    elif isinstance(order, PlaceReplacement):
        charges = []  # an exchange's replacement costs nothing: the return decided it
    else:
        charge_policy, sourcing_policy = policies.get_charge_policy(session), policies.get_sourcing_policy(session)
        charges = delivery_charges(charge_policy, deliveries, currency, sourcing_policy)
    charged = sum(charge.amount.amount for charge in charges)
    catalogues, now = policies.get_order_catalogues(session), datetime.now(UTC)
    problems = order_problems(
        order, products, currency, locations=locations, tax=tax, fields=fields,
        catalogues=catalogues, now=now, sourced=sourced,
    )  # fmt: skip
    if gateways is not None:  # an order, not an estimate: its payments too
        problems += paying_problems(order, policy, gateways, charged, order_fine=not problems)
    # The B2B account its customer buys for (an exchange's replacement: the return decided it, nothing to judge).
    account = None if isinstance(order, PlaceReplacement) else b2b_db.account_of_buyer(session, order.customer.id)
    problems += b2b_orders.placement_problems(order, currency, account)
    if not problems and order.total() + charged > MAX_AMOUNT:
        problems.append(FieldProblem("lines", f"with its charges the order comes to more than {MAX_AMOUNT}"))
    if problems:
        raise PlacementRefused(problems)
    return Checked(products, policy, tax, sourced, deliveries, charges, account)


def prepare(
    session: Session, holder: str, order: PlaceOrder, key: str | None, gateway: str, quoted: Locked | None = None
) -> tuple[OrderState, bool]:
    """The order's first state, kept with its number and read-model row; whether it is new (else the state the
    holder's key placed before). An order naming an `estimation_id` places that estimate, once; `quoted`: the prices
    an accepted quote locked (activities/quotes.py)."""
    if key is not None and (state := _replay(session, holder, key, order, gateway)) is not None:
        return state, False
    locked = estimated(session, order) if order.estimation_id is not None else quoted
    checked = check(session, order, frozenset({gateway}), locked)
    if order.estimation_id is not None:
        placing = f"{holder}:{key}" if key is not None else f"{holder}:{uuid4().hex}"
        if not estimates_db.use(session, order.estimation_id, placing):
            raise _estimate_refused(f"estimate {order.estimation_id} was already placed")
    number = placements.claim_order_number(session, holder, key, request_hash(order))
    if number is None:  # a concurrent request with the same key claimed it: answer as it will
        return prepare(session, holder, order, key, gateway, quoted)
    now = datetime.now(UTC)
    charges = placement_charges(checked.charges, checked.tax, now)
    state = new_order(
        number, order, checked.products, now, checked.policy, gateway, checked.sourced, checked.tax, charges
    )
    b2b_orders.b2b_at_placement(state, order, checked.account)
    state.queue = queues.lock(get_queue_settings(session), state.channel.value, state.fulfilment_method)
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
