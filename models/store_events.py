"""Pure rules for what a store's event does to an order: acknowledged, picked, collected, not_collected,
update_acknowledged, transfer_received, and from a home delivery's dispatch location packed, shipped, delivered (or
dispatched: shipped and done in one step). An event that does not fit the order is not applied: it is
recorded as a store exception (the webhook was already answered 202)."""

from __future__ import annotations

from datetime import datetime

from models import delivery_stages, journey, settlement
from models.deliveries import Delivery, DeliveryMethod
from models.effects import Effects, Needs
from models.money import Money
from models.order import (
    AlertType,
    HoldReason,
    LineFulfilment,
    OrderState,
    OrderStatus,
    StoreEvent,
    StoreEventType,
    StoreException,
    StoreMessageFailed,
)
from models.payments import Charge

_EXPECTED = {
    StoreEventType.acknowledged: {OrderStatus.awaiting_acknowledgement},
    StoreEventType.picked: {OrderStatus.acknowledged, OrderStatus.awaiting_acknowledgement},
    StoreEventType.collected: {OrderStatus.ready_for_collection},
    StoreEventType.not_collected: {OrderStatus.ready_for_collection},
    StoreEventType.dispatched: {OrderStatus.awaiting_dispatch, OrderStatus.ready_to_ship},
    StoreEventType.packed: {OrderStatus.awaiting_dispatch},
    StoreEventType.shipped: {OrderStatus.awaiting_dispatch, OrderStatus.ready_to_ship},
    StoreEventType.delivered: {OrderStatus.shipped},
    StoreEventType.rejected: set(),  # only a further delivery's location rejects (models/delivery_stages.py)
}
# Events only the dispatch location of a home delivery sends.
FROM_DISPATCH = frozenset(
    {StoreEventType.dispatched, StoreEventType.packed, StoreEventType.shipped, StoreEventType.delivered}
)


def further_delivery(state: OrderState, event: StoreEvent) -> Delivery | None:
    """The further delivery (models/delivery_stages.py) a packed / shipped / delivered event is about, or None when
    it is about the order's own journey: it names the delivery, or it comes from a location that ships only that."""
    if not delivery_stages.further(state) or event.type not in delivery_stages.STAGE_EVENTS:
        return None
    own = state.deliveries[0].delivery_id
    if event.delivery_id == own or (event.delivery_id is None and event.store_id == state.dispatch_location):
        return None
    return delivery_stages.delivery_for(state, event)


def refusal(state: OrderState, event: StoreEvent) -> str | None:
    """Why a store event does not fit the order now, or None when it applies."""
    if (delivery := further_delivery(state, event)) is not None:
        if state.status is OrderStatus.cancelled:
            return "the order is already cancelled"
        return delivery_stages.refusal(state, event, delivery)
    known = {d.delivery_id for d in state.deliveries} or {"D1"}
    if event.delivery_id is not None and event.delivery_id not in known:
        return f"delivery {event.delivery_id} is not on the order"
    from_dispatch = event.type in FROM_DISPATCH
    if event.store_id != (state.dispatch_location if from_dispatch else state.store_id):
        return f"store {event.store_id} is not the order's {'dispatch location' if from_dispatch else 'store'}"
    if state.is_final:
        return f"the order is already {state.status}"
    if event.type is StoreEventType.update_acknowledged:
        return None if state.store_update_pending_since else "no order update is waiting for acknowledgement"
    if event.type is StoreEventType.transfer_received:
        return _transfer_refusal(state, event)
    if state.status not in _EXPECTED[event.type]:
        return f"{event.type} does not apply to an order {state.status}"
    if event.type is StoreEventType.picked:
        return _pick_refusal(state, event.picked)
    if event.type is StoreEventType.shipped and not (event.carrier and event.tracking_number):
        return "a shipped event needs carrier and tracking_number"
    return None


def _pick_refusal(state: OrderState, picked: dict[str, int]) -> str | None:
    if not picked:
        return "a picked event needs the picked quantity of each line"
    for line_id, quantity in picked.items():
        line = state.line(line_id)
        if line is None:
            return f"line {line_id} is not on the order"
        if not 0 <= quantity <= line.quantity:
            return f"line {line_id}: picked {quantity} of {line.quantity}"
    return None


def _transfer_refusal(state: OrderState, event: StoreEvent) -> str | None:
    if not event.transfer_id:
        return "a transfer_received event needs transfer_id"
    transfer = next((t for t in state.transfers if t.transfer_id == event.transfer_id), None)
    if transfer is None:
        return f"transfer {event.transfer_id} is not on the order"
    if transfer.to_location != event.store_id:
        return f"transfer {event.transfer_id} goes to {transfer.to_location}"
    if transfer.received_at is not None:
        return f"transfer {event.transfer_id} was already received"
    return None


