"""Pure rules for an order's further deliveries: home deliveries beside the order's own journey (its first
delivery), each from its own location, with its own stages: placed → allocated (stock reserved, the location told)
→ ready_to_ship (packed) → shipped (carrier and tracking number: its stock leaves, its share is captured) →
delivered. Its location reports them on the same signed webhook as a store (`packed`, `shipped`, `delivered`, with
the `delivery_id` when it ships more than one of the order's deliveries), or `rejected` (it cannot fulfil it: a
`delivery_rejected` alert until Head Office moves or re-sources it, models/delivery_actions.py).

The order's status follows: while its own journey runs, the order's status is that journey's; once it is done
(collected, or delivered) and a further delivery is not, the order is `partially_collected` (or
`partially_shipped`); it completes when the last delivery is done."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from models import journey, settlement, sla
from models.catalogue import LineReservation, ReserveStock
from models.deliveries import Delivery, DeliveryMethod, DeliveryStatus
from models.effects import Effects
from models.order import AlertType, OrderState, OrderStatus, StoreEvent, StoreEventType
from models.placing import DeliveryAddress
from models.sla import SlaPolicy

STAGE_EVENTS = frozenset(
    {StoreEventType.packed, StoreEventType.shipped, StoreEventType.delivered, StoreEventType.rejected}
)
_EXPECTED = {
    StoreEventType.rejected: {DeliveryStatus.allocated, DeliveryStatus.ready_to_ship},
    StoreEventType.packed: {DeliveryStatus.allocated},
    StoreEventType.shipped: {DeliveryStatus.allocated, DeliveryStatus.ready_to_ship},
    StoreEventType.delivered: {DeliveryStatus.shipped},
}
# A preorder of its own whose stock is not reserved yet: its preorder_not_reserved clock runs from its release date.
UNRESERVED_PREORDER = frozenset({DeliveryStatus.awaiting_release, DeliveryStatus.backordered})
# The order's own journey is done, a further delivery is not.
PARTIAL = frozenset({OrderStatus.partially_collected, OrderStatus.partially_shipped})


def further(state: OrderState) -> list[Delivery]:
    """The deliveries beside the order's own journey."""
    return state.deliveries[1:]


def own_line_ids(state: OrderState) -> set[str]:
    """The lines of the order's own journey: every line no further delivery carries (items added later too)."""
    others = {line_id for delivery in further(state) for line_id in delivery.line_ids}
    return {line.line_id for line in state.lines if line.line_id not in others}


def reservations(state: OrderState) -> list[ReserveStock]:
    """Stock each further delivery reserves at its location when the order is sent out."""
    wanted = []
    for delivery in further(state):
        if delivery.status is not DeliveryStatus.placed or delivery.location_id is None:
            continue
        lines = [state.line(line_id) for line_id in delivery.line_ids]
        wanted.append(
            ReserveStock(
                order_number=state.order_number,
                location_id=delivery.location_id,
                lines=[
                    LineReservation(line_id=line.line_id, sku=line.sku, quantity=line.quantity)
                    for line in lines
                    if line is not None and line.quantity
                ],
            )
        )
    return wanted


def add_delivery(
    state: OrderState, line_ids: list[str], location_id: str, address: DeliveryAddress | None, now: datetime
) -> Delivery:
    """A new further delivery of these lines, its stock already reserved at its location (allocated). An order placed
    before deliveries were recorded first records its collection as D1."""
    if not state.deliveries:
        own = [line.line_id for line in state.lines if line.line_id not in line_ids]
        state.deliveries = [
            Delivery(
                delivery_id="D1", method=DeliveryMethod.click_and_collect, location_id=state.store_id, line_ids=own
            )
        ]
    number = 1 + max(int(d.delivery_id[1:]) for d in state.deliveries if d.delivery_id[1:].isdigit())
    delivery = Delivery(
        delivery_id=f"D{number}",
        method=DeliveryMethod.home_delivery,
        location_id=location_id,
        address=address,
        line_ids=list(line_ids),
        status=DeliveryStatus.allocated,
        status_since=now,
    )
    state.deliveries.append(delivery)
    return delivery


