"""The outbound tables: webhook subscribers, the delivery log (written by the subscribers' outbox lanes), the
export audit. Each takes an open Session."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from models.db import stock_ledger
from models.db.engine import commit_unless_taken
from models.db.outbox import last_event_id
from models.db.tables import (
    OrderEventRow,
    OrderExportRow,
    OutboxCursorRow,
    WebhookDeliveryRow,
    WebhookSubscriberRow,
)
from models.outbound import STOCK_CHANGED, SubscribedEvent, delivery_id, resend_delivery_id
from models.outbox import availability_lane, subscriber_lane


def new_signing_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


def create_subscriber(
    session: Session,
    name: str,
    url: str,
    event_types: list[SubscribedEvent],
    now: datetime,
    secret: str | None = None,
    seal: Callable[[str, str], str] | None = None,
) -> WebhookSubscriberRow:
    """A new active subscriber with its signing secret (generated unless given), stored as `seal(secret,
    subscriber_id)` says (models/sealing.py). Its lane's cursor starts at the end of the outbox (in the same
    transaction): it hears of what happens from now on."""
    subscriber_id = f"whs_{secrets.token_hex(8)}"
    secret = secret or new_signing_secret()
    row = WebhookSubscriberRow(
        subscriber_id=subscriber_id,
        name=name,
        url=url,
        event_types=[str(event_type) for event_type in event_types],
        secret=seal(secret, subscriber_id) if seal else secret,
        created_at=now,
    )
    session.add(row)
    lane = subscriber_lane(row.subscriber_id)
    session.add(OutboxCursorRow(lane=lane, position=last_event_id(session), updated_at=now))
    if STOCK_CHANGED in row.event_types:  # and availability from now on
        position = stock_ledger.last_movement_id(session)
        session.add(OutboxCursorRow(lane=availability_lane(subscriber_id), position=position, updated_at=now))
    session.commit()
    session.refresh(row)
    return row


def list_subscribers(session: Session) -> list[WebhookSubscriberRow]:
    return list(session.exec(select(WebhookSubscriberRow).order_by(col(WebhookSubscriberRow.created_at))))


def get_subscriber(session: Session, subscriber_id: str) -> WebhookSubscriberRow | None:
    return session.get(WebhookSubscriberRow, subscriber_id)


def deactivate_subscriber(session: Session, subscriber_id: str) -> WebhookSubscriberRow | None:
    row = session.get(WebhookSubscriberRow, subscriber_id)
    if row is not None and row.active:
        row.active = False
        session.add(row)
        session.commit()
        session.refresh(row)
    return row


def deliveries(
    session: Session, subscriber_id: str, order_number: str | None, limit: int, offset: int
) -> tuple[list[WebhookDeliveryRow], int]:
    query = select(WebhookDeliveryRow).where(WebhookDeliveryRow.subscriber_id == subscriber_id)
    if order_number is not None:
        query = query.where(WebhookDeliveryRow.order_number == order_number)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(
        query.order_by(col(WebhookDeliveryRow.created_at), col(WebhookDeliveryRow.delivery_id))
        .offset(offset)
        .limit(limit)
    )
    return list(rows), total


def original_delivery(session: Session, subscriber_id: str, event_id: str) -> WebhookDeliveryRow | None:
    return session.exec(
        select(WebhookDeliveryRow).where(
            WebhookDeliveryRow.subscriber_id == subscriber_id,
            WebhookDeliveryRow.event_id == event_id,
            WebhookDeliveryRow.kind == "event",
        )
    ).first()


def add_resend(session: Session, original: WebhookDeliveryRow, actor: str, now: datetime) -> WebhookDeliveryRow:
    """A Head Office resend of a logged delivery: same body, same event id, its own row in the log."""
    while True:
        count = session.exec(
            select(func.count()).where(
                WebhookDeliveryRow.subscriber_id == original.subscriber_id,
                WebhookDeliveryRow.event_id == original.event_id,
                WebhookDeliveryRow.kind == "resend",
            )
        ).one()
        row = WebhookDeliveryRow(
            delivery_id=resend_delivery_id(original.subscriber_id, original.event_id, count + 1),
            subscriber_id=original.subscriber_id,
            event_id=original.event_id,
            event_type=original.event_type,
            order_number=original.order_number,
            kind="resend",
            payload=original.payload,
            requested_by=actor,
            created_at=now,
        )
        if not commit_unless_taken(session, row):
            continue  # another resend of the same event took this number: take the next
        session.refresh(row)
        return row


def event_delivery(session: Session, subscriber_id: str, event: OrderEventRow, now: datetime) -> WebhookDeliveryRow:
    """The log row of one event's delivery to one subscriber, written before its first attempt (its body is what
    every attempt sends). Detached, for reading after the session."""
    return _logged(session, subscriber_id, event.event_id, event.type, event.order_number, event.body, now)


def _logged(
    session: Session,
    subscriber_id: str,
    event_id: str,
    event_type: str,
    order_number: str,
    body: dict[str, Any],
    now: datetime,
) -> WebhookDeliveryRow:
    """The delivery's log row, made the first time (a copy of the relay that logged it first wins). Detached."""
    key = delivery_id(subscriber_id, event_id)
    row = session.get(WebhookDeliveryRow, key)
    if row is None:
        row = WebhookDeliveryRow(
            delivery_id=key,
            subscriber_id=subscriber_id,
            event_id=event_id,
            event_type=event_type,
            order_number=order_number,
            payload=body,
            created_at=now,
        )
        if not commit_unless_taken(session, row):  # another copy of the relay logged it first
            row = session.get(WebhookDeliveryRow, key)
            assert row is not None
        else:
            session.refresh(row)
    session.expunge(row)
    return row


