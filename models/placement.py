"""Pure rules for placing an order: validation against the catalogue and the payment policy, whether Head Office
must approve it, and the order's first state."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from models import order_catalogues, scheduling
from models.catalogue import Product, Store
from models.custom_fields import CustomFieldSettings, custom_field_problems
from models.deliveries import Delivery, DeliveryMethod, DeliveryStatus, build, group_lines, line_id, shares
from models.delivery_placement import FieldProblem as FieldProblem  # re-exported: callers name placement problems
from models.delivery_placement import Location, location_problems
from models.delivery_placement import fulfilment_problems as fulfilment_problems
from models.journey import record
from models.money import MAX_AMOUNT, Money
from models.order import LineFulfilment, Note, OrderLine, OrderState
from models.order_catalogues import OrderCatalogues
from models.order_tax import line_rates, tax_problems
from models.payment_policy import PaymentPolicy
from models.payments import (
    BALANCE_METHODS,
    FIRST_TAKEN_METHODS,
    GATEWAY_MODES,
    STORED_VALUE_METHODS,
    WALLET_GATEWAY,
    Charge,
    PaymentMode,
    PaymentRecord,
    PaymentStatus,
)
from models.placing import PaymentRequest, PlaceOrder, PlaceReplacement
from models.sourcing import SourcingDecision
from models.store_link import LinkState
from models.tax import TaxPolicy


def placement_problems(
    order: PlaceOrder,
    products: dict[str, Product],
    store: Store | None,
    policy: PaymentPolicy | None = None,
    gateways: frozenset[str] = frozenset({"test"}),
    link: tuple[LinkState, datetime | None] = (LinkState.unmonitored, None),
    locations: Mapping[str, Location] | None = None,
    tax: TaxPolicy | None = None,
    fields: CustomFieldSettings | None = None,
    charges: int = 0,
    catalogues: OrderCatalogues | None = None,
    now: datetime | None = None,
    sourced: Mapping[int, SourcingDecision] | None = None,
) -> list[FieldProblem]:
    """Everything wrong with an order before anything starts; empty when it may be placed: `order_problems`, then
    its payments. `charges`: what the charges decided at placement come to (models/charges.py), which the payments
    cover with the lines."""
    currency = order.given_payments[0][1].amount.currency
    problems = order_problems(
        order, products, currency, store, link, locations, tax, fields, catalogues=catalogues, now=now, sourced=sourced
    )
    return problems + paying_problems(order, policy or PaymentPolicy(), gateways, charges, order_fine=not problems)


def paying_problems(
    order: PlaceOrder, policy: PaymentPolicy, gateways: frozenset[str], charges: int, order_fine: bool
) -> list[FieldProblem]:
    """What is wrong with how an order is paid: every payment in its first payment's currency and, when nothing is
    wrong with the order itself (`order_fine`), `payment_problems`."""
    given = order.given_payments
    currency = given[0][1].amount.currency
    problems = [
        FieldProblem(f"{path}.amount.currency", f"every amount must be in {currency}")
        for path, payment in given[1:]
        if payment.amount.currency != currency
    ]
    if order_fine and not problems:
        problems.extend(payment_problems(order, policy, gateways, charges))
    return problems


def order_problems(
    order: PlaceOrder,
    products: dict[str, Product],
    currency: str,
    store: Store | None = None,
    link: tuple[LinkState, datetime | None] = (LinkState.unmonitored, None),
    locations: Mapping[str, Location] | None = None,
    tax: TaxPolicy | None = None,
    fields: CustomFieldSettings | None = None,
    *,
    catalogues: OrderCatalogues | None = None,
    now: datetime | None = None,
    sourced: Mapping[int, SourcingDecision] | None = None,
) -> list[FieldProblem]:
    """Everything wrong with what is ordered and where it goes, whatever pays for it: the rules an order and an
    estimate (models/estimates.py) share. `currency` is the order's.

    `store` is the location of the order's first delivery and `link` its link state and since when
    (models/store_link.py): an offline store takes no orders. `locations` gives every other location the lines
    name, with its link (models/delivery_placement.py). `fields`: the custom fields defined (models/custom_fields.py);
    an exchange's replacement is placed by its return and carries none. `catalogues` say what may be ordered
    (models/order_catalogues.py) at `now`, the moment of ordering (the clock when left out), judged with the
    locations `sourced` chose."""
    now = now or datetime.now(UTC)
    problems = fulfilment_problems(order)
    if not problems:
        first = group_lines(order)[0].location_id
        named = {first: (store, link)} if first is not None else {}
        problems.extend(location_problems(order, {**named, **(locations or {})}))
    problems.extend(scheduling.schedule_problems(order, now))
    free = isinstance(order, PlaceReplacement)  # an exchange's replacement: its lines cost nothing
    for index, line in enumerate(order.lines):
        problems.extend(_line_problems(index, line.sku, line.unit_price, products, currency, free))
    # An exchange's replacement swaps goods already sold: what is orderable now does not bind it.
    if not problems and not free and catalogues is not None and catalogues.catalogues:
        problems.extend(_catalogue_problems(order, products, catalogues, now, sourced or {}))
    for index, offer in enumerate(order.loyalty_offers):
        if offer.discount.currency != currency:
            problems.append(
                FieldProblem(f"loyalty_offers[{index}].discount.currency", f"every amount must be in {currency}")
            )
    if not free:
        by_line = [line.custom_fields for line in order.lines]
        problems += [FieldProblem(*p) for p in custom_field_problems(order.custom_fields, by_line, fields or _NONE)]
    if all(line.sku in products for line in order.lines):
        problems.extend(tax_problems(order, [products[line.sku].tax_class for line in order.lines], tax or TaxPolicy()))
    if order.gross() > MAX_AMOUNT:
        problems.append(
            FieldProblem("lines", f"the order comes to more than {Money(amount=MAX_AMOUNT, currency=currency)}")
        )
    return problems


_NONE = CustomFieldSettings()


def _line_problems(
    index: int, sku: str, price: Money, products: dict[str, Product], currency: str, free: bool = False
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
    elif free and price.amount != 0:
        problems.append(FieldProblem(f"lines[{index}].unit_price.amount", f"a replacement's {sku} costs nothing"))
    elif not free and price.amount != product.price.amount:
        problems.append(
            FieldProblem(f"lines[{index}].unit_price.amount", f"{sku} costs {product.price.amount}, not {price.amount}")
        )
    if price.currency != currency:
        problems.append(FieldProblem(f"lines[{index}].unit_price.currency", f"every amount must be in {currency}"))
    return problems


def _catalogue_problems(
    order: PlaceOrder,
    products: dict[str, Product],
    catalogues: OrderCatalogues,
    now: datetime,
    sourced: Mapping[int, SourcingDecision],
) -> list[FieldProblem]:
    """Each line outside every catalogue that applies to how and from where it is fulfilled (or closed now)."""
    fulfilled_by = {
        line: (d.method.value, d.location_id) for d in build(group_lines(order), dict(sourced)) for line in d.line_ids
    }
    problems = []
    for index, line in enumerate(order.lines):
        method, location_id = fulfilled_by[line_id(index)]
        wanted = order_catalogues.LineToOrder(
            sku=line.sku, style=products[line.sku].style, method=method, location_id=location_id
        )
        if (why := order_catalogues.refusal(catalogues.catalogues, wanted, now)) is not None:
            problems.append(FieldProblem(f"lines[{index}].sku", why))
    return problems


def payment_problems(
    order: PlaceOrder, policy: PaymentPolicy, gateways: frozenset[str], charges: int = 0
) -> list[FieldProblem]:
    """What is wrong with an order's payments (which cover its lines and its `charges`); the caller has checked
    every amount is in the order's currency."""
    problems: list[FieldProblem] = []
    given = order.given_payments
    if order.customer.id in policy.blocked_customers:
        problems.append(FieldProblem("customer.id", f"customer {order.customer.id} is blocked; the order is refused"))
    if len(given) == 2:
        stored_value = [path for path, payment in given if payment.method in FIRST_TAKEN_METHODS]
        if len(stored_value) != 1:
            problems.append(
                FieldProblem(
                    "payments",
                    "two payments must be gift card or wallet funds (or account credit) plus one other payment method",
                )
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
        if payment.method == "account_credit" and payment.mode is not PaymentMode.auth_capture:
            problems.append(FieldProblem(f"{path}.mode", "account credit is spent at once through Baton: auth_capture"))
        if payment.mode in GATEWAY_MODES and payment.gateway is not None and payment.gateway not in gateways:
            known = ", ".join(sorted(gateways))
            problems.append(FieldProblem(f"{path}.gateway", f"unknown gateway {payment.gateway!r} (known: {known})"))
    paid = sum(payment.amount.amount for _path, payment in given)
    due = order.total() + charges
    if not problems and paid != due:
        field = f"{given[0][0]}.amount.amount" if len(given) == 1 else "payments"
        problems.append(FieldProblem(field, f"the order comes to {due}, not {paid}"))
    return problems


def approval_reason(order: PlaceOrder, currency: str, policy: PaymentPolicy) -> str | None:
    """Why Head Office must approve this order before it goes ahead, or None. Amounts are judged on the gross
    (before discounts), so a large discount cannot slip an order under the limit."""
    return approval_reason_of(order.channel.value, order.customer.id, order.gross(), order.discount(), currency, policy)


def approval_reason_of(
    channel: str, customer_id: str, gross: int, discount: int, currency: str, policy: PaymentPolicy
) -> str | None:
    """`approval_reason` from the facts it judges (also ./baton backtest, on orders already placed)."""
    if max(0, gross - discount) == 0:
        return "the order comes to nothing"
    if channel in policy.approval_channels:
        return f"orders from the {channel} channel need approval"
    if customer_id in policy.approval_customers:
        return f"customer {customer_id} needs approval for every order"
    limit = policy.approval_above.get(currency)
    if limit is not None and gross > limit:
        gross_money, limit_money = Money(amount=gross, currency=currency), Money(amount=limit, currency=currency)
        return f"the order ({gross_money} before discounts) is above {limit_money}"
    if discount > gross * policy.approval_discount_share:
        share = f"{policy.approval_discount_share:.0%}"
        return f"the discount ({Money(amount=discount, currency=currency)}) is more than {share} of the order"
    return None


def delivery_split(order: PlaceOrder, deliveries: list[Delivery], charges: int = 0) -> list[tuple[str, int]]:
    """Each delivery's share of the order's total, when one `authorise` payment pays for several deliveries (it is
    then authorised per delivery, and each delivery captures its own); empty otherwise."""
    given = order.given_payments
    if len(deliveries) < 2 or len(given) != 1 or given[0][1].mode is not PaymentMode.authorise:
        return []
    totals = {line_id(i): line.unit_price.amount * line.quantity for i, line in enumerate(order.lines)}
    due = order.total() + charges
    return [(delivery_id, share) for delivery_id, share in shares(deliveries, totals, due) if share > 0]


def initial_payments(
    order: PlaceOrder, default_gateway: str, now: datetime, split: list[tuple[str, int]] | None = None
) -> list[PaymentRecord]:
    """The order's payments as placed, stored value first (it is taken first). A `split` (`delivery_split`) makes
    the one authorisation one per delivery, each for its share."""
    requests = sorted((p for _path, p in order.given_payments), key=lambda p: p.method not in FIRST_TAKEN_METHODS)
    parts: list[tuple[PaymentRequest, str | None]]
    if split:
        (request,) = requests
        parts = [
            (request.model_copy(update={"amount": Money(amount=share, currency=request.amount.currency)}), delivery)
            for delivery, share in split
        ]
    else:
        parts = [(request, None) for request in requests]
    actor = f"{order.channel}:{order.customer.id}"
    records = []
    for index, (request, delivery_id) in enumerate(parts, start=1):
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
                gateway=_gateway_of(request, default_gateway) if request.mode in GATEWAY_MODES else None,
                token=request.token,
                delivery_id=delivery_id,
            )
        )
    return records


