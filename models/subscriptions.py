"""Subscriptions: what a subscription is, when its periods fall due, and the rules for changing it. Pure: the
subscription's workflow (workflows/subscriptions.py) keeps the state and places each period's order through
activities/subscriptions.py.

A period is numbered from 0; period k falls due at `starts_at` plus k periods (months keep the start's day, clamped
to the month's last day, and are counted from the start, so 31 Jan → 28 Feb → 31 Mar, never drifting)."""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from models.money import MAX_AMOUNT
from models.placing import Channel, Customer, Fulfilment
from models.text import Line

SUBSCRIPTION_WORKFLOW = "Subscription"
SUBSCRIPTION_HOLDER = "baton:subscription"  # the placement holder of renewal orders (their idempotency keys)
PERIOD_PATTERN = r"^P([1-9][0-9]?)([MWD])$"
_LIMITS = {"M": 12, "W": 52, "D": 365}

# A declined renewal is tried again this many times, this far apart, before its period is marked failed.
RENEWAL_RETRIES = 3
RETRY_EVERY = timedelta(days=1)
# Renewal periods kept before the workflow continues as new (the history stays bounded for years of renewals).
PERIODS_PER_RUN = 12


def subscription_workflow_id(subscription_id: str) -> str:
    return f"subscription-{subscription_id}"


def renewal_key(subscription_id: str, period: int) -> str:
    """The placement idempotency key of a period's order: a retried placement answers the same order."""
    return f"{subscription_id}:period-{period}"


def period_problem(period: str) -> str | None:
    match = re.match(PERIOD_PATTERN, period)
    if match is None:
        return "an ISO 8601 period of months, weeks or days, e.g. P1M, P2W, P10D"
    count, unit = int(match.group(1)), match.group(2)
    if count > _LIMITS[unit]:
        return f"at most {_LIMITS[unit]}{unit} (a year)"
    return None


def due_at(starts_at: datetime, period: str, index: int) -> datetime:
    """When period `index` falls due (counted from the start, so month ends never drift)."""
    match = re.match(PERIOD_PATTERN, period)
    assert match is not None, period
    count, unit = int(match.group(1)), match.group(2)
    if unit == "D":
        return starts_at + timedelta(days=count * index)
    if unit == "W":
        return starts_at + timedelta(weeks=count * index)
    months = starts_at.month - 1 + count * index
    year, month = starts_at.year + months // 12, months % 12 + 1
    day = min(starts_at.day, calendar.monthrange(year, month)[1])
    return starts_at.replace(year=year, month=month, day=day)


class SubscriptionLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Line = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=999)
    locked_price: int | None = Field(
        default=None, ge=0, le=MAX_AMOUNT, description="Minor units: the price kept when terms are locked"
    )


