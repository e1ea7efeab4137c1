"""Exchanges: a return line may ask for another SKU instead of its money back (`exchange_for`). Like for like only:
another variant of the same product (its style), or any product of the unit price the customer paid. Units
accepted at inspection on such a line are not refunded: the return places one replacement order for them (zero
priced, the same customer, delivered the way the original line was), keyed by the return so it is placed once.
Units written off on an exchange line are neither refunded nor replaced. Pure: the rules and the replacement's
body; activities/returns.py places it."""

from __future__ import annotations

from collections.abc import Mapping

from models.catalogue import Product
from models.deliveries import DeliveryMethod
from models.delivery_placement import FieldProblem
from models.money import Money
from models.payments import PaymentMode
from models.placing import (
    Fulfilment,
    LineRequest,
    PaymentRequest,
    PlaceReplacement,
    Replaces,
)
from models.returns import OrderFacts, RequestReturn, ReturnState
from models.views import OrderView

EXCHANGE_METHOD = "exchange"  # the replacement's one payment: zero, taken at once, nothing through a gateway


def exchange_key(return_id: str) -> str:
    """The replacement's idempotency key: a retried placement answers the order placed the first time."""
    return f"{return_id}:exchange"


def exchange_problems(facts: OrderFacts, request: RequestReturn, products: Mapping[str, Product]) -> list[FieldProblem]:
    """Why each asked exchange is not like for like (empty: every exchange may go ahead). `products` holds the
    catalogue's entry of every SKU asked for."""
    problems = []
    for index, line in enumerate(request.lines):
        if line.exchange_for is None:
            continue
        field = f"lines.{index}.exchange_for"
        known = facts.lines.get(line.line_id)
        if known is None:
            continue  # not a line of the order: the return policy rejects it with its reason
        sku, style, _received = known
        wanted = products.get(line.exchange_for.sku)
        if wanted is None:
            problems.append(FieldProblem(field, f"unknown SKU {line.exchange_for.sku!r}"))
            continue
        paid = Money(amount=facts.prices.get(line.line_id, 0), currency=facts.currency)
        if wanted.style == style or wanted.price == paid:
            continue
        problems.append(
            FieldProblem(
                field,
                f"{wanted.sku} costs {wanted.price}, {line.line_id} ({sku}) cost {paid}: an exchange is for another "
                f"variant of {style} or a product of the same price",
            )
        )
    return problems


def exchanged(state: ReturnState) -> dict[str, tuple[str, int]]:
    """line_id -> (the SKU sent instead, units): the units accepted at inspection on exchange lines."""
    wanted = {line.line_id: line.exchange_for.sku for line in state.lines if line.exchange_for is not None}
    return {
        line.line_id: (wanted[line.line_id], line.accepted)
        for line in state.inspected
        if line.line_id in wanted and line.accepted
    }


def to_refund(state: ReturnState) -> dict[str, int]:
    """The units refunded per line: accepted or written off, except on exchange lines (their accepted units are
    replaced, their written-off units neither refunded nor replaced)."""
    swapping = {line.line_id for line in state.lines if line.exchange_for is not None}
    return {
        line.line_id: line.accepted + line.written_off
        for line in state.inspected
        if line.line_id not in swapping and line.accepted + line.written_off
    }


def _fulfilment(order: OrderView, state: ReturnState, line_id: str) -> Fulfilment:
    """The original line's way to the customer: home delivery to its address, else collected at the store the
    return came back to (or, for a return sent to a warehouse, the store it was collected from)."""
    delivery = next((d for d in order.deliveries if line_id in d.lines), None)
    if delivery is not None and delivery.method is DeliveryMethod.home_delivery and delivery.address is not None:
        return Fulfilment(method="home_delivery", address=delivery.address)
    if order.delivery_address is not None and delivery is None and order.fulfilment_method == "home_delivery":
        return Fulfilment(method="home_delivery", address=order.delivery_address)
    store = state.location_id if state.method == "store" else (delivery.location_id if delivery else None)
    return Fulfilment(method="click_and_collect", store_id=store or order.store_id)


def replacement_order(state: ReturnState, order: OrderView) -> PlaceReplacement | None:
    """The replacement order for the return's exchanged units, or None when nothing is to be replaced."""
    swaps = exchanged(state)
    if not swaps:
        return None
    currency = order.total.currency
    lines = [
        LineRequest(
            sku=sku,
            quantity=units,
            unit_price=Money(amount=0, currency=currency),
            fulfilment=_fulfilment(order, state, line_id),
        )
        for line_id, (sku, units) in sorted(swaps.items())
    ]
    first = lines[0].fulfilment
    assert first is not None
    nothing = Money(amount=0, currency=currency)
    return PlaceReplacement(
        web_reference=exchange_key(state.return_id),
        channel=order.channel,
        customer=order.customer,
        fulfilment=first,
        lines=lines,
        payment=PaymentRequest(
            mode=PaymentMode.prepaid, method=EXCHANGE_METHOD, amount=nothing, reference=state.return_id
        ),
        notes=[f"Replacement for order {order.order_number}, return {state.return_id}"],
        replaces=Replaces(order_number=order.order_number, return_id=state.return_id),
    )
