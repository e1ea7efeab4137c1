"""The order as its workflow holds it: statuses, lines, alerts, history and money, plus the workflow ids and
task queue every process agrees on. What leaves the workflow is decided in models/views.py, never here."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

from models.b2b import B2BOrder
from models.custom_fields import CustomValue
from models.deliveries import Delivery
from models.invoice_documents import Invoice
from models.money import Money
from models.payment_policy import PaymentPolicy
from models.payments import Adjustment, Charge, MoneyOperation, PaymentRecord, RefundRecord
from models.placing import Channel, Customer, DeliveryAddress, LoyaltyOffer, Replaces
from models.queues import OrderQueue

TASK_QUEUE = "baton-orders"
# The order workflow's type. Baton is not deployed yet, so when the shell was rebuilt (issue 12) it became a new
# type instead of a patch; from now on every change that alters its commands is gated with workflow.patched.
ORDER_WORKFLOW = "Order"


def order_workflow_id(order_number: str) -> str:
    """Workflow ids are business ids, so engineers find an order in the Temporal UI by its number."""
    return f"order-{order_number}"


def store_link_workflow_id(store_id: str) -> str:
    """The store's link monitor (workflows/store_link.py): one long-lived workflow per store."""
    return f"store-link-{store_id}"


class OrderStatus(StrEnum):
    received = "received"
    awaiting_approval = "awaiting_approval"  # held for Head Office approval before anything is charged or sent
    awaiting_payment = "awaiting_payment"  # offline prepaid (phone, bank transfer): until Head Office confirms it
    on_hold = "on_hold"
    awaiting_release = "awaiting_release"  # a preorder: reserves on its release date
    backordered = "backordered"  # short when sent out: waits for replenishment until its backorder deadline
    awaiting_acknowledgement = "awaiting_acknowledgement"
    acknowledged = "acknowledged"
    awaiting_transfer = "awaiting_transfer"
    awaiting_dispatch = "awaiting_dispatch"  # home delivery: stock allocated at the dispatch location, packing
    ready_to_ship = "ready_to_ship"  # home delivery: packed, waiting for the carrier
    shipped = "shipped"  # home delivery: with the carrier (captured); completed when delivered
    ready_for_collection = "ready_for_collection"
    collected = "collected"
    # The order's own journey is done (collected, or delivered); a further delivery is still on its way.
    partially_collected = "partially_collected"
    partially_shipped = "partially_shipped"
    completed = "completed"
    cancelled = "cancelled"


FINAL_STATUSES = frozenset({OrderStatus.completed, OrderStatus.cancelled})
# Statuses in which an order's stock is not reserved yet (before it is sent out).
_NOT_YET_RESERVED = frozenset(
    {
        OrderStatus.received,
        OrderStatus.awaiting_approval,
        OrderStatus.awaiting_payment,
        OrderStatus.awaiting_release,
        OrderStatus.backordered,
    }
)


class AlertType(StrEnum):
    # SLA breaches, raised by durable timers.
    not_acknowledged = "not_acknowledged"
    not_picked = "not_picked"
    on_hold = "on_hold"
    not_collected = "not_collected"
    not_updated = "not_updated"
    transfer_not_received = "transfer_not_received"
    not_packed = "not_packed"  # home delivery: the dispatch location has not packed it in time
    not_shipped = "not_shipped"  # home delivery: packed, not handed to the carrier in time
    not_delivered = "not_delivered"  # home delivery: shipped, not reported delivered in time
    awaiting_approval = "awaiting_approval"  # SLA: Head Office has not approved or rejected in time
    awaiting_payment = "awaiting_payment"  # SLA: an offline payment was not confirmed in time
    backorder_overdue = "backorder_overdue"  # SLA: backordered, not replenished in time (it keeps waiting)
    preorder_not_reserved = "preorder_not_reserved"  # SLA: past its release date, its stock still not reserved
    # Exceptions raised the moment they happen.
    stock_shortage = "stock_shortage"
    short_pick = "short_pick"
    payment_declined = "payment_declined"  # at placement: the order is held (or cancelled, by configuration)
    payment_failed = "payment_failed"  # a capture or re-authorisation failed: Head Office settles it by hand
    payment_unknown = "payment_unknown"  # a gateway call has no answer: reconciling by its operation id
    refund_failed = "refund_failed"  # the gateway declined a refund: Head Office decides what next
    # The collection store stopped linking (no heartbeat in time); cleared when it is back online.
    store_offline = "store_offline"
    store_unreachable = "store_unreachable"  # a message to the store's webhook could not be delivered
    # A further delivery's location cannot fulfil it (models/delivery_stages.py): cleared when it is moved.
    delivery_rejected = "delivery_rejected"
    # The database refused to record a change (a value it cannot store): the order goes on, its read model lags.
    projection_failed = "projection_failed"
    # A stock count found less on the shelf than is reserved for the order: the store may not find it to pick.
    stock_count_short = "stock_count_short"
    # The stuck-order sweep found no progress past every deadline, or a delivery failing again and again.
    stuck = "stuck"
    # A customer asked for something (models/requests.py); and Head Office has not answered it in time.
    customer_request = "customer_request"
    request_not_answered = "request_not_answered"


