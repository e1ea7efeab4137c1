"""Head Office interventions: the commands, the rules that refuse them, and what each does to an order.

Each `refusal_for_*` returns a `Refusal` naming the rule (or None); each `apply_*` changes the order state
and returns the `Effects` the workflow must carry out (stock, money, store). Work that can fail on its own
(reserving new stock, dispatching a transfer) is described by `needs_*` and done before anything changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from models import journey, settlement
from models.catalogue import LineReservation
from models.intervention_commands import (  # re-exported: workflows and the API use them as ho.<Command>
    AddItem,
    AddNote,
    ApproveOrder,
    BuyInStore,
    CancelLines,
    CancelOrder,
    ChangeVariant,
    ConfirmPayment,
    IssueRefund,
    LineQuantity,  # noqa: F401  (re-exported)
    MoveToStore,
    NewLine,
    OverridePayment,
    PromptStore,
    RedirectStock,
    RejectOrder,
    RetryPayment,
    SwitchToHomeDelivery,
    TakePayment,
    _Command,
)
from models.money import Money
from models.order import (
    HoldReason,
    LineFulfilment,
    Note,
    OrderLine,
    OrderState,
    OrderStatus,
    RefundRecord,
    Transfer,
)

# Before collection an order may be changed; after it only refunds (returns come later).
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


@dataclass(frozen=True)
class Refusal:
    rule: str
    message: str


@dataclass
class Effects:
    """What the workflow must do after a change: stock, money and the store."""

    resize: dict[str, int] = field(default_factory=dict)
    resize_location: str | None = None
    refund: Money | None = None
    charge: Money | None = None
    store_message: str | None = None  # order_updated | order_cancelled | order_prompt | transfer_incoming
    arm_store_update: bool = False
    strict_refund: bool = False  # a declined refund fails the action (a refund asked for), else it is recorded


def _closed(state: OrderState) -> Refusal | None:
    if state.status in (OrderStatus.awaiting_approval, OrderStatus.awaiting_payment):
        return Refusal("order_not_cleared", f"the order is {state.status}: approve it or confirm its payment first")
    if state.status in (OrderStatus.collected, OrderStatus.completed):
        return Refusal("order_collected", "nothing changes after collection except refunds")
    if state.status not in _CHANGEABLE:
        return Refusal("order_closed", f"the order is {state.status}")
    return None


def _line(state: OrderState, line_id: str) -> OrderLine | Refusal:
    line = state.line(line_id)
    if line is None:
        return Refusal("unknown_line", f"line {line_id} is not on the order")
    if not line.is_collectable:
        return Refusal("line_not_open", f"line {line_id} is {'cancelled' if line.quantity == 0 else line.fulfilment}")
    return line


def _currency(state: OrderState, amount: Money) -> Refusal | None:
    if amount.currency != state.currency:
        return Refusal("currency_mismatch", f"the order is in {state.currency}, not {amount.currency}")
    return None


def _next_line_id(state: OrderState) -> str:
    return f"L{len(state.lines) + 1}"


def _record(state: OrderState, now: datetime, command: _Command, action: str, detail: str = "") -> None:
    text = f"{detail} — {command.reason}" if detail else command.reason
    journey.record(state, now, command.actor, action, text)
    if command.client_note:
        state.notes.append(Note(at=now, actor=command.actor, text=command.client_note, client_facing=True))


def _refund_at_most(state: OrderState, amount: int) -> Money | None:
    amount = min(amount, state.refundable().amount)
    return Money(amount=amount, currency=state.currency) if amount > 0 else None


# ---- cancel ----------------------------------------------------------------------------------------


def refusal_for_cancel_order(state: OrderState, command: CancelOrder) -> Refusal | None:
    if state.status in (OrderStatus.awaiting_approval, OrderStatus.awaiting_payment):
        return None  # cancelling is how Head Office turns down an order it will not approve or was not paid for
    return _closed(state)


def apply_cancel_order(state: OrderState, command: CancelOrder, now: datetime) -> Effects:
    for line in state.lines:
        if line.quantity:
            line.cancelled_quantity += line.quantity
            line.quantity = 0
    effects = Effects(
        resize={line.line_id: 0 for line in state.lines},
        refund=_refund_at_most(state, state.refundable().amount),
        store_message="order_cancelled",
    )
    journey.transition(state, OrderStatus.cancelled, now, command.actor, "order_cancelled", command.reason)
    _record(state, now, command, "stock_released", "every line")
    return effects


def refusal_for_cancel_lines(state: OrderState, command: CancelLines) -> Refusal | None:
    if refusal := _closed(state):
        return refusal
    if len({item.line_id for item in command.lines}) != len(command.lines):
        return Refusal("duplicate_line", "each line may appear once")
    for item in command.lines:
        line = _line(state, item.line_id)
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
    before = state.total().amount
    effects = Effects(store_message="order_updated", arm_store_update=True)
    for item in command.lines:
        line = state.line(item.line_id)
        assert line is not None
        line.quantity -= item.quantity
        line.cancelled_quantity += item.quantity
        effects.resize[line.line_id] = line.quantity
    effects.refund = _refund_at_most(state, before - state.total().amount)
    detail = ", ".join(f"{item.line_id} × {item.quantity}" for item in command.lines)
    _record(state, now, command, "lines_cancelled", detail)
    if not any(line.quantity for line in state.lines):
        journey.transition(state, OrderStatus.cancelled, now, command.actor, "order_cancelled", "no lines left")
        effects.store_message, effects.arm_store_update = "order_cancelled", False
    else:
        journey.request_store_update(state, now)
    return effects


# ---- change a line, add an item --------------------------------------------------------------------


def refusal_for_change_variant(state: OrderState, command: ChangeVariant) -> Refusal | None:
    if refusal := _closed(state):
        return refusal
    line = _line(state, command.line_id)
    if isinstance(line, Refusal):
        return line
    if line.picked_quantity:
        return Refusal("line_already_picked", f"line {line.line_id} is already picked; cancel it and add an item")
    if command.variant.sku == line.sku:
        return Refusal("same_variant", f"line {line.line_id} is already {line.sku}")
    if command.variant.style != line.style:
        return Refusal("not_a_sibling_variant", f"{command.variant.sku} is not a {line.style}")
    return _currency(state, command.variant.unit_price)


def needs_for_change_variant(state: OrderState, command: ChangeVariant) -> list[LineReservation]:
    line = state.line(command.line_id)
    assert line is not None
    return [LineReservation(line_id=_next_line_id(state), sku=command.variant.sku, quantity=line.quantity)]


def apply_change_variant(state: OrderState, command: ChangeVariant, now: datetime) -> Effects:
    line = state.line(command.line_id)
    assert line is not None
    before = state.total().amount
    new_line = _new_line(state, command.variant, line.quantity)
    line.replaced_by = new_line.line_id
    line.cancelled_quantity += line.quantity
    line.quantity = 0
    state.lines.append(new_line)
    effects = Effects(resize={line.line_id: 0}, store_message="order_updated", arm_store_update=True)
    _money_difference(state, before, effects)
    _record(state, now, command, "variant_changed", f"{line.line_id} {line.sku} → {new_line.line_id} {new_line.sku}")
    journey.request_store_update(state, now)
    return effects


def refusal_for_add_item(state: OrderState, command: AddItem) -> Refusal | None:
    return _closed(state) or _currency(state, command.item.unit_price)


def needs_for_add_item(state: OrderState, command: AddItem) -> list[LineReservation]:
    return [LineReservation(line_id=_next_line_id(state), sku=command.item.sku, quantity=command.quantity)]


def apply_add_item(state: OrderState, command: AddItem, now: datetime) -> Effects:
    before = state.total().amount
    new_line = _new_line(state, command.item, command.quantity)
    state.lines.append(new_line)
    effects = Effects(store_message="order_updated", arm_store_update=True)
    _money_difference(state, before, effects)
    _record(state, now, command, "item_added", f"{new_line.line_id} {new_line.sku} × {new_line.quantity}")
    if state.status == OrderStatus.ready_for_collection:
        journey.transition(state, OrderStatus.acknowledged, now, command.actor, "to_pick_again", new_line.line_id)
    journey.request_store_update(state, now)
    return effects


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


def _money_difference(state: OrderState, total_before: int, effects: Effects) -> None:
    difference = state.total().amount - total_before
    if difference > 0:
        effects.charge = Money(amount=difference, currency=state.currency)
    elif difference < 0:
        effects.refund = _refund_at_most(state, -difference)


# ---- fulfilment ------------------------------------------------------------------------------------


def refusal_for_buy_in_store(state: OrderState, command: BuyInStore) -> Refusal | None:
    if refusal := _closed(state):
        return refusal
    for line_id in command.line_ids:
        line = _line(state, line_id)
        if isinstance(line, Refusal):
            return line
    return None


def apply_buy_in_store(state: OrderState, command: BuyInStore, now: datetime) -> Effects:
    before = state.total().amount
    for line_id in command.line_ids:
        line = state.line(line_id)
        assert line is not None
        line.fulfilment = LineFulfilment.buy_in_store
    effects = Effects(store_message="order_updated", arm_store_update=True)
    effects.refund = _refund_at_most(state, before - state.total().amount)
    _record(state, now, command, "buy_in_store", f"{', '.join(command.line_ids)} held at {state.store_id}")
    journey.request_store_update(state, now)
    return effects


_MOVABLE = frozenset(
    {
        OrderStatus.received,
        OrderStatus.on_hold,
        OrderStatus.awaiting_transfer,
        OrderStatus.awaiting_acknowledgement,
        OrderStatus.acknowledged,
    }
)


def refusal_for_move_to_store(state: OrderState, command: MoveToStore) -> Refusal | None:
    if refusal := _closed(state):
        return refusal
    if command.store_id == state.store_id:
        return Refusal("same_store", f"the order is already collected at {state.store_id}")
    if state.status not in _MOVABLE or any(line.picked_quantity for line in state.lines):
        return Refusal("already_picked", "the store has picked the order; cancel lines instead")
    if state.pending_transfers():
        return Refusal("transfer_in_progress", "stock is on its way to the current store")
    return None


def needs_for_move_to_store(state: OrderState, command: MoveToStore) -> list[LineReservation]:
    return [LineReservation(line_id=l.line_id, sku=l.sku, quantity=l.quantity) for l in state.lines if l.quantity]


def apply_move_to_store(state: OrderState, command: MoveToStore, now: datetime) -> Effects:
    old_store = state.store_id
    effects = Effects(resize={line.line_id: 0 for line in state.lines}, resize_location=old_store)
    state.store_id = command.store_id
    _record(state, now, command, "moved_to_store", f"{old_store} → {command.store_id}")
    if state.status == OrderStatus.awaiting_acknowledgement:
        state.status_since = now  # the new store's acknowledgement clock starts now
    else:
        journey.transition(state, OrderStatus.awaiting_acknowledgement, now, command.actor, "sent_to_new_store")
    state.store_update_pending_since = None
    journey.settle_alerts(state, now)
    return effects


def refusal_for_home_delivery(state: OrderState, command: SwitchToHomeDelivery) -> Refusal | None:
    if refusal := refusal_for_move_to_store(state, MoveToStore(store_id=command.from_location, reason=command.reason)):
        return refusal if refusal.rule != "same_store" else None
    if any(line.fulfilment is LineFulfilment.buy_in_store and line.quantity for line in state.lines):
        return Refusal("split_fulfilment", "some lines are held to buy in store; deliver all lines or none")
    return None


def needs_for_home_delivery(state: OrderState, command: SwitchToHomeDelivery) -> list[LineReservation]:
    return needs_for_move_to_store(state, MoveToStore(store_id=command.from_location, reason=command.reason))


def apply_home_delivery(state: OrderState, command: SwitchToHomeDelivery, now: datetime) -> Effects:
    """The whole order is delivered instead of collected: shipped from `from_location`, the store told."""
    for line in state.lines:
        if line.quantity:
            line.fulfilment = LineFulfilment.home_delivery
    collection_store = state.store_id
    state.delivery_address = command.address
    state.dispatch_location = command.from_location
    state.store_update_pending_since = None
    _record(state, now, command, "switched_to_home_delivery", f"from {command.from_location}")
    journey.transition(state, OrderStatus.awaiting_dispatch, now, command.actor, "awaiting_dispatch")
    if command.from_location == collection_store:
        return Effects()  # shipped from the store itself: the reservation stays where it is
    return Effects(resize={line.line_id: 0 for line in state.lines}, resize_location=collection_store)


# ---- stock, store, notes, money ---------------------------------------------------------------------


def refusal_for_redirect_stock(state: OrderState, command: RedirectStock) -> Refusal | None:
    if refusal := _closed(state):
        return refusal
    if state.status == OrderStatus.ready_for_collection:
        return Refusal("already_picked", "the order is ready for collection")
    if command.from_location == state.store_id:
        return Refusal("same_location", "stock must come from another store or a warehouse")
    if not any(line.sku == command.sku and line.is_collectable for line in state.lines):
        return Refusal("sku_not_on_order", f"{command.sku} is not on an open line of the order")
    return None


def new_transfer(state: OrderState, command: RedirectStock, transfer_id: str, now: datetime) -> Transfer:
    return Transfer(
        transfer_id=transfer_id,
        sku=command.sku,
        quantity=command.quantity,
        from_location=command.from_location,
        to_location=state.store_id,
        requested_at=now,
        requested_by=command.actor,
    )


def apply_redirect_stock(state: OrderState, command: RedirectStock, transfer: Transfer, now: datetime) -> Effects:
    state.transfers.append(transfer)
    route = f"{transfer.from_location} → {transfer.to_location}"
    detail = f"{transfer.transfer_id}: {transfer.quantity} × {transfer.sku} {route}"
    _record(state, now, command, "stock_redirected", detail)
    if state.status == OrderStatus.on_hold:
        journey.transition(state, OrderStatus.awaiting_transfer, now, command.actor, "awaiting_transfer")
    return Effects(store_message="transfer_incoming")


def receive_transfer(state: OrderState, transfer_id: str, store_id: str, now: datetime) -> Refusal | None:
    transfer = next((t for t in state.transfers if t.transfer_id == transfer_id), None)
    if transfer is None:
        return Refusal("unknown_transfer", f"transfer {transfer_id} is not on the order")
    if transfer.to_location != store_id:
        return Refusal("wrong_store", f"transfer {transfer_id} goes to {transfer.to_location}")
    if transfer.received_at is not None:
        return Refusal("already_received", f"transfer {transfer_id} was already received")
    transfer.received_at = now
    journey.record(state, now, journey.store_actor(store_id), "transfer_received", transfer_id)
    journey.settle_alerts(state, now)
    return None


def refusal_for_prompt_store(state: OrderState, command: PromptStore) -> Refusal | None:
    if refusal := _closed(state):
        return refusal
    waiting_on_store = {OrderStatus.awaiting_acknowledgement, OrderStatus.acknowledged}
    if state.status not in waiting_on_store and state.store_update_pending_since is None:
        return Refusal("store_not_expected_to_act", f"nothing waits for the store while the order is {state.status}")
    return None


def apply_prompt_store(state: OrderState, command: PromptStore, now: datetime) -> Effects:
    _record(state, now, command, "store_prompted", f"store {state.store_id}")
    return Effects(store_message="order_prompt")


def refusal_for_add_note(state: OrderState, command: AddNote) -> Refusal | None:
    return None


def apply_add_note(state: OrderState, command: AddNote, now: datetime) -> Effects:
    state.notes.append(Note(at=now, actor=command.actor, text=command.text, client_facing=command.client_facing))
    journey.record(state, now, command.actor, "note_added", "client-facing" if command.client_facing else "internal")
    return Effects()


def refusal_for_take_payment(state: OrderState, command: TakePayment) -> Refusal | None:
    if refusal := _closed(state):
        return refusal
    if command.amount.amount <= 0:
        return Refusal("amount_not_positive", "a payment must be more than zero")
    return _currency(state, command.amount)


def apply_take_payment(state: OrderState, command: TakePayment, now: datetime) -> Effects:
    _record(state, now, command, "payment_requested", str(command.amount))
    return Effects(charge=command.amount)


def refund_amount(state: OrderState, command: IssueRefund) -> Money | Refusal:
    """The amount asked for, or the value of the lines named."""
    if command.amount is not None:
        return command.amount
    total = 0
    for item in command.lines or []:
        line = state.line(item.line_id)
        if line is None:
            return Refusal("unknown_line", f"line {item.line_id} is not on the order")
        if item.quantity > line.quantity:
            return Refusal("quantity_exceeds_line", f"line {line.line_id} has {line.quantity}, not {item.quantity}")
        total += line.unit_price.amount * item.quantity
    return Money(amount=total, currency=state.currency)


def refusal_for_refund(state: OrderState, command: IssueRefund) -> Refusal | None:
    amount = refund_amount(state, command)
    if isinstance(amount, Refusal):
        return amount
    if refusal := _currency(state, amount):
        return refusal
    if amount.amount <= 0:
        return Refusal("amount_not_positive", "a refund must be more than zero")
    if amount.amount > state.refundable().amount:
        return Refusal(
            "refund_exceeds_captured",
            f"at most {state.refundable()} can be refunded (captured minus refunded)",
        )
    return None


def apply_refund(state: OrderState, command: IssueRefund, now: datetime) -> Effects:
    amount = refund_amount(state, command)
    assert isinstance(amount, Money)  # the refusal check ran first
    lines = ", ".join(f"{item.line_id} × {item.quantity}" for item in command.lines or [])
    _record(state, now, command, "refund_requested", f"{amount} for {lines}" if lines else str(amount))
    return Effects(refund=amount)


# ---- approvals and payments ------------------------------------------------------------------------


def apply_reject_order(state: OrderState, command: RejectOrder, now: datetime) -> Effects:
    journey.transition(state, OrderStatus.cancelled, now, command.actor, "order_rejected", command.reason)
    return Effects(refund=_refund_at_most(state, state.refundable().amount))


def refusal_for_approval(state: OrderState, command: ApproveOrder | RejectOrder) -> Refusal | None:
    if state.status != OrderStatus.awaiting_approval:
        return Refusal(
            "order_not_awaiting_approval", f"only an order awaiting approval can be approved (it is {state.status})"
        )
    return None


def apply_approve_order(state: OrderState, command: ApproveOrder, now: datetime) -> None:
    journey.record(state, now, command.actor, "order_approved", command.reason)


def apply_confirm_payment(state: OrderState, command: ConfirmPayment, now: datetime) -> None:
    settlement.confirm_offline(state, command.reference, command.actor, now)
    journey.record(state, now, command.actor, "offline_payment_received", command.reason)


def apply_retry_payment(state: OrderState, command: RetryPayment, now: datetime) -> None:
    settlement.retry_declined(state, command.token)
    journey.record(state, now, command.actor, "payment_retried", command.reason)


def refusal_for_confirm_payment(state: OrderState, command: ConfirmPayment) -> Refusal | None:
    if state.status != OrderStatus.awaiting_payment:
        return Refusal(
            "order_not_awaiting_payment", f"only an order awaiting payment can be confirmed (it is {state.status})"
        )
    return None


def refusal_for_retry_payment(state: OrderState, command: RetryPayment) -> Refusal | None:
    if state.status != OrderStatus.on_hold or state.hold_reason is not HoldReason.payment_declined:
        return Refusal("no_declined_payment", "only an order held for a declined payment can retry it")
    return None


def refusal_for_override_payment(state: OrderState, command: OverridePayment) -> Refusal | None:
    failed = [p.payment_id for p in state.payments if p.status in ("capture_failed", "declined")]
    if not failed:
        return Refusal("no_failed_payment", "the order has no failed capture or declined payment to settle")
    if command.payment_id is not None and command.payment_id not in failed:
        return Refusal(
            "no_failed_payment", f"payment {command.payment_id} has not failed (failed: {', '.join(failed)})"
        )
    return None


def record_refund(state: OrderState, amount: Money, reference: str, actor: str, reason: str, now: datetime) -> None:
    state.refunds.append(RefundRecord(amount=amount, at=now, actor=actor, reason=reason, reference=reference))
    journey.record(state, now, actor, "refunded", f"{amount} ({reference})")
