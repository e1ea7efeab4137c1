"""Pure rules for placing an order: validation against the catalogue and the payment policy, whether Head Office
must approve it, and the order's first state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from models.catalogue import LocationKind, Product, Store
from models.deliveries import DeliveryMethod, build, group_lines
from models.journey import record
from models.money import MAX_AMOUNT, Money
from models.order import LineFulfilment, Note, OrderLine, OrderState
from models.payment_policy import PaymentPolicy
from models.payments import GATEWAY_MODES, STORED_VALUE_METHODS, PaymentMode, PaymentRecord, PaymentStatus
from models.placing import PlaceOrder
from models.sourcing import SourcingDecision
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

    `store` is the location of the order's delivery (the store it names, or the location that ships it, given or
    sourced), `link` that location's link state and since when (models/store_link.py): an offline store takes no
    orders."""
    problems = fulfilment_problems(order)
    if not problems:
        problems.extend(_location_problems(order, store, link))
    given = order.given_payments
    currency = given[0][1].amount.currency
    for path, payment in given[1:]:
        if payment.amount.currency != currency:
            problems.append(FieldProblem(f"{path}.amount.currency", f"every amount must be in {currency}"))
    for index, line in enumerate(order.lines):
        problems.extend(_line_problems(index, line.sku, line.unit_price, products, currency))
    for index, offer in enumerate(order.loyalty_offers):
        if offer.discount.currency != currency:
            problems.append(
                FieldProblem(f"loyalty_offers[{index}].discount.currency", f"every amount must be in {currency}")
            )
    if order.gross() > MAX_AMOUNT:
        problems.append(
            FieldProblem("lines", f"the order comes to more than {Money(amount=MAX_AMOUNT, currency=currency)}")
        )
    if not problems:
        problems.extend(payment_problems(order, policy or PaymentPolicy(), gateways))
    return problems


def fulfilment_problems(order: PlaceOrder) -> list[FieldProblem]:
    """What each fulfilment lacks for its method, and whether the lines make one delivery (the order is carried
    out as one delivery until per-delivery stages are tracked)."""
    problems: list[FieldProblem] = []
    given = [("fulfilment", order.fulfilment)]
    given += [(f"lines[{i}].fulfilment", line.fulfilment) for i, line in enumerate(order.lines) if line.fulfilment]
    for path, fulfilment in given:
        home = fulfilment.method == DeliveryMethod.home_delivery
        if not home and fulfilment.store_id is None:
            problems.append(FieldProblem(f"{path}.store_id", f"{fulfilment.method} needs the store"))
        if home and fulfilment.address is None:
            problems.append(FieldProblem(f"{path}.address", "home_delivery needs the delivery address"))
        if home and fulfilment.store_id is not None:
            problems.append(FieldProblem(f"{path}.store_id", "home_delivery names its location_id, not a store_id"))
        if not home and (fulfilment.address is not None or fulfilment.location_id is not None):
            problems.append(
                FieldProblem(path, f"address and location_id are for home_delivery, not {fulfilment.method}")
            )
        if fulfilment.method == DeliveryMethod.direct_sale:
            problems.append(
                FieldProblem(f"{path}.method", "direct_sale is not carried out yet: place it as click_and_collect")
            )
    groups = group_lines(order)
    if not problems and len(groups) > 1:
        problems.append(
            FieldProblem("lines", f"the lines make {len(groups)} deliveries; an order is carried out as one for now")
        )
    return problems


def fulfilment_path(order: PlaceOrder) -> str:
    """Where the order's delivery was given: its first line's own fulfilment, else the order's."""
    first = group_lines(order)[0].line_indexes[0]
    return f"lines[{first}].fulfilment" if order.lines[first].fulfilment else "fulfilment"


def _location_problems(
    order: PlaceOrder, store: Store | None, link: tuple[LinkState, datetime | None]
) -> list[FieldProblem]:
    group = group_lines(order)[0]
    path = fulfilment_path(order)
    if group.method is DeliveryMethod.home_delivery:
        if group.location_id is None:
            return []  # sourced: only enabled, online locations are chosen
        field = f"{path}.location_id"
        if store is None:
            return [FieldProblem(field, f"unknown location {group.location_id!r}")]
        if offline := click_and_collect_refusal(store.store_id, *link):
            return [FieldProblem(field, offline.replace("click & collect", "shipping"))]
        return []
    field = f"{path}.store_id"
    if store is None or store.kind != LocationKind.store:
        return [FieldProblem(field, f"unknown store {group.location_id!r}")]
    if not store.click_and_collect_enabled:
        return [FieldProblem(field, f"store {store.store_id} is not enabled for click & collect")]
    if offline := click_and_collect_refusal(store.store_id, *link):
        return [FieldProblem(field, offline)]
    return []


def _line_problems(
    index: int, sku: str, price: Money, products: dict[str, Product], currency: str
) -> list[FieldProblem]:
    product = products.get(sku)
    if product is None:
        return [FieldProblem(f"lines[{index}].sku", f"unknown SKU {sku!r}")]
    problems = []
    if price.currency != product.price.currency:
        problems.append(
            FieldProblem(
                f"lines[{index}].unit_price.currency",
                f"{sku} is sold in {product.price.currency}, not {price.currency}",
            )
        )
    elif price.amount != product.price.amount:
        problems.append(
            FieldProblem(f"lines[{index}].unit_price.amount", f"{sku} costs {product.price.amount}, not {price.amount}")
        )
    if price.currency != currency:
        problems.append(FieldProblem(f"lines[{index}].unit_price.currency", f"every amount must be in {currency}"))
    return problems


