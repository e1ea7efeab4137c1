"""What of an order leaves its workflow, decided in one place: one function per audience.

- `for_api`: Head Office, channels and the pages (the read model stores it; `GET /orders/{n}` serves it);
- `for_store`: what a store's webhook receives with each message (what it needs to pick and hand over);
- `for_event`: the summary every outbound event carries;
- `for_extract`: what an XML notification extract says about the order.

Each is built field by field from the state, so nothing internal leaks by accident: never a card token, an
internal counter (operation or message numbers, seen event ids) or the payment policy's lists.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from models.b2b import B2BOrder
from models.collection import collection_code
from models.custom_fields import CustomValue
from models.delivery_views import DeliveryView, deliveries_of
from models.money import Money
from models.order import (
    Alert,
    HistoryEntry,
    HoldReason,
    LineFulfilment,
    Note,
    OrderLine,
    OrderState,
    OrderStatus,
    StoreException,
    Transfer,
    order_workflow_id,
)
from models.order_tax import OrderTax, order_tax
from models.payments import Adjustment, Charge, OperationView, PaymentRecord, PaymentView, RefundRecord
from models.placing import Channel, Customer, DeliveryAddress, LoyaltyOffer, Replaces
from models.queues import OrderQueue


class OrderView(BaseModel):
    """One order in full, as Head Office and the webstore see it."""

    order_number: str
    workflow_id: str
    web_reference: str
    channel: Channel
    customer: Customer
    store_id: str
    fulfilment_method: str
    status: OrderStatus
    status_since: datetime
    created_at: datetime
    total: Money
    has_alert: bool
    hold_reason: HoldReason | None
    store_update_pending_since: datetime | None
    lines: list[OrderLine]
    deliveries: list[DeliveryView] = Field(
        default_factory=list, description="How the lines reach the customer: method, location, status, sourcing"
    )
    payments: list[PaymentView]
    refunds: list[RefundRecord]
    operations: list[OperationView] = Field(
        default_factory=list, description="Gateway operations decided and not yet answered (money on its way)"
    )
    charges: list[Charge] = Field(default_factory=list)
    tax: OrderTax | None = Field(default=None, description="Net, tax and gross of each line, charge and the order")
    adjustments: list[Adjustment] = Field(default_factory=list, description="Goodwill given back")
    paid: Money = Field(description="Money that moved in (captured, or taken outside a gateway), before refunds")
    authorised: Money = Field(description="Held at the gateway, not captured yet")
    refunded: Money = Field(description="Money paid back, or that the channel was instructed to pay back")
    outstanding: Money = Field(description="What the customer still owes: the total less money kept (0 when settled)")
    balance: Money = Field(description="The same as outstanding (kept for existing clients)")
    approval_reason: str | None = None
    fulfil_on: datetime | None = Field(default=None, description="A scheduled order: the date it is fulfilled on")
    replaces: Replaces | None = None  # an exchange's replacement: the order and return it replaces
    quote_id: str | None = Field(default=None, description="The quote this order was placed from (GET /quotes/{id})")
    transfers: list[Transfer]
    delivery_address: DeliveryAddress | None
    dispatch_location: str | None
    dispatched_at: datetime | None
    loyalty_offers: list[LoyaltyOffer]
    notes: list[Note]
    alerts: list[Alert]
    history: list[HistoryEntry]
    store_exceptions: list[StoreException]
    custom_fields: dict[str, CustomValue] = Field(
        default_factory=dict, description="The order's custom field values (each line carries its own)"
    )
    stock: list[dict[str, Any]] = Field(
        default_factory=list, description="Each line's SKU in every location (added on read)"
    )
    queue: OrderQueue | None = Field(default=None, description="Its queue: each stage and when it was reached")
    invoice_numbers: list[int] = Field(default_factory=list, description="Its invoices (GET /orders/{n}/invoices)")
    b2b: B2BOrder | None = Field(default=None, description="Its B2B account and references (README: B2B accounts)")
    version: int


def payment_view(state: OrderState, payment: PaymentRecord) -> PaymentView:
    return PaymentView(
        payment_id=payment.payment_id,
        mode=payment.mode,
        method=payment.method,
        amount=payment.amount,
        status=payment.status,
        at=payment.at,
        actor=payment.actor,
        reference=payment.reference,
        gateway=payment.gateway,
        authorisation_reference=payment.authorisation_reference,
        authorised_until=payment.authorised_until,
        captured_amount=payment.captured_amount,
        detail=payment.detail,
        outcome_unknown=any(op.payment_id == payment.payment_id for op in state.unknown_operations()),
    )


def for_api(state: OrderState) -> OrderView:
    outstanding = state.outstanding()
    return OrderView(
        order_number=state.order_number,
        workflow_id=order_workflow_id(state.order_number),
        web_reference=state.web_reference,
        channel=state.channel,
        customer=state.customer,
        store_id=state.store_id,
        fulfilment_method=state.fulfilment_method,
        status=state.status,
        status_since=state.status_since,
        created_at=state.created_at,
        fulfil_on=state.fulfil_on,
        total=state.total(),
        has_alert=state.has_open_alert,
        hold_reason=state.hold_reason,
        store_update_pending_since=state.store_update_pending_since,
        lines=state.lines,
        deliveries=deliveries_of(state),
        payments=[payment_view(state, payment) for payment in state.payments],
        refunds=state.refunds,
        operations=[OperationView.model_validate(op, from_attributes=True) for op in state.operations],
        charges=state.charges,
        tax=order_tax(state),
        adjustments=state.adjustments,
        paid=state.paid(),
        authorised=state.authorised(),
        refunded=state.refunded(),
        outstanding=outstanding,
        balance=outstanding,
        approval_reason=state.approval_reason,
        replaces=state.replaces,
        quote_id=state.quote_id,
        transfers=state.transfers,
        delivery_address=state.delivery_address,
        dispatch_location=state.dispatch_location,
        dispatched_at=state.dispatched_at,
        loyalty_offers=state.loyalty_offers,
        notes=state.notes,
        alerts=state.alerts,
        history=state.history,
        store_exceptions=state.store_exceptions,
        custom_fields=state.custom_fields,
        queue=state.queue,
        invoice_numbers=[invoice.number for invoice in state.invoices],
        b2b=state.b2b,
        version=state.version,
    )


# ---- the store -------------------------------------------------------------------------------------------


class StoreLine(BaseModel):
    line_id: str
    sku: str
    style: str
    size: str
    colour: str
    quantity: int
    picked_quantity: int | None
    fulfilment: LineFulfilment


class StoreOrder(BaseModel):
    """What a store needs to pick an order and hand it over: no payment details beyond what to take at the till."""

    order_number: str
    web_reference: str
    status: OrderStatus
    status_since: datetime
    store_id: str
    customer_name: str
    customer_phone: str | None
    lines: list[StoreLine]
    notes: list[str] = Field(description="Client-facing notes (gift wrap, call before)")
    due_at_handover: Money = Field(description="What to take at the till when the customer collects")
    transfers_incoming: list[Transfer]
    delivery_address: DeliveryAddress | None
    dispatch_location: str | None
    deliveries: list[DeliveryView] = Field(
        default_factory=list, description="Which lines each location fulfils, and how (no sourcing detail)"
    )
    update_pending: bool
    version: int


def for_store(state: OrderState) -> StoreOrder:
    due = sum(p.amount.amount for p in state.payments if p.status == "due")
    return StoreOrder(
        order_number=state.order_number,
        web_reference=state.web_reference,
        status=state.status,
        status_since=state.status_since,
        store_id=state.store_id,
        customer_name=state.customer.name,
        customer_phone=state.customer.phone,
        lines=[StoreLine.model_validate(line, from_attributes=True) for line in state.lines],
        notes=[note.text for note in state.notes if note.client_facing],
        due_at_handover=Money(amount=due, currency=state.currency),
        transfers_incoming=state.pending_transfers(),
        delivery_address=state.delivery_address,
        dispatch_location=state.dispatch_location,
        deliveries=[d.model_copy(update={"sourcing": None}) for d in deliveries_of(state)],
        update_pending=state.store_update_pending_since is not None,
        version=state.version,
    )


# ---- outbound events ---------------------------------------------------------------------------------------


class OrderEventSummary(BaseModel):
    """What a subscriber needs to act on an event without calling back (no personal data beyond ids)."""

    status: OrderStatus
    store_id: str
    channel: Channel
    web_reference: str
    customer_id: str
    total: Money
    paid: Money
    refunded: Money
    line_count: int


def for_event(state: OrderState) -> OrderEventSummary:
    return OrderEventSummary(
        status=state.status,
        store_id=state.store_id,
        channel=state.channel,
        web_reference=state.web_reference,
        customer_id=state.customer.id,
        total=state.total(),
        paid=state.paid(),
        refunded=state.refunded(),
        line_count=len(state.lines),
    )


# ---- XML extracts ------------------------------------------------------------------------------------------


class ExtractLine(BaseModel):
    line_id: str
    sku: str
    style: str
    size: str
    colour: str
    quantity: int
    cancelled_quantity: int
    unit_price: Money
    line_total: Money
    fulfilment: LineFulfilment
    status: str  # open | picked | collected | dispatched | buy_in_store | cancelled | replaced


class ExtractRefund(BaseModel):
    amount: Money
    at: datetime
    how: str  # refunded (through the gateway) | instructed (the channel pays it back)
    payment_reference: str = ""


class ExtractOrder(BaseModel):
    """An order as a customer message may describe it: no payment method, token or gateway reference."""

    order_number: str
    web_reference: str
    channel: Channel
    status: OrderStatus
    created_at: datetime
    customer: Customer
    store_id: str
    fulfilment_method: str
    delivery_address: DeliveryAddress | None
    dispatch_location: str | None
    dispatched_at: datetime | None
    carrier: str | None = None
    tracking_number: str | None = None
    lines: list[ExtractLine]
    total: Money
    discount: Money
    paid: Money
    refunded: Money
    notes: list[Note]
    last_refund: ExtractRefund | None
    cancelled_by: str | None  # the action that cancelled it (order_cancelled, not_collected, ...)
    collection_code: str | None = None  # click & collect: what the customer says at the till (models/collection.py)


def for_extract(state: OrderState) -> ExtractOrder:
    refunds = [r for r in state.refunds if r.status in ("refunded", "instructed")]
    last = refunds[-1] if refunds else None
    cancelled = next((h for h in reversed(state.history) if h.to_status is OrderStatus.cancelled), None)
    return ExtractOrder(
        order_number=state.order_number,
        web_reference=state.web_reference,
        channel=state.channel,
        status=state.status,
        created_at=state.created_at,
        customer=state.customer,
        store_id=state.store_id,
        fulfilment_method="home_delivery" if state.delivery_address else "click_and_collect",
        delivery_address=state.delivery_address,
        dispatch_location=state.dispatch_location,
        dispatched_at=state.dispatched_at,
        carrier=state.deliveries[0].carrier if state.deliveries else None,
        tracking_number=state.deliveries[0].tracking_number if state.deliveries else None,
        lines=[_extract_line(line, state) for line in state.lines],
        total=state.total(),
        discount=Money(amount=sum(o.discount.amount for o in state.loyalty_offers), currency=state.currency),
        paid=state.paid(),
        refunded=state.refunded(),
        notes=[note for note in state.notes if note.client_facing],
        last_refund=None
        if last is None
        else ExtractRefund(amount=last.amount, at=last.at, how=last.status, payment_reference=_instructed_ref(last)),
        cancelled_by=cancelled.action if cancelled else None,
        collection_code=None
        if state.delivery_address
        else collection_code(state.order_number, state.web_reference, state.customer.id, state.created_at),
    )


def _instructed_ref(refund: RefundRecord) -> str:
    """An instructed refund names the channel's payment reference it pays back; a gateway's never leaves."""
    return refund.reference if refund.status == "instructed" else ""


def _extract_line(line: OrderLine, state: OrderState) -> ExtractLine:
    return ExtractLine(
        line_id=line.line_id,
        sku=line.sku,
        style=line.style,
        size=line.size,
        colour=line.colour,
        quantity=line.quantity,
        cancelled_quantity=line.cancelled_quantity,
        unit_price=line.unit_price,
        line_total=line.total,
        fulfilment=line.fulfilment,
        status=line_status(line, state.status),
    )


def line_status(line: OrderLine, status: OrderStatus) -> str:
    """One word a customer message can use for the line (`status`: the order's)."""
    if line.replaced_by:
        return "replaced"
    if line.quantity == 0:
        return "cancelled"
    if line.fulfilment is LineFulfilment.buy_in_store:
        return "buy_in_store"
    if status in (OrderStatus.collected, OrderStatus.completed, OrderStatus.shipped):
        return "dispatched" if line.fulfilment is LineFulfilment.home_delivery else "collected"
    if line.picked_quantity is not None and line.picked_quantity >= line.quantity:
        return "picked"
    return "open"
