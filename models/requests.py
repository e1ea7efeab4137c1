"""Customer requests: what a customer asks for after placing an order (cancel it or some lines, add an item, change
a size or colour, buy in store instead, collect at another store, return lines), filed by their channel. Each is
its own workflow (`request-<order>-<k>`, workflows/requests.py): a visible exception on the order (a
`customer_request` alert, its own dashboard filter and count) with a clock for Head Office to answer
(`request_not_answered`). Head Office accepts it, which runs the matching action on the order, or declines it with
a reason; the channel hears the outcome as an order event (`request_answered`). What the policy allows (a
cancellation before the store acknowledged) is applied at once and recorded as such. Pure."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from models import journey
from models.effects import Effects
from models.order import AlertType, OrderState, OrderStatus
from models.text import Line


class RequestKind(StrEnum):
    """What the customer asks for, and the Head Office action that does it (models/actions.py)."""

    cancel_order = "cancel_order"
    cancel_lines = "cancel_lines"
    add_item = "add_item"
    change_variant = "change_variant"
    buy_in_store = "buy_in_store"
    change_store = "change_store"
    return_lines = "return_lines"  # accepted: a return is opened (workflows/returns.py)


ACTION_OF = {
    RequestKind.cancel_order: "cancel_order",
    RequestKind.cancel_lines: "cancel_lines",
    RequestKind.add_item: "add_item",
    RequestKind.change_variant: "change_variant",
    RequestKind.buy_in_store: "buy_in_store",
    RequestKind.change_store: "move_to_store",
}


class RequestPolicy(BaseModel):
    """`PUT /settings/requests`."""

    model_config = ConfigDict(extra="forbid")

    answer_within: timedelta = Field(
        default=timedelta(hours=2), gt=timedelta(0), le=timedelta(days=30), description="Head Office's clock"
    )
    auto_cancel_before_acknowledgement: bool = Field(
        default=True, description="A cancellation asked before the store acknowledged is applied at once"
    )


class FileRequest(BaseModel):
    """`POST /orders/{n}/requests`: the kind and, for the actions, the same body the action takes."""

    model_config = ConfigDict(extra="forbid")

    kind: RequestKind
    details: dict[str, Any] = Field(
        default_factory=dict,
        max_length=20,
        description="The action's body without its reason (cancel_lines: {lines}; add_item: {sku, quantity}; "
        "change_variant: {line_id, size?, colour?}; buy_in_store: {line_ids}; change_store: {store_id}; "
        "return_lines: {lines: [{line_id, quantity, reason, exchange_for?: {sku}}], method?, location_id})",
    )
    note: Line = Field(min_length=1, max_length=500, description="What the customer said, in a line")


class RequestStatus(StrEnum):
    open = "open"
    accepted = "accepted"
    declined = "declined"
    failed = "failed"  # accepted, but the order refused the action (its rule says why)


class CustomerRequest(BaseModel):
    request_id: str
    order_number: str
    kind: RequestKind
    details: dict[str, Any]
    note: str
    filed_by: str
    filed_at: datetime
    status: RequestStatus = RequestStatus.open
    answered_by: str | None = None
    answered_at: datetime | None = None
    answer: str = ""
    automatic: bool = False
    overdue: bool = False


def automatically_accepted(kind: RequestKind, order_status: str, policy: RequestPolicy) -> bool:
    """Whether the policy applies the request at once, without Head Office."""
    before_acknowledgement = order_status in (
        OrderStatus.received,
        OrderStatus.awaiting_approval,
        OrderStatus.awaiting_payment,
        OrderStatus.awaiting_acknowledgement,
    )
    return kind is RequestKind.cancel_order and policy.auto_cancel_before_acknowledgement and before_acknowledgement


class RequestNotice(BaseModel):
    """What the order hears of a request (its `customer_request` signal)."""

    request_id: str
    kind: RequestKind
    stage: Literal["opened", "overdue", "answered"]
    detail: str = ""


def on_notice(order: OrderState, notice: RequestNotice, now: datetime) -> Effects | None:
    """Opened: a customer_request alert naming it. Overdue: a request_not_answered alert. Answered: both cleared,
    and the answer recorded (the channel's `request_answered` event). Each once."""
    tag = f"{notice.request_id} ({notice.kind})"
    mine = [a for a in order.alerts if a.is_open and notice.request_id in a.detail]
    if notice.stage == "opened":
        if any(notice.request_id in a.detail for a in order.alerts):
            return None
        journey.raise_alert(order, AlertType.customer_request, now, f"{tag}: {notice.detail}")
        return Effects()
    if notice.stage == "overdue":
        if not any(a.type is AlertType.customer_request for a in mine) or any(
            a.type is AlertType.request_not_answered for a in mine
        ):
            return None
        journey.raise_alert(order, AlertType.request_not_answered, now, tag)
        return Effects()
    answered = (e for e in order.history if e.action == "customer_request_answered")
    if not mine and any(notice.request_id in entry.detail for entry in answered):
        return None
    for alert in mine:
        alert.cleared_at = now
        journey.record(order, now, journey.SYSTEM, "alert_cleared", alert.type)
    journey.record(order, now, f"request:{notice.request_id}", "customer_request_answered", f"{tag}: {notice.detail}")
    return Effects()
