"""Queries over Baton's tables, shared by the API and the activities. Each takes an open Session."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import delete, func, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from models.catalogue import LocationKind, Product, StockAtLocation, StockHolding, Store, StoreSettings
from models.db.tables import (
    LocationRow,
    OrderOpenAlertRow,
    OrderRecordRow,
    PaymentTransactionRow,
    ProductRow,
    SettingRow,
    StockLevelRow,
)
from models.money import Money
from models.order import OrderState
from models.payment_policy import PaymentPolicy
from models.sla import SlaOverrides, SlaPolicy, effective_policy

SLA_SETTING_KEY = "sla"
PAYMENT_SETTING_KEY = "payments"


def _store(row: LocationRow) -> Store:
    return Store(
        store_id=row.store_id,
        name=row.name,
        kind=LocationKind(row.kind),
        click_and_collect_enabled=row.click_and_collect_enabled,
        webhook_url=row.webhook_url,
        webhook_secret_set=bool(row.webhook_secret),
        sla_overrides=SlaOverrides.model_validate(row.sla_overrides or {}),
    )


def get_store(session: Session, store_id: str) -> Store | None:
    row = session.get(LocationRow, store_id)
    return _store(row) if row else None


def list_stores(session: Session, kind: LocationKind | None = None) -> list[Store]:
    query = select(LocationRow).order_by(LocationRow.store_id)
    if kind is not None:
        query = query.where(LocationRow.kind == kind.value)
    return [_store(row) for row in session.exec(query)]


def put_store(session: Session, store_id: str, settings: StoreSettings) -> tuple[Store, bool]:
    """Create or replace a store's settings; returns the store and whether it was created."""
    row = session.get(LocationRow, store_id)
    created = row is None
    if row is None:
        row = LocationRow(store_id=store_id, name=settings.name, kind=settings.kind.value)
    row.name = settings.name
    row.kind = settings.kind.value
    row.click_and_collect_enabled = settings.click_and_collect_enabled
    row.webhook_url = settings.webhook_url
    if settings.webhook_secret is not None:
        row.webhook_secret = settings.webhook_secret
    row.sla_overrides = settings.sla_overrides.model_dump(mode="json", exclude_none=True)
    session.add(row)
    session.commit()
    session.refresh(row)
    return _store(row), created


def store_webhook(session: Session, store_id: str) -> tuple[str | None, str | None]:
    """The store's webhook URL and secret (secret stays server-side)."""
    row = session.get(LocationRow, store_id)
    return (row.webhook_url, row.webhook_secret) if row else (None, None)


def _product(row: ProductRow) -> Product:
    return Product(
        sku=row.sku,
        style=row.style,
        name=row.name,
        size=row.size,
        colour=row.colour,
        price=Money(amount=row.price_amount, currency=row.currency),
    )


def products_by_sku(session: Session, skus: set[str]) -> dict[str, Product]:
    rows = session.exec(select(ProductRow).where(ProductRow.sku.in_(skus)))  # type: ignore[attr-defined]
    return {row.sku: _product(row) for row in rows}


def list_products(session: Session, style: str | None = None) -> list[Product]:
    query = select(ProductRow).order_by(ProductRow.style, ProductRow.sku)
    if style:
        query = query.where(ProductRow.style == style)
    return [_product(row) for row in session.exec(query)]


def stock_holding(session: Session, sku: str) -> StockHolding:
    query = (
        select(StockLevelRow, LocationRow.kind)
        .join(LocationRow, LocationRow.store_id == StockLevelRow.location_id)
        .where(StockLevelRow.sku == sku)
        .order_by(StockLevelRow.location_id)
    )
    return StockHolding(
        sku=sku,
        locations=[
            StockAtLocation(
                location_id=level.location_id,
                kind=LocationKind(kind),
                on_hand=level.on_hand,
                reserved=level.reserved,
                available=level.on_hand - level.reserved,
            )
            for level, kind in session.exec(query)
        ],
    )


SettingT = TypeVar("SettingT", bound=BaseModel)


def _get_setting(session: Session, key: str, model: type[SettingT]) -> SettingT:
    row = session.get(SettingRow, key)
    return model.model_validate(row.value) if row else model()


def _put_setting(session: Session, key: str, value: SettingT) -> SettingT:
    row = session.get(SettingRow, key) or SettingRow(key=key)
    row.value = value.model_dump(mode="json")
    session.add(row)
    session.commit()
    return value


def get_sla_policy(session: Session) -> SlaPolicy:
    return _get_setting(session, SLA_SETTING_KEY, SlaPolicy)


def put_sla_policy(session: Session, policy: SlaPolicy) -> SlaPolicy:
    return _put_setting(session, SLA_SETTING_KEY, policy)


def get_payment_policy(session: Session) -> PaymentPolicy:
    return _get_setting(session, PAYMENT_SETTING_KEY, PaymentPolicy)


def put_payment_policy(session: Session, policy: PaymentPolicy) -> PaymentPolicy:
    return _put_setting(session, PAYMENT_SETTING_KEY, policy)


def policy_for_store(session: Session, store_id: str) -> SlaPolicy:
    store = get_store(session, store_id)
    return effective_policy(get_sla_policy(session), store.sla_overrides if store else None)


def order_view_json(state: OrderState) -> dict[str, Any]:
    return state.model_dump(mode="json", exclude={"seen_event_ids"})