class HoldReason(StrEnum):
    stock_shortage = "stock_shortage"
    short_pick = "short_pick"
    payment_declined = "payment_declined"
    payment_unknown = "payment_unknown"  # a placement payment has no answer yet; it goes ahead once reconciled


class StoreEventType(StrEnum):
    acknowledged = "acknowledged"
    picked = "picked"
    collected = "collected"
    not_collected = "not_collected"
    update_acknowledged = "update_acknowledged"
    transfer_received = "transfer_received"
    dispatched = "dispatched"  # from the dispatch location of a home-delivery order: shipped and done at once
    packed = "packed"  # home delivery: packed at the dispatch location, ready to ship
    shipped = "shipped"  # home delivery: handed to the carrier (carrier, tracking_number); payment captured
    delivered = "delivered"  # home delivery: the carrier delivered it; the order completes
    rejected = "rejected"  # a further delivery's location cannot fulfil it (short, refused): Head Office re-sources


class LineFulfilment(StrEnum):
    click_and_collect = "click_and_collect"
    buy_in_store = "buy_in_store"  # refunded; the stock stays reserved at the store for the customer
    home_delivery = "home_delivery"  # shipped from the order's dispatch location


class OrderLine(BaseModel):
    line_id: str
    sku: str
    style: str
    size: str
    colour: str
    quantity: int
    unit_price: Money
    picked_quantity: int | None = None
    fulfilment: LineFulfilment = LineFulfilment.click_and_collect
    cancelled_quantity: int = 0
    replaced_by: str | None = None
    electronic: bool = False  # delivered without packing (the catalogue's flag when placed)
    # Locked at placement (models/tax.py): the product's tax class and its rate where the line goes, in basis points.
    # Orders placed before tax was recorded read "standard" at 0.
    tax_class: str = "standard"
    tax_rate_bp: int = 0
    custom_fields: dict[str, CustomValue] = Field(default_factory=dict)  # models/custom_fields.py
    unit_cost: Money | None = None  # a B2B item cost given at placement (models/b2b.py)

    @property
    def total(self) -> Money:
        return self.unit_price.times(self.quantity)

    @property
    def is_collectable(self) -> bool:
        """Still to be picked and handed over as click & collect."""
        return self.fulfilment is LineFulfilment.click_and_collect and self.quantity > 0


class Note(BaseModel):
    at: datetime
    actor: str
    text: str
    client_facing: bool = False


class Transfer(BaseModel):
    transfer_id: str
    sku: str
    quantity: int
    from_location: str
    to_location: str
    requested_at: datetime
    requested_by: str
    received_at: datetime | None = None


class Alert(BaseModel):
    alert_id: str
    type: AlertType
    raised_at: datetime
    cleared_at: datetime | None = None
    detail: str = ""
    delivery_id: str | None = None  # the further delivery it is about (its cause is that delivery's stage)

    @property
    def is_open(self) -> bool:
        return self.cleared_at is None


