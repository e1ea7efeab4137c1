"""Deliveries: an order's lines grouped by how they reach the customer and from where. Each delivery is one
method (click & collect, home delivery, direct sale) from one location, and carries the sourcing decision that
chose its location, if one was made.

Placement groups the lines (`group_lines`), home deliveries that name no location are sourced
(models/sourcing.py), and `build` numbers the deliveries D1.., the collection first. The first delivery is the
order's own journey: its status is the order's (acknowledged, picked, collected; or packed, shipped, delivered).
Every further delivery is a home delivery with its own stages, kept on it (models/delivery_stages.py). An order
placed before deliveries existed has none recorded: `deliveries_of` derives its one delivery from the order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from models.placing import DeliveryAddress, Fulfilment, PlaceOrder
from models.sourcing import SourcingDecision


class DeliveryMethod(StrEnum):
    click_and_collect = "click_and_collect"
    home_delivery = "home_delivery"
    direct_sale = "direct_sale"


class DeliveryStatus(StrEnum):
    """Where one delivery stands. Until per-delivery stages are tracked, a delivery's status is read from its
    order's (see `status_of`)."""

    placed = "placed"  # the order is being cleared (approval, payment) before stock is reserved
    on_hold = "on_hold"
    awaiting_release = "awaiting_release"  # a preorder, reserved on its release date
    backordered = "backordered"  # waiting for replenishment
    allocated = "allocated"  # stock reserved at its location, the location told
    acknowledged = "acknowledged"
    awaiting_transfer = "awaiting_transfer"
    ready_for_collection = "ready_for_collection"
    ready_to_ship = "ready_to_ship"  # home delivery: packed
    collected = "collected"
    shipped = "shipped"  # with the carrier (dispatched in one step: done)
    delivered = "delivered"
    rejected = "rejected"  # its location cannot fulfil it: Head Office moves or re-sources it
    sold = "sold"  # a direct sale, handed over at the till
    cancelled = "cancelled"


class Delivery(BaseModel):
    """A group of lines fulfilled one way from one location."""

    delivery_id: str
    method: DeliveryMethod
    location_id: str | None = Field(description="The store or warehouse that fulfils it")
    address: DeliveryAddress | None = Field(default=None, description="home_delivery: where it goes")
    line_ids: list[str]
    carrier: str | None = None
    tracking_number: str | None = None
    sourcing: SourcingDecision | None = Field(default=None, description="How its location was chosen, if it was")
    # A further delivery's own stage and since when (the first delivery's is read from the order's status).
    status: DeliveryStatus | None = None
    status_since: datetime | None = None
    # Locations that could not fulfil it after Baton sourced it there (models/resourcing.py): not chosen again.
    rejected_by: list[str] = Field(default_factory=list)
    # Backordered on its own (models/stock_waits.py): when its reservation was last tried.
    backorder_tried_at: datetime | None = None
    # A preorder of its own: reserved on this date (models/stock_waits.py), the rest of the order going ahead.
    release_at: datetime | None = None

    @property
    def is_done(self) -> bool:
        return self.status in (DeliveryStatus.delivered, DeliveryStatus.cancelled)

    @property
    def handed_over(self) -> bool:
        return self.status in (DeliveryStatus.shipped, DeliveryStatus.delivered)


@dataclass
class LineGroup:
    """Lines placed the same way: one method, one store or location (None: to be sourced), one address."""

    fulfilment: Fulfilment
    line_indexes: list[int] = field(default_factory=list)
    release_at: datetime | None = None  # its lines are preordered on their own (a further delivery)

    @property
    def method(self) -> DeliveryMethod:
        return DeliveryMethod(self.fulfilment.method)

    @property
    def location_id(self) -> str | None:
        if self.method is DeliveryMethod.home_delivery:
            return self.fulfilment.location_id
        return self.fulfilment.store_id

    @property
    def needs_sourcing(self) -> bool:
        return self.method is DeliveryMethod.home_delivery and self.fulfilment.location_id is None


def _key(fulfilment: Fulfilment, release_at: datetime | None) -> str:
    return fulfilment.model_dump_json() + (release_at.isoformat() if release_at else "")


def group_lines(order: PlaceOrder) -> list[LineGroup]:
    """The order's lines grouped by their fulfilment (a line's own, else the order's) and own release date, in order
    of first line."""
    groups: dict[str, LineGroup] = {}
    for index, line in enumerate(order.lines):
        fulfilment = line.fulfilled_by(order.fulfilment)
        key = _key(fulfilment, line.release_at)
        groups.setdefault(key, LineGroup(fulfilment, release_at=line.release_at)).line_indexes.append(index)
    return list(groups.values())


def own_group_first(groups: list[LineGroup]) -> list[tuple[int, LineGroup]]:
    """The groups by index, the order's own journey first (the collection, if any; else the first in line order)."""
    return sorted(enumerate(groups), key=lambda item: item[1].method is not DeliveryMethod.click_and_collect)


def line_id(index: int) -> str:
    """Lines are numbered L1.. in the order they were placed."""
    return f"L{index + 1}"


def build(groups: list[LineGroup], sourced: dict[int, SourcingDecision]) -> list[Delivery]:
    """Deliveries D1.. from the groups; a sourced group (by its index) becomes one delivery per chosen location."""
    deliveries: list[Delivery] = []

    def add(group: LineGroup, location_id: str | None, line_ids: list[str], decision: SourcingDecision | None) -> None:
        deliveries.append(
            Delivery(
                delivery_id=f"D{len(deliveries) + 1}",
                method=group.method,
                location_id=location_id,
                address=group.fulfilment.address,
                line_ids=line_ids,
                sourcing=decision,
                release_at=group.release_at,
            )
        )

    # The collection (if any) first: it is the order's own journey; the rest follow in line order.
    for index, group in own_group_first(groups):
        decision = sourced.get(index)
        if decision is None:
            add(group, group.location_id, [line_id(i) for i in group.line_indexes], None)
            continue
        for location_id, line_ids in decision.assignments.items():
            add(group, location_id, line_ids, decision)
    return deliveries


def shares(deliveries: list[Delivery], line_totals: dict[str, int], total: int) -> list[tuple[str, int]]:
    """What each delivery's lines come to, in delivery order, never more in all than the order's total (after
    discounts): a delivery captures its own share when it ships or is handed over."""
    left, result = total, []
    for delivery in deliveries:
        share = min(left, sum(line_totals.get(line_id, 0) for line_id in delivery.line_ids))
        left -= share
        result.append((delivery.delivery_id, share))
    if result and left > 0:  # never happens (discounts only lower the total); kept so no money goes unassigned
        last_id, last = result[-1]
        result[-1] = (last_id, last + left)
    return result
