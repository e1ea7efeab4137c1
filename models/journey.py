"""Pure rules of the click & collect journey: transitions, holds, alerts and the order's history.

Every function here takes `now` (and whatever else it needs) as arguments and does no I/O, so the
workflow stays a thin shell and the rules are tested without Temporal.
"""

from __future__ import annotations

from datetime import datetime

from models.deliveries import DeliveryStatus
from models.order import (
    Alert,
    AlertType,
    HistoryEntry,
    HoldReason,
    OrderState,
    OrderStatus,
)

SYSTEM = "system"

ALLOWED_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.received: frozenset(
        {
            OrderStatus.awaiting_release,  # a preorder
            OrderStatus.backordered,  # short when sent out
            OrderStatus.awaiting_acknowledgement,
            OrderStatus.on_hold,
            OrderStatus.cancelled,
            OrderStatus.awaiting_dispatch,
            OrderStatus.awaiting_approval,
            OrderStatus.awaiting_payment,
            OrderStatus.completed,  # a direct sale: handed over at the till at once
        }
    ),
    # Waiting for Head Office: approval first, then the payment; a declined card holds the order.
    OrderStatus.awaiting_approval: frozenset(
        {
            OrderStatus.awaiting_release,  # a preorder
            OrderStatus.backordered,  # short when sent out
            OrderStatus.awaiting_payment,
            OrderStatus.awaiting_acknowledgement,
            OrderStatus.awaiting_dispatch,  # placed for home delivery
            OrderStatus.completed,  # a direct sale
            OrderStatus.on_hold,
            OrderStatus.cancelled,
        }
    ),
    OrderStatus.awaiting_payment: frozenset(
        {
            OrderStatus.awaiting_release,  # a preorder
            OrderStatus.backordered,  # short when sent out
            OrderStatus.awaiting_acknowledgement,
            OrderStatus.awaiting_dispatch,
            OrderStatus.completed,  # a direct sale
            OrderStatus.on_hold,
            OrderStatus.cancelled,
        }
    ),
    OrderStatus.on_hold: frozenset(
        {
            OrderStatus.awaiting_release,  # a preorder
            OrderStatus.backordered,  # short when sent out
            OrderStatus.awaiting_acknowledgement,
            OrderStatus.ready_for_collection,
            OrderStatus.awaiting_transfer,
            OrderStatus.cancelled,
            OrderStatus.awaiting_dispatch,
            OrderStatus.completed,  # a direct sale released from hold
        }
    ),
    OrderStatus.awaiting_transfer: frozenset(
        {
            OrderStatus.awaiting_acknowledgement,
            OrderStatus.on_hold,
            OrderStatus.cancelled,
            OrderStatus.awaiting_dispatch,
        }
    ),
    # A preorder waits for its release date, a backorder for replenishment (models/stock_waits.py).
    OrderStatus.awaiting_release: frozenset(
        {
            OrderStatus.awaiting_acknowledgement,
            OrderStatus.awaiting_dispatch,
            OrderStatus.backordered,
            OrderStatus.on_hold,
            OrderStatus.cancelled,
        }
    ),
    OrderStatus.backordered: frozenset(
        {
            OrderStatus.awaiting_acknowledgement,
            OrderStatus.awaiting_dispatch,
            OrderStatus.on_hold,
            OrderStatus.cancelled,
        }
    ),
    # Home delivery: packed, shipped (with the carrier), delivered; `dispatched` completes it in one step.
    OrderStatus.awaiting_dispatch: frozenset(
        {
            OrderStatus.completed,
            OrderStatus.cancelled,
            OrderStatus.ready_to_ship,
            OrderStatus.shipped,
            OrderStatus.partially_shipped,
        }
    ),
    OrderStatus.ready_to_ship: frozenset(
        {OrderStatus.shipped, OrderStatus.completed, OrderStatus.partially_shipped, OrderStatus.cancelled}
    ),
    OrderStatus.shipped: frozenset({OrderStatus.completed, OrderStatus.partially_shipped}),
    # The order's own journey is done; it completes with its last further delivery.
    OrderStatus.partially_collected: frozenset({OrderStatus.completed}),
    OrderStatus.partially_shipped: frozenset({OrderStatus.completed}),
    OrderStatus.awaiting_acknowledgement: frozenset(
        {OrderStatus.acknowledged, OrderStatus.on_hold, OrderStatus.cancelled, OrderStatus.awaiting_dispatch}
    ),
    OrderStatus.acknowledged: frozenset(
        {
            OrderStatus.ready_for_collection,
            OrderStatus.on_hold,
            OrderStatus.cancelled,
            OrderStatus.awaiting_acknowledgement,  # moved to another store
            OrderStatus.awaiting_dispatch,  # switched to home delivery
        }
    ),
    # An item added after picking sends the order back to the store's pick list.
    OrderStatus.ready_for_collection: frozenset(
        {OrderStatus.collected, OrderStatus.cancelled, OrderStatus.acknowledged, OrderStatus.awaiting_dispatch}
    ),
    OrderStatus.collected: frozenset({OrderStatus.completed, OrderStatus.partially_collected}),
    OrderStatus.completed: frozenset(),
    OrderStatus.cancelled: frozenset(),
}

