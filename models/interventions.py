"""Head Office actions that change an order's lines, store or fulfilment: the rules that refuse them, what each
needs from the stock ledger first, and what each does to the order.

Each `refusal_for_*` returns a `Refusal` naming the rule (or None); `needs_for_*` says what stock must be reserved
or sent on its way before anything changes; each `apply_*` changes the order state and returns the `Effects` the
workflow carries out. Money follows from `settlement.rebalance`: what the order now comes to is charged or refunded.
Where the order is fulfilled (another store, home delivery, stock redirected) is models/fulfilment_actions.py; the
actions on money itself (payments, refunds, approvals) are models/payment_actions.py.
"""

from __future__ import annotations

from datetime import datetime

from models import delivery_stages, journey, queues, settlement
from models.catalogue import LineReservation
from models.effects import Effects, Needs, Refusal
from models.intervention_commands import (
    AddItem,
    AddNote,
    CancelLines,
    CancelOrder,
    ChangeVariant,
    NewLine,
    PromptStore,
    ReleaseHold,
    _Command,
)
from models.money import MAX_AMOUNT, Money
from models.order import (
    HoldReason,
    LineFulfilment,
    Note,
    OrderLine,
    OrderState,
    OrderStatus,
)
from models.store_events import cancel_everything

# Before collection an order may be changed; after it only refunds and notes (returns come later).
_CHANGEABLE = frozenset(
    {
        OrderStatus.received,
        OrderStatus.on_hold,
        OrderStatus.awaiting_transfer,
        OrderStatus.awaiting_acknowledgement,
        OrderStatus.acknowledged,
        OrderStatus.ready_for_collection,
    }
)


def closed(state: OrderState) -> Refusal | None:
    """Why the order's lines can no longer change (None while they can)."""
    refusal = closed_in(state.status, state.hold_reason)
    if refusal is None and (shipped := [d.delivery_id for d in state.deliveries[1:] if d.handed_over]):
        return Refusal("delivery_shipped", f"{', '.join(shipped)} has shipped: only refunds and notes change the order")
    return refusal


def closed_in(status: OrderStatus, hold_reason: HoldReason | None) -> Refusal | None:
    """`closed` by status alone: what the order page also uses to offer only the actions valid now."""
    if status in (OrderStatus.awaiting_approval, OrderStatus.awaiting_payment):
        return Refusal("order_not_cleared", f"the order is {status}: approve it or confirm its payment first")
    if status in (OrderStatus.collected, OrderStatus.completed):
        return Refusal("order_collected", "nothing changes after collection except refunds and notes")
    if status not in _CHANGEABLE:
        return Refusal("order_closed", f"the order is {status}")
    if hold_reason in (HoldReason.payment_declined, HoldReason.payment_unknown):
        return Refusal("order_not_cleared", "the order's payment is not settled: retry, settle or cancel it first")
    return None


def open_line(state: OrderState, line_id: str) -> OrderLine | Refusal:
    line = state.line(line_id)
    if line is None:
        return Refusal("unknown_line", f"line {line_id} is not on the order")
    if not line.is_collectable:
        return Refusal("line_not_open", f"line {line_id} is {'cancelled' if line.quantity == 0 else line.fulfilment}")
    return line


def currency_refusal(state: OrderState, amount: Money) -> Refusal | None:
    if amount.currency != state.currency:
        return Refusal("currency_mismatch", f"the order is in {state.currency}, not {amount.currency}")
    return None


def record(state: OrderState, now: datetime, command: _Command, action: str, detail: str = "") -> None:
    text = f"{detail} — {command.reason}" if detail else command.reason
    journey.record(state, now, command.actor, action, text)
    if command.client_note:
        state.notes.append(Note(at=now, actor=command.actor, text=command.client_note, client_facing=True))


def _next_line_id(state: OrderState) -> str:
    return f"L{len(state.lines) + 1}"


def changed_lines(state: OrderState, command: _Command, now: datetime, effects: Effects) -> Effects:
    """Lines changed: money follows, the store is told and must acknowledge the change."""
    settlement.rebalance(state, now, command.actor, command.reason)
    journey.request_store_update(state, now)
    return effects.tell_store("order_updated")


# ---- cancel ----------------------------------------------------------------------------------------


def point_of_no_return(state: OrderState) -> Refusal | None:
    """Past its queue's point of no return (models/queues.py) an order is no longer cancelled, whole or in part."""
    why = queues.past_point_of_no_return(state.queue)
    return Refusal(queues.POINT_OF_NO_RETURN, f"{why}: it can no longer be cancelled") if why else None


