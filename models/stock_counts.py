"""What a stock count below the reservations means for an order holding that stock: an alert for Head Office
(`stock_count_short`), once per SKU and location while it is open; nothing for an order that no longer holds it."""

from __future__ import annotations

from datetime import datetime

from models import journey
from models.effects import Effects
from models.feeds import CountShortfall
from models.order import AlertType, OrderState, OrderStatus

# Before the store has picked: the stock the order holds may not be on the shelf.
_HOLDING = frozenset(
    {
        OrderStatus.awaiting_acknowledgement,
        OrderStatus.acknowledged,
        OrderStatus.on_hold,
        OrderStatus.awaiting_transfer,
        OrderStatus.awaiting_dispatch,
    }
)


def on_count_short(state: OrderState, shortfall: CountShortfall, now: datetime) -> Effects | None:
    if state.status not in _HOLDING:
        return None
    if not any(line.sku == shortfall.sku and line.quantity for line in state.lines):
        return None
    already = any(
        alert.is_open and alert.type is AlertType.stock_count_short and shortfall.sku in alert.detail
        and shortfall.location_id in alert.detail
        for alert in state.alerts
    )  # fmt: skip
    if already:
        return None
    journey.raise_alert(state, AlertType.stock_count_short, now, shortfall.detail)
    return Effects()