def electronic_only(state: OrderState, line_ids: Iterable[str]) -> bool:
    """Lines of only electronic items (the catalogue's flag): nothing to pack, so no packing stage and no not_packed
    clock; the delivery is ready to ship as soon as its stock is reserved."""
    lines = [line for line in state.lines if line.line_id in set(line_ids) and line.quantity]
    return bool(lines) and all(line.electronic for line in lines)


def first_stage(state: OrderState, delivery: Delivery) -> DeliveryStatus:
    """Where a delivery starts at its location once its stock is reserved there."""
    electronic = electronic_only(state, delivery.line_ids)
    return DeliveryStatus.ready_to_ship if electronic else DeliveryStatus.allocated


def allocate(state: OrderState, now: datetime, effects: Effects) -> None:
    """Stock reserved: each further delivery's location is told to pack and ship it (only to ship it, when it holds
    only electronic items)."""
    for delivery in further(state):
        if delivery.status is DeliveryStatus.placed:
            at = f"at {delivery.location_id}"
            if electronic_only(state, delivery.line_ids):
                delivery.status, delivery.status_since = DeliveryStatus.ready_to_ship, now
                detail = f"{delivery.delivery_id}: {at}, electronic items: no packing"
                journey.record(state, now, journey.SYSTEM, "delivery_allocated", detail)
            else:
                _stage(state, delivery, DeliveryStatus.allocated, now, journey.SYSTEM, at)
            effects.tell_store("delivery_created", delivery.location_id)


def delivery_for(state: OrderState, event: StoreEvent) -> Delivery | None:
    """The further delivery a stage event is about: the one it names, or the only open one at its sender."""
    if event.type not in STAGE_EVENTS:
        return None
    if event.delivery_id is not None:
        return next((d for d in further(state) if d.delivery_id == event.delivery_id), None)
    at_sender = [d for d in further(state) if d.location_id == event.store_id and not d.is_done]
    return at_sender[0] if len(at_sender) == 1 else None


def refusal(state: OrderState, event: StoreEvent, delivery: Delivery) -> str | None:
    if delivery.location_id != event.store_id:
        return f"delivery {delivery.delivery_id} ships from {delivery.location_id}, not {event.store_id}"
    if delivery.status not in _EXPECTED[event.type]:
        return f"{event.type} does not apply to delivery {delivery.delivery_id} {delivery.status}"
    if event.type is StoreEventType.shipped and not (event.carrier and event.tracking_number):
        return "a shipped event needs carrier and tracking_number"
    return None


def apply(state: OrderState, event: StoreEvent, delivery: Delivery, now: datetime) -> Effects:
    actor = journey.store_actor(event.store_id)
    effects = Effects()
    if event.type is StoreEventType.rejected:
        why = event.reason or "no reason given"
        _stage(state, delivery, DeliveryStatus.rejected, now, actor, why)
        detail = f"{delivery.delivery_id} at {delivery.location_id}: {why}"
        journey.raise_alert(state, AlertType.delivery_rejected, now, detail, delivery.delivery_id)
    elif event.type is StoreEventType.packed:
        _stage(state, delivery, DeliveryStatus.ready_to_ship, now, actor, "ready to ship")
    elif event.type is StoreEventType.shipped:
        delivery.carrier, delivery.tracking_number = event.carrier, event.tracking_number
        effects.commit_at, effects.commit_lines = delivery.location_id, list(delivery.line_ids)
        _stage(state, delivery, DeliveryStatus.shipped, now, actor, f"{event.carrier} tracking {event.tracking_number}")
        settlement.rebalance(state, now, actor, f"{delivery.delivery_id} shipped")  # its share is captured
    else:
        _stage(state, delivery, DeliveryStatus.delivered, now, actor, "delivered to the customer")
        finish_if_done(state, now)
    return effects