class NewSubscription(BaseModel):
    """What a channel (or Head Office) sends to subscribe a customer."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel
    customer: Customer
    fulfilment: Fulfilment
    lines: list[SubscriptionLine] = Field(min_length=1, max_length=20)
    period: Annotated[Line, Field(examples=["P1M"], max_length=5)]
    price_terms: Literal["catalogue", "locked"] = Field(
        default="catalogue", description="catalogue: the price at each renewal; locked: the price when subscribed"
    )
    currency: str = Field(default="GBP", pattern=r"^[A-Z]{3}$")
    token: Line = Field(min_length=1, max_length=255, description="The card token each renewal is charged to")
    starts_at: AwareDatetime | None = Field(default=None, description="The first billing; now when left out")


class SubscriptionStatus(StrEnum):
    active = "active"
    paused = "paused"
    cancelled = "cancelled"


class PeriodRecord(BaseModel):
    index: int
    due_at: datetime
    status: Literal["placed", "paid", "declined", "failed", "skipped", "paused", "refused"]
    order_number: str | None = None
    amount: int | None = None
    attempts: int = 0
    detail: str = ""


class HistoryEntry(BaseModel):
    at: datetime
    actor: str
    action: str
    detail: str = ""


class SubscriptionAlert(BaseModel):
    type: Literal["payment_declined", "renewal_failed", "renewal_refused"]
    period: int
    message: str
    raised_at: datetime
    resolved_at: datetime | None = None


class SubscriptionState(BaseModel):
    subscription_id: str
    owner: str  # the caller who subscribed (`channel:webstore`, `ho:alice`): channels act on their own only
    channel: Channel
    customer: Customer
    fulfilment: Fulfilment
    lines: list[SubscriptionLine]
    period: str
    price_terms: Literal["catalogue", "locked"]
    currency: str
    token: str
    starts_at: datetime
    status: SubscriptionStatus = SubscriptionStatus.active
    next_period: int = 0
    skipped: list[int] = Field(default_factory=list)
    periods: list[PeriodRecord] = Field(default_factory=list)
    alerts: list[SubscriptionAlert] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list)
    runs: int = 1  # workflow runs so far (continued as new every PERIODS_PER_RUN periods)

    def next_due(self) -> datetime:
        return due_at(self.starts_at, self.period, self.next_period)


class NextBilling(BaseModel):
    at: datetime | None
    period: int | None
    amount: int | None  # minor units; None when the catalogue no longer sells a line
    currency: str


class SubscriptionView(SubscriptionState):
    next_billing: NextBilling | None = None


def new_subscription(subscription_id: str, owner: str, body: NewSubscription, now: datetime) -> SubscriptionState:
    state = SubscriptionState(
        subscription_id=subscription_id,
        owner=owner,
        channel=body.channel,
        customer=body.customer,
        fulfilment=body.fulfilment,
        lines=body.lines,
        period=body.period,
        price_terms=body.price_terms,
        currency=body.currency,
        token=body.token,
        starts_at=body.starts_at or now,
    )
    state.history.append(HistoryEntry(at=now, actor=owner, action="subscribed", detail=f"every {body.period}"))
    return state


def next_billing(state: SubscriptionState, prices: dict[str, int]) -> NextBilling:
    """The next period to bill (skipped periods passed over) and what it will cost at these catalogue prices."""
    if state.status is SubscriptionStatus.cancelled:
        return NextBilling(at=None, period=None, amount=None, currency=state.currency)
    period = state.next_period
    while period in state.skipped:
        period += 1
    amount: int | None = 0
    for line in state.lines:
        price = unit_price(state, line, prices)
        amount = None if price is None or amount is None else amount + price * line.quantity
    return NextBilling(
        at=due_at(state.starts_at, state.period, period), period=period, amount=amount, currency=state.currency
    )


def unit_price(state: SubscriptionState, line: SubscriptionLine, prices: dict[str, int]) -> int | None:
    """A line's price at renewal: the catalogue's, or the locked one when lower (a locked price never rises)."""
    current = prices.get(line.sku)
    if current is None:
        return None
    if state.price_terms == "locked" and line.locked_price is not None:
        return min(current, line.locked_price)
    return current


# --- changes: Head Office or the subscribing channel; each refused change names its rule -------------------------


class Change(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["pause", "resume", "skip_next", "change_quantity", "change_card", "cancel"]
    sku: Line | None = Field(default=None, max_length=64)
    quantity: int | None = Field(default=None, ge=1, le=999)
    token: Line | None = Field(default=None, min_length=1, max_length=255)
    reason: Line = Field(default="", max_length=500)
    actor: str = ""


class Refusal(BaseModel):
    rule: str
    message: str


def refusal(state: SubscriptionState, change: Change) -> Refusal | None:
    if state.status is SubscriptionStatus.cancelled:
        return Refusal(rule="subscription_cancelled", message="the subscription is cancelled")
    if change.actor.startswith("channel:") and change.actor != state.owner:
        return Refusal(rule="not_your_subscription", message="only the channel that subscribed may change it")
    if change.kind == "pause" and state.status is SubscriptionStatus.paused:
        return Refusal(rule="already_paused", message="the subscription is paused already")
    if change.kind == "resume" and state.status is not SubscriptionStatus.paused:
        return Refusal(rule="not_paused", message="only a paused subscription can resume")
    if change.kind == "skip_next" and state.status is SubscriptionStatus.paused:
        return Refusal(rule="paused", message="a paused subscription bills nothing to skip")
    if change.kind == "change_quantity":
        if change.sku is None or change.quantity is None:
            return Refusal(rule="quantity_needs_sku", message="give the sku and its new quantity")
        if all(line.sku != change.sku for line in state.lines):
            return Refusal(rule="unknown_line", message=f"the subscription has no line {change.sku}")
    if change.kind == "change_card" and change.token is None:
        return Refusal(rule="card_needs_token", message="give the new card token")
    return None


def apply(state: SubscriptionState, change: Change, now: datetime) -> None:
    detail = change.reason
    if change.kind == "pause":
        state.status = SubscriptionStatus.paused
    elif change.kind == "resume":
        state.status = SubscriptionStatus.active
        passed = state.next_period  # periods that fell due while paused are not billed late
        while due_at(state.starts_at, state.period, state.next_period) < now:
            state.periods.append(_passed(state, state.next_period, "paused", "fell due while paused"))
            state.next_period += 1
        if state.next_period > passed:
            detail = f"{detail} (periods {passed}–{state.next_period - 1} passed while paused)".strip()
    elif change.kind == "skip_next":
        period = state.next_period
        while period in state.skipped:
            period += 1
        state.skipped.append(period)
        detail = f"period {period} ({due_at(state.starts_at, state.period, period).date()})"
    elif change.kind == "change_quantity":
        line = next(line for line in state.lines if line.sku == change.sku)
        detail = f"{line.sku}: {line.quantity} → {change.quantity}"
        line.quantity = change.quantity or line.quantity
    elif change.kind == "change_card":
        state.token = change.token or state.token
        detail = "the card renewals are charged to"
    elif change.kind == "cancel":
        state.status = SubscriptionStatus.cancelled
    state.history.append(HistoryEntry(at=now, actor=change.actor, action=change.kind, detail=detail))


def _passed(state: SubscriptionState, index: int, status: Literal["skipped", "paused"], detail: str) -> PeriodRecord:
    return PeriodRecord(index=index, due_at=due_at(state.starts_at, state.period, index), status=status, detail=detail)


def skip_due(state: SubscriptionState, now: datetime) -> bool:
    """The due period was skipped: recorded, and the subscription moves to the next. False when it bills."""
    if state.next_period not in state.skipped:
        return False
    state.periods.append(_passed(state, state.next_period, "skipped", "skipped"))
    state.history.append(
        HistoryEntry(at=now, actor="subscription", action="period_skipped", detail=str(state.next_period))
    )
    state.next_period += 1
    return True


def raise_alert(state: SubscriptionState, alert: SubscriptionAlert) -> None:
    state.alerts.append(alert)
    state.history.append(
        HistoryEntry(at=alert.raised_at, actor="subscription", action=alert.type, detail=alert.message)
    )


def resolve_alerts(state: SubscriptionState, period: int, now: datetime) -> None:
    for alert in state.alerts:
        if alert.period == period and alert.resolved_at is None:
            alert.resolved_at = now