def payment_problems(order: PlaceOrder, policy: PaymentPolicy, gateways: frozenset[str]) -> list[FieldProblem]:
    """What is wrong with an order's payments; the caller has checked every amount is in the order's currency."""
    problems: list[FieldProblem] = []
    given = order.given_payments
    if order.customer.id in policy.blocked_customers:
        problems.append(FieldProblem("customer.id", f"customer {order.customer.id} is blocked; the order is refused"))
    if len(given) == 2:
        stored_value = [path for path, payment in given if payment.method in STORED_VALUE_METHODS]
        if len(stored_value) != 1:
            problems.append(
                FieldProblem("payments", "two payments must be gift card or wallet funds plus one other payment method")
            )
        for path, payment in given:
            if payment.amount.amount <= 0:
                problems.append(FieldProblem(f"{path}.amount.amount", "each of two payments must be more than zero"))
    for path, payment in given:
        if payment.method in STORED_VALUE_METHODS and payment.mode not in (
            PaymentMode.prepaid,
            PaymentMode.auth_capture,
        ):
            problems.append(
                FieldProblem(f"{path}.mode", f"{payment.method} funds are taken at once: prepaid or auth_capture")
            )
        if payment.mode in GATEWAY_MODES and payment.gateway is not None and payment.gateway not in gateways:
            known = ", ".join(sorted(gateways))
            problems.append(FieldProblem(f"{path}.gateway", f"unknown gateway {payment.gateway!r} (known: {known})"))
    paid = sum(payment.amount.amount for _path, payment in given)
    if not problems and paid != order.total():
        field = f"{given[0][0]}.amount.amount" if len(given) == 1 else "payments"
        problems.append(FieldProblem(field, f"the order comes to {order.total()}, not {paid}"))
    return problems


def approval_reason(order: PlaceOrder, currency: str, policy: PaymentPolicy) -> str | None:
    """Why Head Office must approve this order before it goes ahead, or None. Amounts are judged on the gross
    (before discounts), so a large discount cannot slip an order under the limit."""
    gross, discount = order.gross(), order.discount()
    if order.total() == 0:
        return "the order comes to nothing"
    if order.channel.value in policy.approval_channels:
        return f"orders from the {order.channel} channel need approval"
    if order.customer.id in policy.approval_customers:
        return f"customer {order.customer.id} needs approval for every order"
    limit = policy.approval_above.get(currency)
    if limit is not None and gross > limit:
        gross_money, limit_money = Money(amount=gross, currency=currency), Money(amount=limit, currency=currency)
        return f"the order ({gross_money} before discounts) is above {limit_money}"
    if discount > gross * policy.approval_discount_share:
        share = f"{policy.approval_discount_share:.0%}"
        return f"the discount ({Money(amount=discount, currency=currency)}) is more than {share} of the order"
    return None


def initial_payments(order: PlaceOrder, default_gateway: str, now: datetime) -> list[PaymentRecord]:
    """The order's payments as placed, stored value first (it is taken first)."""
    requests = sorted((p for _path, p in order.given_payments), key=lambda p: p.method not in STORED_VALUE_METHODS)
    actor = f"{order.channel}:{order.customer.id}"
    records = []
    for index, request in enumerate(requests, start=1):
        first_status: dict[PaymentMode, PaymentStatus] = {
            PaymentMode.prepaid: "taken",
            PaymentMode.auth_capture: "pending",
            PaymentMode.authorise: "pending",
            PaymentMode.offline: "awaiting",
            PaymentMode.on_collection: "due",
        }
        status = first_status[request.mode]
        if request.amount.amount == 0:
            status = "taken"  # nothing to pay (a fully discounted order, approved by Head Office): nothing to ask
        records.append(
            PaymentRecord(
                payment_id=f"P{index}",
                mode=request.mode.value,
                method=request.method,
                amount=request.amount,
                status=status,
                at=now if status == "taken" else None,
                actor=actor if status == "taken" else "",
                reference=request.reference or "",
                gateway=(request.gateway or default_gateway) if request.mode in GATEWAY_MODES else None,
                token=request.token,
            )
        )
    return records


def new_order(
    order_number: str,
    order: PlaceOrder,
    products: dict[str, Product],
    now: datetime,
    policy: PaymentPolicy | None = None,
    default_gateway: str = "test",
    sourced: dict[int, SourcingDecision] | None = None,
) -> OrderState:
    """The order as it is born: lines numbered L1.., its deliveries (`sourced`: the sourcing decision of each line
    group that named no location, by the group's index), its payments, notes from the customer, and whether Head
    Office must approve it (under the payment policy in force, kept on the order)."""
    policy = policy or PaymentPolicy()
    deliveries = build(group_lines(order), sourced or {})
    delivery = deliveries[0]
    home = delivery.method is DeliveryMethod.home_delivery
    assert delivery.location_id is not None, "placement sources every delivery before the order is born"
    state = OrderState(
        order_number=order_number,
        web_reference=order.web_reference,
        channel=order.channel,
        customer=order.customer,
        store_id=delivery.location_id,
        fulfilment_method=delivery.method.value,
        deliveries=deliveries,
        delivery_address=delivery.address if home else None,
        dispatch_location=delivery.location_id if home else None,
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
                fulfilment=LineFulfilment.home_delivery if home else LineFulfilment.click_and_collect,
            )
            for index, line in enumerate(order.lines, start=1)
        ],
        payments=initial_payments(order, default_gateway, now),
        loyalty_offers=order.loyalty_offers,
        payment_policy=policy,
    )
    state.approval_reason = approval_reason(order, state.currency, policy)
    actor = f"{order.channel}:{order.customer.id}"
    record(state, now, actor, "order_placed", f"{len(state.lines)} line(s), web reference {order.web_reference}")
    state.notes = [Note(at=now, actor=actor, text=text, client_facing=True) for text in order.notes]
    return state
