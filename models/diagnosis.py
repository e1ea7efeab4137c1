"""What an order is waiting for, from whom, since when, what happens next and when, and who acted last: read off
the order and its SLA policy, so it is the same rule the workflow's timers follow. Pure; the order workflow
answers it as a query (`diagnosis`), and the API adds what only the outside knows (deliveries not yet made,
activities being retried) in api/routers/diagnosis.py."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from models import operations, sla
from models.order import AlertType, OrderState, OrderStatus
from models.sla import SlaPolicy


class Wait(BaseModel):
    for_what: str = Field(description="What has to happen next, in words")
    from_whom: str = Field(description="store:<id>, customer, head_office, payment_gateway or system")
    since: datetime


class NextDeadline(BaseModel):
    at: datetime
    clock: str = Field(
        description="The SLA clock (an alert type), collection_expiry, reauthorisation or reconciliation"
    )
    what_happens: str


class LastActor(BaseModel):
    actor: str
    action: str
    at: datetime


class OrderDiagnosis(BaseModel):
    order_number: str
    status: OrderStatus
    waits: list[Wait]
    next_deadline: NextDeadline | None
    last_actor: LastActor | None
    open_alerts: list[str]


def _store(state: OrderState) -> str:
    return f"store:{state.store_id}"


def waits(state: OrderState) -> list[Wait]:
    """Everything the order waits for now, the most pressing first."""
    found: list[Wait] = []
    status, since = state.status, state.status_since
    by_status = {
        OrderStatus.received: ("placement to finish (approval, payment, then the store)", "system"),
        OrderStatus.awaiting_approval: (f"approval or rejection ({state.approval_reason or 'policy'})", "head_office"),
        OrderStatus.awaiting_payment: ("the offline payment to be confirmed", "head_office"),
        OrderStatus.on_hold: (f"a decision on the hold ({state.hold_reason or 'held'})", "head_office"),
        OrderStatus.awaiting_transfer: ("the transferred stock to be received", _store(state)),
        OrderStatus.awaiting_dispatch: (
            "dispatch to the customer",
            f"store:{state.dispatch_location or state.store_id}",
        ),
        OrderStatus.awaiting_acknowledgement: ("the store to acknowledge the order", _store(state)),
        OrderStatus.acknowledged: ("the store to pick the order", _store(state)),
        OrderStatus.ready_for_collection: (f"the customer to collect it at {state.store_id}", "customer"),
        OrderStatus.collected: ("completion", "system"),
    }
    if status in by_status:
        what, who = by_status[status]
        found.append(Wait(for_what=what, from_whom=who, since=since))
    if state.store_update_pending_since is not None and not state.is_final:
        found.append(
            Wait(
                for_what="the store to acknowledge Head Office's change",
                from_whom=_store(state),
                since=state.store_update_pending_since,
            )
        )
    for operation in state.operations:
        found.append(
            Wait(
                for_what=f"the gateway to answer a {operation.kind} ({operation.status})",
                from_whom="payment_gateway",
                since=operation.since,
            )
        )
    return found


_WHAT_HAPPENS = {
    AlertType.not_acknowledged: "a not_acknowledged alert for Head Office",
    AlertType.not_picked: "a not_picked alert for Head Office",
    AlertType.on_hold: "an on_hold alert: the hold has lasted too long",
    AlertType.not_collected: "a not_collected alert (the order stays ready)",
    AlertType.not_updated: "a not_updated alert: the store has not acknowledged the change",
    AlertType.transfer_not_received: "a transfer_not_received alert",
    AlertType.awaiting_approval: "an awaiting_approval alert for Head Office",
    AlertType.awaiting_payment: "an awaiting_payment alert for Head Office",
}


def next_deadline(state: OrderState, policy: SlaPolicy) -> NextDeadline | None:
    """The nearest moment the order's timer will act, and what it will do then."""
    candidates = [
        NextDeadline(at=at, clock=alert.value, what_happens=_WHAT_HAPPENS.get(alert, f"a {alert.value} alert"))
        for alert, at in sla.running_deadlines(state, policy).items()
    ]
    expiry = sla.collection_deadline(state, policy)
    if expiry is not None:
        candidates.append(
            NextDeadline(
                at=expiry, clock="collection_expiry", what_happens="the order is cancelled and its stock released"
            )
        )
    renewal = operations.reauthorisation_due(state)
    if renewal is not None:
        candidates.append(
            NextDeadline(at=renewal, clock="reauthorisation", what_happens="the card authorisation is renewed")
        )
    recheck = operations.next_reconciliation(state)
    if recheck is not None:
        candidates.append(
            NextDeadline(
                at=recheck, clock="reconciliation", what_happens="the gateway is asked again for an unknown outcome"
            )
        )
    return min(candidates, key=lambda deadline: deadline.at, default=None)


def last_actor(state: OrderState) -> LastActor | None:
    """The last person or system that changed the order (timers included)."""
    if not state.history:
        return None
    entry = state.history[-1]
    return LastActor(actor=entry.actor, action=entry.action, at=entry.at)


def diagnose(state: OrderState, policy: SlaPolicy) -> OrderDiagnosis:
    return OrderDiagnosis(
        order_number=state.order_number,
        status=state.status,
        waits=waits(state),
        next_deadline=next_deadline(state, policy),
        last_actor=last_actor(state),
        open_alerts=[alert.type.value for alert in state.alerts if alert.is_open],
    )
