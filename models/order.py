"""The order contract: commands, statuses, the order state carried by its workflow, workflow ids."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from models.money import Money

TASK_QUEUE = "baton-orders"


def order_workflow_id(order_number: str) -> str:
    """Workflow ids are business ids, so engineers find an order in the Temporal UI by its number."""
    return f"order-{order_number}"


class OrderStatus(StrEnum):
    received = "received"
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
    # Exceptions raised the moment they happen.
    stock_shortage = "stock_shortage"
    short_pick = "short_pick"


class HoldReason(StrEnum):
    stock_shortage = "stock_shortage"
    short_pick = "short_pick"


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


class PaymentRequest(_Strict):
    mode: Literal["prepaid"]
    method: str = Field(min_length=1, max_length=40, examples=["card"])
    amount: Money


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
    payment: PaymentRequest
    loyalty_offers: list[LoyaltyOffer] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


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


class PaymentRecord(BaseModel):
    mode: str
    method: str
    amount: Money
    status: Literal["taken"] = "taken"
    at: datetime | None = None
    actor: str = ""
    reference: str = ""


class RefundRecord(BaseModel):
    amount: Money
    at: datetime
    actor: str
    reason: str
    reference: str


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
    store_update_pending_since: datetime | None = None
    store_pushes: int = 0
    seen_event_ids: list[str] = Field(default_factory=list)
    version: int = 0
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
        return Money(amount=sum(p.amount.amount for p in self.payments), currency=self.currency)

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
