"""The customer view's reads: customers found by name, e-mail, phone or id (models/db/insight.py `customers`),
and one customer's orders from the read model, with the e-mail sent about them. Each takes an open Session."""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, func
from sqlmodel import Session, col, select

from models.db.insight import CustomerRow, OrderFactsRow
from models.db.mail import MailDeliveryRow
from models.db.tables import OrderRecordRow
from models.insight import search_pattern


def _in_channels(channels: list[str] | None) -> list[ColumnElement[bool]]:
    """A customer is visible to a key bound to channels when they ordered through one of them."""
    if channels is None:
        return []
    ordered = exists().where(
        col(OrderFactsRow.customer_id) == col(CustomerRow.customer_id), col(OrderFactsRow.channel).in_(channels)
    )
    return [ordered]


def search_customers(
    session: Session, query: str, channels: list[str] | None, limit: int, offset: int = 0
) -> tuple[list[tuple[CustomerRow, int]], int]:
    """Customers whose id, name, e-mail or phone contains `query` (any case; a phone by its digits), latest
    ordering first, each with how many orders they placed (through `channels`, when given); one page and the
    total."""
    conditions = [
        col(CustomerRow.search_text).contains(search_pattern(query), autoescape=True),
        *_in_channels(channels),
    ]
    total = session.exec(select(func.count()).select_from(CustomerRow).where(*conditions)).one()
    rows = session.exec(
        select(CustomerRow)
        .where(*conditions)
        .order_by(col(CustomerRow.last_order_at).desc(), col(CustomerRow.customer_id))
        .limit(limit)
        .offset(offset)
    ).all()
    counts = order_counts(session, [row.customer_id for row in rows], channels)
    return [(row, counts.get(row.customer_id, 0)) for row in rows], total


def order_counts(session: Session, customer_ids: list[str], channels: list[str] | None) -> dict[str, int]:
    if not customer_ids:
        return {}
    query = (
        select(OrderFactsRow.customer_id, func.count())
        .where(col(OrderFactsRow.customer_id).in_(customer_ids))
        .group_by(OrderFactsRow.customer_id)
    )
    if channels is not None:
        query = query.where(col(OrderFactsRow.channel).in_(channels))
    return dict(session.exec(query).all())


def get_customer(session: Session, customer_id: str, channels: list[str] | None) -> CustomerRow | None:
    return session.exec(
        select(CustomerRow).where(col(CustomerRow.customer_id) == customer_id, *_in_channels(channels))
    ).first()


def customer_orders(
    session: Session, customer_id: str, channels: list[str] | None, limit: int
) -> tuple[list[OrderRecordRow], int]:
    """The customer's orders from the read model, newest first (at most `limit`), and how many there are."""
    conditions = [col(OrderRecordRow.customer_id) == customer_id]
    if channels is not None:
        conditions.append(col(OrderRecordRow.channel).in_(channels))
    total = session.exec(select(func.count()).select_from(OrderRecordRow).where(*conditions)).one()
    rows = session.exec(
        select(OrderRecordRow)
        .where(*conditions)
        .order_by(col(OrderRecordRow.created_at).desc(), col(OrderRecordRow.order_number).desc())
        .limit(limit)
    ).all()
    return list(rows), total


def mail_about(session: Session, order_numbers: list[str], limit: int = 200) -> list[MailDeliveryRow]:
    """E-mail sent (or held back) about these orders, newest first."""
    if not order_numbers:
        return []
    query = (
        select(MailDeliveryRow)
        .where(col(MailDeliveryRow.order_number).in_(order_numbers))
        .order_by(col(MailDeliveryRow.id).desc())
        .limit(limit)
    )
    return list(session.exec(query))
