"""Head Office actions on an order's deliveries (models/delivery_stages.py): move a further delivery to another
location, named or chosen by sourcing (the API sources it and names the location chosen, with the decision), or
split lines off a delivery into a new home delivery (lines to be collected switch to delivery this way).
Same shape as models/fulfilment_actions.py: refusal, needs from the stock ledger, and the change with its effects."""

from __future__ import annotations

from datetime import datetime

from models import delivery_stages, journey
from models.catalogue import LineReservation
from models.deliveries import Delivery, DeliveryStatus
from models.effects import Effects, Needs, Refusal
from models.intervention_commands import MergeDeliveries, MoveDelivery, SplitDelivery
from models.interventions import changed_lines, closed, record
from models.order import LineFulfilment, OrderState, OrderStatus

# A delivery may move until it leaves its location.
MOVABLE = frozenset(
    {
        DeliveryStatus.placed,
        DeliveryStatus.allocated,
        DeliveryStatus.ready_to_ship,
        DeliveryStatus.rejected,
        DeliveryStatus.backordered,
    }
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
    if delivery.status not in MOVABLE:
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
        delivery.status, delivery.status_since = delivery_stages.first_stage(state, delivery), now
        effects.release({line_id: 0 for line_id in delivery.line_ids}, old)
        effects.tell_store("delivery_cancelled", old).tell_store("delivery_created", command.location_id)
    journey.settle_alerts(state, now)
    return effects


# ---- split lines off into a new home delivery ----------------------------------------------------------------


def _source_of(state: OrderState, line_ids: list[str]) -> Delivery | None | Refusal:
    """The further delivery the lines are in (None: the order's own collection), if they are all in one."""
    homes = {line_id: d for d in delivery_stages.further(state) for line_id in d.line_ids}
    sources = {homes[line_id].delivery_id if line_id in homes else None for line_id in line_ids}
    if len(sources) > 1:
        return Refusal("lines_in_several_deliveries", "split lines of one delivery at a time")
    (source,) = sources
    return next((d for d in delivery_stages.further(state) if d.delivery_id == source), None)


def refusal_for_split_delivery(state: OrderState, command: SplitDelivery) -> Refusal | None:
    if refusal := closed(state):
        return refusal
    if state.cleared_at is None or state.status is OrderStatus.on_hold:
        return Refusal("order_not_sent", "the order's stock is not reserved yet: split it once it is sent out")
    for line_id in command.line_ids:
        line = state.line(line_id)
        if line is None or not line.quantity:
            return Refusal("unknown_line", f"line {line_id} is not an open line of the order")
        if line.picked_quantity is not None:
            return Refusal("already_picked", f"line {line_id} is picked: cancel it instead")
    source = _source_of(state, command.line_ids)
    if isinstance(source, Refusal):
        return source
    return _split_refusal(state, command, source)


def _split_refusal(state: OrderState, command: SplitDelivery, source: Delivery | None) -> Refusal | None:
    location: str | None
    if source is None:
        own_ids = delivery_stages.own_line_ids(state)
        own = [line for line in state.lines if line.quantity and line.line_id in own_ids]
        moving = [line for line in own if line.line_id in command.line_ids]
        if any(line.fulfilment is not LineFulfilment.click_and_collect for line in moving):
            return Refusal("not_collected_lines", "only lines to be collected split off the order's own delivery")
        if len([line for line in own if line.line_id not in command.line_ids]) == 0:
            return Refusal("whole_delivery", "every line would leave the collection: cancel or move the order instead")
        location, address = state.store_id, command.address
    else:
        if source.status is not DeliveryStatus.allocated:
            return Refusal("delivery_not_movable", f"{source.delivery_id} is {source.status}: it can no longer split")
        if set(source.line_ids) <= set(command.line_ids):
            return Refusal(
                "whole_delivery", f"every line of {source.delivery_id} would move: move the delivery instead"
            )
        location, address = source.location_id, command.address or source.address
    if address is None:
        return Refusal("address_needed", "lines to be collected need the address to deliver them to")
    if command.from_location == location:
        return Refusal("same_location", f"the lines are already at {location}")
    return None


def needs_for_split_delivery(state: OrderState, command: SplitDelivery) -> Needs:
    """The lines reserved at the new delivery's location first: short there, the split is refused (409)."""
    reserve = []
    for line_id in command.line_ids:
        line = state.line(line_id)
        if line is not None:
            reserve.append(LineReservation(line_id=line.line_id, sku=line.sku, quantity=line.quantity))
    return Needs(reserve=reserve, reserve_at=command.from_location)


def apply_split_delivery(state: OrderState, command: SplitDelivery, now: datetime) -> Effects:
    source = _source_of(state, command.line_ids)
    assert not isinstance(source, Refusal)
    address = command.address or (source.address if source else None)
    new = delivery_stages.add_delivery(state, list(command.line_ids), command.from_location, address, now)
    old = source.location_id if source else state.store_id
    record(
        state, now, command, "delivery_split", f"{', '.join(new.line_ids)} → {new.delivery_id} from {new.location_id}"
    )
    effects = Effects().release({line_id: 0 for line_id in new.line_ids}, old)
    effects.tell_store("delivery_created", new.location_id)
    if source is not None:
        source.line_ids = [line_id for line_id in source.line_ids if line_id not in new.line_ids]
        return effects.tell_store("order_updated", source.location_id)
    for line_id in new.line_ids:
        line = state.line(line_id)
        assert line is not None
        line.fulfilment = LineFulfilment.home_delivery
    return changed_lines(state, command, now, effects)  # the collection store picks fewer lines


# ---- merge two further deliveries into one parcel -------------------------------------------------------------


def refusal_for_merge_deliveries(state: OrderState, command: MergeDeliveries) -> Refusal | None:
    if state.is_final:
        return Refusal("order_closed", f"the order is {state.status}")
    moving, into = _delivery(state, command.delivery_id), _delivery(state, command.into)
    if isinstance(moving, Refusal):
        return moving
    if isinstance(into, Refusal):
        return into
    if moving.delivery_id == into.delivery_id:
        return Refusal("same_delivery", "a delivery cannot join itself")
    for delivery in (moving, into):
        if delivery.status is not DeliveryStatus.allocated:
            return Refusal(
                "delivery_not_movable", f"{delivery.delivery_id} is {delivery.status}: it can no longer merge"
            )
    if moving.location_id != into.location_id or moving.address != into.address:
        return Refusal("not_one_parcel", "only deliveries from the same location to the same address merge")
    return None


def apply_merge_deliveries(state: OrderState, command: MergeDeliveries, now: datetime) -> Effects:
    moving, into = _delivery(state, command.delivery_id), _delivery(state, command.into)
    assert isinstance(moving, Delivery) and isinstance(into, Delivery)
    into.line_ids += moving.line_ids
    state.deliveries.remove(moving)
    for payment in state.payments:  # its share is captured when the parcel it joined ships
        if payment.delivery_id == moving.delivery_id:
            payment.delivery_id = into.delivery_id
    detail = f"{moving.delivery_id} ({', '.join(moving.line_ids)}) joined {into.delivery_id}"
    record(state, now, command, "deliveries_merged", detail)
    journey.settle_alerts(state, now)
    return Effects().tell_store("order_updated", into.location_id)
