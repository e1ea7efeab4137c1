"""Pure rules for when a completed or cancelled order's workflow ends (issue 14, "completed orders close").

An order closes once it is final and settled: no money operation queued, running or unknown, no failed payment or
declined refund waiting for Head Office, and no customer request left unanswered that it knows of. Returns do not
hold it open: a return is its own workflow, and a refund it owes after the order has closed is paid by a Refund
workflow (models/late_refunds.py), as is any later refund Head Office gives. The order waits a short grace after it
became final (`SlaPolicy.close_after`): a store webhook or a Head Office action racing the completion still finds
the order's workflow rather than a closed one."""

from __future__ import annotations

from datetime import datetime

from models import sla
from models.order import AlertType, OrderState
from models.sla import SlaPolicy

# An action sent while the order's workflow is closing is refused with this rule; the API and returns treat the order
# as closed (a refund goes to a Refund workflow).
ORDER_CLOSING = "order_closing"

# Alerts that stand for something still to settle, which Head Office settles through the order's own actions
# (answer a request, override a failed payment, decide on a declined refund) or that the order's next change cures
# (a write the database refused): while one is open the order stays open.
HOLDS_OPEN = frozenset(
    {
        AlertType.customer_request,
        AlertType.request_not_answered,
        AlertType.payment_failed,
        AlertType.payment_unknown,
        AlertType.refund_failed,
        AlertType.projection_failed,
    }
)


def settled(state: OrderState) -> bool:
    """Final, no money in flight or unknown, nothing in HOLDS_OPEN waiting for Head Office."""
    return (
        state.is_final
        and not state.operations
        and not any(alert.is_open and alert.type in HOLDS_OPEN for alert in state.alerts)
    )


def closes_at(state: OrderState, policy: SlaPolicy) -> datetime:
    """When a final order may close, if it is settled by then."""
    return sla.after(state.status_since, policy.close_after)


def may_close(state: OrderState, policy: SlaPolicy, now: datetime) -> bool:
    return settled(state) and now >= closes_at(state, policy)
