"""An order's deliveries as they leave it (the API view): each with its method, location, lines and status.

The first delivery is the order's own journey: its status is the order's, read in delivery words. Further
deliveries carry their own (models/delivery_stages.py). Lines Head Office holds to buy in store are shown as a
direct sale at the store."""

from __future__ import annotations

from pydantic import BaseModel, Field

from models.deliveries import Delivery, DeliveryMethod, DeliveryStatus
from models.order import LineFulfilment, OrderState, OrderStatus
from models.placing import DeliveryAddress
from models.sourcing import SourcingDecision

_STATUS = {
    OrderStatus.received: DeliveryStatus.placed,
    OrderStatus.awaiting_approval: DeliveryStatus.placed,
    OrderStatus.awaiting_payment: DeliveryStatus.placed,
    OrderStatus.on_hold: DeliveryStatus.on_hold,
    OrderStatus.awaiting_release: DeliveryStatus.awaiting_release,
    OrderStatus.backordered: DeliveryStatus.backordered,
    OrderStatus.awaiting_acknowledgement: DeliveryStatus.allocated,
    OrderStatus.acknowledged: DeliveryStatus.acknowledged,
    OrderStatus.awaiting_transfer: DeliveryStatus.awaiting_transfer,
    OrderStatus.awaiting_dispatch: DeliveryStatus.allocated,
    OrderStatus.ready_to_ship: DeliveryStatus.ready_to_ship,
    OrderStatus.shipped: DeliveryStatus.shipped,
    OrderStatus.ready_for_collection: DeliveryStatus.ready_for_collection,
    OrderStatus.collected: DeliveryStatus.collected,
    OrderStatus.cancelled: DeliveryStatus.cancelled,
}
_DONE = {
    DeliveryMethod.click_and_collect: DeliveryStatus.collected,
    DeliveryMethod.home_delivery: DeliveryStatus.shipped,
    DeliveryMethod.direct_sale: DeliveryStatus.sold,
}


class DeliveryView(BaseModel):
    delivery_id: str
    method: DeliveryMethod
    location_id: str | None
    status: DeliveryStatus
    lines: list[str] = Field(description="Its line ids")
    address: DeliveryAddress | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    sourcing: SourcingDecision | None = None


def status_of(state: OrderState, method: DeliveryMethod) -> DeliveryStatus:
    """The status of the order's own journey (its first delivery)."""
    if state.status in (OrderStatus.completed, OrderStatus.partially_collected, OrderStatus.partially_shipped):
        if method is DeliveryMethod.home_delivery and any(entry.action == "delivered" for entry in state.history):
            return DeliveryStatus.delivered
        return _DONE[method]
    return _STATUS[state.status]


def deliveries_of(state: OrderState) -> list[DeliveryView]:
    """The order's deliveries as they stand now: the one it is carried out as (recorded at placement, else
    derived from the order), and a direct sale for lines held to buy in store."""
    placed = state.deliveries[0] if state.deliveries else None
    further = state.deliveries[1:]
    elsewhere = {line_id for delivery in further for line_id in delivery.line_ids}
    lines = [
        line
        for line in state.lines
        if line.fulfilment is not LineFulfilment.buy_in_store and line.line_id not in elsewhere
    ]
    home = state.dispatch_location is not None or any(l.fulfilment is LineFulfilment.home_delivery for l in lines)
    method = DeliveryMethod.home_delivery if home else (placed.method if placed else DeliveryMethod.click_and_collect)
    main = Delivery(
        delivery_id=placed.delivery_id if placed else "D1",
        method=method,
        location_id=(state.dispatch_location or state.store_id) if home else state.store_id,
        address=state.delivery_address or (placed.address if placed else None),
        line_ids=[line.line_id for line in lines],
        carrier=placed.carrier if placed else None,
        tracking_number=placed.tracking_number if placed else None,
        sourcing=placed.sourcing if placed else None,
    )
    views = [_view(state, main)] if main.line_ids or not state.lines else []
    views += [_view(state, delivery) for delivery in further]
    at_till = [line.line_id for line in state.lines if line.fulfilment is LineFulfilment.buy_in_store]
    if at_till:
        till = Delivery(
            delivery_id=f"D{max(len(views), len(state.deliveries)) + 1}",
            method=DeliveryMethod.direct_sale,
            location_id=state.store_id,
            line_ids=at_till,
        )
        views.append(_view(state, till))
    return views


def _view(state: OrderState, delivery: Delivery) -> DeliveryView:
    return DeliveryView(
        delivery_id=delivery.delivery_id,
        method=delivery.method,
        location_id=delivery.location_id,
        status=delivery.status or status_of(state, delivery.method),
        lines=delivery.line_ids,
        address=delivery.address,
        carrier=delivery.carrier,
        tracking_number=delivery.tracking_number,
        sourcing=delivery.sourcing,
    )
