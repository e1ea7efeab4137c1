"""The order contract: commands, statuses, the order state carried by its workflow, workflow ids."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from models.money import Money
from models.payment_policy import PaymentPolicy

TASK_QUEUE = "baton-orders"


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
    awaiting_acknowledgement = "awaiting_acknowledgement"
    acknowledged = "acknowledged"
    awaiting_transfer = "awaiting_transfer"
    awaiting_dispatch = "awaiting_dispatch"  # switched to home delivery: the dispatch location ships it
    ready_for_collection = "ready_for_collection"
    collected = "collected"
    completed = "completed"
    cancelled = "cancelled"


FINAL_STATUSES = frozenset({OrderStatus.completed, OrderStatus.cancelled})


class Channel(StrEnum):
    web = "web"
    store = "store"
    phone = "phone"


class AlertType(StrEnum):
    # SLA breaches, raised by durable timers.
    not_acknowledged = "not_acknowledged"
    not_picked = "not_picked"
    on_hold = "on_hold"
    not_collected = "not_collected"
    not_updated = "not_updated"
    transfer_not_received = "transfer_not_received"
    awaiting_approval = "awaiting_approval"  # SLA: Head Office has not approved or rejected in time
    awaiting_payment = "awaiting_payment"  # SLA: an offline payment was not confirmed in time
    # Exceptions raised the moment they happen.
    stock_shortage = "stock_shortage"
    short_pick = "short_pick"
    payment_declined = "payment_declined"  # at placement: the order is held (or cancelled, by configuration)
    payment_failed = "payment_failed"  # a capture or re-authorisation failed: Head Office settles it by hand
    # The collection store stopped linking (no heartbeat in time); cleared when it is back online.
    store_offline = "store_offline"


class HoldReason(StrEnum):
    stock_shortage = "stock_shortage"
    short_pick = "short_pick"
    payment_declined = "payment_declined"


class StoreEventType(StrEnum):
    acknowledged = "acknowledged"
    picked = "picked"
    collected = "collected"
    not_collected = "not_collected"
    update_acknowledged = "update_acknowledged"
    transfer_received = "transfer_received"
    dispatched = "dispatched"  # from the dispatch location of a home-delivery order


class LineFulfilment(StrEnum):
    click_and_collect = "click_and_collect"
    buy_in_store = "buy_in_store"  # refunded; the stock stays reserved at the store for the customer
    home_delivery = "home_delivery"  # shipped from the order's dispatch location


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- the webstore's command -------------------------------------------------------------------


class Customer(_Strict):
    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)
    phone: str | None = Field(default=None, max_length=40)


class Fulfilment(_Strict):
    method: Literal["click_and_collect"]
    store_id: str = Field(min_length=1)


class LineRequest(_Strict):
    sku: str = Field(min_length=1)
    quantity: int = Field(ge=1, le=999)
    unit_price: Money


class PaymentMode(StrEnum):
    prepaid = "prepaid"  # the channel took the money before placing the order: recorded as captured
    auth_capture = "auth_capture"  # Baton authorises and captures through the gateway at placement
    authorise = "authorise"  # authorised at placement, captured at handover (collection or dispatch)
    offline = "offline"  # phone or bank transfer: the order waits in awaiting_payment until Head Office confirms
    on_collection = "on_collection"  # paid at the store at handover, confirmed by the store's collected event


GATEWAY_MODES = frozenset({PaymentMode.auth_capture, PaymentMode.authorise})
# Stored-value funds are taken first and at once; a card (or another method) pays the rest.
STORED_VALUE_METHODS = frozenset({"gift_card", "wallet"})


class PaymentRequest(_Strict):
    mode: PaymentMode
    method: str = Field(min_length=1, max_length=40, examples=["card"])
    amount: Money
    token: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="auth_capture / authorise: the gateway's card token or payment method id (never a card number)",
        examples=["tok_approve"],
    )
    gateway: str | None = Field(default=None, description="test | stripe; BATON_PAYMENT_GATEWAY when left out")

    @model_validator(mode="after")
    def _gateway_modes_need_a_token(self) -> Self:
        if self.mode in GATEWAY_MODES and self.token is None:
            raise ValueError(f"a {self.mode} payment needs the card token")
        return self


class LoyaltyOffer(_Strict):
    code: str = Field(min_length=1, max_length=64)
    description: str = Field(default="", max_length=500)
    discount: Money


class PlaceOrder(_Strict):
    """What a webstore, POS or call centre sends to place an order."""

    web_reference: str = Field(min_length=1, max_length=64)
    channel: Channel
    customer: Customer
    fulfilment: Fulfilment
    lines: list[LineRequest] = Field(min_length=1, max_length=100)
    payment: PaymentRequest | None = Field(default=None, description="One payment (or give `payments`)")
    payments: list[PaymentRequest] = Field(
        default_factory=list,
        max_length=2,
        description="Up to two payments: gift card or wallet funds first, then a card (or another method) for the rest",
    )
    loyalty_offers: list[LoyaltyOffer] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_way_to_give_payments(self) -> Self:
        if (self.payment is None) == (not self.payments):
            raise ValueError("give either `payment` or `payments` (up to two)")
        return self

    @property
    def given_payments(self) -> list[tuple[str, PaymentRequest]]:
        """Each payment with the field path it came in under (for error messages)."""
        if self.payment is not None:
            return [("payment", self.payment)]
        return [(f"payments[{index}]", payment) for index, payment in enumerate(self.payments)]


# ---- the order state, owned by its workflow ---------------------------------------------------


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


PaymentStatus = Literal[
    "taken",  # captured outside a gateway: prepaid by the channel, or taken by Head Office
    "pending",  # not tried yet (waiting for approval)
    "authorised",  # funds reserved at the gateway until authorised_until
    "captured",
    "declined",
    "voided",
    "awaiting",  # offline: waiting for Head Office to confirm the money arrived
    "due",  # paid at handover
    "capture_failed",  # Head Office settles it (override) or cancels
]


class PaymentRecord(BaseModel):
    mode: str
    method: str
    amount: Money
    status: PaymentStatus = "taken"
    at: datetime | None = None
    actor: str = ""
    reference: str = ""  # what a refund refers to: the capture or sale at the gateway, or the ledger entry
    payment_id: str = ""
    gateway: str | None = None
    token: str | None = None  # the gateway's token for re-authorisation; never shown in views or extracts
    authorisation_reference: str = ""
    authorised_until: datetime | None = None
    captured_amount: int | None = None  # minor units actually captured; None means all of `amount`
    renewable: bool = True  # False once a re-authorisation was declined: it lapses, Head Office is alerted
    detail: str = ""

    @property
    def captured(self) -> int:
        if self.status not in ("taken", "captured"):
            return 0
        return self.amount.amount if self.captured_amount is None else self.captured_amount

    @property
    def is_stored_value(self) -> bool:
        return self.method in STORED_VALUE_METHODS


class RefundRecord(BaseModel):
    amount: Money
    at: datetime
    actor: str
    reason: str
    reference: str
    payment_id: str = ""  # the payment it went back to ("" on orders placed before payment gateways)


class DeliveryAddress(_Strict):
    name: str = Field(min_length=1, max_length=200)
    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    postcode: str = Field(min_length=1, max_length=20)
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")


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
    event_id: str
    type: StoreEventType
    at: datetime
    reason: str


class StoreEvent(BaseModel):
    """A store's event as the workflow receives it (already authenticated by the API)."""

    event_id: str
    type: StoreEventType
    store_id: str
    occurred_at: datetime
    picked: dict[str, int] = Field(default_factory=dict)
    transfer_id: str | None = None