def save_projection(session: Session, state: OrderState) -> bool:
    """Upsert the order's read model unless a newer version is already there; True when written."""
    values = {
        "order_number": state.order_number,
        "version": state.version,
        "status": state.status.value,
        "store_id": state.store_id,
        "channel": state.channel.value,
        "web_reference": state.web_reference,
        "customer_id": state.customer.id,
        "customer_name": state.customer.name,
        "customer_email": state.customer.email.lower(),
        "has_alert": state.has_open_alert,
        "created_at": state.created_at,
        "updated_at": datetime.now(UTC),
        # The read model keeps the seen event ids too, so a webhook retried after the order closed is recognised.
        # Card tokens stay in the workflow (it needs them to re-authorise); the read model never holds them.
        "view": state.model_dump(mode="json", exclude={"payments": {"__all__": {"token"}}}),
    }
    table = OrderRecordRow.__table__  # type: ignore[attr-defined]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["order_number"],
        set_={key: statement.excluded[key] for key in values if key != "order_number"},
        where=table.c.version < statement.excluded.version,
    )
    result = session.exec(statement)  # type: ignore[call-overload]
    written = bool(result.rowcount)
    if written:
        session.exec(delete(OrderOpenAlertRow).where(OrderOpenAlertRow.order_number == state.order_number))  # type: ignore[call-overload]
        for alert_type in sorted({alert.type.value for alert in state.alerts if alert.is_open}):
            session.add(
                OrderOpenAlertRow(order_number=state.order_number, alert_type=alert_type, store_id=state.store_id)
            )
    session.commit()
    return written


def get_order_record(session: Session, order_number: str) -> OrderRecordRow | None:
    return session.get(OrderRecordRow, order_number)


def search_orders(
    session: Session,
    *,
    store_id: str | None = None,
    customer: str | None = None,
    web_reference: str | None = None,
    order_number: str | None = None,
    status: str | None = None,
    has_alert: bool | None = None,
    alert_type: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[OrderRecordRow], int]:
    """Filter the read model, newest first; returns one page and the total count."""
    conditions = []
    if store_id:
        conditions.append(OrderRecordRow.store_id == store_id)
    if web_reference:
        conditions.append(OrderRecordRow.web_reference == web_reference)
    if order_number:
        conditions.append(OrderRecordRow.order_number == order_number)
    if status:
        conditions.append(OrderRecordRow.status == status)
    if has_alert is not None:
        conditions.append(OrderRecordRow.has_alert == has_alert)
    if alert_type:
        alerted = select(OrderOpenAlertRow.order_number).where(OrderOpenAlertRow.alert_type == alert_type)
        conditions.append(OrderRecordRow.order_number.in_(alerted))  # type: ignore[attr-defined]
    if customer:
        pattern = f"%{customer.lower()}%"
        conditions.append(
            or_(
                OrderRecordRow.customer_id == customer,
                OrderRecordRow.customer_email == customer.lower(),
                func.lower(OrderRecordRow.customer_name).like(pattern),
            )
        )
    total = session.exec(select(func.count()).select_from(OrderRecordRow).where(*conditions)).one()
    page = session.exec(
        select(OrderRecordRow)
        .where(*conditions)
        .order_by(OrderRecordRow.created_at.desc(), OrderRecordRow.order_number.desc())  # type: ignore[attr-defined]
        .limit(limit)
        .offset(offset)
    ).all()
    return list(page), total


def count_orders_by_status(session: Session, store_id: str | None = None) -> dict[str, int]:
    """How many orders are in each status (one GROUP BY over the indexed status column)."""
    query = select(OrderRecordRow.status, func.count()).group_by(OrderRecordRow.status)
    if store_id:
        query = query.where(OrderRecordRow.store_id == store_id)
    return {status: count for status, count in session.exec(query)}


def count_open_alerts_by_type(session: Session, store_id: str | None = None) -> dict[str, int]:
    """How many orders have an open alert of each type (one GROUP BY over an indexed table)."""
    query = select(OrderOpenAlertRow.alert_type, func.count()).group_by(OrderOpenAlertRow.alert_type)
    if store_id:
        query = query.where(OrderOpenAlertRow.store_id == store_id)
    return dict(sorted((alert_type, count) for alert_type, count in session.exec(query)))


def open_store_orders(session: Session, store_id: str, limit: int = 100) -> list[OrderRecordRow]:
    """A store's orders still to be handled (not completed or cancelled), oldest first."""
    query = (
        select(OrderRecordRow)
        .where(OrderRecordRow.store_id == store_id)
        .where(OrderRecordRow.status.not_in(["completed", "cancelled"]))  # type: ignore[attr-defined]
        .order_by(OrderRecordRow.created_at, OrderRecordRow.order_number)
        .limit(limit)
    )
    return list(session.exec(query))


def payment_transactions(session: Session, order_number: str) -> list[PaymentTransactionRow]:
    """The order's payment ledger, oldest first: every gateway call (approved, declined or failing) and every
    recorded movement."""
    query = (
        select(PaymentTransactionRow)
        .where(PaymentTransactionRow.order_number == order_number)
        .order_by(PaymentTransactionRow.created_at, PaymentTransactionRow.transaction_id)  # type: ignore[arg-type]
    )
    return list(session.exec(query))
