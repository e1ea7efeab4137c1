"""Pure rules for placing an order: validation against the catalogue, and the order's first state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from models.catalogue import LocationKind, Product, Store
from models.journey import record
from models.money import Money
from models.order import Note, OrderLine, OrderState, PlaceOrder
from models.payment_policy import PaymentPolicy
from models.settlement import approval_reason, initial_payments, payment_problems
from models.store_link import LinkState, click_and_collect_refusal


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str


def placement_problems(
    order: PlaceOrder,
    products: dict[str, Product],
    store: Store | None,
    policy: PaymentPolicy | None = None,
    gateways: frozenset[str] = frozenset({"test"}),
    link: tuple[LinkState, datetime | None] = (LinkState.unmonitored, None),
) -> list[FieldProblem]:
    """Everything wrong with an order before anything starts; empty when it may be placed.

    `link` is the store's link state and since when (models/store_link.py): an offline store takes no orders."""
    problems: list[FieldProblem] = []
    store_field = "fulfilment.store_id"
    if store is None or store.kind != LocationKind.store:
        problems.append(FieldProblem(store_field, f"unknown store {order.fulfilment.store_id!r}"))
    elif not store.click_and_collect_enabled:
        problems.append(FieldProblem(store_field, f"store {store.store_id} is not enabled for click & collect"))
    elif offline := click_and_collect_refusal(store.store_id, *link):
        problems.append(FieldProblem(store_field, offline))

    given = order.given_payments
    currency = given[0][1].amount.currency
    for path, payment in given[1:]:
        if payment.amount.currency != currency:
            problems.append(FieldProblem(f"{path}.amount.currency", f"every amount must be in {currency}"))
    for index, line in enumerate(order.lines):
        product = products.get(line.sku)
        if product is None:
            problems.append(FieldProblem(f"lines[{index}].sku", f"unknown SKU {line.sku!r}"))
            continue
        if line.unit_price.currency != product.price.currency:
            problems.append(
                FieldProblem(
                    f"lines[{index}].unit_price.currency",
                    f"{line.sku} is sold in {product.price.currency}, not {line.unit_price.currency}",
                )
            )
        elif line.unit_price.amount != product.price.amount:
            problems.append(
                FieldProblem(
                    f"lines[{index}].unit_price.amount",
                    f"{line.sku} costs {product.price.amount}, not {line.unit_price.amount}",
                )
            )
        if line.unit_price.currency != currency:
            problems.append(FieldProblem(f"lines[{index}].unit_price.currency", f"every amount must be in {currency}"))
    for index, offer in enumerate(order.loyalty_offers):
        if offer.discount.currency != currency:
            problems.append(
                FieldProblem(f"loyalty_offers[{index}].discount.currency", f"every amount must be in {currency}")
            )
    if not problems:
        problems.extend(
            FieldProblem(p.field, p.message)
            for p in payment_problems(order, order_total(order), policy or PaymentPolicy(), gateways)
        )
    return problems


def order_total(order: PlaceOrder) -> int:
    gross = sum(line.unit_price.amount * line.quantity for line in order.lines)
    discount = sum(offer.discount.amount for offer in order.loyalty_offers)
    return max(0, gross - discount)


def new_order(
    order_number: str,
    order: PlaceOrder,
    products: dict[str, Product],
    now: datetime,
    policy: PaymentPolicy | None = None,
    default_gateway: str = "test",
) -> OrderState:
    """The order as it is born: lines numbered L1.., its payments, notes from the customer, and whether Head
    Office must approve it (under the payment policy in force, kept on the order)."""
    policy = policy or PaymentPolicy()
    state = OrderState(
        order_number=order_number,
        web_reference=order.web_reference,
        channel=order.channel,
        customer=order.customer,
        store_id=order.fulfilment.store_id,
        fulfilment_method=order.fulfilment.method,
        status_since=now,
        created_at=now,
        lines=[
            OrderLine(
                line_id=f"L{index}",
                sku=line.sku,
                style=products[line.sku].style,
                size=products[line.sku].size,
                colour=products[line.sku].colour,
                quantity=line.quantity,
                unit_price=line.unit_price,
            )
            for index, line in enumerate(order.lines, start=1)
        ],
        payments=initial_payments(order, default_gateway, now),
        loyalty_offers=order.loyalty_offers,
        payment_policy=policy,
    )
    state.approval_reason = approval_reason(order, Money(amount=order_total(order), currency=state.currency), policy)
    actor = f"{order.channel}:{order.customer.id}"
    record(state, now, actor, "order_placed", f"{len(state.lines)} line(s), web reference {order.web_reference}")
    state.notes = [Note(at=now, actor=actor, text=text, client_facing=True) for text in order.notes]
    return state
