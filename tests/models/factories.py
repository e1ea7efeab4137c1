"""Builders for the pure-rule tests in tests/models: orders in any status, payments, Head Office commands, store
events, a small catalogue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel

from models.actions import BY_NAME
from models.catalogue import LocationKind, Product, Store
from models.effects import Effects
from models.intervention_commands import NewLine
from models.money import Money
from models.order import (
    OrderLine,
    OrderState,
    OrderStatus,
    StoreEvent,
    StoreEventType,
)
from models.payments import PaymentRecord, RefundRecord
from models.placing import Channel, Customer

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
STORE = "S001"
OTHER_STORE = "S002"
TOKEN = "tok_secret_123"
HO = "ho:alice"

C = TypeVar("C", bound=BaseModel)


def at(minutes: float = 0, **kwargs: float) -> datetime:
    """A moment relative to T0."""
    return T0 + timedelta(minutes=minutes, **kwargs)


def gbp(amount: int) -> Money:
    return Money(amount=amount, currency="GBP")


def make_line(line_id: str = "L1", quantity: int = 2, amount: int = 1500, sku: str = "TEE-WHI-M") -> OrderLine:
    return OrderLine(
        line_id=line_id, sku=sku, style="TEE", size="M", colour="white", quantity=quantity, unit_price=gbp(amount)
    )


def make_state(status: OrderStatus = OrderStatus.received, since: datetime = T0, **updates: Any) -> OrderState:
    """An order of two lines (L1 x2 at 15.00, L2 x1 at 45.00: 75.00) at STORE, in `status` since `since`."""
    fields: dict[str, Any] = {
        "order_number": "100001",
        "web_reference": "WEB-1",
        "channel": Channel.web,
        "customer": Customer(id="C42", name="Ada Lovelace", email="ada@example.com"),
        "store_id": STORE,
        "status": status,
        "status_since": since,
        "created_at": T0,
        "lines": [make_line("L1", 2, 1500), make_line("L2", 1, 4500, sku="JEAN-IND-32")],
    }
    fields.update(updates)
    return OrderState(**fields)


def cleared_state(
    status: OrderStatus = OrderStatus.acknowledged, payments: list[PaymentRecord] | None = None, **updates: Any
) -> OrderState:
    """An order past approval and placement payments (sent to its store), paid by `payments` (prepaid by default)."""
    return make_state(status, payments=[prepaid()] if payments is None else payments, **{"cleared_at": T0, **updates})


# ---- payments ----------------------------------------------------------------------------------------------


def prepaid(
    amount: int = 7500, payment_id: str = "P1", reference: str = "PSP-1", method: str = "card"
) -> PaymentRecord:
    """Money the channel took before placing the order (refunds of it are instructed)."""
    return PaymentRecord(
        payment_id=payment_id, mode="prepaid", method=method, amount=gbp(amount), status="taken", at=T0,
        reference=reference,
    )


def card(
    status: str = "authorised", amount: int = 7500, payment_id: str = "P1", mode: str = "authorise", **extra: Any
) -> PaymentRecord:
    """A card at the test gateway with a stored token; authorised ones hold `auth-<id>` until seven days on."""
    fields: dict[str, Any] = {
        "payment_id": payment_id,
        "mode": mode,
        "method": "card",
        "amount": gbp(amount),
        "status": status,
        "gateway": "test",
        "token": TOKEN,
    }
    if status == "authorised":
        fields |= {"authorisation_reference": f"auth-{payment_id}", "authorised_until": at(0, days=7)}
    if status == "captured":
        fields |= {"reference": f"cap-{payment_id}"}
    return PaymentRecord(**(fields | extra))


def captured(amount: int = 7500, payment_id: str = "P1", method: str = "card") -> PaymentRecord:
    """Money a gateway took at once (auth_capture): refunds of it go back through the gateway."""
    return card("captured", amount, payment_id, mode="auth_capture", method=method)


def due(amount: int = 7500, payment_id: str = "P1", mode: str = "on_collection") -> PaymentRecord:
    return PaymentRecord(payment_id=payment_id, mode=mode, method="till", amount=gbp(amount), status="due")


def refund(amount: int, payment_id: str = "P1", status: str = "refunded", refund_id: str = "R1") -> RefundRecord:
    return RefundRecord(
        refund_id=refund_id, payment_id=payment_id, amount=gbp(amount), at=T0, actor=HO, reason="returned",
        status=status,  # type: ignore[arg-type]
    )


# ---- commands and events -----------------------------------------------------------------------------------


def command(kind: type[C], **fields: Any) -> C:
    """A Head Office command with a reason and an actor, as the API hands it to the workflow."""
    given = {"reason": "because"} if "reason" in kind.model_fields else {}
    return kind.model_validate({**given, "actor": HO, **fields})


ADDRESS = {"name": "Ada Lovelace", "line1": "1 St James's Square", "city": "London", "postcode": "SW1Y 4JU",
           "country": "GB"}
WAREHOUSE_ID = "W001"
# A command each Head Office action accepts on an acknowledged order of make_state's two lines (models/actions.py).
VALID_FIELDS: dict[str, dict[str, Any]] = {
    "release_hold": {},
    "cancel_order": {},
    "reschedule": {"fulfil_on": "2026-12-24T00:00:00Z"},
    "cancel_lines": {"lines": [{"line_id": "L1", "quantity": 1}]},
    "change_variant": {"line_id": "L1", "variant": {"sku": "TEE-WHI-L", "style": "TEE", "size": "L", "colour": "white",
                                                    "unit_price": {"amount": 1800, "currency": "GBP"}}},
    "add_item": {"item": {"sku": "TEE-WHI-L", "style": "TEE", "size": "L", "colour": "white",
                          "unit_price": {"amount": 1800, "currency": "GBP"}}, "quantity": 1},
    "buy_in_store": {"line_ids": ["L1"]},
    "move_to_store": {"store_id": OTHER_STORE},
    "switch_to_home_delivery": {"address": ADDRESS, "from_location": WAREHOUSE_ID},
    "redirect_stock": {"sku": "TEE-WHI-M", "quantity": 1, "from_location": WAREHOUSE_ID},
    "move_delivery": {"delivery_id": "D2", "location_id": OTHER_STORE},  # needs a further delivery D2
    "split_delivery": {"line_ids": ["L2"], "from_location": WAREHOUSE_ID, "address": ADDRESS},
    "merge_deliveries": {"delivery_id": "D3", "into": "D2"},  # needs further deliveries D2 and D3
    "prompt_store": {},
    "add_note": {"text": "call before collection"},
    "take_payment": {"amount": {"amount": 500, "currency": "GBP"}},
    "refund": {"amount": {"amount": 500, "currency": "GBP"}},
    "approve_order": {},
    "reject_order": {},
    "confirm_payment": {"reference": "BACS-1"},
    "retry_payment": {},
    "override_payment": {"reference": "PDQ-1"},
    "edit_custom_field": {"name": "po_number", "value": "PO-2",
                          "definition": {"name": "po_number", "label": "PO number", "type": "text"}},
    "change_milestone": {"stage": "ready"},
    "add_third_party_invoice": {"number": "INV-1", "system": "SAP"},
}


def order_command(name: str, **fields: Any) -> BaseModel:
    """The command of the action `name`, valid on make_state's order unless `fields` say otherwise."""
    return command(BY_NAME[name].command, **{**VALID_FIELDS[name], **fields})


