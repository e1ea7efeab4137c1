"""The customer view's and analytics' answers as OpenAPI documents them (api/routers/customers.py, analytics.py).
The routes answer JSON built from the read model (api/insight_service.py) without validating it again; these
models say what it holds, and the schemathesis test (tests/api/test_fuzz.py) holds the answers to them."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from models.money import Money
from models.order import Alert, Note
from models.payments import PaymentView, RefundRecord
from models.placing import DeliveryAddress

# ---- the customer view ---------------------------------------------------------------------------------------


class CustomerProfile(BaseModel):
    customer_id: str
    name: str
    email: str
    phone: str | None
    last_order_at: datetime = Field(description="When their newest order was placed (it names them)")


class CustomerFound(CustomerProfile):
    orders: int = Field(description="Orders they placed (through the caller's channels, for a bound key)")


class CustomerPage(BaseModel):
    items: list[CustomerFound]
    total: int
    limit: int
    offset: int


class CustomerOrder(BaseModel):
    order_number: str
    status: str
    status_since: datetime
    created_at: datetime
    store_id: str
    channel: str
    web_reference: str
    fulfilment_method: str | None
    total: Money
    paid: Money
    refunded: Money
    outstanding: Money
    has_alert: bool
    href: str = Field(description="The order: GET it for everything about it")


class SeenAddress(BaseModel):
    address: DeliveryAddress
    first_seen_on: str = Field(description="The newest order it was seen on first, going back in time")


class OnOrder(BaseModel):
    order_number: str


class CustomerPayment(PaymentView, OnOrder):
    pass


class CustomerRefund(RefundRecord, OnOrder):
    pass


class CustomerNote(Note, OnOrder):
    pass


class CustomerAlert(Alert, OnOrder):
    pass


class CustomerEmail(OnOrder):
    event_type: str
    address: str
    subject: str
    status: str = Field(description="sent, suppressed, retrying or failed")
    created_at: datetime
    sent_at: datetime | None


class CustomerView(BaseModel):
    customer: CustomerProfile
    addresses: list[SeenAddress]
    orders: list[CustomerOrder] = Field(description="Newest first, at most 100")
    orders_total: int
    payments: list[CustomerPayment]
    refunds: list[CustomerRefund]
    notes: list[CustomerNote]
    alerts: list[CustomerAlert]
    emails: list[CustomerEmail]


# ---- analytics -----------------------------------------------------------------------------------------------


class Scope(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    store_id: str | None
    channel: str | None


class OrdersRow(BaseModel):
    day: str | None = Field(default=None, description="YYYY-MM-DD (UTC), when grouped by day")
    channel: str | None = Field(default=None, description="When grouped by channel")
    store: str | None = Field(default=None, description="When grouped by store")
    currency: str
    orders: int
    cancelled: int
    revenue: int = Field(description="The orders' totals, minor units")
    refunded: int


class OrdersAnalytics(BaseModel):
    scope: Scope
    by: str
    rows: list[OrdersRow]


class BreachRow(BaseModel):
    store_id: str
    alert_type: str
    breaches: int


class BreachRate(BaseModel):
    store_id: str
    orders: int
    breached_orders: int
    breach_rate: float = Field(description="breached_orders / orders, 4 decimals")


class SlaAnalytics(BaseModel):
    scope: Scope
    breaches: list[BreachRow]
    rates: list[BreachRate]


class StageTime(BaseModel):
    orders: int = Field(description="Orders that reached the stage")
    median_seconds: int | None
    p90_seconds: int | None


class StoreStageTimes(BaseModel):
    store_id: str = Field(description='A store, or "*" for every store in scope')
    acknowledged: StageTime
    picked: StageTime
    ready: StageTime
    collected: StageTime


class StageTimesAnalytics(BaseModel):
    scope: Scope
    stores: list[StoreStageTimes]


class CancellationReason(BaseModel):
    cancelled_by: str
    reason: str | None
    orders: int


class RefundReason(BaseModel):
    reason: str
    currency: str
    refunds: int
    amount: int


class ReasonsAnalytics(BaseModel):
    scope: Scope
    cancellations: list[CancellationReason]
    refunds: list[RefundReason]


class SummaryRow(BaseModel):
    day: str
    store_id: str
    channel: str
    currency: str
    orders: int
    cancelled: int
    breached_orders: int
    revenue: int
    refunded: int


class SummaryAnalytics(BaseModel):
    scope: Scope
    rows: list[SummaryRow]


class CustomerOrdersRow(BaseModel):
    customer_id: str
    name: str | None
    email: str | None
    currency: str
    orders: int
    cancelled: int
    revenue: int
    refunded: int
    first_order_at: datetime
    last_order_at: datetime


class CustomerOrdersAnalytics(BaseModel):
    scope: Scope
    items: list[CustomerOrdersRow]
    total: int
    limit: int
    offset: int
