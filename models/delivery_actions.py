"""Head Office actions on one of an order's further deliveries (models/delivery_stages.py): move it to another
location, named or chosen by sourcing (the API sources it and names the location chosen, with the decision).
Same shape as models/fulfilment_actions.py: refusal, needs from the stock ledger, and the change with its effects."""

from __future__ import annotations

from datetime import datetime

from models import delivery_stages, journey
from models.catalogue import LineReservation
from models.deliveries import Delivery, DeliveryStatus
from models.effects import Effects, Needs, Refusal
from models.intervention_commands import MoveDelivery
from models.interventions import record
from models.order import OrderState

# A delivery may move until it leaves its location.
_MOVABLE = frozenset(
    {DeliveryStatus.placed, DeliveryStatus.allocated, DeliveryStatus.ready_to_ship, DeliveryStatus.rejected}
)


def _delivery(state: OrderState, delivery_id: str) -> Delivery | Refusal:
    delivery = next((d for d in delivery_stages.further(state) if d.delivery_id == delivery_id), None)
    if delivery is None:
        known = ", ".join(d.delivery_id for d in delivery_stages.further(state)) or "none"
        return Refusal("unknown_delivery", f"{delivery_id} is not one of the order's further deliveries ({known})")
    return delivery


def refusal_for_move_delivery(state: OrderState, command: MoveDelivery) -> Refusal | None:
    if state.is_final:
        return Refusal("order_closed", f"the order is {state.status}")
    delivery = _delivery(state, command.delivery_id)
    if isinstance(delivery, Refusal):
        return delivery
    if delivery.status not in _MOVABLE:
        return Refusal("delivery_not_movable", f"{delivery.delivery_id} is {delivery.status}: it can no longer move")
    if delivery.location_id == command.location_id:
        return Refusal("same_location", f"{delivery.delivery_id} already ships from {command.location_id}")
    return None


def needs_for_move_delivery(state: OrderState, command: MoveDelivery) -> Needs:
    """The delivery's lines reserved at the new location first: short there, the move is refused (409)."""
    delivery = _delivery(state, command.delivery_id)
    if isinstance(delivery, Refusal) or delivery.status is DeliveryStatus.placed:
        return Needs()  # not reserved anywhere yet: it reserves where it goes when the order is sent out
    lines = [state.line(line_id) for line_id in delivery.line_ids]
    reserve = [
        LineReservation(line_id=line.line_id, sku=line.sku, quantity=line.quantity)
        for line in lines
        if line is not None and line.quantity
    ]
    return Needs(reserve=reserve, reserve_at=command.location_id)


def apply_move_delivery(state: OrderState, command: MoveDelivery, now: datetime) -> Effects:
    delivery = _delivery(state, command.delivery_id)
    assert not isinstance(delivery, Refusal)
    old = delivery.location_id
    delivery.location_id, delivery.sourcing = command.location_id, command.sourcing or delivery.sourcing
    how = "re-sourced" if command.sourcing else "moved"
    record(state, now, command, "delivery_moved", f"{delivery.delivery_id} {how}: {old} → {command.location_id}")
    effects = Effects()
    if delivery.status is not DeliveryStatus.placed:
        delivery.status, delivery.status_since = DeliveryStatus.allocated, now
        effects.release({line_id: 0 for line_id in delivery.line_ids}, old)
        effects.tell_store("delivery_cancelled", old).tell_store("delivery_created", command.location_id)
    journey.settle_alerts(state, now)
    return effects