def refusal_for_cancel_order(state: OrderState, command: CancelOrder) -> Refusal | None:
    if refusal := point_of_no_return(state):
        return refusal
    if state.status in (OrderStatus.awaiting_release, OrderStatus.backordered):
        return None  # a preorder or backorder waiting for its stock: nothing is reserved yet
    if state.status in (OrderStatus.awaiting_approval, OrderStatus.awaiting_payment):
        return None  # cancelling is how Head Office turns down an order it will not approve or was not paid for
    if state.status == OrderStatus.on_hold and state.hold_reason in (
        HoldReason.payment_declined,
        HoldReason.payment_unknown,
    ):
        return None  # money still on its way is settled once it answers (the order being cancelled by then)
    return closed(state)


def apply_cancel_order(state: OrderState, command: CancelOrder, now: datetime) -> Effects:
    effects = Effects()
    told_store = state.cleared_at is not None
    cancel_everything(state, now, command.actor, "order_cancelled", command.reason, effects)
    record(state, now, command, "stock_released", "every line")
    settlement.rebalance(state, now, command.actor, command.reason)
    return effects.tell_store("order_cancelled") if told_store else effects


def refusal_for_cancel_lines(state: OrderState, command: CancelLines) -> Refusal | None:
    if refusal := point_of_no_return(state) or closed(state):
        return refusal
    if len({item.line_id for item in command.lines}) != len(command.lines):
        return Refusal("duplicate_line", "each line may appear once")
    for item in command.lines:
        line = open_line(state, item.line_id)
        if isinstance(line, Refusal):
            return line
        if item.quantity > line.quantity:
            return Refusal("quantity_exceeds_line", f"line {line.line_id} has {line.quantity}, not {item.quantity}")
        if line.quantity - item.quantity < (line.picked_quantity or 0):
            return Refusal(
                "below_picked_quantity",
                f"line {line.line_id}: the store already picked {line.picked_quantity}; it cannot go below that",
            )
    return None


def apply_cancel_lines(state: OrderState, command: CancelLines, now: datetime) -> Effects:
    targets = {}
    for item in command.lines:
        line = state.line(item.line_id)
        assert line is not None
        line.quantity -= item.quantity
        line.cancelled_quantity += item.quantity
        targets[line.line_id] = line.quantity
    effects = Effects().release(targets)
    record(state, now, command, "lines_cancelled", ", ".join(f"{i.line_id} × {i.quantity}" for i in command.lines))
    if any(line.quantity for line in state.lines):
        return changed_lines(state, command, now, effects)
    cancel_everything(state, now, command.actor, "order_cancelled", "no lines left", effects)
    settlement.rebalance(state, now, command.actor, command.reason)
    return effects.tell_store("order_cancelled")


# ---- change a line, add an item --------------------------------------------------------------------


def refusal_for_change_variant(state: OrderState, command: ChangeVariant) -> Refusal | None:
    if refusal := closed(state):
        return refusal
    line = open_line(state, command.line_id)
    if isinstance(line, Refusal):
        return line
    if line.picked_quantity:
        return Refusal("line_already_picked", f"line {line.line_id} is already picked; cancel it and add an item")
    if command.variant.sku == line.sku:
        return Refusal("same_variant", f"line {line.line_id} is already {line.sku}")
    if command.variant.style != line.style:
        return Refusal("not_a_sibling_variant", f"{command.variant.sku} is not a {line.style}")
    return currency_refusal(state, command.variant.unit_price) or _too_large(
        state, command.variant.unit_price.amount * line.quantity
    )


def needs_for_change_variant(state: OrderState, command: ChangeVariant) -> Needs:
    line = state.line(command.line_id)
    assert line is not None
    reserve = [LineReservation(line_id=_next_line_id(state), sku=command.variant.sku, quantity=line.quantity)]
    return Needs(reserve=reserve, reserve_at=state.store_id)


def apply_change_variant(state: OrderState, command: ChangeVariant, now: datetime) -> Effects:
    line = state.line(command.line_id)
    assert line is not None
    new_line = _new_line(state, command.variant, line.quantity)
    line.replaced_by = new_line.line_id
    line.cancelled_quantity += line.quantity
    line.quantity = 0
    state.lines.append(new_line)
    record(state, now, command, "variant_changed", f"{line.line_id} {line.sku} → {new_line.line_id} {new_line.sku}")
    return changed_lines(state, command, now, Effects().release({line.line_id: 0}))