# Exceptions that hold an order, and the SLA alerts whose cause is a status: cleared when it is left.
_ALERT_CAUSE_STATUS = {
    AlertType.not_acknowledged: OrderStatus.awaiting_acknowledgement,
    AlertType.not_picked: OrderStatus.acknowledged,
    AlertType.on_hold: OrderStatus.on_hold,
    AlertType.not_collected: OrderStatus.ready_for_collection,
    AlertType.stock_shortage: OrderStatus.on_hold,
    AlertType.short_pick: OrderStatus.on_hold,
    AlertType.payment_declined: OrderStatus.on_hold,
    AlertType.awaiting_approval: OrderStatus.awaiting_approval,
    AlertType.awaiting_payment: OrderStatus.awaiting_payment,
    AlertType.not_packed: OrderStatus.awaiting_dispatch,
    AlertType.not_shipped: OrderStatus.ready_to_ship,
    AlertType.not_delivered: OrderStatus.shipped,
    AlertType.backorder_overdue: OrderStatus.backordered,
}


class TransitionRefused(ValueError):
    """A change the rules do not allow; `rule` names the rule for the caller."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule


def store_actor(store_id: str, staff: str | None = None) -> str:
    """ "store:S001", or "store:S001:sam" when a named member of staff acted on the Pick Manager."""
    return f"store:{store_id}:{staff}" if staff else f"store:{store_id}"


def record(state: OrderState, now: datetime, actor: str, action: str, detail: str = "") -> None:
    state.history.append(HistoryEntry(at=now, actor=actor, action=action, detail=detail))
    state.version += 1


def transition(state: OrderState, to: OrderStatus, now: datetime, actor: str, action: str, detail: str = "") -> None:
    """The one way an order's status changes: checked, timed, and written to its history."""
    if to not in ALLOWED_TRANSITIONS[state.status]:
        raise TransitionRefused("transition_not_allowed", f"an order {state.status} cannot become {to}")
    state.history.append(
        HistoryEntry(at=now, actor=actor, action=action, detail=detail, from_status=state.status, to_status=to)
    )
    state.status = to
    state.status_since = now
    if to != OrderStatus.on_hold:
        state.hold_reason = None
    state.version += 1
    settle_alerts(state, now)


def raise_alert(
    state: OrderState, alert_type: AlertType, now: datetime, detail: str = "", delivery_id: str | None = None
) -> Alert:
    alert = Alert(
        alert_id=f"A{len(state.alerts) + 1}", type=alert_type, raised_at=now, detail=detail, delivery_id=delivery_id
    )
    state.alerts.append(alert)
    record(state, now, SYSTEM, "alert_raised", f"{alert_type}: {detail}".rstrip(": "))
    return alert


