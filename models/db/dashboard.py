"""The Head Office dashboard's queries over the order read model: one set of filters (free text, store, status,
alert, a date range, a snapshot moment) shared by the page of rows, the tiles and the CSV export, so every figure
answers the same question. Each takes an open Session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, cast, func, or_
from sqlmodel import Session, col, select

from models.db.b2b import with_account, with_reference
from models.db.custom_fields import with_custom_field
from models.db.merchants import merchant_order_numbers
from models.db.orders import CLOSED_STATUSES
from models.db.placements import ORDER_NUMBER_BASE
from models.db.returns import ReturnRow
from models.db.tables import OrderOpenAlertRow, OrderPlacementRow, OrderRecordRow
from models.order import OrderStatus
from models.returns import FINAL, ReturnStatus
from models.sla import CLOCK_STATUS
from models.subscriptions import SUBSCRIPTION_HOLDER

# Columns the "all orders" view sorts by (the "needs attention" view sorts by urgency).
SORTS: dict[str, Any] = {
    "created": OrderRecordRow.created_at,
    "order": OrderRecordRow.order_number,
    "status": OrderRecordRow.status,
    "store": OrderRecordRow.store_id,
    "customer": OrderRecordRow.customer_name,
    "updated": OrderRecordRow.updated_at,
}
# Open orders that may need Head Office: an alert, on hold, or a step whose SLA clock runs.
OPEN_RETURN_STATUSES = sorted(status.value for status in ReturnStatus if status not in FINAL)
_WATCHED = sorted({OrderStatus.on_hold.value, *(status.value for status in CLOCK_STATUS.values())})


@dataclass(frozen=True)
class DashboardFilter:
    text: str = ""  # part of an order number, web reference, customer id, name or e-mail, or a SKU
    store_id: str = ""
    status: str = ""
    alert: str = ""  # "" any, "yes" an open alert, "no" none, or an alert type
    created_from: datetime | None = None
    created_before: datetime | None = None
    as_of: datetime | None = None  # the snapshot: orders created after it wait for a refresh (stable pages)
    attention: bool = False  # only open orders that may need Head Office (see _WATCHED)
    method: str = ""  # a delivery method: orders with a delivery of it
    returns: str = ""  # "open": orders with a return not yet done (authorised, on its way, received)
    # A custom field's (name, value as the index writes it): orders whose own or a line's field has it.
    custom_field: tuple[str, str] | None = None
    scheduled: bool = False  # only scheduled orders still waiting for their date (models/scheduling.py)
    subscription: bool = False  # only orders a subscription placed (models/subscriptions.py)
    merchant_id: str = ""  # only this merchant's marketplace child orders (models/db/merchants.py)
    reference: str = ""  # a B2B reference: customer reference, PO number or third-party invoice (models/db/b2b.py)
    b2b_account: str = ""  # orders placed by a buyer of this B2B account


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def conditions(f: DashboardFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if f.text:
        pattern = _like(f.text)
        where.append(
            or_(
                func.lower(OrderRecordRow.order_number).like(pattern, escape="\\"),
                func.lower(OrderRecordRow.web_reference).like(pattern, escape="\\"),
                func.lower(OrderRecordRow.customer_id).like(pattern, escape="\\"),
                func.lower(OrderRecordRow.customer_name).like(pattern, escape="\\"),
                func.lower(OrderRecordRow.customer_email).like(pattern, escape="\\"),
                # SKUs live in the view's lines: the view's text holds them ("sku":"TEE-WHI-M").
                func.lower(cast(OrderRecordRow.view, String)).like(f'%"sku":"{pattern[1:]}', escape="\\"),
            )
        )
    if f.store_id:
        where.append(col(OrderRecordRow.store_id) == f.store_id)
    if f.status:
        where.append(col(OrderRecordRow.status) == f.status)
    if f.alert in ("yes", "no"):
        where.append(col(OrderRecordRow.has_alert) == (f.alert == "yes"))
    elif f.alert:
        alerted = select(OrderOpenAlertRow.order_number).where(OrderOpenAlertRow.alert_type == f.alert)
        where.append(col(OrderRecordRow.order_number).in_(alerted))
    if f.created_from is not None:
        where.append(col(OrderRecordRow.created_at) >= f.created_from)
    if f.created_before is not None:
        where.append(col(OrderRecordRow.created_at) < f.created_before)
    if f.as_of is not None:
        where.append(col(OrderRecordRow.created_at) <= f.as_of)
    if f.method:
        where.append(col(OrderRecordRow.fulfilment_methods).contains(f.method))
    if f.returns == "open":
        where.append(col(OrderRecordRow.order_number).in_(_with_open_returns()))
    if f.custom_field is not None:
        where.append(with_custom_field(*f.custom_field))
    if f.scheduled:
        where.append(col(OrderRecordRow.fulfil_on).is_not(None))
    if f.subscription:
        where.append(col(OrderRecordRow.order_number).in_(_placed_by(SUBSCRIPTION_HOLDER)))
    if f.merchant_id:
        where.append(col(OrderRecordRow.order_number).in_(merchant_order_numbers(f.merchant_id)))
    if f.reference:
        where.append(with_reference(f.reference))
    if f.b2b_account:
        where.append(with_account(f.b2b_account))
    if f.attention:
        where.append(col(OrderRecordRow.status).not_in(CLOSED_STATUSES))
        where.append(or_(col(OrderRecordRow.has_alert), col(OrderRecordRow.status).in_(_WATCHED)))
    return where


def _placed_by(holder: str) -> Any:
    """The numbers of the orders this holder placed (a number is its placement row's id above the base)."""
    number = cast(col(OrderPlacementRow.id) + ORDER_NUMBER_BASE, String)
    return select(number).where(col(OrderPlacementRow.holder) == holder)


def _with_open_returns() -> Any:
    return select(ReturnRow.order_number).where(col(ReturnRow.status).in_(OPEN_RETURN_STATUSES))


def open_returns_count(session: Session, f: DashboardFilter) -> int:
    """How many of the filtered orders have a return not yet done (the dashboard's "open returns" tile)."""
    where = [*conditions(f), col(OrderRecordRow.order_number).in_(_with_open_returns())]
    return int(session.exec(select(func.count()).select_from(OrderRecordRow).where(*where)).one())


def dashboard_rows(
    session: Session,
    f: DashboardFilter,
    sort: str = "created",
    descending: bool = True,
    limit: int = 25,
    offset: int = 0,
) -> tuple[list[OrderRecordRow], int]:
    """One page of the filtered orders, and how many there are."""
    where = conditions(f)
    total = session.exec(select(func.count()).select_from(OrderRecordRow).where(*where)).one()
    column = col(SORTS.get(sort, OrderRecordRow.created_at))
    tie = col(OrderRecordRow.order_number)
    order = (column.desc(), tie.desc()) if descending else (column.asc(), tie.asc())
    rows = session.exec(select(OrderRecordRow).where(*where).order_by(*order).limit(limit).offset(offset)).all()
    return list(rows), total


@dataclass(frozen=True)
class Candidate:
    """What the "needs attention" view ranks an order by, read without its view document."""

    order_number: str
    status: str
    has_alert: bool
    status_since: datetime


def attention_candidates(session: Session, f: DashboardFilter, limit: int) -> list[Candidate]:
    """The filtered orders' status, alert flag and status-since moment (read from the view's JSON in the database,
    so ranking thousands of open orders does not move their documents), oldest first."""
    since = col(OrderRecordRow.view)["status_since"].as_string()
    query = (
        select(OrderRecordRow.order_number, OrderRecordRow.status, OrderRecordRow.has_alert, since)
        .where(*conditions(f))
        .order_by(col(OrderRecordRow.created_at), col(OrderRecordRow.order_number))
        .limit(limit)
    )
    return [
        Candidate(number, status, alert, datetime.fromisoformat(moment))
        for number, status, alert, moment in session.exec(query)
    ]


def fingerprint(session: Session, f: DashboardFilter) -> tuple[int, datetime | None]:
    """How many orders the filter finds and their latest write: unchanged, so are their statuses and moments."""
    count, latest = session.exec(
        select(func.count(), func.max(OrderRecordRow.updated_at)).select_from(OrderRecordRow).where(*conditions(f))
    ).one()
    return int(count), latest


def rows_by_number(session: Session, numbers: list[str]) -> list[OrderRecordRow]:
    """These orders, in the order given."""
    found = {
        r.order_number: r
        for r in session.exec(select(OrderRecordRow).where(col(OrderRecordRow.order_number).in_(numbers)))
    }
    return [found[n] for n in numbers if n in found]


def dashboard_counts(session: Session, f: DashboardFilter) -> tuple[dict[str, int], dict[str, int]]:
    """The tiles: orders by status, and by open alert type, among the filtered orders."""
    where = conditions(f)
    by_status = session.exec(
        select(OrderRecordRow.status, func.count()).where(*where).group_by(OrderRecordRow.status)
    ).all()
    filtered = select(OrderRecordRow.order_number).where(*where)
    by_alert = session.exec(
        select(OrderOpenAlertRow.alert_type, func.count())
        .where(col(OrderOpenAlertRow.order_number).in_(filtered))
        .group_by(OrderOpenAlertRow.alert_type)
    ).all()
    return {status: n for status, n in by_status}, dict(sorted((alert, n) for alert, n in by_alert))


def newer_than(session: Session, f: DashboardFilter, moment: datetime) -> int:
    """How many filtered orders arrived after the snapshot moment (shown as "N new orders: refresh")."""
    later = DashboardFilter(**{**f.__dict__, "as_of": None, "created_from": max(moment, f.created_from or moment)})
    where = [*conditions(later), col(OrderRecordRow.created_at) > moment]
    return session.exec(select(func.count()).select_from(OrderRecordRow).where(*where)).one()