def refused_by(name: str, state: OrderState, **fields: Any) -> str | None:
    """The rule that refuses the action (models.actions.BY_NAME[name].refusal), or None when it applies."""
    refusal = BY_NAME[name].refusal(state, order_command(name, **fields))
    return refusal.rule if refusal else None


def applied(name: str, state: OrderState, now: datetime | None = None, **fields: Any) -> Effects:
    """Apply the action through models.actions.BY_NAME, as the workflow does: its refusal first."""
    action, cmd = BY_NAME[name], order_command(name, **fields)
    refusal = action.refusal(state, cmd)
    assert refusal is None, refusal
    return action.apply(state, cmd, now or at(10))


def variant(sku: str = "TEE-WHI-L", amount: int = 1800, style: str = "TEE", currency: str = "GBP") -> NewLine:
    return NewLine(sku=sku, style=style, size="L", colour="white", unit_price=Money(amount=amount, currency=currency))


def store_event(
    event_type: StoreEventType,
    store_id: str = STORE,
    picked: dict[str, int] | None = None,
    event_id: str = "E1",
    transfer_id: str | None = None,
) -> StoreEvent:
    return StoreEvent(
        event_id=event_id, type=event_type, store_id=store_id, occurred_at=T0, picked=picked or {},
        transfer_id=transfer_id,
    )


PRODUCTS = {
    "TEE-WHI-M": Product(sku="TEE-WHI-M", style="TEE", name="Tee", size="M", colour="white", price=gbp(1500)),
    "JEAN-IND-32": Product(sku="JEAN-IND-32", style="JEAN", name="Jeans", size="32", colour="indigo", price=gbp(4500)),
    "EURO-TEE": Product(
        sku="EURO-TEE", style="TEE", name="Tee", size="S", colour="black", price=Money(amount=1700, currency="EUR")
    ),
}

OPEN_STORE = Store(store_id=STORE, name="Oxford Street", kind=LocationKind.store, click_and_collect_enabled=True)
CLOSED_STORE = Store(store_id="S004", name="Refit", kind=LocationKind.store, click_and_collect_enabled=False)
WAREHOUSE = Store(store_id="W001", name="DC", kind=LocationKind.warehouse, click_and_collect_enabled=True)
