"""The stuck-order sweep's verdict (activities/sweep.py) and what it does to an order: a `stuck` alert with the
diagnosis attached, once while it is open; cleared the next time the order moves (journey.settle_alerts)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel

from models import journey
from models.diagnosis import OrderDiagnosis
from models.effects import Effects
from models.order import AlertType, OrderState


class StuckReport(BaseModel):
    reason: str  # past_every_deadline | not_answering | delivery_failing
    detail: str


def verdict(diagnosis: OrderDiagnosis, quiet_for: timedelta, now: datetime, grace: timedelta) -> StuckReport | None:
    """An order quiet this long is stuck when its next deadline is long past (its timer should have acted), or when
    nothing is left for its timer to do. What it waits for goes into the alert."""
    waiting = "; ".join(f"{w.for_what} ({w.from_whom}, since {w.since:%Y-%m-%d %H:%M} UTC)" for w in diagnosis.waits)
    deadline = diagnosis.next_deadline
    if deadline is not None and deadline.at >= now - grace:
        return None
    past = (
        "its last deadline" if deadline is None else f"its {deadline.clock} deadline ({deadline.at:%Y-%m-%d %H:%M} UTC)"
    )
    hours = quiet_for.total_seconds() / 3600
    detail = f"no progress for {hours:.1f} h, past {past}; waiting for {waiting or 'nothing'}"
    return StuckReport(reason="past_every_deadline", detail=detail)


def on_stuck(state: OrderState, report: StuckReport, now: datetime) -> Effects | None:
    if state.is_final or any(a.is_open and a.type is AlertType.stuck for a in state.alerts):
        return None
    journey.raise_alert(state, AlertType.stuck, now, report.detail)
    return Effects()