def settle_alerts(state: OrderState, now: datetime) -> None:
    """Clear every open alert whose cause is gone; a final order keeps no open alert."""
    for alert in state.alerts:
        if not alert.is_open:
            continue
        if alert.delivery_id is not None:
            resolved = _delivery_cause_gone(state, alert)
        elif alert.type is AlertType.not_updated:
            resolved = state.store_update_pending_since is None
        elif alert.type is AlertType.transfer_not_received:
            resolved = not state.pending_transfers()
        elif alert.type is AlertType.payment_failed:
            # Money owed after handover: stays open on a completed order until Head Office settles it.
            owed = [
                p
                for p in state.payments
                if p.status == "capture_failed" or (p.status == "authorised" and not p.renewable)
            ]
            if not owed:
                alert.cleared_at = now
                record(state, now, SYSTEM, "alert_cleared", alert.type)
            continue
        elif alert.type is AlertType.store_offline:
            resolved = state.offline_store_id != state.store_id or state.status == OrderStatus.awaiting_dispatch
        elif alert.type is AlertType.payment_unknown:
            if not state.unknown_operations():  # money without an answer stays an alert on a final order too
                alert.cleared_at = now
                record(state, now, SYSTEM, "alert_cleared", alert.type)
            continue
        elif alert.type is AlertType.refund_failed:
            # Cleared once nothing is left to give back, or Head Office asked for a refund since.
            resolved = state.kept().amount <= state.total().amount or any(
                r.status != "declined" and r.at > alert.raised_at for r in state.refunds
            )
            if resolved:
                alert.cleared_at = now
                record(state, now, SYSTEM, "alert_cleared", alert.type)
            continue
        elif alert.type is AlertType.store_unreachable:
            resolved = False  # cleared when the store is heard from (store_events.py)
        elif alert.type is AlertType.projection_failed:
            resolved = False  # cleared when a change is written again (`before_write`)
        elif alert.type in (AlertType.customer_request, AlertType.request_not_answered):
            resolved = False  # cleared when Head Office answers the request (models/requests.py)
        elif alert.type is AlertType.stuck:
            resolved = True  # the order moved: whatever it was stuck on has let go (the sweep looks again)
        elif alert.type is AlertType.preorder_not_reserved:
            resolved = not state.preorder_unreserved
        elif alert.type is AlertType.stock_count_short:
            # The store found the goods after all (picked them), or Head Office moved the order on.
            resolved = state.status in (OrderStatus.ready_for_collection, OrderStatus.collected)
        else:
            resolved = state.status != _ALERT_CAUSE_STATUS[alert.type]
        if resolved or state.is_final:
            alert.cleared_at = now
            record(state, now, SYSTEM, "alert_cleared", alert.type)


# The stage of a further delivery that causes each alert about it (models/delivery_stages.py).
DELIVERY_ALERT_CAUSE = {
    AlertType.not_packed: DeliveryStatus.allocated,
    AlertType.not_shipped: DeliveryStatus.ready_to_ship,
    AlertType.not_delivered: DeliveryStatus.shipped,
    AlertType.delivery_rejected: DeliveryStatus.rejected,
    AlertType.backorder_overdue: DeliveryStatus.backordered,
    AlertType.stock_shortage: DeliveryStatus.backordered,  # its backorder window closed (models/stock_waits.py)
}


def _delivery_cause_gone(state: OrderState, alert: Alert) -> bool:
    delivery = next((d for d in state.deliveries if d.delivery_id == alert.delivery_id), None)
    if alert.type is AlertType.preorder_not_reserved:  # a preorder of its own, released and still not reserved
        return delivery is None or delivery.status not in (DeliveryStatus.awaiting_release, DeliveryStatus.backordered)
    return delivery is None or delivery.status is not DELIVERY_ALERT_CAUSE.get(alert.type)


