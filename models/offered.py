"""Which Head Office actions the order page offers now: those whose rules would not refuse them for the order as
it stands, whatever the form then says.

One predicate per action of models/actions.py, over the order's view (status, hold, payments, lines), built from
the same status rules the refusals use (`interventions.closed_in`, `fulfilment_actions.MOVABLE`). The refusal
rules stay the truth: an offered action may still be refused for what its form asks (too large a refund, a line
not on the order), and tests/models/test_offered.py checks the two agree for orders in every status."""

from __future__ import annotations

from collections.abc import Callable

from models.actions import ACTIONS, Action
from models.b2b_orders import MAX_INVOICES
from models.deliveries import DeliveryStatus
from models.delivery_actions import MOVABLE as MOVABLE_DELIVERY
from models.fulfilment_actions import MOVABLE
from models.interventions import closed_in
from models.order import HoldReason, LineFulfilment, OrderStatus
from models.queues import InvoicingModel, past_point_of_no_return
from models.views import OrderView

_PAYMENT_HOLDS = (HoldReason.payment_declined, HoldReason.payment_unknown)


def _lines_open(view: OrderView) -> bool:
    return closed_in(view.status, view.hold_reason) is None


def _transfer_pending(view: OrderView) -> bool:
    return any(t.received_at is None for t in view.transfers)


def _movable(view: OrderView) -> bool:
    picked = any(line.picked_quantity for line in view.lines)
    return _lines_open(view) and view.status in MOVABLE and not picked and not _transfer_pending(view)


def _final(view: OrderView) -> bool:
    return view.status in (OrderStatus.completed, OrderStatus.cancelled)


def _mergeable(view: OrderView) -> bool:
    allocated = [d for d in view.deliveries[1:] if d.status is DeliveryStatus.allocated]
    places = [(d.location_id, d.address) for d in allocated]
    return any(places.count(place) > 1 for place in places)


def _unknown_money(view: OrderView) -> bool:
    return any(op.status == "unknown" for op in view.operations)


def refundable(view: OrderView) -> int:
    """The most a new refund may return (minor units): money taken less refunds done, instructed or on their way."""
    return view.paid.amount - sum(refund.moved_out for refund in view.refunds)


def _milestone_open(view: OrderView) -> bool:
    queue = view.queue
    if queue is None or queue.invoicing is not InvoicingModel.milestone or _final(view):
        return False
    return any(stage.reached_at is None for stage in queue.stages)


def _cancellable(view: OrderView) -> bool:
    if past_point_of_no_return(view.queue):
        return False
    waiting = (OrderStatus.awaiting_approval, OrderStatus.awaiting_payment)
    if view.status in (*waiting, OrderStatus.awaiting_release, OrderStatus.backordered):
        return True
    return (view.status is OrderStatus.on_hold and view.hold_reason in _PAYMENT_HOLDS) or _lines_open(view)


def _not_started(view: OrderView) -> bool:
    """Not sent out yet: being cleared (approval, payment) or waiting for its date (models/scheduling.py)."""
    waiting = (OrderStatus.received, OrderStatus.awaiting_approval, OrderStatus.awaiting_payment)
    if view.status in (*waiting, OrderStatus.awaiting_release):
        return True
    return view.status is OrderStatus.on_hold and view.hold_reason in _PAYMENT_HOLDS


_OFFERED: dict[str, Callable[[OrderView], bool]] = {
    "release_hold": lambda v: v.status is OrderStatus.on_hold and v.hold_reason not in _PAYMENT_HOLDS,
    "cancel_order": _cancellable,
    "reschedule": lambda v: v.fulfil_on is not None and _not_started(v),  # a scheduled order still waiting
    "cancel_lines": lambda v: _lines_open(v) and not past_point_of_no_return(v.queue),
    "change_variant": lambda v: _lines_open(v) and any(ln.is_collectable and not ln.picked_quantity for ln in v.lines),
    "add_item": _lines_open,
    "buy_in_store": _lines_open,
    "move_to_store": _movable,
    # From another location the order must still be movable; the collection store itself ships what it holds.
    "switch_to_home_delivery": lambda v: (
        _lines_open(v)
        and not _transfer_pending(v)
        and not any(line.fulfilment is LineFulfilment.buy_in_store and line.quantity for line in v.lines)
    ),
    # Further deliveries (after the order's own) move while not yet shipped, and merge while both are allocated.
    "move_delivery": lambda v: not _final(v) and any(d.status in MOVABLE_DELIVERY for d in v.deliveries[1:]),
    # A line not yet picked splits off while another stays: the order must be out (not held) and changeable.
    "split_delivery": lambda v: (
        _lines_open(v)
        and v.status is not OrderStatus.on_hold
        and len([ln for ln in v.lines if ln.is_collectable]) >= 2
        and any(ln.is_collectable and ln.picked_quantity is None for ln in v.lines)
    ),
    "merge_deliveries": lambda v: not _final(v) and _mergeable(v),
    "redirect_stock": lambda v: (
        _lines_open(v)
        and v.status is not OrderStatus.ready_for_collection
        and any(line.is_collectable for line in v.lines)
    ),
    "prompt_store": lambda v: (
        _lines_open(v)
        and (
            v.status in (OrderStatus.awaiting_acknowledgement, OrderStatus.acknowledged)
            or v.store_update_pending_since is not None
        )
    ),
    "add_note": lambda v: True,
    "change_milestone": _milestone_open,
    "take_payment": lambda v: _lines_open(v) and not _unknown_money(v),
    "refund": lambda v: refundable(v) > 0,
    "approve_order": lambda v: v.status is OrderStatus.awaiting_approval,
    "reject_order": lambda v: v.status is OrderStatus.awaiting_approval,
    "confirm_payment": lambda v: any(p.status in ("awaiting", "due") for p in v.payments),
    "retry_payment": lambda v: (
        v.status is OrderStatus.on_hold and v.hold_reason is HoldReason.payment_declined and not _unknown_money(v)
    ),
    "override_payment": lambda v: any(
        p.status in ("capture_failed", "declined") and not any(op.payment_id == p.payment_id for op in v.operations)
        for p in v.payments
    ),
    "edit_custom_field": lambda v: not _final(v),
    "add_third_party_invoice": lambda v: (
        v.b2b is not None
        and v.status not in (OrderStatus.awaiting_approval, OrderStatus.cancelled)
        and len(v.b2b.third_party_invoices) < MAX_INVOICES
    ),
}
assert set(_OFFERED) == {action.name for action in ACTIONS}, "every action needs its predicate"


def offered_actions(view: OrderView) -> list[Action]:
    """The actions worth showing for this order now, in the list's order."""
    return [action for action in ACTIONS if _OFFERED[action.name](view)]