class OrderState(BaseModel):
    """Everything the workflow knows about one order; also the projected order view."""

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
    delivery_address: DeliveryAddress | None = None
    dispatch_location: str | None = None
    dispatched_at: datetime | None = None
    transfers: list[Transfer] = Field(default_factory=list)
    loyalty_offers: list[LoyaltyOffer] = Field(default_factory=list)
    notes: list[Note] = Field(default_factory=list)
    alerts: list[Alert] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list)
    store_exceptions: list[StoreException] = Field(default_factory=list)
    hold_reason: HoldReason | None = None
    payment_policy: PaymentPolicy = Field(default_factory=PaymentPolicy)
    approval_reason: str | None = None  # why Head Office must approve the order before it goes ahead
    gateway_operations: int = 0  # numbers each gateway operation: its idempotency key is order-<n>:<kind>:<seq>
    store_update_pending_since: datetime | None = None
    store_pushes: int = 0
    seen_event_ids: list[str] = Field(default_factory=list)
    version: int = 0
    # Store link monitor (models/store_link.py): the store that went offline while this order was at it, and
    # the link changes already applied (de-duplicated by change id).
    offline_store_id: str | None = None
    seen_link_change_ids: list[str] = Field(default_factory=list)
    # Outbound notifications (models/events.py): history entries already turned into events, and the
    # sequence number of the last event published to the order's notifications workflow.
    notified_history: int = 0
    published_events: int = 0

    @property
    def has_open_alert(self) -> bool:
        return any(alert.is_open for alert in self.alerts)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    def line(self, line_id: str) -> OrderLine | None:
        return next((line for line in self.lines if line.line_id == line_id), None)

    @property
    def currency(self) -> str:
        return self.lines[0].unit_price.currency

    def total(self) -> Money:
        """What the customer owes (lines bought in store are paid at the till), after loyalty discounts."""
        gross = sum(line.total.amount for line in self.lines if line.fulfilment is not LineFulfilment.buy_in_store)
        discount = sum(offer.discount.amount for offer in self.loyalty_offers)
        return Money(amount=max(0, gross - discount), currency=self.currency)

    def paid(self) -> Money:
        """Captured money (taken, captured), before refunds."""
        return Money(amount=sum(p.captured for p in self.payments), currency=self.currency)

    def authorised(self) -> Money:
        """Funds held at the gateway and not captured yet."""
        return Money(
            amount=sum(p.amount.amount for p in self.payments if p.status == "authorised"), currency=self.currency
        )

    def outstanding(self) -> Money:
        """What the customer still owes: the total less captured money kept (0 when settled)."""
        kept = self.paid().amount - self.refunded().amount
        return Money(amount=max(0, self.total().amount - kept), currency=self.currency)

    def payment(self, payment_id: str) -> PaymentRecord | None:
        return next((p for p in self.payments if p.payment_id == payment_id), None)

    def refunded(self) -> Money:
        return Money(amount=sum(r.amount.amount for r in self.refunds), currency=self.currency)

    def refundable(self) -> Money:
        """Captured money not yet refunded: the most any refund may return."""
        return Money(amount=self.paid().amount - self.refunded().amount, currency=self.currency)

    def pending_transfers(self) -> list[Transfer]:
        return [t for t in self.transfers if t.received_at is None]


class ReleaseHold(_Strict):
    """Head Office releases an order on hold."""

    reason: str = Field(min_length=1, max_length=500)
    client_note: str | None = Field(default=None, max_length=1000)
    actor: SkipJsonSchema[str] = ""