def pending_resends(session: Session, subscriber_id: str, limit: int) -> list[WebhookDeliveryRow]:
    """Head Office resends still to deliver, oldest first."""
    query = (
        select(WebhookDeliveryRow)
        .where(
            WebhookDeliveryRow.subscriber_id == subscriber_id,
            col(WebhookDeliveryRow.status).in_(("pending", "retrying")),
            WebhookDeliveryRow.kind == "resend",
        )
        .order_by(col(WebhookDeliveryRow.created_at), col(WebhookDeliveryRow.delivery_id))
        .limit(limit)
    )
    return list(session.exec(query))


def count_delivery_attempt(
    session: Session,
    delivery_id: str,
    status: str,
    code: int | None,
    error: str | None,
    now: datetime,
    *,
    commit: bool = True,
) -> int:
    """Count one attempt of a logged delivery and how it went (retrying, delivered, refused, failed); returns the
    attempts so far (0: not logged). With `commit=False` the caller commits (with the lane's cursor)."""
    row = session.get(WebhookDeliveryRow, delivery_id)
    if row is None:
        return 0
    row.attempts += 1
    row.status = status
    row.last_status_code = code
    row.last_error = error[:1000] if error else None
    if status == "delivered":
        row.delivered_at = now
    session.add(row)
    if commit:
        session.commit()
    return row.attempts


def exports_for_order(session: Session, order_number: str) -> list[OrderExportRow]:
    return list(
        session.exec(
            select(OrderExportRow)
            .where(OrderExportRow.order_number == order_number)
            .order_by(col(OrderExportRow.started_at), col(OrderExportRow.run_id))
        )
    )


def availability_subscribers(session: Session, *, inactive_too: bool = False) -> list[str]:
    """The subscribers that hear of stock_changed (active ones, unless `inactive_too`)."""
    query = select(WebhookSubscriberRow).order_by(col(WebhookSubscriberRow.subscriber_id))
    if not inactive_too:
        query = query.where(WebhookSubscriberRow.active == True)  # noqa: E712  (SQL, not truthiness)
    return [row.subscriber_id for row in session.exec(query) if STOCK_CHANGED in row.event_types]


def pending_stock_delivery(session: Session, subscriber_id: str) -> WebhookDeliveryRow | None:
    """A stock_changed batch logged and not yet finished with: it is sent again exactly as it was first made."""
    query = select(WebhookDeliveryRow).where(
        WebhookDeliveryRow.subscriber_id == subscriber_id,
        WebhookDeliveryRow.event_type == STOCK_CHANGED,
        WebhookDeliveryRow.kind == "event",
        col(WebhookDeliveryRow.status).in_(("pending", "retrying")),
    )
    row = session.exec(query.order_by(col(WebhookDeliveryRow.created_at))).first()
    if row is not None:
        session.expunge(row)
    return row


def stock_delivery(session: Session, subscriber_id: str, body: dict[str, Any], now: datetime) -> WebhookDeliveryRow:
    """Log a stock_changed batch before its first attempt (its body is what every attempt sends). Detached."""
    return _logged(session, subscriber_id, body["event_id"], STOCK_CHANGED, "", body, now)
