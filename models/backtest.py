"""Backtesting SLA settings on past orders: each order's status timeline, read off its history, replayed through
the SLA clocks of a policy, says which alerts it would have raised and when (and whether its collection would have
expired). Comparing today's policy with a proposed one gives, per store and alert type, how many alerts each would
have raised, how much earlier or later, and which orders differ. Pure; backtest.py reads the orders from Temporal."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from models.order import HistoryEntry, OrderStatus
from models.payment_policy import PaymentPolicy
from models.placement import approval_reason_of
from models.sla import CLOCK_STATUS, SlaPolicy
from models.sla import due as sla_due

COLLECTION_EXPIRY = "collection_expiry"


class PastOrder(BaseModel):
    """What a backtest needs of an order (its API view has it): where, when, and its history; and, for payment
    policies, what approval judges (as placed: lines with their cancelled units, loyalty discounts)."""

    order_number: str
    store_id: str
    created_at: datetime
    history: list[HistoryEntry]
    channel: str = "web"
    customer_id: str = ""
    gross: int = 0
    discount: int = 0
    currency: str = "GBP"

    @classmethod
    def from_view(cls, view: dict[str, Any]) -> PastOrder:
        lines = view.get("lines", [])
        gross = sum(ln["unit_price"]["amount"] * (ln["quantity"] + ln.get("cancelled_quantity", 0)) for ln in lines)
        discount = sum(offer["discount"]["amount"] for offer in view.get("loyalty_offers", []))
        return cls.model_validate(
            {
                **view,
                "customer_id": view["customer"]["id"],
                "gross": gross,
                "discount": discount,
                "currency": view["total"]["currency"],
            }
        )


@dataclass(frozen=True)
class Episode:
    status: OrderStatus
    start: datetime
    end: datetime  # the next status change, or the end of the backtest for the status it is still in


def episodes(order: PastOrder, until: datetime) -> list[Episode]:
    """The order's statuses in turn, from its history's transitions."""
    changes = [entry for entry in order.history if entry.to_status is not None]
    found: list[Episode] = []
    for index, entry in enumerate(changes):
        assert entry.to_status is not None
        end = changes[index + 1].at if index + 1 < len(changes) else max(until, entry.at)
        found.append(Episode(entry.to_status, entry.at, end))
    return found


def alerts(order: PastOrder, policy: SlaPolicy, until: datetime) -> list[tuple[str, datetime]]:
    """(clock, when) for every SLA alert the policy would have raised on the order, and its collection expiry."""
    raised: list[tuple[str, datetime]] = []
    for episode in episodes(order, until):
        for alert_type, status in CLOCK_STATUS.items():
            if episode.status is status:
                due = sla_due(policy, alert_type.value, episode.start)
                if due < episode.end:
                    raised.append((alert_type.value, due))
        if episode.status is OrderStatus.ready_for_collection:
            expiry = sla_due(policy, COLLECTION_EXPIRY, episode.start)
            if expiry < episode.end:
                raised.append((COLLECTION_EXPIRY, expiry))
    return raised


@dataclass
class Row:
    store_id: str
    clock: str
    today: int = 0
    proposed: int = 0
    shifts: list[timedelta] = field(default_factory=list)  # proposed minus today, for orders alerted under both
    differing: list[str] = field(default_factory=list)

    @property
    def mean_shift_minutes(self) -> float | None:
        if not self.shifts:
            return None
        return sum(s.total_seconds() for s in self.shifts) / len(self.shifts) / 60


def compare(
    orders: list[PastOrder], today: dict[str, SlaPolicy], proposed: dict[str, SlaPolicy], until: datetime
) -> list[Row]:
    """Per store and clock: alerts under today's policy and the proposed one (each store's own, with its
    overrides), how much earlier (negative) or later the proposed ones come, and the orders that differ."""
    rows: dict[tuple[str, str], Row] = {}
    for order in orders:
        now_alerts = _first_by_clock(alerts(order, today[order.store_id], until))
        new_alerts = _first_by_clock(alerts(order, proposed[order.store_id], until))
        for clock in sorted(set(now_alerts) | set(new_alerts)):
            row = rows.setdefault((order.store_id, clock), Row(order.store_id, clock))
            row.today += len(now_alerts.get(clock, []))
            row.proposed += len(new_alerts.get(clock, []))
            if clock in now_alerts and clock in new_alerts:
                row.shifts.append(new_alerts[clock][0] - now_alerts[clock][0])
            if len(now_alerts.get(clock, [])) != len(new_alerts.get(clock, [])):
                row.differing.append(order.order_number)
    return [rows[key] for key in sorted(rows)]


def _first_by_clock(raised: list[tuple[str, datetime]]) -> dict[str, list[datetime]]:
    by_clock: dict[str, list[datetime]] = defaultdict(list)
    for clock, at in raised:
        by_clock[clock].append(at)
    return by_clock


def approvals(orders: list[PastOrder], today: PaymentPolicy, proposed: PaymentPolicy) -> Row:
    """How many orders would have waited for Head Office's approval under each payment policy, and which differ."""
    row = Row(store_id="all", clock="approval")
    for order in orders:
        facts = (order.channel, order.customer_id, order.gross, order.discount, order.currency)
        now_held = approval_reason_of(*facts, today) is not None
        new_held = approval_reason_of(*facts, proposed) is not None
        row.today += now_held
        row.proposed += new_held
        if now_held != new_held:
            row.differing.append(order.order_number)
    return row
