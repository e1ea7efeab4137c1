"""Codes in words a Head Office person or a store uses: history actions, refusing rules, store events, who acted.
The raw code stays one click away on the pages (a <details> beside the words), for engineers and support."""

from __future__ import annotations

from api.pages.shared import templates, words
from models.custom_fields import as_text

# History actions (models/journey.py and the rules that call `record`), as a sentence's start.
HISTORY = {
    "order_created": "Order placed",
    "order_placed": "Order placed",
    "approval_required": "Held for Head Office approval",
    "awaiting_payment": "Waiting for the customer's payment",
    "order_approved": "Order approved",
    "order_rejected": "Order rejected",
    "order_cancelled": "Order cancelled",
    "sent_to_store": "Sent to the store",
    "store_prompted": "Store prompted to act",
    "store_message_failed": "Could not reach the store",
    "store_push_failed": "Could not reach the store",
    "store_back_online": "Store back online",
    "store_exception": "The store reported a problem",
    "acknowledged": "Store acknowledged the order",
    "picked": "Store picked the order",
    "collected": "Customer collected the order",
    "not_collected": "Customer did not collect",
    "update_acknowledged": "Store acknowledged the change",
    "transfer_received": "Store received the stock sent to it",
    "lines_cancelled": "Lines cancelled",
    "variant_changed": "Size or colour changed",
    "item_added": "Item added",
    "buy_in_store": "Lines kept to buy in store",
    "moved_to_store": "Moved to another store",
    "switched_to_home_delivery": "Switched to home delivery",
    "stock_redirected": "Stock sent to the store",
    "stock_reserved": "Stock reserved",
    "stock_released": "Stock released",
    "stock_shortage": "Not enough stock: on hold",
    "still_short": "Still not enough stock",
    "short_pick": "Picked short: on hold for Head Office",
    "short_pick_accepted": "Short pick accepted",
    "hold_released": "Hold released",
    "note_added": "Note added",
    "alert_raised": "Alert raised",
    "alert_cleared": "Alert cleared",
    "collection_expired": "Not collected in time: cancelled",
    "payment_requested": "Payment asked of the gateway",
    "payment_authorised": "Payment authorised",
    "payment_captured": "Payment taken",
    "payment_confirmed": "Payment confirmed",
    "payment_received": "Money received",
    "offline_payment_received": "Offline payment received",
    "payment_declined": "Payment declined",
    "payment_retried": "Payment retried",
    "payment_reduced": "Payment reduced",
    "payment_released": "Held money released",
    "payment_reauthorised": "Payment authorised again",
    "payment_overridden": "Payment settled by hand",
    "payment_outcome_unknown": "No answer from the gateway yet",
    "payment_taken_at_handover": "Paid at the till on collection",
    "held_payment_declined": "Payment declined: on hold for Head Office",
    "held_payment_unknown": "No answer from the gateway: on hold",
    "held_short_pick": "Picked short: on hold for Head Office",
    "held_stock_shortage": "Not enough stock: on hold for Head Office",
    "capture_failed": "Taking the payment failed",
    "still_declined": "Payment still declined",
    "charge_added": "Charge added",
    "charge_declined": "Charge declined",
    "fee_charged": "Fee charged",
    "refund_requested": "Refund on its way",
    "refund_asked": "Refund asked",
    "refund_instructed": "Refund to be paid by the channel",
    "refund_declined": "Refund declined",
    "authorisation_replaced": "Authorisation replaced",
    "authorisation_voided": "Authorisation released",
    "void_declined": "Releasing the authorisation failed",
}

# Refusing rules (models/*_actions.py, models/interventions.py): what they mean for the person who asked.
RULES = {
    "order_collected": "The order has been collected: only refunds and notes are possible now.",
    "order_closed": "The order is closed.",
    "order_not_cleared": "The order's approval or payment is not settled yet.",
    "order_not_on_hold": "The order is not on hold.",
    "order_not_awaiting_approval": "The order is not waiting for approval.",
    "already_picked": "The store has already picked the order.",
    "line_already_picked": "That line is already picked: cancel it and add an item instead.",
    "line_not_open": "That line is cancelled or no longer collected.",
    "unknown_line": "That line is not on the order.",
    "quantity_exceeds_line": "That is more than the line holds.",
    "refund_exceeds_captured": "That is more than the customer has paid and not had back.",
    "amount_not_positive": "The amount must be more than zero.",
    "amount_too_large": "That amount is too large.",
    "currency_mismatch": "That is not the order's currency.",
    "payment_outcome_unknown": "A payment is still waiting for the gateway's answer.",
    "no_declined_payment": "No payment is declined.",
    "no_failed_payment": "No payment has failed.",
    "no_payment_to_confirm": "No payment is waiting to be confirmed.",
    "same_store": "The order is already collected at that store.",
    "same_location": "Stock must come from another store or a warehouse.",
    "same_variant": "The line already is that item.",
    "not_a_sibling_variant": "Only another size or colour of the same style can be swapped in.",
    "sku_not_on_order": "That item is not on an open line of the order.",
    "split_fulfilment": "Some lines are held to buy in store: deliver all lines or none.",
    "store_not_expected_to_act": "Nothing is waiting for the store.",
    "transfer_in_progress": "Stock is already on its way to the store.",
    "duplicate_line": "Each line may be given once.",
    "too_many_lines": "The order would have too many lines.",
    "out_of_stock": "Not enough stock.",
    "store_exception": "The order did not accept that step.",
    "order_closed_at_store": "The order is closed.",
    "invalid-input": "Please check what was typed.",
}

HOLD_REASONS = {
    "stock_shortage": "not enough stock",
    "short_pick": "the store picked fewer than ordered",
    "payment_declined": "the payment was declined",
    "payment_unknown": "the gateway has not answered about the payment",
}


def history_words(action: str) -> str:
    return HISTORY.get(action) or words(action).capitalize()


def rule_words(rule: str | None) -> str:
    return RULES.get(rule or "", "") if rule else ""


def actor_kind(actor: str) -> str:
    """Who acted, by kind: "staff" (Head Office), "store", "customer" (a channel) or "system"."""
    prefix = actor.split(":", 1)[0] if ":" in actor else actor
    return {"ho": "staff", "store": "store", "system": "system"}.get(prefix, "customer")


def actor_words(actor: str) -> str:
    """ho:alice → "alice (Head Office)", store:S001 → "Store S001", system → "Baton", web:C42 → "Customer (web)"."""
    kind, _, name = actor.partition(":")
    if kind == "ho":
        return f"{name} (Head Office)"
    if kind == "store":
        store, _, person = name.partition(":")
        return f"{person} (store {store})" if person else f"Store {store}"
    if actor == "system":
        return "Baton"
    return f"Customer ({kind})" if name else actor


def field_value(value: object) -> str:
    """A custom field's value as people read it: yes or no for a boolean, else as the index writes it."""
    return ("yes" if value else "no") if isinstance(value, bool) else as_text(value)


def hold_words(reason: str | None) -> str:
    return HOLD_REASONS.get(reason or "", words(reason or ""))


templates.env.filters.update(
    history_words=history_words,
    rule_words=rule_words,
    actor_kind=actor_kind,
    actor_words=actor_words,
    hold_words=hold_words,
    field_value=field_value,
)