def hold(state: OrderState, reason: HoldReason, now: datetime, actor: str, detail: str, *, alert: bool = True) -> None:
    """Put the order on hold for Head Office, with an alert saying why (unless one is already raised)."""
    transition(state, OrderStatus.on_hold, now, actor, f"held_{reason}", detail)
    state.hold_reason = reason
    if alert:
        raise_alert(state, AlertType(reason.value), now, detail)


def refusal_for_release_hold(state: OrderState) -> str | None:
    if state.status != OrderStatus.on_hold:
        return f"only an order on hold can be released (it is {state.status})"
    if state.hold_reason is HoldReason.payment_declined:
        return "the order is held for a declined payment: retry the payment, settle it by hand, or cancel the order"
    if state.hold_reason is HoldReason.payment_unknown:
        return "a payment's outcome is being reconciled with the gateway; the order goes ahead once it is known"
    return None


def accept_short_pick(state: OrderState, now: datetime, actor: str, reason: str) -> dict[str, int]:
    """Head Office accepts what the store picked: lines shrink to it, the store must acknowledge.

    Returns the quantity each line keeps, for resizing its stock reservation.
    """
    if (
        OrderStatus.ready_for_collection not in ALLOWED_TRANSITIONS[state.status]
        or state.hold_reason != HoldReason.short_pick
    ):
        raise TransitionRefused("not_held_for_short_pick", "only an order held for a short pick can accept it")
    kept = {}
    for line in state.lines:
        picked = line.picked_quantity if line.picked_quantity is not None else line.quantity
        line.cancelled_quantity += line.quantity - picked
        line.quantity = picked
        kept[line.line_id] = line.quantity
    transition(state, OrderStatus.ready_for_collection, now, actor, "short_pick_accepted", reason)
    request_store_update(state, now)
    return kept


def request_store_update(state: OrderState, now: datetime) -> None:
    """Arm the 'not updated by the store' SLA until the store acknowledges the change."""
    state.store_update_pending_since = now


def acknowledge_store_update(state: OrderState, now: datetime, store_id: str) -> None:
    state.store_update_pending_since = None
    record(state, now, store_actor(store_id), "update_acknowledged")
    settle_alerts(state, now)


# Store event ids an order remembers to recognise a retried webhook, latest last. A store retries within minutes,
# not after a thousand other events; remembering every id would let a misbehaving store grow the order without end.
SEEN_EVENT_IDS_KEPT = 1000


def seen(state: OrderState, event_id: str) -> bool:
    return event_id in state.seen_event_ids


def remember_event(state: OrderState, event_id: str) -> None:
    """Remember a store event id, forgetting the oldest beyond SEEN_EVENT_IDS_KEPT."""
    state.seen_event_ids.append(event_id)
    del state.seen_event_ids[:-SEEN_EVENT_IDS_KEPT]


def open_alert(state: OrderState, alert_type: AlertType) -> bool:
    return any(alert.is_open and alert.type is alert_type for alert in state.alerts)


def before_write(state: OrderState, now: datetime) -> None:
    """A change is about to be written: an open projection_failed alert is cleared in it, so the read model
    shows the order whole again once a write succeeds (`write_refused` reopens it if this write fails too)."""
    for alert in state.alerts:
        if alert.is_open and alert.type is AlertType.projection_failed:
            alert.cleared_at = now


def write_refused(state: OrderState, now: datetime, error_class: str) -> None:
    """The database refused to write the order's change: the order goes on with its read model behind, under a
    projection_failed alert naming the error's class. An alert cleared by this very write is reopened rather than
    raised again, so an order that fails at every step keeps one alert."""
    detail = f"the change could not be written ({error_class})"
    for alert in state.alerts:
        if alert.type is AlertType.projection_failed and (alert.is_open or alert.cleared_at == now):
            alert.cleared_at, alert.detail = None, detail
            return
    raise_alert(state, AlertType.projection_failed, now, detail)
