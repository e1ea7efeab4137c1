"""Estimates: what an order would come to, who would fulfil it and when, and how it would be paid, before it is
placed (`POST /estimates`). An estimate is judged by the same placement rules as the order (models/placement.py
`order_problems`); `POST /orders` with its `estimation_id` places exactly it, its prices and charges locked.
Pure: activities/estimates.py gathers the facts and keeps the estimate."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, model_validator

from models.balances import PaymentPlan
from models.calendar import HORIZON_DAYS, LocationCalendar
from models.catalogue import Product
from models.charges import ChargeDecision
from models.money import Money
from models.placing import PlaceOrder
from models.tax import TaxPolicy

ESTIMATE_VALID_FOR = timedelta(hours=2)


class EstimateScope(StrEnum):
    full = "full"  # amounts, charges, tax, the payment plan and an estimation_id to place it by
    fulfilment = "fulfilment"  # only who would fulfil each delivery and when


class EstimateRequest(PlaceOrder):
    """What `POST /orders` takes; payments may be left out (they are ignored)."""

    @model_validator(mode="after")
    def _one_way_to_give_payments(self) -> Self:  # overrides PlaceOrder's: an estimate needs no payment
        return self

    def as_estimated(self) -> dict[str, Any]:
        return estimated_part(self)


def estimated_part(order: PlaceOrder) -> dict[str, Any]:
    """What an estimate fixes of an order: everything but how it is paid, its reference and its notes. An order
    placed by `estimation_id` must say the same."""
    return order.model_dump(mode="json", exclude={"payment", "payments", "estimation_id", "web_reference", "notes"})


class Locked(BaseModel):
    """What an estimate locks for its placement: each SKU's unit price, the charges and the tax rates."""

    prices: dict[str, Money]
    charges: list[ChargeDecision]
    tax: TaxPolicy | None = None  # None: kept before tax was locked; placed under the rates of the day


def with_locked_prices(products: dict[str, Product], locked: Locked) -> dict[str, Product]:
    """The catalogue as it was estimated: a later price change does not alter a placed estimate."""
    return {
        sku: product.model_copy(update={"price": locked.prices[sku]}) if sku in locked.prices else product
        for sku, product in products.items()
    }


class Amounts(BaseModel):
    gross: Money = Field(description="The lines before discounts")
    discounts: Money = Field(description="Loyalty offers, at most the lines' value")
    net: Money = Field(description="The lines after discounts")
    charges: Money
    total: Money = Field(description="net + charges: what the payments must cover")
    tax: Money = Field(description="The tax inside the total (models/tax.py)")
    total_net_of_tax: Money


def estimate_amounts(gross: int, discounts: int, charges: int, tax: int, currency: str) -> Amounts:
    """The estimate's sums: discounts never take the lines below nothing; charges are added after them."""
    taken = min(discounts, gross)
    net = gross - taken
    total = net + charges

    def money(amount: int) -> Money:
        return Money(amount=amount, currency=currency)

    return Amounts(
        gross=money(gross),
        discounts=money(taken),
        net=money(net),
        charges=money(charges),
        total=money(total),
        tax=money(tax),
        total_net_of_tax=money(total - tax),
    )


def starts_at(calendar: LocationCalendar | None, now: datetime) -> datetime | None:
    """When a location would start on a delivery: now while it is open (or keeps no calendar), else when its calendar
    next opens it; None when it does not open within the calendar's horizon."""
    if calendar is None or calendar.is_open(now):
        return now
    first_day = now.astimezone(ZoneInfo(calendar.timezone)).date()
    for offset in range(HORIZON_DAYS):
        for opens, _closes in calendar.open_periods(first_day + timedelta(days=offset)):
            if opens > now:
                return opens
    return None


class DeliveryEstimate(BaseModel):
    delivery_id: str
    method: str
    location_id: str | None
    line_ids: list[str]
    starts_at: datetime | None = Field(
        description="When the location would start on it: now while it is open, else when it next opens (its calendar)"
    )
    location_time: str | None = Field(default=None, description="starts_at on the location's clock")
    sourced: bool = Field(description="Sourcing chose the location (else the order named it)")


class ChargeEstimate(BaseModel):
    delivery_id: str
    amount: Money
    reason: str


class Estimate(BaseModel):
    estimation_id: str | None = Field(description="Place it with POST /orders {..., estimation_id}; null: fulfilment")
    scope: EstimateScope
    estimated_at: datetime
    expires_at: datetime | None
    deliveries: list[DeliveryEstimate]
    amounts: Amounts | None = None
    charges: list[ChargeEstimate] = Field(default_factory=list)
    payment_plan: PaymentPlan | None = Field(
        default=None, description="Account credit first, then wallet funds, the rest by card"
    )
