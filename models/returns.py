"""Returns (RMA): a customer sends back lines of an order they received. Each return is its own workflow
(`return-<order>-<k>`, workflows/returns.py), so the order's workflow may end when its deliveries are done.

A return is requested (lines, quantities, reasons; by a channel, Head Office or a store), authorised or rejected by
the return policy (a window after the order completed, products that cannot be returned, never more than was
received), sent back to a store or by carrier to a warehouse (with tracking), received at its location (the order
hears of it: its RETURNED export state), inspected line by line, restocked (what passed inspection goes back on the
shelf through the stock ledger) and reimbursed (the order refunds the accepted lines). Pure: the rules and the
return's state; the workflow carries them out."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models import journey
from models.effects import Effects
from models.order import OrderState
from models.text import Line

LOCATION_PATTERN = r"^[A-Za-z0-9_-]+$"


class ReturnStatus(StrEnum):
    rejected = "rejected"  # by policy: nothing more happens
    authorised = "authorised"  # waiting for the goods
    in_transit = "in_transit"  # sent by carrier, with tracking
    received = "received"  # at the location, waiting for inspection
    reimbursed = "reimbursed"  # inspected, restocked and refunded: done
    cancelled = "cancelled"  # the customer kept the goods (Head Office closed it)


FINAL = frozenset({ReturnStatus.rejected, ReturnStatus.reimbursed, ReturnStatus.cancelled})


class ReturnPolicy(BaseModel):
    """`PUT /settings/returns`."""

    model_config = ConfigDict(extra="forbid")

    window_days: int = Field(default=30, ge=0, le=365, description="Days after the order completed")
    non_returnable_skus: list[Annotated[Line, Field(max_length=64)]] = Field(default_factory=list, max_length=10000)
    non_returnable_styles: list[Annotated[Line, Field(max_length=64)]] = Field(default_factory=list, max_length=1000)
    receipt_days: int = Field(default=14, ge=1, le=365, description="An authorised return not received by then alerts")
    restocking_fee_percent: int = Field(default=0, ge=0, le=100, description="Kept from the refund of returned units")
    refund_hours: int = Field(
        default=48, ge=1, le=24 * 30, description="A refund not issued this long after the inspection alerts"
    )


class ExchangeFor(BaseModel):
    """The SKU the customer wants instead of their money back (models/exchanges.py: like for like)."""

    model_config = ConfigDict(extra="forbid")

    sku: Line = Field(min_length=1, max_length=64)


class ReturnLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line_id: Line = Field(min_length=1, max_length=16)
    quantity: int = Field(ge=1, le=999)
    reason: Line = Field(min_length=1, max_length=200)
    exchange_for: ExchangeFor | None = Field(
        default=None, description="Replace the accepted units with this SKU instead of refunding them"
    )


class RequestReturn(BaseModel):
    """`POST /orders/{n}/returns`."""

    model_config = ConfigDict(extra="forbid")

    lines: list[ReturnLine] = Field(min_length=1, max_length=100)
    method: Literal["store", "carrier"] = "store"
    location_id: str = Field(min_length=1, max_length=32, pattern=LOCATION_PATTERN, examples=["S001", "W001"])

    @model_validator(mode="after")
    def _each_line_once(self) -> Self:
        ids = [line.line_id for line in self.lines]
        if len(ids) != len(set(ids)):
            raise ValueError("each line once")
        return self


class OrderFacts(BaseModel):
    """What the policy needs of the order, read from its view when the return is requested."""

    order_number: str
    status: str
    completed_at: datetime | None
    lines: dict[str, tuple[str, str, int]]  # line_id -> (sku, style, quantity received)
    returned_before: dict[str, int] = Field(default_factory=dict)  # line_id -> quantity in earlier returns
    prices: dict[str, int] = Field(default_factory=dict)  # line_id -> unit price (minor units)
    currency: str = "GBP"


class InspectedLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line_id: Line = Field(min_length=1, max_length=16)
    accepted: int = Field(ge=0, le=999, description="Units fit to sell again: restocked and refunded")
    written_off: int = Field(default=0, ge=0, le=999, description="Units refunded but not restocked (unsellable)")
    note: Line = Field(default="", max_length=200)


class ReturnState(BaseModel):
    return_id: str
    order_number: str
    status: ReturnStatus
    method: Literal["store", "carrier"]
    location_id: str
    lines: list[ReturnLine]
    requested_by: str
    requested_at: datetime
    rejections: list[str] = Field(default_factory=list)
    carrier: str | None = None
    tracking_number: str | None = None
    received_at: datetime | None = None
    # The location's webhook event that reported it (a retry after the return finished is answered, not refused).
    received_event_id: str | None = None
    inspected: list[InspectedLine] = Field(default_factory=list)
    inspected_by: str | None = None
    refunded_lines: dict[str, int] = Field(default_factory=dict)
    replacement_order: str | None = None  # the order that sends the exchanged units (models/exchanges.py)
    alerts: list[str] = Field(default_factory=list)
    history: list[tuple[datetime, str, str]] = Field(default_factory=list)  # (at, actor, what)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL


def refusals(facts: OrderFacts, request: RequestReturn, policy: ReturnPolicy, now: datetime) -> list[str]:
    """Why the policy refuses the return (empty: authorised)."""
    problems = []
    if facts.completed_at is None:
        problems.append(f"order {facts.order_number} is {facts.status}: only a completed order is returned")
    elif now > facts.completed_at + timedelta(days=policy.window_days):
        problems.append(f"the return window of {policy.window_days} days closed")
    for line in request.lines:
        known = facts.lines.get(line.line_id)
        if known is None:
            problems.append(f"{line.line_id}: not a line of the order")
            continue
        sku, style, received = known
        if sku in policy.non_returnable_skus or style in policy.non_returnable_styles:
            problems.append(f"{line.line_id}: {sku} cannot be returned")
        left = received - facts.returned_before.get(line.line_id, 0)
        if line.quantity > left:
            problems.append(f"{line.line_id}: {line.quantity} asked, {left} received and not yet returned")
    return problems


def requested(
    return_id: str, facts: OrderFacts, request: RequestReturn, policy: ReturnPolicy, actor: str, now: datetime
) -> ReturnState:
    problems = refusals(facts, request, policy, now)
    state = ReturnState(
        return_id=return_id,
        order_number=facts.order_number,
        status=ReturnStatus.rejected if problems else ReturnStatus.authorised,
        method=request.method,
        location_id=request.location_id,
        lines=request.lines,
        requested_by=actor,
        requested_at=now,
        rejections=problems,
    )
    _log(state, now, actor, "requested")
    _log(state, now, "system", "rejected: " + "; ".join(problems) if problems else "authorised")
    return state


def _log(state: ReturnState, now: datetime, actor: str, what: str) -> None:
    state.history.append((now, actor, what))


def shipped(state: ReturnState, carrier: str, tracking_number: str, actor: str, now: datetime) -> str | None:
    """The customer sent it by carrier; the refusal, or None when applied."""
    if state.status is not ReturnStatus.authorised or state.method != "carrier":
        return f"a return {state.status} by {state.method} is not shipped by carrier"
    state.status, state.carrier, state.tracking_number = ReturnStatus.in_transit, carrier, tracking_number
    _log(state, now, actor, f"shipped with {carrier} {tracking_number}")
    return None


def received(
    state: ReturnState, location_id: str, actor: str, now: datetime, event_id: str | None = None
) -> str | None:
    if state.status not in (ReturnStatus.authorised, ReturnStatus.in_transit):
        return f"a return {state.status} cannot be received"
    if location_id != state.location_id:
        return f"the return goes to {state.location_id}, not {location_id}"
    state.status, state.received_at, state.received_event_id = ReturnStatus.received, now, event_id
    _log(state, now, actor, f"received at {location_id}")
    return None


def inspection_problem(state: ReturnState, lines: list[InspectedLine]) -> str | None:
    if state.inspected_by is not None:
        return f"the return was inspected already, by {state.inspected_by}"
    if state.status is not ReturnStatus.received:
        return f"a return {state.status} is not inspected"
    expected = {line.line_id: line.quantity for line in state.lines}
    if {line.line_id for line in lines} != set(expected):
        return f"inspect every returned line: {', '.join(sorted(expected))}"
    for line in lines:
        if line.accepted + line.written_off > expected[line.line_id]:
            return (
                f"{line.line_id}: {line.accepted} accepted and {line.written_off} written off, "
                f"{expected[line.line_id]} returned"
            )
    return None


def inspected(state: ReturnState, lines: list[InspectedLine], actor: str, now: datetime) -> dict[str, int]:
    """Record the inspection; the units to refund per line (restocked or written off)."""
    state.inspected, state.inspected_by = lines, actor
    refund = {line.line_id: line.accepted + line.written_off for line in lines if line.accepted + line.written_off}
    summary = ", ".join(f"{line.line_id}: {line.accepted} restocked, {line.written_off} written off" for line in lines)
    _log(state, now, actor, f"inspected: {summary}")
    return refund


def restocked(state: ReturnState) -> dict[str, int]:
    """The units that go back on the shelf, per line."""
    return {line.line_id: line.accepted for line in state.inspected if line.accepted}


def refund_value(facts: OrderFacts, refund: dict[str, int], policy: ReturnPolicy) -> tuple[int, int]:
    """(the value of the refunded units, what the restocking fee keeps of it), in minor units."""
    value = sum(facts.prices.get(line_id, 0) * units for line_id, units in refund.items())
    return value, value * policy.restocking_fee_percent // 100


def complete(facts: OrderFacts, lines: list[ReturnLine]) -> bool:
    """Whether, with this return, everything the order's customer received has come back."""
    back = dict(facts.returned_before)
    for line in lines:
        back[line.line_id] = back.get(line.line_id, 0) + line.quantity
    return all(
        back.get(line_id, 0) >= received for line_id, (_sku, _style, received) in facts.lines.items() if received
    )


