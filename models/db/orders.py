"""The order read model: the projection the workflow writes after each change, and the lists, searches and
counts Head Office and the stores read from it. Each takes an open Session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from models.db.b2b import with_account, with_reference, write_b2b_index
from models.db.custom_fields import forget_custom_field_index, with_custom_field, write_custom_field_index
from models.db.insight import forget_all_facts, write_facts
from models.db.merchants import record_completed_child
from models.db.tables import OrderOpenAlertRow, OrderRecordRow
from models.order import FINAL_STATUSES, OrderState
from models.transition import Projection, projection_of

CLOSED_STATUSES = ["completed", "cancelled"]


def write_projection(session: Session, projection: Projection, now: datetime) -> bool:
    """Upsert the order's read model unless the same or a newer version is already there (a late or repeated
    write changes nothing), with its open alert types; True when written. Leaves the commit to the caller."""
    values = {
        "order_number": projection.order_number,
        "version": projection.version,
        "status": projection.status,
        "store_id": projection.store_id,
        "channel": projection.channel,
        "web_reference": projection.web_reference,
        "customer_id": projection.customer_id,
        "customer_name": projection.customer_name,
        "customer_email": projection.customer_email,
        "has_alert": projection.has_alert,
        "fulfilment_methods": projection.fulfilment_methods,
        "delivery_locations": projection.delivery_locations,
        "created_at": projection.created_at,
        "updated_at": now,
        "fulfil_on": projection.fulfil_on,
        "view": projection.view,
        "seen_event_ids": projection.seen_event_ids,
    }
    table = OrderRecordRow.__table__  # type: ignore[attr-defined]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["order_number"],
        set_={key: statement.excluded[key] for key in values if key != "order_number"},
        where=table.c.version < statement.excluded.version,
    )
    result = session.exec(statement)
    written = bool(result.rowcount)
    if written:
        number = projection.order_number
        session.exec(delete(OrderOpenAlertRow).where(col(OrderOpenAlertRow.order_number) == number))
        for alert_type in sorted(set(projection.open_alert_types)):
            session.add(OrderOpenAlertRow(order_number=number, alert_type=alert_type, store_id=projection.store_id))
        write_custom_field_index(session, number, projection.view)
        write_b2b_index(session, number, projection.view)
        write_facts(session, projection.view)  # analytics and the customer view, as fresh as the list
        if projection.status == "completed":
            record_completed_child(session, number, projection.view, now)  # a marketplace merchant's due, once
        session.flush()
    return written


def save_projection(session: Session, state: OrderState) -> bool:
    """Project `state` on its own and commit (the API's placement and bench/; orders commit whole transitions)."""
    written = write_projection(session, projection_of(state), datetime.now(UTC))
    session.commit()
    return written


def get_order_record(session: Session, order_number: str) -> OrderRecordRow | None:
    return session.get(OrderRecordRow, order_number)


@dataclass(frozen=True)
class OrderKeys:
    """What a store webhook needs of an order, without reading its whole view."""

    order_number: str
    status: str
    store_id: str
    seen_event_ids: list[str]


def order_keys(session: Session, order_number: str) -> OrderKeys | None:
    row = session.exec(
        select(
            OrderRecordRow.order_number, OrderRecordRow.status, OrderRecordRow.store_id, OrderRecordRow.seen_event_ids
        ).where(OrderRecordRow.order_number == order_number)
    ).first()
    if row is None:
        return None
    number, status, store_id, seen = row
    return OrderKeys(number, status, store_id, list(seen))


def senders(view: dict[str, Any]) -> set[str]:
    """Every location an order's view says may report on it: its store, its dispatch location, and the location of
    each of its deliveries."""
    found = {view.get("store_id"), view.get("dispatch_location")}
    found |= {delivery.get("location_id") for delivery in view.get("deliveries", [])}
    return {location for location in found if location}


def order_senders(session: Session, order_number: str) -> set[str]:
    """The locations that may report on an order (read from its view)."""
    record = get_order_record(session, order_number)
    return senders(record.view) if record is not None else set()


def search_orders(
    session: Session,
    *,
    store_id: str | None = None,
    channels: list[str] | None = None,
    customer: str | None = None,
    web_reference: str | None = None,
    order_number: str | None = None,
    status: str | None = None,
    has_alert: bool | None = None,
    alert_type: str | None = None,
    fulfilment_method: str | None = None,
    custom_field: tuple[str, str] | None = None,
    scheduled: bool | None = None,
    reference: str | None = None,
    b2b_account: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[OrderRecordRow], int]:
    """Filter the read model, newest first; returns one page and the total count."""
    conditions: list[ColumnElement[bool]] = []
    if channels is not None:
        conditions.append(col(OrderRecordRow.channel).in_(channels))
    if store_id:
        conditions.append(col(OrderRecordRow.store_id) == store_id)
    if web_reference:
        conditions.append(col(OrderRecordRow.web_reference) == web_reference)
    if order_number:
        conditions.append(col(OrderRecordRow.order_number) == order_number)
    if status:
        conditions.append(col(OrderRecordRow.status) == status)
    if has_alert is not None:
        conditions.append(col(OrderRecordRow.has_alert) == has_alert)
    if fulfilment_method:  # no method's name is part of another's, so a substring is the method
        conditions.append(col(OrderRecordRow.fulfilment_methods).contains(fulfilment_method))
    if alert_type:
        alerted = select(OrderOpenAlertRow.order_number).where(OrderOpenAlertRow.alert_type == alert_type)
        conditions.append(col(OrderRecordRow.order_number).in_(alerted))
    if custom_field is not None:  # (name, value as the index writes it: models/db/custom_fields.py filter_value)
        conditions.append(with_custom_field(*custom_field))
    if scheduled is not None:  # still waiting for its date (models/scheduling.py)
        waiting = col(OrderRecordRow.fulfil_on)
        conditions.append(waiting.is_not(None) if scheduled else waiting.is_(None))
    if reference:  # a B2B reference: customer reference, PO number or third-party invoice (models/db/b2b.py)
        conditions.append(with_reference(reference))
    if b2b_account:
        conditions.append(with_account(b2b_account))
    if customer:
        pattern = f"%{customer.lower()}%"
        conditions.append(
            or_(
                col(OrderRecordRow.customer_id) == customer,
                col(OrderRecordRow.customer_email) == customer.lower(),
                func.lower(OrderRecordRow.customer_name).like(pattern),
            )
        )
    total = session.exec(select(func.count()).select_from(OrderRecordRow).where(*conditions)).one()
    page = session.exec(
        select(OrderRecordRow)
        .where(*conditions)
        .order_by(col(OrderRecordRow.created_at).desc(), col(OrderRecordRow.order_number).desc())
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
    """A location's orders still to be handled (not completed or cancelled), oldest first: its own, and those with
    a delivery it ships."""
    query = (
        select(OrderRecordRow)
        .where(
            or_(
                col(OrderRecordRow.store_id) == store_id,
                col(OrderRecordRow.delivery_locations).contains(f" {store_id} "),
            )
        )
        .where(col(OrderRecordRow.status).not_in(CLOSED_STATUSES))
        .order_by(col(OrderRecordRow.created_at), col(OrderRecordRow.order_number))
        .limit(limit)
    )
    return list(session.exec(query))


def done_store_orders(session: Session, store_id: str, limit: int = 30) -> list[OrderRecordRow]:
    """A store's completed and cancelled orders, the latest change first (the Pick Manager's "done" tab)."""
    query = (
        select(OrderRecordRow)
        .where(OrderRecordRow.store_id == store_id)
        .where(col(OrderRecordRow.status).in_(CLOSED_STATUSES))
        .order_by(col(OrderRecordRow.updated_at).desc(), col(OrderRecordRow.order_number))
        .limit(limit)
    )
    return list(session.exec(query))


def open_order_numbers(session: Session, store_id: str) -> list[str]:
    """Every order at this store that is not completed or cancelled (from the read model)."""
    query = (
        select(OrderRecordRow.order_number)
        .where(OrderRecordRow.store_id == store_id)
        .where(col(OrderRecordRow.status).not_in(CLOSED_STATUSES))
        .order_by(col(OrderRecordRow.order_number))
    )
    return list(session.exec(query))


def forget_all_orders(session: Session) -> None:
    """Empty the read model (and its open-alert index). For scratch databases only: bench/ fills its own."""
    session.exec(delete(OrderOpenAlertRow))
    forget_custom_field_index(session)
    session.exec(delete(OrderRecordRow))
    forget_all_facts(session)
    session.commit()


def quiet_orders(session: Session, before: datetime, limit: int) -> list[OrderRecordRow]:
    """Open orders unchanged since `before`, without an open stuck alert, the quietest first (the sweep)."""
    alerted = select(OrderOpenAlertRow.order_number).where(OrderOpenAlertRow.alert_type == "stuck")
    query = (
        select(OrderRecordRow)
        .where(
            col(OrderRecordRow.status).not_in([status.value for status in FINAL_STATUSES]),
            col(OrderRecordRow.updated_at) < before,
            col(OrderRecordRow.order_number).not_in(alerted),
        )
        .order_by(col(OrderRecordRow.updated_at))
        .limit(limit)
    )
    return list(session.exec(query))
