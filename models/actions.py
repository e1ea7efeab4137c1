"""The one list of Head Office actions on an order.

Each entry names the action (the Temporal update name), where the API serves it, what it carries, and the rules
that decide it. The order workflow looks actions up here, the API builds one route per entry, and the order page
builds one form per entry: adding an action is adding a line here (and its rules).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from models import b2b_orders as b2b
from models import custom_field_actions as custom
from models import delivery_actions as deliveries
from models import fulfilment_actions as fulfilment
from models import interventions as lines
from models import milestone_actions as milestones
from models import payment_actions as money
from models import scheduling
from models.effects import Effects, Needs, Refusal
from models.intervention_commands import (
    AddItem,
    AddNote,
    ApproveOrder,
    BuyInStore,
    CancelLines,
    CancelOrder,
    ChangeVariant,
    ConfirmPayment,
    IssueRefund,
    MergeDeliveries,
    MoveDelivery,
    MoveToStore,
    OverridePayment,
    PromptStore,
    RedirectStock,
    RejectOrder,
    ReleaseHold,
    Reschedule,
    RetryPayment,
    SplitDelivery,
    SwitchToHomeDelivery,
    TakePayment,
)
from models.order import OrderStatus


@dataclass(frozen=True)
class Action:
    name: str  # the update name, as the Temporal UI shows it
    path: str  # POST /orders/{order_number}/<path>
    command: type[BaseModel]
    title: str  # the button and the form's heading
    summary: str  # one line: the API's operation summary and the form's help
    refusal: Callable[[Any, Any], Refusal | None]
    apply: Callable[[Any, Any, datetime], Effects]
    needs: Callable[[Any, Any], Needs] | None = None
    confirm: str | None = None  # asked before a page sends it (it moves money or cancels, and cannot be undone)

    def decide_needs(self, state: Any, command: Any) -> Needs:
        return self.needs(state, command) if self.needs else Needs()


ACTIONS: tuple[Action, ...] = (
    Action(
        "release_hold",
        "release-hold",
        ReleaseHold,
        "Release the hold",
        "Release an order on hold: accept a short pick, or try the reservation again.",
        lines.refusal_for_release_hold,
        lines.apply_release_hold,
    ),
    Action(
        "cancel_order",
        "cancel",
        CancelOrder,
        "Cancel the order",
        "Cancel the order: everything paid is refunded and the stock released.",
        lines.refusal_for_cancel_order,
        lines.apply_cancel_order,
        confirm="Cancel the whole order? Everything paid is refunded.",
    ),
    Action(
        "reschedule",
        "reschedule",
        Reschedule,
        "Move the date",
        "Move a scheduled order's date (fulfil_on) while it waits for it: it starts on the new date instead.",
        scheduling.refusal_for_reschedule,
        scheduling.apply_reschedule,
    ),
    Action(
        "cancel_lines",
        "cancel-lines",
        CancelLines,
        "Cancel lines",
        "Cancel all or part of some lines: refunded, stock released, the store told.",
        lines.refusal_for_cancel_lines,
        lines.apply_cancel_lines,
        confirm="Cancel these lines? What was paid for them is refunded.",
    ),
    Action(
        "change_variant",
        "change-variant",
        ChangeVariant,
        "Change size or colour",
        "Swap a line to another size and/or colour of the same style; the difference is charged or refunded.",
        lines.refusal_for_change_variant,
        lines.apply_change_variant,
        lines.needs_for_change_variant,
    ),
    Action(
        "add_item",
        "add-item",
        AddItem,
        "Add an item",
        "Add an item, reserved at the collection store; its price is charged on the stored card or due at the till.",
        lines.refusal_for_add_item,
        lines.apply_add_item,
        lines.needs_for_add_item,
    ),
    Action(
        "buy_in_store",
        "buy-in-store",
        BuyInStore,
        "Buy in store instead",
        "The customer would rather see the items first: the lines are refunded and the stock held at the store.",
        fulfilment.refusal_for_buy_in_store,
        fulfilment.apply_buy_in_store,
    ),
    Action(
        "move_to_store",
        "move-to-store",
        MoveToStore,
        "Collect at another store",
        "Collect the whole order at another store: stock reserved there, released here, both stores told.",
        fulfilment.refusal_for_move_to_store,
        fulfilment.apply_move_to_store,
        fulfilment.needs_for_move_to_store,
    ),
    Action(
        "switch_to_home_delivery",
        "home-delivery",
        SwitchToHomeDelivery,
        "Deliver to the customer instead",
        "Deliver the whole order instead: stock reserved at the dispatch location, released at the store.",
        fulfilment.refusal_for_home_delivery,
        fulfilment.apply_home_delivery,
        fulfilment.needs_for_home_delivery,
    ),
    Action(
        "move_delivery",
        "move-delivery",
        MoveDelivery,
        "Move or re-source a delivery",
        "Ship one further delivery from another location, named or (left out) chosen by sourcing; stock reserved "
        "there, released where it was, both locations told.",
        deliveries.refusal_for_move_delivery,
        deliveries.apply_move_delivery,
        deliveries.needs_for_move_delivery,
    ),
    Action(
        "split_delivery",
        "split-delivery",
        SplitDelivery,
        "Deliver some lines separately",
        "Split lines off their delivery into a new home delivery from another location (lines to be collected are "
        "delivered instead); stock reserved there, released where it was, both locations told.",
        deliveries.refusal_for_split_delivery,
        deliveries.apply_split_delivery,
        deliveries.needs_for_split_delivery,
    ),
    Action(
        "merge_deliveries",
        "merge-deliveries",
        MergeDeliveries,
        "Merge two deliveries",
        "One further delivery's lines join another from the same location to the same address, before either is "
        "packed: one parcel.",
        deliveries.refusal_for_merge_deliveries,
        deliveries.apply_merge_deliveries,
    ),
    Action(
        "redirect_stock",
        "redirect-stock",
        RedirectStock,
        "Redirect stock",
        "Send stock from a warehouse or another store to the collection store; the store confirms its receipt.",
        fulfilment.refusal_for_redirect_stock,
        fulfilment.apply_redirect_stock,
        fulfilment.needs_for_redirect_stock,
    ),
    Action(
        "prompt_store",
        "prompt-store",
        PromptStore,
        "Prompt the store",
        "Send the order to the store again, recording who prompted it.",
        lines.refusal_for_prompt_store,
        lines.apply_prompt_store,
    ),
    Action(
        "add_note",
        "notes",
        AddNote,
        "Add a note",
        "Add a note, internal or client-facing.",
        lines.refusal_for_add_note,
        lines.apply_add_note,
    ),
    Action(
        "take_payment",
        "payments",
        TakePayment,
        "Charge the customer",
        "Charge more (a fee, a price agreed by phone): on the stored card, or due at the till.",
        money.refusal_for_take_payment,
        money.apply_take_payment,
        confirm="Charge the customer this amount?",
    ),
    Action(
        "refund",
        "refunds",
        IssueRefund,
        "Refund",
        "Refund an amount or lines: card first, stored value last; never more than was taken.",
        money.refusal_for_refund,
        money.apply_refund,
        confirm="Refund this money to the customer?",
    ),
    Action(
        "approve_order",
        "approve",
        ApproveOrder,
        "Approve the order",
        "Approve an order awaiting approval: its payments are taken and it goes to the store.",
        money.refusal_for_approval,
        money.apply_approve_order,
    ),
    Action(
        "reject_order",
        "reject",
        RejectOrder,
        "Reject the order",
        "Reject an order awaiting approval: it is cancelled and anything prepaid refunded.",
        money.refusal_for_approval,
        money.apply_reject_order,
        confirm="Reject and cancel this order?",
    ),
    Action(
        "confirm_payment",
        "confirm-payment",
        ConfirmPayment,
        "Confirm money received",
        "Money arrived outside a gateway (bank transfer, phone): an offline payment or an amount due is taken.",
        money.refusal_for_confirm_payment,
        money.apply_confirm_payment,
    ),
    Action(
        "retry_payment",
        "retry-payment",
        RetryPayment,
        "Retry the payment",
        "Try a declined payment again, with a new card token if the customer gave one.",
        money.refusal_for_retry_payment,
        money.apply_retry_payment,
    ),
    Action(
        "override_payment",
        "override-payment",
        OverridePayment,
        "Settle a payment by hand",
        "Settle a failed capture or a declined payment by hand (money taken another way); audited.",
        money.refusal_for_override_payment,
        money.apply_override_payment,
        confirm="Settle this payment by hand? It is recorded as paid.",
    ),
    Action(
        "edit_custom_field",
        "custom-fields",
        custom.EditCustomField,
        "Edit a custom field",
        "Set or clear one custom field of the order or of a line, checked against its definition; audited.",
        custom.refusal_for_edit_custom_field,
        custom.apply_edit_custom_field,
    ),
    Action(
        "add_third_party_invoice",
        "third-party-invoices",
        b2b.AddThirdPartyInvoice,
        "Add a third-party invoice",
        "Add an invoice number another system (ERP, accounting) gave the order; it is found by `reference=`.",
        b2b.refusal_for_add_third_party_invoice,
        b2b.apply_add_third_party_invoice,
    ),
    Action(
        "change_milestone",
        "change-milestone",
        milestones.ChangeMilestone,
        "Change a milestone",
        "Change or remove a milestone of the order's queue before its stage is reached (never past the order).",
        milestones.refusal_for_change_milestone,
        milestones.apply_change_milestone,
    ),
)
BY_NAME = {action.name: action for action in ACTIONS}
BY_PATH = {action.path: action for action in ACTIONS}


class ActionOutcome(BaseModel):
    """What an accepted action answers: the order's new version (read the view at or after it) and status."""

    order_number: str
    version: int
    status: OrderStatus
    detail: str = ""