def reimbursed(state: ReturnState, refunded: dict[str, int], now: datetime) -> None:
    state.status, state.refunded_lines = ReturnStatus.reimbursed, refunded
    _log(state, now, "system", "reimbursed" if refunded else "closed: nothing accepted to refund")


def replacement_placed(state: ReturnState, order_number: str, now: datetime) -> None:
    state.replacement_order = order_number
    _log(state, now, "system", f"exchange: replacement order {order_number} placed")


def replacement_refused(state: ReturnState, why: str, now: datetime) -> None:
    """The replacement could not be placed (say the SKU is out of stock everywhere): Head Office settles it."""
    state.alerts.append("replacement_refused")
    _log(state, now, "system", f"exchange: the replacement was refused: {why}")


def receipt_overdue(state: ReturnState, now: datetime) -> None:
    state.alerts.append("return_not_received")
    _log(state, now, "system", "alert: not received in time")


REFUND_NOT_ISSUED = "refund_not_issued"


def refund_overdue(state: ReturnState, hours: int, now: datetime) -> None:
    """The refund was not issued within the policy's hours of the inspection: Head Office chases it."""
    state.alerts.append(REFUND_NOT_ISSUED)
    _log(state, now, "system", f"alert: refund not issued within {hours} hours of the inspection")


