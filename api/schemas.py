"""Request and response bodies of the HTTP API (kept apart from the Temporal payloads)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from models.money import Money
from models.order import OrderStatus, StoreEventType
from models.placing import Channel
from models.text import Line


class OrderSummary(BaseModel):
    order_number: str
    web_reference: str
    channel: Channel
    store_id: str
    status: OrderStatus
    customer_name: str
    customer_email: str
    has_alert: bool
    fulfilment_methods: str = Field(description="Its deliveries' methods, space-separated")
    created_at: datetime
    updated_at: datetime
    fulfil_on: datetime | None = Field(default=None, description="A scheduled order still waiting: its date")


class OrderPage(BaseModel):
    items: list[OrderSummary]
    total: int
    limit: int
    offset: int


class PickedLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line_id: Line = Field(min_length=1, max_length=16)
    quantity: int = Field(ge=0, le=999)


class StoreWebhookEvent(BaseModel):
    """What a store posts to `/webhooks/stores/{store_id}`, signed with its secret."""

    model_config = ConfigDict(extra="forbid")

    event_id: Line = Field(min_length=1, max_length=200)
    type: StoreEventType | Literal["heartbeat"]
    order_number: Line | None = Field(
        default=None, min_length=1, max_length=32, description="Required except for 'heartbeat'"
    )
    occurred_at: datetime
    picked: list[PickedLine] | None = Field(
        default=None, max_length=100, description="Required for 'picked': every line's quantity"
    )
    transfer_id: Line | None = Field(default=None, max_length=64, description="Required for 'transfer_received'")
    carrier: Line | None = Field(default=None, min_length=1, max_length=64, description="Required for 'shipped'")
    reason: Line | None = Field(
        default=None, min_length=1, max_length=500, description="'rejected': why the location cannot fulfil it"
    )
    delivery_id: Line | None = Field(
        default=None,
        min_length=1,
        max_length=16,
        description="packed / shipped / delivered: which of the order's deliveries (needed only when this location "
        "ships more than one of them)",
    )
    tracking_number: Line | None = Field(
        default=None, min_length=1, max_length=100, description="Required for 'shipped': the carrier's tracking number"
    )

    @field_validator("type", mode="wrap")
    @classmethod
    def _known_type(cls, value: Any, handler: Any) -> Any:
        try:
            return handler(value)
        except ValidationError:  # one message naming every type, instead of one per member of the union
            known = ", ".join(repr(t) for t in [*(e.value for e in StoreEventType), "heartbeat"])
            raise ValueError(f"Input should be one of {known}") from None

    @property
    def is_heartbeat(self) -> bool:
        return self.type == "heartbeat"

    @model_validator(mode="after")
    def _type_needs_its_fields(self) -> StoreWebhookEvent:
        if self.type is StoreEventType.picked and not self.picked:
            raise ValueError("a picked event needs 'picked': the quantity picked of each line")
        if self.type is StoreEventType.transfer_received and not self.transfer_id:
            raise ValueError("a transfer_received event needs 'transfer_id'")
        if self.type is StoreEventType.shipped and not (self.carrier and self.tracking_number):
            raise ValueError("a shipped event needs 'carrier' and 'tracking_number'")
        return self


class ReturnWebhookEvent(BaseModel):
    """What a location posts to `/webhooks/stores/{store_id}/returns`, signed with its secret."""

    model_config = ConfigDict(extra="forbid")

    event_id: Line = Field(min_length=1, max_length=200)
    type: Literal["return_received"]
    return_id: str = Field(pattern=r"^return-[0-9A-Za-z-]{1,60}$")
    occurred_at: datetime


class WebhookAccepted(BaseModel):
    status: Literal["accepted"] = "accepted"
    event_id: str
    order_number: str | None = None  # None for a heartbeat


class PaymentTransactionView(BaseModel):
    """One entry of an order's payment ledger."""

    transaction_id: str = Field(description="The operation id, e.g. order-100001:capture:1 (the idempotency key)")
    kind: str = Field(description="authorise | capture | sale | void | refund (gateway calls); payment | refund")
    status: Literal["approved", "declined", "error"] = Field(description="error: failing, being retried")
    method: str
    amount: Money
    gateway: str | None = Field(description="test | stripe; null for movements recorded without a gateway")
    gateway_reference: str | None = Field(description="What the gateway created (authorisation, capture, refund)")
    request_reference: str | None = Field(description="The authorisation or capture this operation acted on")
    detail: str | None = Field(description="The decline reason or the error")
    attempts: int
    actor: str
    at: datetime = Field(description="When the gateway answered (or the attempt was recorded)")
    expires_at: datetime | None = Field(description="Authorisations: when the gateway lets them lapse")


class PaymentHistory(BaseModel):
    order_number: str
    transactions: list[PaymentTransactionView]