def _gateway_of(request: PaymentRequest, default_gateway: str) -> str:
    """Wallet funds and account credit are Baton's own: spent through the internal wallet gateway
    (activities/gateways/wallet.py)."""
    return WALLET_GATEWAY if request.method in BALANCE_METHODS else (request.gateway or default_gateway)


def new_order(
    order_number: str,
    order: PlaceOrder,
    products: dict[str, Product],
    now: datetime,
    policy: PaymentPolicy | None = None,
    default_gateway: str = "test",
    sourced: dict[int, SourcingDecision] | None = None,
    tax: TaxPolicy | None = None,
    charges: list[Charge] | None = None,
) -> OrderState:
    """The order as it is born: lines numbered L1.., its deliveries (`sourced`: the sourcing decision of each line
    group that named no location, by the group's index), its payments, the charges decided at placement
    (models/charges.py), notes from the customer, and whether Head Office must approve it (under the payment policy in
    force, kept on the order)."""
    policy = policy or PaymentPolicy()
    rates = line_rates(order, [products[line.sku].tax_class for line in order.lines], tax or TaxPolicy())
    deliveries = build(group_lines(order), sourced or {})
    delivery = deliveries[0]  # the order's own journey; further deliveries have their own stages
    home = delivery.method is DeliveryMethod.home_delivery
    assert all(d.location_id for d in deliveries), "placement sources every delivery before the order is born"
    assert delivery.location_id is not None
    for further in deliveries[1:]:
        waits = further.release_at is not None and further.release_at > now  # a preorder of its own
        further.status = DeliveryStatus.awaiting_release if waits else DeliveryStatus.placed
        further.status_since = now
    shipped = {line for d in deliveries if d.method is DeliveryMethod.home_delivery for line in d.line_ids}
    charged = sum(charge.amount.amount for charge in charges or [])
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
                fulfilment=LineFulfilment.home_delivery if f"L{index}" in shipped else LineFulfilment.click_and_collect,
                electronic=products[line.sku].electronic,
                tax_class=products[line.sku].tax_class,
                tax_rate_bp=rates[index - 1] or 0,
                custom_fields=dict(line.custom_fields),
            )
            for index, line in enumerate(order.lines, start=1)
        ],
        payments=initial_payments(order, default_gateway, now, delivery_split(order, deliveries, charged)),
        loyalty_offers=order.loyalty_offers,
        charges=charges or [],
        payment_policy=policy,
        release_at=order.release_at,
        backorder_for=order.backorder_for,
        custom_fields=dict(order.custom_fields),
    )
    scheduling.scheduled(state, order)  # a scheduled order waits for its date as a preorder for its release
    state.quote_id = getattr(order, "quote_id", None)  # an accepted quote's order (models/placing.py PlaceQuoted)
    if isinstance(order, PlaceReplacement):  # nothing to pay and nothing to approve: the return decided it
        state.replaces = order.replaces
    else:
        state.approval_reason = approval_reason(order, state.currency, policy)
    actor = f"{order.channel}:{order.customer.id}"
    record(state, now, actor, "order_placed", f"{len(state.lines)} line(s), web reference {order.web_reference}")
    state.notes = [Note(at=now, actor=actor, text=text, client_facing=True) for text in order.notes]
    return state
