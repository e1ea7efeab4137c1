"""SLA policy and the pure rules deciding which deadlines are running for an order."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from models.calendar import LocationCalendar, add_open_time
from models.order import AlertType, OrderState, OrderStatus

# A wait longer than this counts as this long. A duration already stored past what the API now accepts (a year), or
# a timer far in the future, must not overflow a running order's deadline arithmetic (datetime ends in year 9999).
LONGEST_WAIT = timedelta(days=3650)

SLA_ALERTS = (
    AlertType.not_acknowledged,
    AlertType.not_picked,
    AlertType.on_hold,
    AlertType.not_collected,
    AlertType.not_updated,
    AlertType.transfer_not_received,
    AlertType.awaiting_approval,
    AlertType.awaiting_payment,
    AlertType.not_packed,
    AlertType.not_shipped,
    AlertType.not_delivered,
    AlertType.backorder_overdue,
    AlertType.preorder_not_reserved,
)

# Which status runs which SLA clock (not_updated runs on its own flag, see `_clock_start`).
CLOCK_STATUS = {
    AlertType.not_acknowledged: OrderStatus.awaiting_acknowledgement,
    AlertType.not_picked: OrderStatus.acknowledged,
    AlertType.on_hold: OrderStatus.on_hold,
    AlertType.not_collected: OrderStatus.ready_for_collection,
    AlertType.awaiting_approval: OrderStatus.awaiting_approval,
    AlertType.awaiting_payment: OrderStatus.awaiting_payment,
    AlertType.not_packed: OrderStatus.awaiting_dispatch,
    AlertType.not_shipped: OrderStatus.ready_to_ship,
    AlertType.not_delivered: OrderStatus.shipped,
    AlertType.backorder_overdue: OrderStatus.backordered,
}

# The clocks of orders waiting for stock (models/stock_waits.py): a preorder's runs from its release date.
WAIT_CLOCKS = frozenset({AlertType.backorder_overdue, AlertType.preorder_not_reserved})

CLOCKS = (*(alert.value for alert in SLA_ALERTS), "collection_expiry")
OpenTimeClock = Literal[
    "not_acknowledged",
    "not_picked",
    "on_hold",
    "not_collected",
    "not_updated",
    "transfer_not_received",
    "awaiting_approval",
    "awaiting_payment",
    "collection_expiry",
]

STORE_FACING: tuple[OpenTimeClock, ...] = ("not_acknowledged", "not_picked", "not_updated")

# A duration past a year is a typo, and one near timedelta's limit overflows every running order's deadline sums.
YEAR = timedelta(days=365)
SlaDuration = Annotated[timedelta, Field(gt=timedelta(0), le=YEAR)]


class SlaPolicy(BaseModel):
    """How long each waiting step may take before an alert; collection_expiry cancels the order."""

    model_config = ConfigDict(extra="forbid")

    not_acknowledged: SlaDuration = timedelta(minutes=30)
    not_picked: SlaDuration = timedelta(hours=2)
    on_hold: SlaDuration = timedelta(hours=4)
    not_collected: SlaDuration = timedelta(days=3)
    not_updated: SlaDuration = timedelta(hours=1)
    collection_expiry: SlaDuration = timedelta(days=7)
    transfer_not_received: SlaDuration = timedelta(days=1)
    awaiting_approval: SlaDuration = timedelta(hours=4)
    awaiting_payment: SlaDuration = timedelta(days=2)
    not_packed: SlaDuration = timedelta(days=1)
    not_shipped: SlaDuration = timedelta(hours=12)
    not_delivered: SlaDuration = timedelta(days=5)
    # A backorder waiting for replenishment, and a preorder past its release date with its stock still not reserved.
    backorder_overdue: SlaDuration = timedelta(days=3)
    preorder_not_reserved: SlaDuration = timedelta(days=1)
    # How long a completed or cancelled order's workflow stays open once settled (models/closing.py): long enough
    # for a store webhook or Head Office action racing the completion to find it; later refunds run on their own.
    close_after: SlaDuration = timedelta(hours=1)
    # With a calendar, these clocks count only the location's open time (the store-facing ones by default); the
    # others (collection expiry, payments, approvals) count calendar time. A store's own calendar is set in its
    # sla_overrides; one set here applies to every location without its own.
    calendar: LocationCalendar | None = None
    open_time_clocks: list[OpenTimeClock] = Field(default_factory=lambda: list(STORE_FACING), max_length=len(CLOCKS))


class SlaOverrides(BaseModel):
    """A store's own SLA durations; anything left out falls back to the global policy."""

    model_config = ConfigDict(extra="forbid")

    not_acknowledged: SlaDuration | None = None
    not_picked: SlaDuration | None = None
    on_hold: SlaDuration | None = None
    not_collected: SlaDuration | None = None
    not_updated: SlaDuration | None = None
    collection_expiry: SlaDuration | None = None
    transfer_not_received: SlaDuration | None = None
    awaiting_approval: SlaDuration | None = None
    awaiting_payment: SlaDuration | None = None
    not_packed: SlaDuration | None = None
    not_shipped: SlaDuration | None = None
    not_delivered: SlaDuration | None = None
    backorder_overdue: SlaDuration | None = None
    preorder_not_reserved: SlaDuration | None = None
    calendar: LocationCalendar | None = None