def needs(state: OrderState, event: StoreEvent) -> Needs:
    """A transfer the store received is booked into its stock before the order is reserved from it."""
    if event.type is StoreEventType.transfer_received and event.transfer_id:
        return Needs(receive_transfer=event.transfer_id)
    return Needs()


# The store exceptions an order keeps, latest last: older ones are dropped (their history entries remain).
STORE_EXCEPTIONS_KEPT = 100


def record_exception(state: OrderState, event: StoreEvent, reason: str, now: datetime) -> None:
    """Keep a refused event. One refused for the same type and reason as one already kept is counted on it: no new
    entry, no history, no version (it is written with the order's next change), so a store that repeats itself
    costs the order neither growth nor a database write per event."""
    kept = next((e for e in state.store_exceptions if e.type == event.type and e.reason == reason), None)
    if kept is not None:
        kept.count, kept.last_at, kept.event_id = kept.count + 1, now, event.event_id
        return
    state.store_exceptions.append(StoreException(event_id=event.event_id, type=event.type, at=now, reason=reason))
    del state.store_exceptions[:-STORE_EXCEPTIONS_KEPT]
    journey.record(state, now, journey.store_actor(event.store_id), "store_exception", f"{event.type}: {reason}")


def apply(state: OrderState, event: StoreEvent, now: datetime) -> Effects:
    """Apply an event that fits (check `refusal` first)."""
    actor = journey.store_actor(event.store_id, event.staff)
    effects = Effects()
    _heard_from_store(state, event.store_id, now)
    if (delivery := further_delivery(state, event)) is not None:
        return delivery_stages.apply(state, event, delivery, now)
    if event.type in (StoreEventType.collected, StoreEventType.dispatched, StoreEventType.shipped):
        effects.commit_lines = _own_lines(state)
    if event.type is StoreEventType.acknowledged:
        journey.transition(state, OrderStatus.acknowledged, now, actor, "acknowledged")
    elif event.type is StoreEventType.picked:
        _picked(state, event, now, actor)
    elif event.type in (StoreEventType.collected, StoreEventType.dispatched):
        effects.commit_at = event.store_id
        _handed_over(state, event, now, actor)
    elif event.type is StoreEventType.packed:
        journey.transition(state, OrderStatus.ready_to_ship, now, actor, "packed", "ready to ship")
    elif event.type is StoreEventType.shipped:
        effects.commit_at = event.store_id
        _shipped(state, event, now, actor)
    elif event.type is StoreEventType.delivered:
        delivery_stages.own_journey_done(state, now, actor, "delivered", "delivered to the customer")
        settlement.rebalance(state, now, actor, "delivered")
    elif event.type is StoreEventType.not_collected:
        cancel_everything(state, now, actor, "not_collected", "not collected; stock released", effects)
        add_uncollected_fee(state, now)
        settlement.rebalance(state, now, actor, "not collected")
    elif event.type is StoreEventType.update_acknowledged:
        journey.acknowledge_store_update(state, now, event.store_id)
    elif event.type is StoreEventType.transfer_received:
        effects = _transfer_received(state, event, now, actor)
    return effects


def _picked(state: OrderState, event: StoreEvent, now: datetime, actor: str) -> None:
    if state.status == OrderStatus.awaiting_acknowledgement:
        journey.transition(state, OrderStatus.acknowledged, now, actor, "acknowledged", "implied by pick")
    short = []
    for line in state.lines:
        if not line.is_collectable:
            continue  # cancelled, or held to buy in store: nothing to pick
        line.picked_quantity = event.picked.get(line.line_id, 0)
        if line.picked_quantity < line.quantity:
            short.append(line.line_id)
    if short:
        why = f" ({event.reason})" if event.reason else ""
        journey.hold(state, HoldReason.short_pick, now, actor, f"picked short: {', '.join(short)}{why}")
    else:
        journey.transition(state, OrderStatus.ready_for_collection, now, actor, "picked", "customer told it is ready")


def _handed_over(state: OrderState, event: StoreEvent, now: datetime, actor: str) -> None:
    if event.type is StoreEventType.collected:
        journey.transition(state, OrderStatus.collected, now, actor, "collected")
    else:
        state.dispatched_at = now
    settlement.settle_at_handover(state, event.event_id, actor, now)
    if any(p.status == "taken" and p.reference == event.event_id for p in state.payments):
        journey.record(state, now, actor, "payment_confirmed", "taken at handover")
    if event.type is StoreEventType.collected and not delivery_stages.all_done(state):
        waiting = ", ".join(d.delivery_id for d in delivery_stages.further(state) if not d.is_done)
        detail = f"waiting for {waiting}"
        journey.transition(state, OrderStatus.partially_collected, now, journey.SYSTEM, "partially_collected", detail)
    elif event.type is StoreEventType.collected:
        journey.transition(state, OrderStatus.completed, now, journey.SYSTEM, "completed")
    else:
        delivery_stages.own_journey_done(state, now, actor, "dispatched", "on its way to the customer")
    settlement.rebalance(state, now, actor, "handed over")


