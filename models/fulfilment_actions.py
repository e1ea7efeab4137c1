"""Head Office actions that change where or how an order is fulfilled: buy in store instead, collect at another
store, deliver to the customer instead, redirect stock to the collection store. Same shape as
models/interventions.py: refusal, needs from the stock ledger, and the change with its effects."""

from __future__ import annotations

from datetime import datetime

from models import journey
from models.catalogue import DispatchTransfer, LineReservation
from models.effects import Effects, Needs, Refusal
from models.intervention_commands import BuyInStore, MoveToStore, RedirectStock, SwitchToHomeDelivery
from models.interventions import changed_lines, closed, open_line, record
from models.order import LineFulfilment, OrderState, OrderStatus, Transfer, order_workflow_id

MOVABLE = frozenset(
    {
        OrderStatus.received,
        OrderStatus.on_hold,
        OrderStatus.awaiting_transfer,
        OrderStatus.awaiting_acknowledgement,
        OrderStatus.acknowledged,
    }
)


def refusal_for_buy_in_store(state: OrderState, command: BuyInStore) -> Refusal | None:
    if refusal := closed(state):
        return refusal
    for line_id in command.line_ids:
        if isinstance(line := open_line(state, line_id), Refusal):
            return line
    return None


def apply_buy_in_store(state: OrderState, command: BuyInStore, now: datetime) -> Effects:
    for line_id in command.line_ids:
        line = state.line(line_id)
        assert line is not None
        line.fulfilment = LineFulfilment.buy_in_store  # refunded; the stock stays reserved at the store
    record(state, now, command, "buy_in_store", f"{', '.join(command.line_ids)} held at {state.store_id}")
    return changed_lines(state, command, now, Effects())


def refusal_for_move_to_store(state: OrderState, command: MoveToStore) -> Refusal | None:
    if command.store_id == state.store_id and closed(state) is None:
        return Refusal("same_store", f"the order is already collected at {state.store_id}")
    return _unmovable(state)


def _unmovable(state: OrderState) -> Refusal | None:
    """Why the order can no longer go elsewhere (None while it can)."""
    if refusal := closed(state) or _several(state):
        return refusal
    if state.status not in MOVABLE or any(line.picked_quantity for line in state.lines):
        return Refusal("already_picked", "the store has picked the order; cancel lines instead")
    if state.pending_transfers():
        return Refusal("transfer_in_progress", "stock is on its way to the current store")
    return None


def _all_open_lines(state: OrderState, location_id: str) -> Needs:
    reserve = [LineReservation(line_id=l.line_id, sku=l.sku, quantity=l.quantity) for l in state.lines if l.quantity]
    return Needs(reserve=reserve, reserve_at=location_id)


def needs_for_move_to_store(state: OrderState, command: MoveToStore) -> Needs:
    return _all_open_lines(state, command.store_id)


def apply_move_to_store(state: OrderState, command: MoveToStore, now: datetime) -> Effects:
    old_store = state.store_id
    effects = Effects().release({line.line_id: 0 for line in state.lines}, old_store)
    state.store_id = command.store_id
    record(state, now, command, "moved_to_store", f"{old_store} → {command.store_id}")
    if state.status == OrderStatus.awaiting_acknowledgement:
        state.status_since = now  # the new store's acknowledgement clock starts now
    else:
        journey.transition(state, OrderStatus.awaiting_acknowledgement, now, command.actor, "sent_to_new_store")
    state.store_update_pending_since = None
    journey.settle_alerts(state, now)
    return effects.tell_store("order_cancelled", old_store).tell_store("order_created")


def _several(state: OrderState) -> Refusal | None:
    """The whole-order moves apply to an order carried out as one delivery."""
    if len(state.deliveries) > 1:
        return Refusal("several_deliveries", "the order ships as several deliveries: it cannot move as a whole")
    return None


def refusal_for_home_delivery(state: OrderState, command: SwitchToHomeDelivery) -> Refusal | None:
    if several := _several(state):
        return several
    if command.from_location != state.store_id:
        refusal = _unmovable(state)
    else:  # the collection store ships what it holds, picked or not
        refusal = closed(state) or (
            Refusal("transfer_in_progress", "stock is on its way to the store") if state.pending_transfers() else None
        )
    if refusal:
        return refusal
    if any(line.fulfilment is LineFulfilment.buy_in_store and line.quantity for line in state.lines):
        return Refusal("split_fulfilment", "some lines are held to buy in store; deliver all lines or none")
    return None


def needs_for_home_delivery(state: OrderState, command: SwitchToHomeDelivery) -> Needs:
    if command.from_location == state.store_id:
        return Needs()  # shipped from the store itself: the reservation stays where it is
    return _all_open_lines(state, command.from_location)


def apply_home_delivery(state: OrderState, command: SwitchToHomeDelivery, now: datetime) -> Effects:
    """The whole order is delivered instead of collected: shipped from `from_location`, the store told."""
    for line in state.lines:
        if line.quantity:
            line.fulfilment = LineFulfilment.home_delivery
    collection_store = state.store_id
    state.delivery_address = command.address
    state.dispatch_location = command.from_location
    state.store_update_pending_since = None
    record(state, now, command, "switched_to_home_delivery", f"from {command.from_location}")
    journey.transition(state, OrderStatus.awaiting_dispatch, now, command.actor, "awaiting_dispatch")
    effects = Effects().tell_store("order_cancelled").tell_store("delivery_created", command.from_location)
    if command.from_location != collection_store:
        effects.release({line.line_id: 0 for line in state.lines}, collection_store)
    return effects


# ---- stock sent to the collection store ---------------------------------------------------------------


def refusal_for_redirect_stock(state: OrderState, command: RedirectStock) -> Refusal | None:
    if refusal := closed(state):
        return refusal
    if state.status == OrderStatus.ready_for_collection:
        return Refusal("already_picked", "the order is ready for collection")
    if command.from_location == state.store_id:
        return Refusal("same_location", "stock must come from another store or a warehouse")
    if not any(line.sku == command.sku and line.is_collectable for line in state.lines):
        return Refusal("sku_not_on_order", f"{command.sku} is not on an open line of the order")
    return None


def _transfer_id(state: OrderState) -> str:
    return f"{order_workflow_id(state.order_number)}:transfer:{len(state.transfers) + 1}"


def needs_for_redirect_stock(state: OrderState, command: RedirectStock) -> Needs:
    return Needs(
        dispatch=DispatchTransfer(
            transfer_id=_transfer_id(state),
            order_number=state.order_number,
            sku=command.sku,
            quantity=command.quantity,
            from_location=command.from_location,
            to_location=state.store_id,
        )
    )


def apply_redirect_stock(state: OrderState, command: RedirectStock, now: datetime) -> Effects:
    transfer = Transfer(
        transfer_id=_transfer_id(state),
        sku=command.sku,
        quantity=command.quantity,
        from_location=command.from_location,
        to_location=state.store_id,
        requested_at=now,
        requested_by=command.actor,
    )
    state.transfers.append(transfer)
    route = f"{transfer.from_location} → {transfer.to_location}"
    record(
        state, now, command, "stock_redirected", f"{transfer.transfer_id}: {transfer.quantity} × {transfer.sku} {route}"
    )
    if state.status == OrderStatus.on_hold:
        journey.transition(state, OrderStatus.awaiting_transfer, now, command.actor, "awaiting_transfer")
    return Effects().tell_store("transfer_incoming")