_DURATION = TypeAdapter(timedelta)


def stored_durations(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """SLA durations as stored, any past a year counted as a year: settings an older API let through still load (the
    API refuses them now), instead of failing every order that reads them; the deadline rules clamp again."""
    durations: dict[str, Any] = {}
    for name, value in (raw or {}).items():
        try:
            durations[name] = min(_DURATION.validate_python(value), YEAR)
        except ValidationError:
            durations[name] = value  # not a duration: the policy's own validation names it
    return durations


def effective_policy(global_policy: SlaPolicy, overrides: SlaOverrides | None) -> SlaPolicy:
    if overrides is None:
        return global_policy
    # The overrides' own values, not a dump of them: a calendar stays a LocationCalendar (a dump makes it a dict).
    return global_policy.model_copy(update={name: value for name, value in overrides if value is not None})


def after(moment: datetime, wait: timedelta) -> datetime:
    """`moment + wait`, the wait held between zero and LONGEST_WAIT: never an OverflowError, whatever is stored."""
    return moment + min(max(wait, timedelta(0)), LONGEST_WAIT)


def before(moment: datetime, wait: timedelta) -> datetime:
    """`moment - wait`, the wait held between zero and LONGEST_WAIT."""
    return moment - min(max(wait, timedelta(0)), LONGEST_WAIT)


def due(policy: SlaPolicy, clock: str, since: datetime) -> datetime:
    """When the clock's wait, started at `since`, is over: in the location's open time for the clocks that count
    it (when it has a calendar), else in calendar time."""
    wait = getattr(policy, clock)
    if policy.calendar is not None and clock in policy.open_time_clocks:
        return add_open_time(policy.calendar, since, min(max(wait, timedelta(0)), LONGEST_WAIT))
    return after(since, wait)


def _clock_start(state: OrderState, alert_type: AlertType) -> datetime | None:
    if alert_type in WAIT_CLOCKS and not state.waits_have_clocks:
        return None  # an order started before these clocks: no timer its history never had
    if alert_type is AlertType.preorder_not_reserved:
        return state.release_at if state.preorder_unreserved else None
    if alert_type is AlertType.not_updated:
        return state.store_update_pending_since
    if alert_type is AlertType.transfer_not_received:
        return min((t.requested_at for t in state.pending_transfers()), default=None)
    if alert_type is AlertType.not_packed and not state.deliveries:
        # Orders switched to home delivery before deliveries were recorded ran no packing clock: a running one must
        # not start a timer its history never had.
        return None
    return state.status_since if state.status == CLOCK_STATUS[alert_type] else None


def _already_raised(state: OrderState, alert_type: AlertType, since: datetime) -> bool:
    return any(a.type == alert_type and a.raised_at >= since for a in state.alerts)


def running_deadlines(state: OrderState, policy: SlaPolicy) -> dict[AlertType, datetime]:
    """The SLA deadlines still ahead of this order: clocks running and not yet breached this episode."""
    deadlines: dict[AlertType, datetime] = {}
    if state.is_final:
        return deadlines
    for alert_type in SLA_ALERTS:
        since = _clock_start(state, alert_type)
        if since is not None and not _already_raised(state, alert_type, since):
            deadlines[alert_type] = due(policy, alert_type.value, since)
    return deadlines


def breached(state: OrderState, policy: SlaPolicy, now: datetime) -> list[AlertType]:
    return [t for t, due in running_deadlines(state, policy).items() if due <= now]


def collection_deadline(state: OrderState, policy: SlaPolicy) -> datetime | None:
    """When an uncollected order is cancelled and its stock released."""
    if state.status != OrderStatus.ready_for_collection:
        return None
    return due(policy, "collection_expiry", state.status_since)


def next_wakeup(state: OrderState, policy: SlaPolicy) -> datetime | None:
    candidates = list(running_deadlines(state, policy).values())
    expiry = collection_deadline(state, policy)
    if expiry is not None:
        candidates.append(expiry)
    return min(candidates, default=None)