def _stage(state: OrderState, delivery: Delivery, to: DeliveryStatus, now: datetime, actor: str, detail: str) -> None:
    """A further delivery moves on: kept on it, and in the order's history as `delivery_<stage>` naming it."""
    delivery.status, delivery.status_since = to, now
    stage = {DeliveryStatus.ready_to_ship: "packed"}.get(to, to.value)
    journey.record(state, now, actor, f"delivery_{stage}", f"{delivery.delivery_id}: {detail}")
    journey.settle_alerts(state, now)  # an alert about the stage it left clears


def all_done(state: OrderState) -> bool:
    return all(delivery.is_done for delivery in further(state))


def own_journey_done(state: OrderState, now: datetime, actor: str, action: str, detail: str) -> None:
    """The order's own journey is done: it completes, or waits as partially collected / shipped for the rest."""
    if all_done(state):
        journey.transition(state, OrderStatus.completed, now, actor, action, detail)
        return
    partial = OrderStatus.partially_shipped if state.dispatch_location else OrderStatus.partially_collected
    journey.transition(state, partial, now, actor, action, detail)


def finish_if_done(state: OrderState, now: datetime) -> None:
    """The last delivery is done while the order waited for it: the order completes and its money settles."""
    if state.status in PARTIAL and all_done(state):
        journey.transition(state, OrderStatus.completed, now, journey.SYSTEM, "completed", "every delivery is done")
        settlement.rebalance(state, now)


def cancel(state: OrderState, now: datetime, actor: str) -> None:
    """The order is cancelled: further deliveries not yet shipped are too (their stock is released with it)."""
    for delivery in further(state):
        if not delivery.handed_over and not delivery.is_done:
            _stage(state, delivery, DeliveryStatus.cancelled, now, actor, "cancelled with the order")


# ---- SLA clocks of further deliveries: the same durations as the order's own home delivery ---------------------

_CLOCKS = {
    cause: alert
    for alert, cause in journey.DELIVERY_ALERT_CAUSE.items()
    if alert not in (AlertType.delivery_rejected, AlertType.stock_shortage)  # raised at once, not by a clock
}


def running_deadlines(state: OrderState, policy: SlaPolicy) -> list[tuple[Delivery, AlertType, datetime]]:
    """Each further delivery's running clock (allocated: not_packed, ready_to_ship: not_shipped, shipped:
    not_delivered), unless already breached in this stage."""
    running: list[tuple[Delivery, AlertType, datetime]] = []
    if state.status is OrderStatus.cancelled:
        return running
    for delivery in further(state):
        clocks = [(_CLOCKS.get(delivery.status) if delivery.status is not None else None, delivery.status_since)]
        if delivery.release_at is not None and delivery.status in UNRESERVED_PREORDER:
            clocks.append((AlertType.preorder_not_reserved, delivery.release_at))  # counted from its release date
        for alert_type, since in clocks:
            if alert_type is None or since is None:
                continue
            raised = any(
                a.delivery_id == delivery.delivery_id and a.type is alert_type and a.raised_at >= since
                for a in state.alerts
            )
            if not raised:
                running.append((delivery, alert_type, sla.after(since, getattr(policy, alert_type.value))))
    return running


def next_deadline(state: OrderState, policy: SlaPolicy) -> datetime | None:
    return min((due for _d, _t, due in running_deadlines(state, policy)), default=None)


def raise_breached(state: OrderState, policy: SlaPolicy, now: datetime) -> None:
    """An alert naming each further delivery whose stage has overrun its SLA."""
    for delivery, alert_type, due in running_deadlines(state, policy):
        if due <= now:
            detail = (
                f"{delivery.delivery_id} at {delivery.location_id}: SLA of {getattr(policy, alert_type.value)} breached"
            )
            journey.raise_alert(state, alert_type, now, detail, delivery.delivery_id)