def _own_lines(state: OrderState) -> list[str] | None:
    """At handover, only the order's own lines leave its location when further deliveries have theirs."""
    return sorted(delivery_stages.own_line_ids(state)) if delivery_stages.further(state) else None


def _shipped(state: OrderState, event: StoreEvent, now: datetime, actor: str) -> None:
    """With the carrier: the stock leaves the location, the payment is captured; the order completes on delivery."""
    state.dispatched_at = now
    track_shipment(state, event.carrier or "", event.tracking_number or "")
    settlement.settle_at_handover(state, event.event_id, actor, now)
    journey.transition(
        state, OrderStatus.shipped, now, actor, "shipped", f"{event.carrier} tracking {event.tracking_number}"
    )
    settlement.rebalance(state, now, actor, "shipped")


def track_shipment(state: OrderState, carrier: str, tracking_number: str) -> None:
    """The carrier and tracking number go on the order's delivery (recorded now if the order predates deliveries)."""
    if not state.deliveries:
        state.deliveries = [
            Delivery(
                delivery_id="D1",
                method=DeliveryMethod.home_delivery,
                location_id=state.dispatch_location,
                address=state.delivery_address,
                line_ids=[line.line_id for line in state.lines if line.fulfilment is LineFulfilment.home_delivery],
            )
        ]
    state.deliveries[0].carrier, state.deliveries[0].tracking_number = carrier, tracking_number


def _transfer_received(state: OrderState, event: StoreEvent, now: datetime, actor: str) -> Effects:
    transfer = next(t for t in state.transfers if t.transfer_id == event.transfer_id)
    transfer.received_at = now
    journey.record(state, now, actor, "transfer_received", transfer.transfer_id)
    journey.settle_alerts(state, now)
    effects = Effects()
    # Waiting only for this stock: reserve the lines again and send the order to the store.
    effects.send_to_store = state.status == OrderStatus.awaiting_transfer and not state.pending_transfers()
    return effects


def cancel_everything(state: OrderState, now: datetime, actor: str, action: str, detail: str, effects: Effects) -> None:
    """Every open line and charge is cancelled and the stock released; the order is cancelled (money follows in
    `rebalance`: everything taken is paid back, less a fee the policy keeps on an uncollected order)."""
    for charge in state.charges:
        charge.cancelled = True
    shipped = {line_id for d in delivery_stages.further(state) if d.handed_over for line_id in d.line_ids}
    delivery_stages.cancel(state, now, actor)
    for line in state.lines:
        if line.quantity and line.line_id not in shipped:
            line.cancelled_quantity += line.quantity
            line.quantity = 0
    effects.release({line.line_id: 0 for line in state.lines if line.line_id not in shipped})
    state.store_update_pending_since = None
    journey.transition(state, OrderStatus.cancelled, now, actor, action, detail)


def add_uncollected_fee(state: OrderState, now: datetime) -> None:
    """The policy may keep a fee from what was paid (or authorised) when the customer never came."""
    fee = state.payment_policy.uncollected_fee.get(state.currency, 0)
    available = state.kept().amount + state.authorised().amount
    fee = min(fee, available)
    if fee > 0:
        state.charges.append(
            Charge(
                charge_id=f"C{len(state.charges) + 1}",
                amount=Money(amount=fee, currency=state.currency),
                reason="uncollected order fee",
                actor=journey.SYSTEM,
                at=now,
            )
        )
        journey.record(state, now, journey.SYSTEM, "fee_charged", f"{Money(amount=fee, currency=state.currency)}")


def _heard_from_store(state: OrderState, store_id: str, now: datetime) -> None:
    """A store that answers is reachable again: its store_unreachable alert clears."""
    for alert in state.alerts:
        if alert.is_open and alert.type is AlertType.store_unreachable and store_id in alert.detail:
            alert.cleared_at = now
            journey.record(state, now, journey.SYSTEM, "alert_cleared", alert.type)


def message_failed(state: OrderState, failure: StoreMessageFailed, now: datetime) -> None:
    """The outbox could not deliver a message to the store's webhook: Head Office is alerted (once per store)."""
    journey.record(state, now, journey.SYSTEM, "store_message_failed", f"{failure.message_id}: {failure.detail}")
    if not any(
        a.is_open and a.type is AlertType.store_unreachable and failure.store_id in a.detail for a in state.alerts
    ):
        journey.raise_alert(
            state, AlertType.store_unreachable, now, f"store {failure.store_id} unreachable: {failure.detail}"
        )