def refusal_for_add_item(state: OrderState, command: AddItem) -> Refusal | None:
    return (
        closed(state)
        or currency_refusal(state, command.item.unit_price)
        or _too_large(state, command.item.unit_price.amount * command.quantity)
        or (Refusal("too_many_lines", "an order has at most 200 lines") if len(state.lines) >= 200 else None)
    )


def needs_for_add_item(state: OrderState, command: AddItem) -> Needs:
    reserve = [LineReservation(line_id=_next_line_id(state), sku=command.item.sku, quantity=command.quantity)]
    return Needs(reserve=reserve, reserve_at=command.ship_from or state.store_id)


def apply_add_item(state: OrderState, command: AddItem, now: datetime) -> Effects:
    new_line = _new_line(state, command.item, command.quantity)
    state.lines.append(new_line)
    record(state, now, command, "item_added", f"{new_line.line_id} {new_line.sku} × {new_line.quantity}")
    if command.ship_from is not None:  # the collection store lacks it: a new delivery ships it to the customer
        new_line.fulfilment = LineFulfilment.home_delivery
        delivery = delivery_stages.add_delivery(state, [new_line.line_id], command.ship_from, command.address, now)
        delivery.sourcing = command.sourcing
        record(state, now, command, "delivery_added", f"{delivery.delivery_id} from {command.ship_from}")
        settlement.rebalance(state, now, command.actor, command.reason)
        return Effects().tell_store("delivery_created", command.ship_from)
    if state.status == OrderStatus.ready_for_collection:
        journey.transition(state, OrderStatus.acknowledged, now, command.actor, "to_pick_again", new_line.line_id)
    return changed_lines(state, command, now, Effects())


def _too_large(state: OrderState, more: int) -> Refusal | None:
    if state.gross().amount + more > MAX_AMOUNT:
        return Refusal(
            "amount_too_large", f"the order would come to more than {Money(amount=MAX_AMOUNT, currency=state.currency)}"
        )
    return None


def _new_line(state: OrderState, variant: NewLine, quantity: int) -> OrderLine:
    return OrderLine(
        line_id=_next_line_id(state),
        sku=variant.sku,
        style=variant.style,
        size=variant.size,
        colour=variant.colour,
        quantity=quantity,
        unit_price=variant.unit_price,
    )


# ---- the store, notes, holds -----------------------------------------------------------------------------


def refusal_for_prompt_store(state: OrderState, command: PromptStore) -> Refusal | None:
    if refusal := closed(state):
        return refusal
    waiting_on_store = {OrderStatus.awaiting_acknowledgement, OrderStatus.acknowledged}
    if state.status not in waiting_on_store and state.store_update_pending_since is None:
        return Refusal("store_not_expected_to_act", f"nothing waits for the store while the order is {state.status}")
    return None


def apply_prompt_store(state: OrderState, command: PromptStore, now: datetime) -> Effects:
    record(state, now, command, "store_prompted", f"store {state.store_id}")
    return Effects().tell_store("order_prompt")


def refusal_for_add_note(state: OrderState, command: AddNote) -> Refusal | None:
    return None  # a note can always be added, also after the order closed (while its workflow runs)


def apply_add_note(state: OrderState, command: AddNote, now: datetime) -> Effects:
    state.notes.append(Note(at=now, actor=command.actor, text=command.text, client_facing=command.client_facing))
    journey.record(state, now, command.actor, "note_added", "client-facing" if command.client_facing else "internal")
    return Effects()


def refusal_for_release_hold(state: OrderState, command: ReleaseHold) -> Refusal | None:
    refusal = journey.refusal_for_release_hold(state)
    return Refusal("order_not_on_hold", refusal) if refusal else None


def apply_release_hold(state: OrderState, command: ReleaseHold, now: datetime) -> Effects:
    """A short pick is accepted (lines shrink to what was picked); a stock shortage is tried again."""
    if state.hold_reason is HoldReason.short_pick:
        kept = journey.accept_short_pick(state, now, command.actor, command.reason)
        if command.client_note:
            state.notes.append(Note(at=now, actor=command.actor, text=command.client_note, client_facing=True))
        return changed_lines(state, command, now, Effects().release(kept))
    record(state, now, command, "hold_released")
    return Effects(send_to_store=True)
