"""What analytics and the customer view need of an order, read from its API view (models/views.py `for_api`, as
the read model stores it): pure, so the projection writes it with each change and a migration can backfill it
from views already stored, with the same rules.

Times are seconds from placement (`created_at`) to the first time the order reached a stage; a stage never
reached stays None. SLA breaches are the alerts the order's SLA timers raised (open or cleared since)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from models.order import AlertType, OrderStatus

# The alerts a missed SLA raises (models/sla.py); the others are exceptions, not breaches of a clock.
SLA_ALERT_TYPES = frozenset(
    {
        AlertType.not_acknowledged,
        AlertType.not_picked,
        AlertType.on_hold,
        AlertType.not_collected,
        AlertType.not_updated,
        AlertType.transfer_not_received,
        AlertType.awaiting_approval,
        AlertType.awaiting_payment,
    }
)

# The stages timed from placement, in journey order, and the history entry that marks reaching each.
STAGES = ("acknowledged", "picked", "ready", "collected")
PICK_ACTIONS = frozenset({"picked", "held_short_pick"})  # a short pick is a pick too: the store did pick
# A refund counts as money given back once done or instructed (declined or requested ones did not move).
REFUNDS_COUNTED = frozenset({"refunded", "instructed"})


class Breach(BaseModel):
    alert_id: str
    alert_type: str
    raised_at: datetime


class RefundFact(BaseModel):
    refund_id: str
    reason: str
    amount: int
    currency: str


class OrderFacts(BaseModel):
    """One order as analytics counts it."""

    order_number: str
    store_id: str
    channel: str
    customer_id: str
    status: str
    currency: str
    total_amount: int  # what the customer owes (cancelled lines no longer count)
    refunded_amount: int
    created_at: datetime
    created_day: str  # YYYY-MM-DD in UTC: groups by day the same way on every database
    seconds: dict[str, int | None]  # stage -> seconds from placement
    cancelled_by: str | None  # the action that cancelled it: order_cancelled, not_collected, ...
    cancel_reason: str | None  # what Head Office wrote, or the action when nobody wrote anything
    breaches: list[Breach]
    refunds: list[RefundFact]


class CustomerFacts(BaseModel):
    """A customer as the newest of their orders describes them, and the text a search looks through."""

    customer_id: str
    name: str
    email: str
    phone: str
    search_text: str
    last_order_at: datetime


def _at(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _first(history: list[dict[str, Any]], wanted: Any) -> datetime | None:
    for entry in history:
        if wanted(entry):
            return _at(entry["at"])
    return None


def _seconds(start: datetime, end: datetime | None) -> int | None:
    return None if end is None else max(0, int((end - start).total_seconds()))


def order_facts(view: dict[str, Any]) -> OrderFacts:
    """The analytics facts of one order's view (a dict as the read model stores it)."""
    created = _at(view["created_at"])
    history: list[dict[str, Any]] = view.get("history", [])
    reached = {
        "acknowledged": _first(history, lambda e: e.get("to_status") == OrderStatus.acknowledged),
        "picked": _first(history, lambda e: e.get("action") in PICK_ACTIONS),
        "ready": _first(history, lambda e: e.get("to_status") == OrderStatus.ready_for_collection),
        "collected": _first(history, lambda e: e.get("to_status") == OrderStatus.collected),
    }
    cancelled = next((e for e in reversed(history) if e.get("to_status") == OrderStatus.cancelled), None)
    cancelled_by = cancelled["action"] if cancelled else None
    reason = (cancelled.get("detail") or cancelled["action"]) if cancelled else None
    total = view["total"]
    return OrderFacts(
        order_number=view["order_number"],
        store_id=view["store_id"],
        channel=view["channel"],
        customer_id=view["customer"]["id"],
        status=view["status"],
        currency=total["currency"],
        total_amount=total["amount"],
        refunded_amount=view.get("refunded", {}).get("amount", 0),
        created_at=created,
        created_day=created.date().isoformat(),
        seconds={stage: _seconds(created, reached[stage]) for stage in STAGES},
        cancelled_by=cancelled_by,
        cancel_reason=reason[:200] if reason else None,
        breaches=[
            Breach(alert_id=a["alert_id"], alert_type=a["type"], raised_at=_at(a["raised_at"]))
            for a in view.get("alerts", [])
            if a["type"] in SLA_ALERT_TYPES
        ],
        refunds=[
            RefundFact(
                refund_id=r["refund_id"],
                reason=(r.get("reason") or "")[:200],
                amount=r["amount"]["amount"],
                currency=r["amount"]["currency"],
            )
            for r in view.get("refunds", [])
            if r.get("status") in REFUNDS_COUNTED
        ],
    )


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def search_text(*parts: str) -> str:
    """Lower-cased words to search in, and a phone number's digits alone, so "7700 900" finds "+44 7700 900…"."""
    words = [part.lower() for part in parts if part]
    for part in parts:
        # "+44 (0)7700 900123" is found as 07700900123 and as 447700900123: the trunk "(0)" both kept and dropped.
        for variant in dict.fromkeys((digits(part), digits(part.replace("(0)", "")))):
            if len(variant) >= 6:
                words.append(variant)
    return " ".join(words)


def search_pattern(query: str) -> str:
    """What to look for in `search_text`: the query lower-cased, or its digits when it reads as a phone number."""
    cleaned = query.strip().lower()
    if re.fullmatch(r"[+\d\s().-]+", cleaned) and len(digits(cleaned)) >= 4:
        return digits(cleaned)
    return cleaned


def customer_facts(view: dict[str, Any]) -> CustomerFacts:
    customer = view["customer"]
    phone = customer.get("phone") or ""
    return CustomerFacts(
        customer_id=customer["id"],
        name=customer["name"],
        email=customer["email"].lower(),
        phone=phone,
        search_text=search_text(customer["id"], customer["name"], customer["email"], phone),
        last_order_at=_at(view["created_at"]),
    )


def nearest_rank(sorted_values: list[int], per_mille: int) -> int | None:
    """The nearest-rank percentile of values sorted ascending: the value at rank ceil(p x n), p in thousandths."""
    if not sorted_values:
        return None
    return sorted_values[-(-per_mille * len(sorted_values) // 1000) - 1]