def refund_settled(state: ReturnState, now: datetime) -> None:
    """The refund went through after its clock ran out: its alert clears (the history keeps it)."""
    if REFUND_NOT_ISSUED in state.alerts:
        state.alerts.remove(REFUND_NOT_ISSUED)
        _log(state, now, "system", "alert cleared: the refund was issued")


def cancelled(state: ReturnState, actor: str, reason: str, now: datetime) -> str | None:
    """Head Office closes a return whose goods never came (the customer kept them): nothing is refunded."""
    if state.status not in (ReturnStatus.authorised, ReturnStatus.in_transit):
        return f"a return {state.status} cannot be cancelled"
    state.status = ReturnStatus.cancelled
    _log(state, now, actor, f"cancelled: {reason}")
    return None


def refund_refused(state: ReturnState, why: str, now: datetime) -> None:
    state.alerts.append("refund_refused")
    _log(state, now, "system", f"the order refused the refund: {why}")


class ReturnNotice(BaseModel):
    """What the order hears when its goods come back (its `return_received` signal)."""

    return_id: str
    location_id: str
    lines: list[ReturnLine]
    complete: bool = True  # everything received has now come back (RETURNED); else a partial return


def on_return_received(order: OrderState, notice: ReturnNotice, now: datetime) -> Effects | None:
    """The order records the return: `return_received` when everything received has come back (the order event
    `returned`, export state RETURNED), else `partially_returned` (PARTIALLY_RETURNED); once per return."""
    recorded = ("return_received", "partially_returned")
    if any(entry.action in recorded and notice.return_id in entry.detail for entry in order.history):
        return None
    lines = ", ".join(f"{line.line_id} × {line.quantity}" for line in notice.lines)
    detail = f"{notice.return_id}: {lines} at {notice.location_id}"
    action = "return_received" if notice.complete else "partially_returned"
    journey.record(order, now, f"return:{notice.return_id}", action, detail)
    return Effects()


class ReturnStart(BaseModel):
    """What a return's workflow starts from: the order's facts and policy as they were asked."""

    return_id: str
    facts: OrderFacts
    request: RequestReturn
    policy: ReturnPolicy
    actor: str


RETURN_WORKFLOW = "Return"


def return_workflow_id(order_number: str, k: int | str) -> str:
    return f"return-{order_number}-{k}"
