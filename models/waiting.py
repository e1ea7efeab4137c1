"""What an order is waiting for, since when, and by when: the order page's "waiting for" line, the dashboard's SLA
countdowns and the Pick Manager's due-by times. Pure: from an order's status, the moment it entered it and the SLA
policy (the same clocks the workflow's timers run, models/sla.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from models.order import OrderStatus
from models.sla import CLOCK_STATUS, SlaPolicy, due
from models.views import OrderView

_CLOCK_OF = {status: alert for alert, status in CLOCK_STATUS.items()}

# Who the order waits on in each status, in words.
_WAITS_ON = {
    OrderStatus.received: "Baton to reserve stock and take the payment",
    OrderStatus.awaiting_approval: "Head Office to approve or reject it",
    OrderStatus.awaiting_payment: "the customer's payment to be confirmed",
    OrderStatus.on_hold: "Head Office to release the hold",
    OrderStatus.awaiting_acknowledgement: "the store to acknowledge it",
    OrderStatus.acknowledged: "the store to pick it",
    OrderStatus.awaiting_transfer: "stock on its way to the store",
    OrderStatus.awaiting_dispatch: "the dispatch location to ship it",
    OrderStatus.ready_for_collection: "the customer to collect it",
    OrderStatus.collected: "the payment to be settled",
    OrderStatus.backordered: "replenishment of the stock it is short of",
}
SOON = 0.25  # amber once less than this share of the SLA is left
SOON_AT_MOST = timedelta(minutes=30)  # ... or less than this, whichever comes first

Urgency = Literal["breached", "soon", "ok"]


@dataclass(frozen=True)
class Wait:
    what: str  # "the store to pick it"
    since: datetime
    deadline: datetime | None  # when the SLA alert is raised (or the collection expires)
    deadline_what: str  # "not picked alert", "collection expires"
    urgency: Urgency | None


def status_deadline(status: OrderStatus, since: datetime, policy: SlaPolicy) -> datetime | None:
    """When the SLA of this status breaches, for an order in it since `since` (None: no clock runs)."""
    alert = _CLOCK_OF.get(status)
    return due(policy, alert.value, since) if alert is not None else None  # open time, with a calendar


def urgency(since: datetime, deadline: datetime | None, now: datetime) -> Urgency | None:
    """Red once the deadline passed, amber when it is close (a quarter of the SLA or 30 minutes left)."""
    if deadline is None:
        return None
    if deadline <= now:
        return "breached"
    left = deadline - now
    return "soon" if left <= min((deadline - since) * SOON, SOON_AT_MOST) else "ok"


def waiting_for(view: OrderView, policy: SlaPolicy, now: datetime) -> Wait | None:
    """The order's current wait (None once it is completed or cancelled)."""
    if view.store_update_pending_since is not None:
        since = view.store_update_pending_since
        update_due = due(policy, "not_updated", since)
        return Wait(
            "the store to acknowledge Head Office's change",
            since,
            update_due,
            "not updated alert",
            urgency(since, update_due, now),
        )
    what = _WAITS_ON.get(view.status)
    if what is None:
        return None
    since = view.status_since
    deadline: datetime | None
    if view.status is OrderStatus.ready_for_collection:
        expiry = due(policy, "collection_expiry", since)
        alert = due(policy, "not_collected", since)
        deadline, label = (alert, "not collected alert") if alert > now else (expiry, "collection expires")
    else:
        deadline = status_deadline(view.status, since, policy)
        clock = _CLOCK_OF.get(view.status)
        label = f"{clock.value.replace('_', ' ')} alert" if clock else ""
    clock_alert = _CLOCK_OF.get(view.status)
    raised = any(a.type is clock_alert and a.cleared_at is None and a.raised_at >= since for a in view.alerts)
    level = "breached" if raised else urgency(since, deadline, now)
    return Wait(what, since, deadline, label, level)
