"""Orders: place, list and read (Head Office actions live in interventions.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlmodel import Session

from api import orders_service
from api.deps import Caller, SessionDep, SettingsDep, TemporalDep, visible_channels, visible_store
from api.params import IdempotencyKey, Offset, OrderNumber, search_text
from api.problems import field_error, problem_responses
from api.rate_limits import PlacementLimited
from api.responses import JSONBody
from api.schemas import OrderPage, OrderSummary, PaymentHistory, PaymentTransactionView
from models.db import custom_fields, orders, payments
from models.deliveries import DeliveryMethod
from models.money import Money
from models.order import AlertType, OrderStatus
from models.placing import PlaceOrder
from models.views import OrderView

router = APIRouter(prefix="/orders", tags=["orders"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=OrderView, responses=problem_responses(404))
async def place_order(
    order: PlaceOrder,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    caller: PlacementLimited,  # an order placer, within its placement rate limit
    idempotency_key: IdempotencyKey = None,
) -> JSONBody:
    """Place an order; the same Idempotency-Key (from the same key holder) with the same body returns the same
    order, even if prices or the store changed since."""
    view, created = await orders_service.place_order(
        session, temporal, settings.task_queue, caller, order, idempotency_key, settings.payment_gateway
    )
    headers = {"Location": f"/orders/{view['order_number']}"}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return JSONBody(view, status_code=status.HTTP_201_CREATED, headers=headers)


@router.get("", response_model=OrderPage)
def list_orders(
    session: SessionDep,
    caller: Caller,
    store_id: Annotated[str | None, search_text(max_length=32)] = None,
    customer: Annotated[str | None, search_text("customer id, email, or part of the name", 254)] = None,
    web_reference: Annotated[str | None, search_text(max_length=64)] = None,
    order_number: Annotated[str | None, search_text(max_length=32)] = None,
    status: OrderStatus | None = None,
    has_alert: bool | None = None,
    alert_type: Annotated[AlertType | None, Query(description="orders with an open alert of this type")] = None,
    fulfilment_method: Annotated[
        DeliveryMethod | None, Query(description="orders with a delivery of this method")
    ] = None,
    field: Annotated[
        str | None, search_text("a custom field's value, name:value (po_number:PO-1); the order's or a line's", 541)
    ] = None,
    scheduled: Annotated[bool | None, Query(description="true: scheduled orders still waiting for their date")] = None,
    reference: Annotated[
        str | None, search_text("a B2B reference: customer reference, PO number or third-party invoice", 64)
    ] = None,
    b2b_account: Annotated[str | None, search_text("orders of this B2B account's buyers", 64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> OrderPage:
    """Search orders, newest first (a store key sees its own store's orders only, a channel key bound to channels
    those channels' orders)."""
    own_store = visible_store(caller)
    if own_store is not None:
        if store_id not in (None, own_store):
            return OrderPage(items=[], total=0, limit=limit, offset=offset)
        store_id = own_store
    rows, total = orders.search_orders(
        session,
        store_id=store_id,
        channels=visible_channels(caller),
        customer=customer,
        web_reference=web_reference,
        order_number=order_number,
        status=status.value if status else None,
        has_alert=has_alert,
        alert_type=alert_type.value if alert_type else None,
        fulfilment_method=fulfilment_method.value if fulfilment_method else None,
        custom_field=_custom_field(session, field),
        scheduled=scheduled,
        reference=reference,
        b2b_account=b2b_account,
        limit=limit,
        offset=offset,
    )
    items = [OrderSummary.model_validate(row, from_attributes=True) for row in rows]
    return OrderPage(items=items, total=total, limit=limit, offset=offset)


def _custom_field(session: Session, text: str | None) -> tuple[str, str] | None:
    if text is None:
        return None
    parsed = custom_fields.parse_filter(text)
    if parsed is None:
        raise field_error("field", "give a custom field as name:value")
    name, value = parsed
    return name, custom_fields.filter_value(session, name, value)


@router.get("/{order_number}", response_model=OrderView)
def get_order(order_number: OrderNumber, session: SessionDep, caller: Caller) -> JSONBody:
    """One order: lines, notes, payments, alerts, history and stock of each line everywhere."""
    return JSONBody(orders_service.order_view(session, order_number, caller))


@router.get("/{order_number}/payments", response_model=PaymentHistory)
def get_order_payments(order_number: OrderNumber, session: SessionDep, caller: Caller) -> PaymentHistory:
    """Every payment operation on the order (authorise, capture, sale, void, refund), approved, declined or failing."""
    orders_service.order_record(session, order_number, caller)  # 404: unknown, or another store's order
    rows = payments.payment_transactions(session, order_number)
    return PaymentHistory(
        order_number=order_number,
        transactions=[
            PaymentTransactionView(
                transaction_id=row.transaction_id,
                kind=row.kind,
                status=row.status,  # type: ignore[arg-type]
                method=row.method,
                amount=Money(amount=row.amount, currency=row.currency),
                gateway=row.gateway,
                gateway_reference=row.gateway_reference,
                request_reference=row.request_reference,
                detail=row.detail,
                attempts=row.attempts,
                actor=row.actor,
                at=row.answered_at or row.created_at,
                expires_at=row.expires_at,
            )
            for row in rows
        ],
    )