class HistoryEntry(BaseModel):
    at: datetime
    actor: str
    action: str
    detail: str = ""
    from_status: OrderStatus | None = None
    to_status: OrderStatus | None = None


class StoreException(BaseModel):
    """A store event that did not fit the order. The same type refused for the same reason again is counted
    here, not kept again: a store integration repeating itself cannot grow the order without bound."""

    event_id: str = Field(description="The latest event refused for this reason")
    type: StoreEventType
    at: datetime = Field(description="When this type was first refused for this reason")
    reason: str
    count: int = Field(default=1, description="How many events of this type were refused for this reason")
    last_at: datetime | None = Field(default=None, description="When the latest of them was refused")


class StoreEvent(BaseModel):
    """A store's event as the workflow receives it (already authenticated by the API)."""

    event_id: str
    type: StoreEventType
    store_id: str
    occurred_at: datetime
    picked: dict[str, int] = Field(default_factory=dict)
    transfer_id: str | None = None
    # From the Pick Manager: why a pick is short (one of SHORT_PICK_REASONS), and which staff member pressed the
    # button (their user name), written into the order's history; from a location, why it rejects a delivery.
    reason: str | None = Field(default=None, max_length=200)
    staff: str | None = Field(default=None, max_length=32)
    carrier: str | None = None  # shipped
    tracking_number: str | None = None  # shipped
    delivery_id: str | None = None  # packed / shipped / delivered: which of the order's deliveries at this location


class StoreMessageFailed(BaseModel):
    """The outbox gave up delivering a message to a store's webhook (signalled by its dispatcher)."""

    message_id: str
    store_id: str
    detail: str


