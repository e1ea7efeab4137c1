"""Merchants and marketplace orders, the pure rules: a merchant's settings, how a basket of several merchants' products
splits into one child order per merchant (each carrying its share of the one payment), the parent's status derived
from its children's, and what a merchant is owed for a completed child (its sale less the commission)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from models.money import BASIS_POINTS
from models.order import OrderStatus
from models.placing import Fulfilment, PlaceOrder
from models.text import Line

MerchantIdField = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
RETAILER = ""  # the owner of products and locations that belong to no merchant: the retailer itself


class MerchantSettings(BaseModel):
    """`PUT /merchants/{id}`: create or replace a merchant."""

    model_config = ConfigDict(extra="forbid")

    name: Line = Field(min_length=1, max_length=200)
    payout_account: Line = Field(
        min_length=1, max_length=120, description="An opaque reference to where the merchant is paid (never parsed)"
    )
    commission_bp: int = Field(ge=0, le=BASIS_POINTS, description="The retailer's commission in basis points")
    webhook_url: str | None = Field(default=None, pattern=r"^https?://[^\x00-\x20\x7f]+$", max_length=2000)
    webhook_secret: Line | None = Field(
        default=None, min_length=16, max_length=200, description="Signs its order webhooks; kept when omitted"
    )


class Merchant(BaseModel):
    """A merchant as the API shows it; its webhook secret is never shown back."""

    merchant_id: str
    name: str
    payout_account: str
    commission_bp: int
    webhook_url: str | None = None
    webhook_secret_set: bool = False
    subscriber_id: str | None = None  # the outbound webhook subscriber its order events go through


class ParentStatus(StrEnum):
    in_progress = "in_progress"  # no child has finished yet, or those that have were all cancelled
    partially_completed = "partially_completed"  # at least one child completed, another still running
    completed = "completed"  # every child completed or cancelled, at least one completed
    cancelled = "cancelled"  # every child cancelled


def parent_status(children: Iterable[OrderStatus | str]) -> ParentStatus:
    """The marketplace order's status from its children's: done only when every child is (completed or cancelled)."""
    statuses = [OrderStatus(status) for status in children]
    if not statuses:
        raise ValueError("a marketplace order has at least one child")
    completed = any(status is OrderStatus.completed for status in statuses)
    if all(status is OrderStatus.cancelled for status in statuses):
        return ParentStatus.cancelled
    if all(status in (OrderStatus.completed, OrderStatus.cancelled) for status in statuses):
        return ParentStatus.completed
    return ParentStatus.partially_completed if completed else ParentStatus.in_progress


@dataclass(frozen=True)
class Payout:
    sale: int
    commission: int
    owed: int


def payout(sale: int, commission_bp: int) -> Payout:
    """What a merchant is owed for a sale: the sale less the commission, rounded half up to the minor unit, so
    commission + owed is the sale exactly."""
    if sale < 0 or not 0 <= commission_bp <= BASIS_POINTS:
        raise ValueError("a sale is never negative and a commission is 0..10000 basis points")
    commission = (sale * commission_bp + BASIS_POINTS // 2) // BASIS_POINTS
    return Payout(sale=sale, commission=commission, owed=sale - commission)


@dataclass(frozen=True)
class ChildBasket:
    merchant_id: str  # RETAILER for the retailer's own products
    order: PlaceOrder


class BasketProblem(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def split_basket(
    basket: PlaceOrder, owner_of_sku: dict[str, str], location_of: dict[str, Fulfilment]
) -> list[ChildBasket]:
    """One child order per merchant (in the order merchants first appear in the basket), each with its lines, its
    merchant's fulfilment (`location_of`, by merchant) and its share of the one payment: exactly its lines' value, so
    the shares add up to the payment. BasketProblem names the field of a basket that cannot be split."""
    given = basket.given_payments
    if len(given) != 1:
        raise BasketProblem("payments", "a marketplace order is paid by one payment, shared among its child orders")
    if basket.loyalty_offers:
        raise BasketProblem("loyalty_offers", "a marketplace order takes no loyalty offers (no merchant's to share)")
    if basket.estimation_id is not None:
        raise BasketProblem("estimation_id", "a marketplace order is not placed from an estimate")
    path, payment = given[0]
    if payment.amount.amount != basket.gross():
        raise BasketProblem(f"{path}.amount", f"the payment must be the basket's value ({basket.gross()})")
    groups: dict[str, list[int]] = {}
    for index, line in enumerate(basket.lines):
        if line.fulfilment is not None:
            raise BasketProblem(f"lines[{index}].fulfilment", "each merchant fulfils its own lines: leave it out")
        groups.setdefault(owner_of_sku.get(line.sku, RETAILER), []).append(index)
    if len(groups) < 2:
        raise BasketProblem("lines", "a marketplace basket holds products of two or more merchants: use POST /orders")
    children = []
    for merchant_id, indexes in groups.items():
        lines = [basket.lines[index] for index in indexes]
        share = sum(line.unit_price.amount * line.quantity for line in lines)
        share_payment = payment.model_copy(update={"amount": payment.amount.model_copy(update={"amount": share})})
        update = {"lines": lines, "fulfilment": location_of[merchant_id], "payment": share_payment, "payments": []}
        children.append(ChildBasket(merchant_id=merchant_id, order=basket.model_copy(update=update)))
    return children
