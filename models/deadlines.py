"""Pure rules for what a passing deadline does to an order: SLA alerts, the collection expiry, authorisations
to renew before they lapse. The workflow sleeps until `next_wakeup` and then asks `on_deadline`."""

from __future__ import annotations

from datetime import datetime

from models import delivery_stages, journey, operations, settlement, sla, stock_waits
from models.effects import Effects
from models.order import OrderState
from models.sla import SlaPolicy
from models.store_events import add_uncollected_fee, cancel_everything


def next_wakeup(state: OrderState, policy: SlaPolicy) -> datetime | None:
    """The next moment something is due: an SLA clock, the collection expiry, a renewal, a reconciliation."""
    moments = (
        sla.next_wakeup(state, policy),
        operations.reauthorisation_due(state),
        operations.next_reconciliation(state),
        stock_waits.next_wakeup(state),
        delivery_stages.next_deadline(state, policy),
    )
    return min((moment for moment in moments if moment is not None), default=None)


def on_deadline(state: OrderState, policy: SlaPolicy, now: datetime) -> Effects:
    effects = Effects()
    for alert_type in sla.breached(state, policy, now):
        journey.raise_alert(state, alert_type, now, f"SLA of {getattr(policy, alert_type.value)} breached")
    delivery_stages.raise_breached(state, policy, now)
    expiry = sla.collection_deadline(state, policy)
    if expiry is not None and expiry <= now:
        detail = f"not collected within {policy.collection_expiry}; stock released"
        cancel_everything(state, now, journey.SYSTEM, "collection_expired", detail, effects)
        add_uncollected_fee(state, now)
        settlement.rebalance(state, now, journey.SYSTEM, "collection expired")
        effects.tell_store("order_cancelled")
    operations.reauthorise_due(state, now)
    operations.recheck_due(state, now)
    effects.send_to_store = stock_waits.on_deadline(state, now)  # a backorder tries its reservation again
    stock_waits.close_delivery_windows(state, now)  # a backordered delivery's tries are the workflow's
    return effects
