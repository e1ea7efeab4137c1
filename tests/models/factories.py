"""Builders for the pure-rule tests in tests/models: orders in any status, store events, a small catalogue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from models.catalogue import LocationKind, Product, Store
from models.money import Money
from models.order import (
    Channel,
    Customer,
    OrderLine,
    OrderState,
    OrderStatus,
    StoreEvent,
    StoreEventType,
)

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
STORE = "S001"
OTHER_STORE = "S002"


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
    """An order of two lines (L1 x2, L2 x1) at STORE, in `status` since `since`."""
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


def store_event(
    event_type: StoreEventType,
    store_id: str = STORE,
    picked: dict[str, int] | None = None,
    event_id: str = "E1",
) -> StoreEvent:
    return StoreEvent(event_id=event_id, type=event_type, store_id=store_id, occurred_at=T0, picked=picked or {})


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