class OrderState(BaseModel):
    """Everything the workflow knows about one order. Internal: views.py decides what of it goes out."""

    order_number: str
    web_reference: str
    channel: Channel
    customer: Customer
    store_id: str
    fulfilment_method: str = "click_and_collect"
    status: OrderStatus = OrderStatus.received
    status_since: datetime
    created_at: datetime
    lines: list[OrderLine]
    payments: list[PaymentRecord] = Field(default_factory=list)
    refunds: list[RefundRecord] = Field(default_factory=list)
    charges: list[Charge] = Field(default_factory=list)
    adjustments: list[Adjustment] = Field(default_factory=list)
    operations: list[MoneyOperation] = Field(default_factory=list)  # gateway operations not yet answered
    # How the lines reach the customer, as placed (models/deliveries.py); none on an order placed before deliveries.
    deliveries: list[Delivery] = Field(default_factory=list)
    delivery_address: DeliveryAddress | None = None
    dispatch_location: str | None = None
    dispatched_at: datetime | None = None
    handed_over_at: datetime | None = None  # collected or dispatched: the goods left Baton's hands
    transfers: list[Transfer] = Field(default_factory=list)
    loyalty_offers: list[LoyaltyOffer] = Field(default_factory=list)
    notes: list[Note] = Field(default_factory=list)
    alerts: list[Alert] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list)
    store_exceptions: list[StoreException] = Field(default_factory=list)
    hold_reason: HoldReason | None = None
    payment_policy: PaymentPolicy = Field(default_factory=PaymentPolicy)
    approval_reason: str | None = None  # why Head Office must approve the order before it goes ahead
    approved_at: datetime | None = None
    cleared_at: datetime | None = None  # approval and placement payments settled: the order may go to the store
    release_at: datetime | None = None  # a preorder: its stock is reserved on this date (models/stock_waits.py)
    fulfil_on: datetime | None = None  # a scheduled order: it starts on this date (models/scheduling.py)
    backorder_for: timedelta | None = None  # short when sent out: wait this long for replenishment
    backorder_until: datetime | None = None
    backorder_tried_at: datetime | None = None
    # The backorder and preorder SLA clocks run (orders started before they existed never ran their timers).
    waits_have_clocks: bool = False
    store_update_pending_since: datetime | None = None
    # Internal counters: they number what the order creates, so every id is deterministic on replay.
    money_operations: int = 0  # gateway operations: order-<n>:<kind>:<seq>
    store_messages: int = 0  # outbox messages to stores: order-<n>:push:<seq>
    seen_event_ids: list[str] = Field(default_factory=list)
    version: int = 0
    offline_store_id: str | None = None  # the store that went offline while this order was at it
    seen_link_change_ids: list[str] = Field(default_factory=list)
    published_history: int = 0  # history entries already turned into outbound events
    published_events: int = 0  # the sequence number of the last outbound event
    replaces: Replaces | None = None  # an exchange's replacement order: the order and return it replaces
    quote_id: str | None = None  # an accepted quote's order: the quote it was placed from (models/quotes.py)
    custom_fields: dict[str, CustomValue] = Field(default_factory=dict)  # models/custom_fields.py
    queue: OrderQueue | None = None  # the queue it follows (models/queues.py), locked at placement
    invoices: list[Invoice] = Field(default_factory=list)  # issued so far (models/invoicing.py)
    b2b: B2BOrder | None = None  # its B2B account and references (models/b2b.py)

    @property
    def has_open_alert(self) -> bool:
        return any(alert.is_open for alert in self.alerts)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def preorder_unreserved(self) -> bool:
        """A preorder whose stock is not reserved yet: still before (or just at) its release, backordered, or held
        short of stock."""
        if self.release_at is None:
            return False
        short = self.status is OrderStatus.on_hold and self.hold_reason is HoldReason.stock_shortage
        return short or self.status in _NOT_YET_RESERVED

    def line(self, line_id: str) -> OrderLine | None:
        return next((line for line in self.lines if line.line_id == line_id), None)

    def payment(self, payment_id: str) -> PaymentRecord | None:
        return next((p for p in self.payments if p.payment_id == payment_id), None)

    @property
    def currency(self) -> str:
        return self.lines[0].unit_price.currency

    def _money(self, amount: int) -> Money:
        return Money(amount=amount, currency=self.currency)

    def gross(self) -> Money:
        """The lines the customer pays Baton for (lines bought in store are paid at the till), before discounts."""
        return self._money(
            sum(line.total.amount for line in self.lines if line.fulfilment is not LineFulfilment.buy_in_store)
        )

    def total(self) -> Money:
        """What the customer owes: the lines less loyalty discounts (never below zero), plus charges, less
        goodwill given back."""
        discounts = sum(offer.discount.amount for offer in self.loyalty_offers)
        lines = max(0, self.gross().amount - discounts)
        charges = sum(charge.amount.amount for charge in self.charges if not charge.cancelled)
        goodwill = sum(adjustment.amount.amount for adjustment in self.adjustments)
        return self._money(max(0, lines + charges - goodwill))

    def paid(self) -> Money:
        """Money that moved in: captured or sold at a gateway, or taken outside one. Before refunds."""
        return self._money(sum(p.moved_in for p in self.payments))

    def authorised(self) -> Money:
        """Funds held at the gateway and not captured yet."""
        return self._money(sum(p.amount.amount for p in self.payments if p.status == "authorised"))

    def refunded(self) -> Money:
        """Money that moved out (or that a channel was instructed to pay back)."""
        return self._money(sum(r.amount.amount for r in self.refunds if r.status in ("refunded", "instructed")))

    def refunded_of(self, payment_id: str) -> int:
        """Refunds counted against one payment: done, instructed or on their way."""
        return sum(r.moved_out for r in self.refunds if r.payment_id == payment_id)

    def refundable_of(self, payment: PaymentRecord) -> int:
        return payment.moved_in - self.refunded_of(payment.payment_id)

    def kept(self) -> Money:
        """Money in less every refund done, instructed or on its way: what Baton holds of the customer's."""
        return self._money(sum(self.refundable_of(p) for p in self.payments))

    def refundable(self) -> Money:
        """The most any new refund may return."""
        return self.kept()

    def outstanding(self) -> Money:
        """What the customer still owes: the total less the money kept (0 when settled or overpaid)."""
        return self._money(max(0, self.total().amount - self.kept().amount))

    def pending_transfers(self) -> list[Transfer]:
        return [t for t in self.transfers if t.received_at is None]

    def unknown_operations(self) -> list[MoneyOperation]:
        return [op for op in self.operations if op.status == "unknown"]
