"""Availability out: `stock_changed` to the webhook subscribers that asked for it, so a webstore can mirror what
is available. Each subscriber's lane reads the stock ledger after its place (every reservation, release, commit,
transfer, count, receipt and adjustment is a row), folds a batch per SKU and location and sends what is available
now at each, once: the batch is logged in the delivery log before its first attempt and sent again exactly as made
until it is delivered or given up; then the lane moves past it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlmodel import Session

from activities.delivery import Step, in_db
from activities.outbound import SubscriberLane
from models.db import outbound, outbox, stock_ledger
from models.outbound import STOCK_CHANGED
from models.outbox import availability_lane
from models.settings import Settings


def _now() -> datetime:
    return datetime.now(UTC)


def stock_changed_body(first: int, through: int, levels: dict[tuple[str, str], int], now: datetime) -> dict[str, Any]:
    """One batch: the ledger rows first..through, folded to one figure per SKU and location."""
    return {
        "event_id": f"stock:{first}-{through}",
        "type": STOCK_CHANGED,
        "occurred_at": now.isoformat(),
        "through": through,
        "items": [
            {"sku": sku, "location_id": location_id, "available": max(available, 0)}
            for (sku, location_id), available in sorted(levels.items())
        ],
    }


class AvailabilityLane(SubscriberLane):
    def __init__(self, engine: Engine, http: httpx.AsyncClient, settings: Settings, subscriber_id: str) -> None:
        super().__init__(engine, http, settings, subscriber_id)
        self._lane = availability_lane(subscriber_id)

    async def step(self, deadline: float) -> Step:
        subscriber = await in_db(self._engine, lambda s: outbound.get_subscriber(s, self._id))
        if subscriber is None or not subscriber.active or STOCK_CHANGED not in subscriber.event_types:
            return Step(retired=True)
        position = await in_db(self._engine, self._start)
        step = Step()
        row = await in_db(self._engine, lambda s: outbound.pending_stock_delivery(s, self._id))
        if row is None:
            batch = self._settings.outbox_batch_size
            moved = await in_db(self._engine, lambda s: stock_ledger.movements_after(s, position, batch))
            if not moved:
                return step
            step.more = len(moved) == batch
            places = {(m.sku, m.location_id) for m in moved}
            levels = await in_db(self._engine, lambda s: stock_ledger.available(s, places))
            body = stock_changed_body(moved[0].id or 0, moved[-1].id or 0, levels, _now())
            row = await in_db(self._engine, lambda s: outbound.stock_delivery(s, self._id, body, _now()))
        through = int(row.payload["through"])
        if not await self._attempt(subscriber, row, row.created_at, step, (position, through)):
            return step
        return step

    def _start(self, session: Session) -> int:
        """The lane's place in the ledger; a subscriber made before the ledger existed starts at its end."""
        position = outbox.cursor(session, self._lane)
        if position is not None:
            return position
        last = stock_ledger.last_movement_id(session)
        outbox.place_cursor(session, self._lane, last, _now())
        return last
